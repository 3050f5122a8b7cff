"""The retry policy: which failures are retried, how long to wait, and when to give up.

Decisions live in :class:`RetryPolicy` (pure, injected clock and random source); tenacity's
``Retrying`` / ``AsyncRetrying`` drive the loop in the two thin layers.

What is retried (defaults match what production SDKs converged on: openai/anthropic):

- connection failures and timeouts; for a non-idempotent request (a POST) only when the
  request provably never reached the server (a connect failure or connect/pool timeout):
  MaintainX has no idempotency key, so a resent POST can create a duplicate;
- responses 408 and 5xx, for idempotent requests only (GET, PUT, PATCH, DELETE, or an
  operation the caller marked idempotent): after them a POST's fate is unknown;
- 429 for every request, POST included: the server refused it before processing it, so
  resending after the wait cannot create a duplicate.
- a body its ``Content-Encoding`` cannot decode (:class:`DecodeError` from the HTTP layer),
  for idempotent requests only: a proxy's fault, which the next attempt may not repeat.

How long: ``Retry-After`` (seconds or HTTP date) or ``X-Rate-Limit-Reset`` when the server
says, up to ``max_retry_after`` (beyond it the error surfaces at once); otherwise
``initial_delay * 2**(n-1)`` capped at ``max_delay``, times a jitter factor in
``jitter``. No retry starts once ``total_timeout`` has passed since the first attempt, nor
when its backoff would end past the call's deadline (:mod:`.._deadline`); before each
attempt the throttle is told how much of the deadline is left to wait for a slot.

A retry budget shared by the client (botocore's retry quota, gRPC retry throttling) stops
an outage from being multiplied by retries: each retry takes ``retry_cost`` tokens, each
success returns ``success_refund``; with the bucket empty, failures surface at once.

The caller gets the last real error or response, never a wrapper; ``attempts`` and
``waited`` are attached to it.
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass
from typing import Any

import httpx
import tenacity

from .._clock import SYSTEM_CLOCK, Clock
from .._deadline import deadline_of
from .._events import EventBus, RetryScheduled
from .._exceptions import (
    ConfigurationError,
    ConnectionError,
    DeadlineExceededError,
    DecodeError,
    MaintainXError,
    TimeoutError,
)
from .._extensions import ATTEMPTS_EXTENSION, IDEMPOTENT_EXTENSION, MAX_ATTEMPTS_EXTENSION
from .._http import route_of
from .._layer import AsyncLayer, Layer
from .._response import retry_after_of
from .._retry_after import parse_retry_after

__all__ = [
    "AsyncRetryLayer",
    "RetryBudget",
    "RetryConfig",
    "RetryLayer",
    "RetryPolicy",
]


DEFAULT_MAX_ATTEMPTS = 3  # one try and two retries, as the openai/anthropic SDKs
DEFAULT_INITIAL_DELAY = 0.5
DEFAULT_MAX_DELAY = 8.0
DEFAULT_JITTER = (0.75, 1.0)
DEFAULT_TOTAL_TIMEOUT = 60.0
DEFAULT_MAX_RETRY_AFTER = 60.0  # MaintainX's window is 60 s: never wait longer than one
DEFAULT_BUDGET = 500.0  # botocore's retry quota: 500 tokens, 5 a retry, 1 back a success
DEFAULT_RETRY_COST = 5.0
DEFAULT_SUCCESS_REFUND = 1.0
RETRY_STATUSES = frozenset({408, 429})
#: Answers that say the request was refused before being processed: safe to resend any method.
REFUSED_STATUSES = frozenset({429})


@dataclass(frozen=True)
class RetryConfig:
    """Retry settings (client keyword ``retry=``; None disables retries)."""

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    initial_delay: float = DEFAULT_INITIAL_DELAY
    max_delay: float = DEFAULT_MAX_DELAY
    jitter: tuple[float, float] = DEFAULT_JITTER
    total_timeout: float = DEFAULT_TOTAL_TIMEOUT
    max_retry_after: float = DEFAULT_MAX_RETRY_AFTER
    budget: float = DEFAULT_BUDGET
    retry_cost: float = DEFAULT_RETRY_COST
    success_refund: float = DEFAULT_SUCCESS_REFUND

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ConfigurationError(
                f"RetryConfig.max_attempts must be >= 1 (1 = no retries), got {self.max_attempts}"
            )
        if self.initial_delay < 0 or self.max_delay < self.initial_delay:
            raise ConfigurationError(
                "RetryConfig needs 0 <= initial_delay <= max_delay, got "
                f"initial_delay={self.initial_delay}, max_delay={self.max_delay}"
            )
        low, high = self.jitter
        if not 0 < low <= high <= 1:
            raise ConfigurationError(
                "RetryConfig.jitter must be (low, high) with 0 < low <= high <= 1, "
                f"got {self.jitter}"
            )
        if self.total_timeout <= 0 or self.max_retry_after < 0:
            raise ConfigurationError("RetryConfig.total_timeout must be > 0, max_retry_after >= 0")
        if self.budget < 0 or self.retry_cost < 0 or self.success_refund < 0:
            raise ConfigurationError(
                "RetryConfig budget, retry_cost and success_refund must be >= 0"
            )


class RetryBudget:
    """A token bucket of retries shared by every call of one client. Thread-safe."""

    def __init__(self, capacity: float, cost: float, refund: float) -> None:
        self.capacity = capacity
        self.cost = cost
        self.refund = refund
        self._tokens = capacity
        self._lock = threading.Lock()

    @property
    def tokens(self) -> float:
        return self._tokens

    def withdraw(self) -> bool:
        """Take the cost of one retry; False (and nothing taken) when the bucket is too low."""
        with self._lock:
            if self._tokens < self.cost:
                return False
            self._tokens -= self.cost
            return True

    def deposit(self) -> None:
        """Give back the refund of one success."""
        if self._tokens >= self.capacity:
            # Full (nearly always): nothing to give back, no lock to take. A withdrawal racing
            # with this check is as if it came just after a deposit that changed nothing.
            return
        with self._lock:
            self._tokens = min(self.capacity, self._tokens + self.refund)


AttemptOutcome = httpx.Response | BaseException


class RetryPolicy:
    """The pure decisions of retrying. ``rng`` is the only source of randomness."""

    def __init__(
        self,
        config: RetryConfig | None = None,
        *,
        clock: Clock = SYSTEM_CLOCK,
        events: EventBus | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.config = config or RetryConfig()
        self.clock = clock
        self.events = events or EventBus()
        self.rng = rng or random.Random()
        self.budget = RetryBudget(
            self.config.budget, self.config.retry_cost, self.config.success_refund
        )

    # -- decisions ---------------------------------------------------------------------

    @staticmethod
    def reason(request: httpx.Request, outcome: AttemptOutcome) -> str | None:
        """Why this outcome may be retried, or None when it must not be."""
        idempotent = bool(request.extensions.get(IDEMPOTENT_EXTENSION, False))
        if isinstance(outcome, httpx.Response):
            status = outcome.status_code
            if status in RETRY_STATUSES or status >= 500:
                return f"status {status}" if idempotent or status in REFUSED_STATUSES else None
            return None
        if isinstance(outcome, DeadlineExceededError):
            return None  # no time is left for another attempt
        if isinstance(outcome, (ConnectionError, TimeoutError)):
            if outcome.sent and not idempotent:
                return None
            return type(outcome).__name__ if isinstance(outcome, ConnectionError) else "timeout"
        if isinstance(outcome, DecodeError):
            # Inside the pipeline only the HTTP layer raises it (answers are parsed above):
            # a body its Content-Encoding cannot decode. It was processed: idempotent only.
            return "undecodable body" if idempotent else None
        return None

    def jitter(self) -> float:
        """The jitter factor: the one random number in the policy (tests pin ``rng``)."""
        low, high = self.config.jitter
        return self.rng.uniform(low, high)

    def delay(self, attempt: int, outcome: AttemptOutcome) -> float:
        """Seconds to wait after failed attempt number ``attempt`` (1-based)."""
        if isinstance(outcome, httpx.Response):
            now = self.clock.time()
            # The reset header describes the rate-limit window: it is advice only on a 429.
            if outcome.status_code == 429:
                told = retry_after_of(outcome, now=now)
            else:
                told = parse_retry_after(outcome.headers.get("retry-after"), now=now)
            if told is not None:
                return told
        cfg = self.config
        backoff = min(cfg.max_delay, cfg.initial_delay * (2.0 ** (attempt - 1)))
        return backoff * self.jitter()

    def give_up(
        self,
        attempt: int,
        elapsed: float,
        next_delay: float,
        left: float | None = None,
        max_attempts: int | None = None,
    ) -> bool:
        """True when no further attempt may be made. Takes a budget token when it says False.

        ``left`` is what remains of the call's deadline (None: no deadline); ``max_attempts``
        the call's own limit (``with_options(max_retries=...)``), else the config's."""
        cfg = self.config
        if attempt >= (cfg.max_attempts if max_attempts is None else max_attempts):
            return True
        if next_delay > cfg.max_retry_after:
            return True
        if elapsed + next_delay > cfg.total_timeout:
            return True
        if left is not None and next_delay >= left:
            return True
        return not self.budget.withdraw()

    # -- the tenacity pieces, shared by both layers -------------------------------------

    def _tenacity_kwargs(self, request: httpx.Request, started: float) -> dict[str, Any]:
        def retry(state: tenacity.RetryCallState) -> bool:
            return self.reason(request, _outcome(state)) is not None

        def wait(state: tenacity.RetryCallState) -> float:
            return float(self.delay(state.attempt_number, _outcome(state)))

        deadline = deadline_of(request)
        limit = request.extensions.get(MAX_ATTEMPTS_EXTENSION)

        def stop(state: tenacity.RetryCallState) -> bool:
            elapsed = self.clock.monotonic() - started
            left = deadline.left() if deadline is not None else None
            return self.give_up(state.attempt_number, elapsed, state.upcoming_sleep, left, limit)

        def before_sleep(state: tenacity.RetryCallState) -> None:
            outcome = _outcome(state)
            self.events.emit(
                RetryScheduled(
                    at=self.clock.monotonic(),
                    wall=self.clock.time(),
                    method=request.method,
                    route=route_of(request),
                    attempt=state.attempt_number,
                    delay=state.upcoming_sleep,
                    reason=self.reason(request, outcome) or "",
                )
            )

        return {
            "retry": retry,
            "wait": wait,
            "stop": stop,
            "before_sleep": before_sleep,
            "reraise": True,
            "retry_error_callback": _last_outcome,
        }

    def finish(self, outcome: AttemptOutcome, attempts: int, waited: float) -> None:
        """Label the final outcome with attempts and waited time; refund on success."""
        if isinstance(outcome, httpx.Response):
            outcome.extensions[ATTEMPTS_EXTENSION] = (attempts, waited)
            if outcome.is_success:
                self.budget.deposit()
        elif isinstance(outcome, MaintainXError):
            outcome.attempts = attempts
            outcome.waited = waited


def _outcome(state: tenacity.RetryCallState) -> AttemptOutcome:
    future = state.outcome
    assert future is not None
    exc = future.exception()
    if exc is not None:
        return exc
    result: httpx.Response = future.result()
    return result


def _last_outcome(state: tenacity.RetryCallState) -> httpx.Response:
    """When tenacity stops: give back the last response, or raise the last error itself."""
    outcome = _outcome(state)
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


class _Tally:
    """One request's retry bookkeeping: attempts, time slept, and the first outcome.

    The first attempt is made outside tenacity (most requests succeed at once, and building
    a retry loop for them costs more than the request's own processing); only a retryable
    first outcome starts the tenacity loop, which is handed that outcome as its attempt 1.
    """

    __slots__ = ("attempts", "first", "waited")

    def __init__(self, first: AttemptOutcome) -> None:
        self.attempts = 1
        self.waited = 0.0
        self.first: list[AttemptOutcome] = [first]

    def replay_first(self) -> httpx.Response | None:
        """Give tenacity the first outcome back (raise it if it was an error)."""
        if not self.first:
            return None
        outcome = self.first.pop()
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome


def _final(
    policy: RetryPolicy, outcome: AttemptOutcome, attempts: int, waited: float
) -> httpx.Response:
    """Label the final outcome; return it if it is a response, raise it if it is an error."""
    policy.finish(outcome, attempts, waited)
    if isinstance(outcome, BaseException):
        raise outcome
    return outcome


class RetryLayer(Layer[RetryPolicy]):
    """Sends again what :class:`RetryPolicy` says may be retried, when it says."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        policy = self.policy
        started = policy.clock.monotonic()
        first: AttemptOutcome
        try:
            first = self.inner.handle_request(request)
        except MaintainXError as exc:
            first = exc
        if policy.reason(request, first) is None:
            return _final(policy, first, 1, 0.0)
        tally = _Tally(first)

        def attempt() -> httpx.Response:
            replayed = tally.replay_first()
            if replayed is not None:
                return replayed
            tally.attempts += 1
            return self.inner.handle_request(request)

        def sleep(seconds: float) -> None:
            tally.waited += seconds
            policy.clock.sleep(seconds)

        retrying = tenacity.Retrying(sleep=sleep, **policy._tenacity_kwargs(request, started))
        try:
            final: AttemptOutcome = retrying(attempt)
        except MaintainXError as exc:
            final = exc
        return _final(policy, final, tally.attempts, tally.waited)


class AsyncRetryLayer(AsyncLayer[RetryPolicy]):
    """The async twin of :class:`RetryLayer`."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        policy = self.policy
        started = policy.clock.monotonic()
        first: AttemptOutcome
        try:
            first = await self.inner.handle_async_request(request)
        except MaintainXError as exc:
            first = exc
        if policy.reason(request, first) is None:
            return _final(policy, first, 1, 0.0)
        tally = _Tally(first)

        async def attempt() -> httpx.Response:
            replayed = tally.replay_first()
            if replayed is not None:
                return replayed
            tally.attempts += 1
            return await self.inner.handle_async_request(request)

        async def sleep(seconds: float) -> None:
            tally.waited += seconds
            await policy.clock.asleep(seconds)

        retrying = tenacity.AsyncRetrying(sleep=sleep, **policy._tenacity_kwargs(request, started))
        try:
            final: AttemptOutcome = await retrying(attempt)
        except MaintainXError as exc:
            final = exc
        return _final(policy, final, tally.attempts, tally.waited)
