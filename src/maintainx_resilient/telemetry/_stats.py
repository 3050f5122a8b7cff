"""Rolling statistics of what the client did lately, for the diagnostics.

:class:`RollingStats` listens to the event bus and keeps, per endpoint (``"GET /workorders"``,
the method and the spec's route template), what happened over the last ``window`` seconds:

- attempts by status code, and by error kind for attempts that got no response;
- calls the client refused without sending (an open circuit breaker, a rate-limit wait
  too long for the call, fallback mode with nothing cached), by error kind: they are what the
  application saw fail, so they count as requests and errors too (``refused`` says how many);
- answers that came with a 2xx but could not be read (``ResponseUnreadable``: an HTML page
  from a proxy, truncated JSON, the wrong shape): that attempt is counted under its error
  kind (``DecodeError``) instead of its status, since the application got an error;
- latency samples (every attempt's duration; at most ``max_samples_per_route`` of the newest
  per endpoint, so under heavy traffic the percentiles describe the most recent attempts);
- totals of retries, throttle waits, 429 answers, breaker changes, fallback answers and key
  rotations.

Counts live in ``window / 60``-second buckets: an event is kept for at least ``window``
seconds and at most one bucket longer. Time is the injected clock's, read when the event is
recorded (events arrive on the emitting thread, so that is when they happened). Memory is
bounded: 61 buckets of a few counters and ``max_samples_per_route`` samples per endpoint, and
at most ``max_endpoints`` endpoints (further ones are counted under ``"METHOD (other)"``).

:meth:`RollingStats.snapshot` gives frozen numbers; the error distribution is keyed
``"status:endpoint"`` (``"503:GET /workorders"``), as the runbook's RB-002 script groups
errors; attempts that got no response, and refused calls, are keyed by their error kind
(``"ConnectionError:GET /workorders"``, ``"CircuitOpenError:GET /workorders"``). The snapshot
also says how many tries in a row failed since the last success, and how long ago that was
(not windowed: a long outage keeps counting). :meth:`RollingStats.reset` forgets everything
(the runbook's "clear error state").
"""

from __future__ import annotations

import math
import threading
from collections import Counter, deque
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from types import MappingProxyType
from typing import TypeVar

from .._clock import SYSTEM_CLOCK, Clock
from .._events import (
    REFUSAL_KINDS,
    BreakerStateChanged,
    Event,
    EventBus,
    FallbackServed,
    KeyRotated,
    RequestCompleted,
    RequestRefused,
    ResponseUnreadable,
    RetryScheduled,
    ThrottleWaited,
)
from .._exceptions import ConfigurationError

__all__ = [
    "DEFAULT_MAX_ENDPOINTS",
    "DEFAULT_MAX_SAMPLES",
    "DEFAULT_STATS_WINDOW",
    "OTHER_ROUTE",
    "EndpointStats",
    "RollingStats",
    "StatsSnapshot",
    "StatsTotals",
    "percentile",
]

DEFAULT_STATS_WINDOW = 300.0
DEFAULT_MAX_SAMPLES = 2048
DEFAULT_MAX_ENDPOINTS = 256
_BUCKETS_PER_WINDOW = 60
#: The route under which endpoints beyond ``max_endpoints`` are counted.
OTHER_ROUTE = "(other)"

_K = TypeVar("_K", int, str)


@dataclass(frozen=True, slots=True)
class StatsTotals:
    """What the resilience policies did within the window."""

    retries: int = 0
    throttle_waits: int = 0
    throttle_wait_seconds: float = 0.0
    rate_limited: int = 0
    breaker_changes: int = 0
    fallbacks_served: int = 0
    key_rotations: int = 0


@dataclass(frozen=True, slots=True)
class EndpointStats:
    """One endpoint over the window. Requests are tries: every attempt sent (a retried call
    counts per try), and every call the client refused without sending.

    ``by_status`` counts responses by status code; ``by_error`` counts attempts that got no
    response, refused calls, and 2xx answers that could not be read, by error kind
    (``ConnectionError``, ``TimeoutError``, ``CircuitOpenError``, ``DecodeError``...). An
    error is a response >= 400, no response, an unreadable answer, or a refusal;
    ``refused`` of the errors were refused calls. Latency percentiles (nearest rank,
    seconds) are None without samples (refused calls have none).
    """

    endpoint: str
    method: str
    route: str
    requests: int
    errors: int
    error_rate: float
    by_status: Mapping[int, int]
    by_error: Mapping[str, int]
    p50: float | None
    p95: float | None
    p99: float | None
    samples: int
    refused: int = 0


@dataclass(frozen=True, slots=True)
class StatsSnapshot:
    """Everything :class:`RollingStats` knows, frozen at ``at`` (monotonic) / ``wall``."""

    at: float
    wall: float
    window: float
    requests: int
    errors: int
    error_rate: float
    #: Per endpoint, keyed ``"METHOD route"``, sorted by key.
    endpoints: Mapping[str, EndpointStats]
    #: Errors keyed ``"status:endpoint"`` (or ``"ErrorKind:endpoint"``), most frequent first.
    error_distribution: Mapping[str, int]
    totals: StatsTotals
    #: Of ``requests`` and ``errors``: calls refused without being sent.
    refused: int = 0
    #: Tries that failed since the last one that succeeded (not windowed).
    failures_since_success: int = 0
    #: Seconds since the last try that succeeded; None when none was recorded.
    last_success_age: float | None = None

    @property
    def last_try_ok(self) -> bool | None:
        """Whether the most recent try succeeded; None when nothing was recorded."""
        if self.failures_since_success:
            return False
        return None if self.last_success_age is None else True


def percentile(ordered: Sequence[float], p: float) -> float | None:
    """The nearest-rank ``p``-th percentile (0 < p <= 100) of an ascending sequence."""
    if not ordered:
        return None
    rank = math.ceil(p / 100.0 * len(ordered))
    return ordered[min(len(ordered), max(1, rank)) - 1]


_Outcome = int | str  # a status code, or an error kind when no response came


class _Endpoint:
    __slots__ = ("buckets", "method", "route", "samples")

    def __init__(self, method: str, route: str, max_samples: int) -> None:
        self.method = method
        self.route = route
        self.buckets: deque[tuple[int, Counter[_Outcome]]] = deque()
        self.samples: deque[tuple[float, float]] = deque(maxlen=max_samples)


def _is_error(outcome: _Outcome) -> bool:
    return isinstance(outcome, str) or outcome >= 400


class RollingStats:
    """Per-endpoint counts and latencies, and policy totals, over a rolling window.

    Pass ``events`` to subscribe at once, or subscribe :meth:`record` yourself. Thread-safe:
    one lock, held only while counting or copying.
    """

    def __init__(
        self,
        window: float = DEFAULT_STATS_WINDOW,
        *,
        clock: Clock = SYSTEM_CLOCK,
        max_samples_per_route: int = DEFAULT_MAX_SAMPLES,
        max_endpoints: int = DEFAULT_MAX_ENDPOINTS,
        events: EventBus | None = None,
    ) -> None:
        if not window > 0:
            raise ConfigurationError(f"RollingStats window must be > 0 seconds, got {window}")
        if max_samples_per_route < 1 or max_endpoints < 1:
            raise ConfigurationError(
                "RollingStats max_samples_per_route and max_endpoints must be >= 1"
            )
        self.window = float(window)
        self.clock = clock
        self.max_samples_per_route = max_samples_per_route
        self.max_endpoints = max_endpoints
        self._width = self.window / _BUCKETS_PER_WINDOW
        self._lock = threading.Lock()
        self._endpoints: dict[str, _Endpoint] = {}
        self._totals: deque[tuple[int, Counter[str], float]] = deque()
        self._streak = 0
        self._last_success: float | None = None
        #: The streak and last success before the latest success (to undo it).
        self._previous: tuple[int, float | None] = (0, None)
        self._unsubscribe: Callable[[], None] | None = (
            events.subscribe(self.record) if events is not None else None
        )

    # -- recording (the event-bus hook) ------------------------------------------------

    def record(self, event: Event) -> None:
        """Count one event. Subscribe this to an :class:`~maintainx_resilient._events.EventBus`."""
        if isinstance(event, RequestCompleted):
            outcome: _Outcome = (
                event.status if event.status is not None else (event.error or "unknown")
            )
            self._record_try(event.method, event.route, outcome, event.duration)
            return
        if isinstance(event, RequestRefused):
            self._record_try(event.method, event.route, event.kind, None)
            return
        if isinstance(event, ResponseUnreadable):
            self._record_unreadable(event.method, event.route, event.status, event.kind)
            return
        if isinstance(event, RetryScheduled):
            self._add_total("retries")
        elif isinstance(event, ThrottleWaited):
            self._add_total("throttle_waits", event.wait)
        elif isinstance(event, BreakerStateChanged):
            self._add_total("breaker_changes")
        elif isinstance(event, FallbackServed):
            self._add_total("fallbacks_served")
        elif isinstance(event, KeyRotated):
            self._add_total("key_rotations")

    def _record_try(
        self, method: str, route: str, outcome: _Outcome, duration: float | None
    ) -> None:
        """One attempt (with its ``duration``) or one refused call (``duration`` None)."""
        now = self.clock.monotonic()
        index = int(now // self._width)
        key = f"{method} {route}"
        with self._lock:
            endpoint = self._endpoints.get(key)
            if endpoint is None:
                if len(self._endpoints) >= self.max_endpoints:
                    route = OTHER_ROUTE
                    key = f"{method} {route}"
                    endpoint = self._endpoints.get(key)
                if endpoint is None:
                    endpoint = _Endpoint(method, route, self.max_samples_per_route)
                    self._endpoints[key] = endpoint
            buckets = endpoint.buckets
            if not buckets or buckets[-1][0] != index:
                # What left the window is dropped here, once per bucket, to bound memory
                # (``snapshot`` drops it too before it reads: every write need not).
                self._expire_endpoint(endpoint, now)
                buckets.append((index, Counter()))
            buckets[-1][1][outcome] += 1
            if duration is not None:
                endpoint.samples.append((now, duration))
            if _is_error(outcome):
                self._streak += 1
            else:
                self._previous = (self._streak, self._last_success)
                self._streak = 0
                self._last_success = now
            if outcome == 429:
                self._add_total_locked(index, "rate_limited", 0.0)

    def _record_unreadable(self, method: str, route: str, status: int, kind: str) -> None:
        """An attempt counted as ``status`` gave an answer that could not be read: count it
        as failed with ``kind`` (in the bucket it was counted in), not as a success."""
        with self._lock:
            endpoint = self._endpoints.get(f"{method} {route}") or self._endpoints.get(
                f"{method} {OTHER_ROUTE}"
            )
            buckets = endpoint.buckets if endpoint is not None else deque()
            counts = next((c for _, c in reversed(buckets) if c[status] > 0), None)
            if counts is not None:
                counts[status] -= 1
                if not counts[status]:
                    del counts[status]
                counts[kind] += 1
                if self._streak == 0:  # the success last recorded was this answer: undo it
                    self._streak, self._last_success = self._previous
                self._streak += 1
                return
        # The attempt left the window (or was never seen): a failed try now.
        self._record_try(method, route, kind, None)

    def _add_total(self, name: str, seconds: float = 0.0) -> None:
        index = int(self.clock.monotonic() // self._width)
        with self._lock:
            self._add_total_locked(index, name, seconds)

    def _add_total_locked(self, index: int, name: str, seconds: float) -> None:
        totals = self._totals
        if not totals or totals[-1][0] != index:
            totals.append((index, Counter(), 0.0))
            self._expire_totals(index)
        bucket_index, counts, waited = totals[-1]
        counts[name] += 1
        if seconds:
            totals[-1] = (bucket_index, counts, waited + seconds)

    # -- expiry (lock held) --------------------------------------------------------------

    def _oldest_index(self, now: float) -> int:
        """Buckets with a smaller index ended more than ``window`` seconds ago."""
        return math.floor((now - self.window) / self._width)

    def _expire_endpoint(self, endpoint: _Endpoint, now: float) -> None:
        oldest = self._oldest_index(now)
        buckets = endpoint.buckets
        while buckets and buckets[0][0] < oldest:
            buckets.popleft()
        cutoff = now - self.window
        samples = endpoint.samples
        while samples and samples[0][0] < cutoff:
            samples.popleft()

    def _expire_totals(self, current_index: int) -> None:
        oldest = current_index - _BUCKETS_PER_WINDOW
        while self._totals and self._totals[0][0] < oldest:
            self._totals.popleft()

    # -- reading ---------------------------------------------------------------------------

    def snapshot(self) -> StatsSnapshot:
        """The numbers now: per endpoint, overall, the error distribution and the totals."""
        now = self.clock.monotonic()
        wall = self.clock.time()
        oldest = self._oldest_index(now)
        copied: list[tuple[str, str, str, Counter[_Outcome], list[float]]] = []
        totals: Counter[str] = Counter()
        waited = 0.0
        with self._lock:
            streak, last_success = self._streak, self._last_success
            for key, endpoint in list(self._endpoints.items()):
                self._expire_endpoint(endpoint, now)
                if not endpoint.buckets and not endpoint.samples:
                    del self._endpoints[key]
                    continue
                outcomes: Counter[_Outcome] = Counter()
                for _, counts in endpoint.buckets:
                    outcomes.update(counts)
                latencies = [duration for _, duration in endpoint.samples]
                copied.append((key, endpoint.method, endpoint.route, outcomes, latencies))
            for index, named, seconds in self._totals:
                if index >= oldest:
                    totals.update(named)
                    waited += seconds
        snap = self._build(now, wall, copied, totals, waited)
        age = None if last_success is None else max(0.0, now - last_success)
        return replace(snap, failures_since_success=streak, last_success_age=age)

    def _build(
        self,
        now: float,
        wall: float,
        copied: list[tuple[str, str, str, Counter[_Outcome], list[float]]],
        totals: Counter[str],
        waited: float,
    ) -> StatsSnapshot:
        endpoints: dict[str, EndpointStats] = {}
        distribution: Counter[str] = Counter()
        all_requests = all_errors = all_refused = 0
        for key, method, route, outcomes, latencies in sorted(copied, key=lambda c: c[0]):
            latencies.sort()
            requests = sum(outcomes.values())
            errors = refused = 0
            for outcome, count in outcomes.items():
                if _is_error(outcome):
                    errors += count
                    distribution[f"{outcome}:{key}"] += count
                if outcome in REFUSAL_KINDS:
                    refused += count
            all_requests += requests
            all_errors += errors
            all_refused += refused
            endpoints[key] = EndpointStats(
                endpoint=key,
                method=method,
                route=route,
                requests=requests,
                errors=errors,
                error_rate=errors / requests if requests else 0.0,
                by_status=_frozen({k: v for k, v in outcomes.items() if isinstance(k, int)}),
                by_error=_frozen({k: v for k, v in outcomes.items() if isinstance(k, str)}),
                p50=percentile(latencies, 50),
                p95=percentile(latencies, 95),
                p99=percentile(latencies, 99),
                samples=len(latencies),
                refused=refused,
            )
        ranked = sorted(distribution.items(), key=lambda kv: (-kv[1], kv[0]))
        return StatsSnapshot(
            at=now,
            wall=wall,
            window=self.window,
            requests=all_requests,
            errors=all_errors,
            error_rate=all_errors / all_requests if all_requests else 0.0,
            endpoints=MappingProxyType(endpoints),
            error_distribution=MappingProxyType(dict(ranked)),
            totals=StatsTotals(
                retries=totals["retries"],
                throttle_waits=totals["throttle_waits"],
                throttle_wait_seconds=waited,
                rate_limited=totals["rate_limited"],
                breaker_changes=totals["breaker_changes"],
                fallbacks_served=totals["fallbacks_served"],
                key_rotations=totals["key_rotations"],
            ),
            refused=all_refused,
        )

    def reset(self) -> None:
        """Forget everything recorded so far (the runbook's "clear error state")."""
        with self._lock:
            self._endpoints.clear()
            self._totals.clear()
            self._streak = 0
            self._last_success = None
            self._previous = (0, None)

    def close(self) -> None:
        """Stop listening to the event bus given at construction (idempotent)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def __repr__(self) -> str:
        return f"RollingStats(window={self.window}, endpoints={len(self._endpoints)})"


def _frozen(mapping: dict[_K, int]) -> Mapping[_K, int]:
    return MappingProxyType(dict(sorted(mapping.items())))
