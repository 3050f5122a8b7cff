"""The throttle policy: keep a client under MaintainX's rate limits, and handle 429s.

MaintainX allows 100 requests / 60 s per user, 500 / 60 s per organization, and less on the
meter-reading endpoints; responses may carry ``X-Rate-Limit-Limit``/``-Remaining``/``-Reset``.
:class:`Throttle` decides (evenly spaced slots, header corrections, 429 blocks, an adaptive
rate) with the pure functions of :mod:`._throttle_core`, whose docstring describes the
algorithm; it never sleeps. This module also holds the two thin transport layers around it
and the scopes of a request:

- ``key:<fingerprint>``: the per-user limit (a hash of the ``Authorization`` value, never
  the key);
- ``org:<id>``: the per-organization limit (``x-organization-id``, or ``default``);
- ``meterreadings:<fingerprint>`` on ``POST /meterreadings`` and ``meter:<org>:<meterId>`` on
  ``POST /meters/{meterId}/readings`` (the simulator counts the latter per meter).

The layers wait for a slot (never holding a lock while sleeping), send, report the answer
to the throttle, and return it, 429s included: retrying is the retry layer's business.
"""

from __future__ import annotations

import functools
import random
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import replace

import httpx

from .._clock import SYSTEM_CLOCK, Clock
from .._events import EventBus, ThrottleWaited
from .._exceptions import ConfigurationError, ThrottledError
from .._http import route_of
from .._retry_after import parse_retry_after
from .._secrets import fingerprint
from ._throttle_core import (
    ADAPTIVE_BETA,
    DEFAULT_BURST,
    DEFAULT_MAX_WAIT,
    DEFAULT_METER_READINGS,
    DEFAULT_PER_ORG,
    DEFAULT_PER_USER,
    DEFAULT_SAFETY_MARGIN,
    DEFAULT_SINGLE_METER_READINGS,
    DEFAULT_SINGLE_METER_WINDOW,
    DEFAULT_WINDOW,
    OVERRIDE_SCOPE,
    OVERRIDE_WINDOW,
    SLOT_TOLERANCE,
    MemoryThrottleStore,
    RateLimitHeaders,
    Reservation,
    ScopeLimits,
    ScopeSnapshot,
    ScopeState,
    ThrottleConfig,
    ThrottleSnapshot,
    ThrottleStore,
    attribute,
    earliest,
    grant,
    observe_headers,
    positive_number,
    record_429,
    record_success,
    shape,
    tokens_at,
    voids,
)

__all__ = [
    "ADAPTIVE_BETA",
    "DEFAULT_BURST",
    "DEFAULT_MAX_WAIT",
    "DEFAULT_METER_READINGS",
    "DEFAULT_PER_ORG",
    "DEFAULT_PER_USER",
    "DEFAULT_SAFETY_MARGIN",
    "DEFAULT_SINGLE_METER_READINGS",
    "DEFAULT_SINGLE_METER_WINDOW",
    "DEFAULT_WINDOW",
    "MAX_WAIT_EXTENSION",
    "OVERRIDE_SCOPE",
    "AsyncThrottleLayer",
    "MemoryThrottleStore",
    "RateLimitHeaders",
    "Reservation",
    "ScopeLimits",
    "ScopeSnapshot",
    "ScopeState",
    "Throttle",
    "ThrottleConfig",
    "ThrottleLayer",
    "ThrottleSnapshot",
    "ThrottleStore",
    "request_scopes",
]


class Throttle:
    """The rate limiter shared by every call of one client. Thread-safe; never sleeps.

    A transport layer calls :meth:`reserve`, sleeps ``reservation.wait``, calls
    :meth:`confirm` (which hands out a new slot if a block was set meanwhile), sends, and
    reports the answer with :meth:`settle` (:meth:`observe` or :meth:`on_429`).
    ``now`` is :meth:`now` (the clock's monotonic time, or Unix time for a shared store).
    """

    def __init__(
        self,
        config: ThrottleConfig | None = None,
        *,
        clock: Clock = SYSTEM_CLOCK,
        events: EventBus | None = None,
        store: ThrottleStore | None = None,
        jitter: Callable[[], float] = random.random,
    ) -> None:
        self.config = config if config is not None else ThrottleConfig()
        self.clock = clock
        self.events = events if events is not None else EventBus()
        self.store: ThrottleStore = store if store is not None else MemoryThrottleStore()
        self._jitter = jitter
        self._override: float | None = self.config.cap_per_minute

    def now(self) -> float:
        """The time to pass as ``now``, on the store's clock."""
        return self.clock.time() if self.store.wall_clock else self.clock.monotonic()

    # -- the "enable throttling" mitigation (runbook RB-002) ---------------------------------

    @property
    def override_per_minute(self) -> float | None:
        """The hard cap set by :meth:`enable_throttling`, or None."""
        return self._override

    def enable_throttling(self, rate_per_minute: float) -> None:
        """Cap every request of this client at ``rate_per_minute`` (evenly spaced, no burst)
        until :meth:`disable_override`, on top of the normal limits."""
        if not positive_number(rate_per_minute):
            raise ConfigurationError(
                f"enable_throttling needs a positive requests-per-minute rate, got "
                f"{rate_per_minute!r}"
            )
        self._override = float(rate_per_minute)
        self._forget_override()

    def disable_override(self) -> None:
        """Remove the cap set by :meth:`enable_throttling`."""
        self._override = None
        self._forget_override()

    def _forget_override(self) -> None:
        # A new cap starts from a clean slate; slots promised under the old one stand.
        self.store.transact((OVERRIDE_SCOPE,), lambda _: ({OVERRIDE_SCOPE: ScopeState()}, None))

    # -- decisions ---------------------------------------------------------------------------

    def limits_for(self, scope: str) -> ScopeLimits:
        if scope == OVERRIDE_SCOPE:
            # Disabled: a limit so high it never binds (the scope is dropped from new calls).
            return ScopeLimits(self._override or 1e9, OVERRIDE_WINDOW)
        return _configured_limits(self.config, scope)

    def _with_override(self, scopes: Sequence[str]) -> tuple[str, ...]:
        base = tuple(s for s in scopes if s != OVERRIDE_SCOPE)
        return (*base, OVERRIDE_SCOPE) if self._override is not None else base

    def reserve(
        self, scopes: Sequence[str], *, now: float, max_wait: float | None = None
    ) -> Reservation:
        """Take the next slot for a request in ``scopes``; the caller sleeps
        ``reservation.wait`` before sending (0 = now).

        Raises :class:`~maintainx_resilient.ThrottledError` (taking nothing) when the wait
        would pass ``max_wait`` (the config's, or this call's if smaller).
        """
        budget = self.config.max_wait if max_wait is None else min(max_wait, self.config.max_wait)
        return self._reserve(self._with_override(scopes), now, now + max(0.0, budget))

    def confirm(self, reservation: Reservation, *, now: float) -> Reservation:
        """After sleeping: the same slot (``wait`` 0, or what is left of it), or, when a
        block set meanwhile covers it, a fresh slot within the original deadline."""
        scopes = tuple(
            s for s in reservation.scopes if s != OVERRIDE_SCOPE or self._override is not None
        )
        limits = {s: self.limits_for(s) for s in scopes}
        adaptive = self.config.adaptive

        def decide(
            states: Mapping[str, ScopeState],
        ) -> tuple[Mapping[str, ScopeState], Reservation | None]:
            if any(voids(states[s], reservation.slot) for s in scopes):
                return self._decide(scopes, limits, states, now, reservation.deadline, adaptive)
            return {}, None

        fresh = self.store.transact(scopes, decide)
        if fresh is not None:
            return fresh
        left = reservation.slot - now
        return replace(reservation, wait=left if left > SLOT_TOLERANCE else 0.0)

    def _reserve(self, scopes: tuple[str, ...], now: float, deadline: float) -> Reservation:
        limits = {s: self.limits_for(s) for s in scopes}
        adaptive = self.config.adaptive
        return self.store.transact(
            scopes, lambda states: self._decide(scopes, limits, states, now, deadline, adaptive)
        )

    @staticmethod
    def _decide(
        scopes: tuple[str, ...],
        limits: Mapping[str, ScopeLimits],
        states: Mapping[str, ScopeState],
        now: float,
        deadline: float,
        adaptive: bool,
    ) -> tuple[dict[str, ScopeState], Reservation]:
        slot, binding, reason = now, "", ""
        for scope in scopes:
            at, why = earliest(states[scope], limits[scope], now, adaptive=adaptive)
            if at > slot:
                slot, binding = at, scope
                reason = "override" if scope == OVERRIDE_SCOPE else why
        wait = slot - now
        if slot > deadline:
            allowed = max(0.0, deadline - now)
            raise ThrottledError(
                f"rate limit of {binding} ({reason}): the next slot is {wait:.2f}s away, "
                f"more than the {allowed:.2f}s this call may wait (ThrottleConfig.max_wait)",
                retry_after=wait,
                status_code=429,
            )
        updated = {s: grant(states[s], limits[s], slot, adaptive=adaptive) for s in scopes}
        if binding:
            updated[binding] = replace(updated[binding], waited=updated[binding].waited + wait)
        return updated, Reservation(scopes, slot, wait, deadline, binding, reason)

    def observe(self, scopes: Sequence[str], headers: Mapping[str, str], *, now: float) -> None:
        """A response other than 429 arrived: learn from its ``X-Rate-Limit-*`` headers (if
        any) and let the adaptive rate regrow."""
        info = RateLimitHeaders.parse(headers)
        scopes = tuple(s for s in scopes if s != OVERRIDE_SCOPE)
        if not scopes:
            return
        limits = {s: self.limits_for(s) for s in scopes}
        adaptive = self.config.adaptive

        def decide(states: Mapping[str, ScopeState]) -> tuple[dict[str, ScopeState], None]:
            updated = {
                s: record_success(states[s], limits[s], now, adaptive=adaptive) for s in scopes
            }
            if info.present:
                target = attribute(scopes, info, states, limits)
                updated[target] = observe_headers(updated[target], limits[target], info, now)
            return updated, None

        self.store.transact(scopes, decide)

    def on_429(
        self,
        scopes: Sequence[str],
        retry_after: str | float | None,
        *,
        now: float,
        headers: Mapping[str, str] | None = None,
    ) -> float:
        """A 429 arrived: block the scope it concerns (see :func:`attribute`) for
        ``retry_after`` (the ``Retry-After`` header: seconds or an HTTP date; or seconds),
        else ``X-Rate-Limit-Reset`` from ``headers`` plus a small buffer, else a backoff;
        with ``adaptive``, cut its rate by 0.7. Returns the length of the block."""
        info = RateLimitHeaders.parse(headers)
        told = (
            parse_retry_after(retry_after, now=self.clock.time())
            if isinstance(retry_after, str)
            else (max(0.0, float(retry_after)) if retry_after is not None else None)
        )
        scopes = tuple(s for s in scopes if s != OVERRIDE_SCOPE)
        if not scopes:
            return 0.0
        limits = {s: self.limits_for(s) for s in scopes}
        adaptive = self.config.adaptive
        jitter = self._jitter()

        def decide(states: Mapping[str, ScopeState]) -> tuple[dict[str, ScopeState], float]:
            target = attribute(scopes, info, states, limits)
            state, delay = record_429(
                states[target],
                limits[target],
                now,
                retry_after=told,
                info=info,
                jitter=jitter,
                adaptive=adaptive,
            )
            return {target: state}, delay

        return self.store.transact(scopes, decide)

    def settle(
        self, scopes: Sequence[str], status_code: int, headers: Mapping[str, str], *, now: float
    ) -> None:
        """Report an answer: :meth:`on_429` for a 429, :meth:`observe` otherwise."""
        if status_code == 429:
            self.on_429(scopes, headers.get("retry-after"), now=now, headers=headers)
        else:
            self.observe(scopes, headers, now=now)

    # -- diagnostics -------------------------------------------------------------------------

    def snapshot(self, *, now: float | None = None) -> ThrottleSnapshot:
        """The state of every scope seen so far."""
        at = self.now() if now is None else now
        adaptive = self.config.adaptive
        scopes: list[ScopeSnapshot] = []
        for name, state in sorted(self.store.states().items()):
            if name == OVERRIDE_SCOPE and self._override is None:
                continue
            limits = self.limits_for(name)
            pace = shape(state, limits, adaptive=adaptive)
            reset_in = state.reset_at - at if state.reset_at is not None else None
            live_window = reset_in is not None and reset_in > 0
            blocked_for = max(0.0, state.blocked_until - at) if state.blocked_until else 0.0
            backlog = 0.0 if state.tat is None else max(0.0, state.tat - pace.tolerance - at)
            scopes.append(
                ScopeSnapshot(
                    scope=name,
                    limit=pace.limit,
                    window=limits.window,
                    remaining=state.remaining if live_window else None,
                    reset_in=reset_in if live_window else None,
                    rate_per_minute=pace.rate * 60.0,
                    factor=state.factor,
                    tokens=max(0.0, tokens_at(state, limits, at, adaptive=adaptive)),
                    backlog=backlog,
                    blocked_for=blocked_for,
                    blocked_reason=state.blocked_reason if blocked_for > 0 else "",
                    granted=state.granted,
                    throttled=state.throttled,
                    waited=state.waited,
                )
            )
        return ThrottleSnapshot(at=at, override_per_minute=self._override, scopes=tuple(scopes))

    def reset(self) -> None:
        """Forget every scope (the runbook's "clear error state"); the override stays."""
        self.store.clear()

    def __repr__(self) -> str:
        return f"Throttle({self.config!r}, override={self._override!r})"


# ---- the transport layers -----------------------------------------------------------------

#: ``request.extensions`` key: seconds this request may wait for a slot (below ``max_wait``),
#: e.g. what is left of a caller's deadline.
MAX_WAIT_EXTENSION = "maintainx_max_wait"

_METER_READINGS = re.compile(r"(?:^|/)meterreadings/?$")
_SINGLE_METER = re.compile(r"(?:^|/)meters/(?P<meter>[^/]+)/readings/?$")


@functools.lru_cache(maxsize=256)
def _configured_limits(config: ThrottleConfig, scope: str) -> ScopeLimits:
    return config.limits_for(scope)


#: The response headers the throttle reads (everything else is never looked at).
_RATE_HEADERS = (
    "x-rate-limit-limit",
    "x-rate-limit-remaining",
    "x-rate-limit-reset",
    "retry-after",
)


def _rate_headers(headers: httpx.Headers) -> dict[str, str]:
    return {name: headers[name] for name in _RATE_HEADERS if name in headers}


@functools.lru_cache(maxsize=64)
def _key_label(authorization: str) -> str:
    return fingerprint(authorization)


def request_scopes(request: httpx.Request) -> tuple[str, ...]:
    """The budgets a request counts against, narrowest first."""
    auth = request.headers.get("authorization")
    key = _key_label(auth) if auth else "anonymous"
    org = (request.headers.get("x-organization-id") or "").strip() or "default"
    route = route_of(request)
    scopes: list[str] = []
    if _METER_READINGS.search(route):
        scopes.append(f"meterreadings:{key}")
    elif _SINGLE_METER.search(route):
        match = _SINGLE_METER.search(request.url.path)
        scopes.append(f"meter:{org}:{match['meter'] if match else '?'}")
    scopes += [f"key:{key}", f"org:{org}"]
    return tuple(scopes)


def _max_wait_of(request: httpx.Request) -> float | None:
    value = request.extensions.get(MAX_WAIT_EXTENSION)
    return float(value) if isinstance(value, (int, float)) else None


def _located(exc: ThrottledError, request: httpx.Request) -> ThrottledError:
    return ThrottledError(
        exc.message,
        method=request.method,
        path=request.url.path,
        status_code=429,
        retry_after=exc.retry_after,
    )


def _admit(throttle: Throttle, request: httpx.Request, previous: Reservation | None) -> Reservation:
    """Reserve (or, after a sleep, confirm) a slot; a refusal names the request."""
    try:
        if previous is None:
            scopes = request_scopes(request)
            return throttle.reserve(scopes, now=throttle.now(), max_wait=_max_wait_of(request))
        return throttle.confirm(previous, now=throttle.now())
    except ThrottledError as exc:
        raise _located(exc, request) from None


def _waited(throttle: Throttle, reservation: Reservation) -> None:
    if throttle.events.active:
        clock = throttle.clock
        throttle.events.emit(
            ThrottleWaited(
                at=clock.monotonic(),
                wall=clock.time(),
                scope=reservation.scope,
                wait=reservation.wait,
                reason=reservation.reason,
            )
        )


def _request_scopes(reservation: Reservation) -> tuple[str, ...]:
    return tuple(s for s in reservation.scopes if s != OVERRIDE_SCOPE)


class ThrottleLayer(httpx.BaseTransport):
    """Waits for a rate-limit slot, sends, and tells the throttle what came back."""

    def __init__(self, inner: httpx.BaseTransport, throttle: Throttle) -> None:
        self.inner = inner
        self.throttle = throttle

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        throttle = self.throttle
        reservation = _admit(throttle, request, None)
        while reservation.wait > 0:
            _waited(throttle, reservation)
            throttle.clock.sleep(reservation.wait)
            reservation = _admit(throttle, request, reservation)
        response = self.inner.handle_request(request)
        throttle.settle(
            _request_scopes(reservation),
            response.status_code,
            _rate_headers(response.headers),
            now=throttle.now(),
        )
        return response

    def close(self) -> None:
        self.inner.close()


class AsyncThrottleLayer(httpx.AsyncBaseTransport):
    """The async twin of :class:`ThrottleLayer`."""

    def __init__(self, inner: httpx.AsyncBaseTransport, throttle: Throttle) -> None:
        self.inner = inner
        self.throttle = throttle

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        throttle = self.throttle
        reservation = _admit(throttle, request, None)
        while reservation.wait > 0:
            _waited(throttle, reservation)
            await throttle.clock.asleep(reservation.wait)
            reservation = _admit(throttle, request, reservation)
        response = await self.inner.handle_async_request(request)
        throttle.settle(
            _request_scopes(reservation),
            response.status_code,
            _rate_headers(response.headers),
            now=throttle.now(),
        )
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()
