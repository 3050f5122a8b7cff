"""The throttle's decisions: configuration, per-scope state, pure arithmetic, and the store
the state lives in. No I/O, no sleeping; time comes in as ``now``. :class:`.throttle.Throttle`
runs these functions against a store; the transport layers drive it.

The algorithm, per scope (a scope is one budget: an API key, an organization, a meter...):

- **Pacing (GCRA).** Each scope keeps a *theoretical arrival time* ``tat``. A request may go
  at ``slot = max(now, tat - tolerance)``; granting it moves ``tat`` to ``max(tat, slot) +
  interval``. Successive callers therefore get successive slots ``interval`` apart (fair,
  first come first served, no herd when a window resets). With ``limit`` L per ``window`` W,
  ``safety_margin`` m and ``burst`` C the interval is ``W / (L - m - (C - 1))`` and the
  tolerance ``(C - 1) * interval``: any stretch of W seconds then holds at most ``L - m``
  grants, whatever the phase of the server's fixed windows. This alone keeps a client under
  the limit when the server sends no ``X-Rate-Limit-*`` headers.
- **Headers.** ``X-Rate-Limit-Remaining`` / ``-Reset`` give the server's count for its current
  window. The estimate is decremented for every slot granted inside that window; when it
  reaches 0 later callers are given slots after the reset instead. An observed
  ``Remaining: 0`` *blocks* the scope until the reset (plus a small buffer, as the API docs
  advise); ``X-Rate-Limit-Limit`` replaces the configured limit (the server knows best).
- **429.** The scope is blocked for ``Retry-After`` (seconds or HTTP date) when present, else
  ``X-Rate-Limit-Reset`` plus the buffer, else an exponential backoff with jitter. With
  ``adaptive`` the scope's rate is multiplied by beta = 0.7 (botocore adaptive mode), at most
  once per block, and regrows on later successes along botocore's CUBIC curve, time measured
  in windows: ``f(t) = f_max + 0.3 (t - K)^3`` with ``K = cbrt(f_max (1 - beta) / 0.3)``,
  so the pre-429 rate is back one window after a single 429, and never above the limit.
- **Blocks void waiting slots.** A slot granted before a block that ends after it is void:
  its holder calls ``Throttle.confirm`` after sleeping and gets a fresh slot after the
  block (in wake-up order, so still paced), instead of sending into a known 429.

A request's scopes are decided together: its slot is the latest of its scopes' earliest
slots, and every scope records the grant. A wait longer than ``max_wait`` (or the call's own
budget) raises :class:`~maintainx_resilient.ThrottledError` at once and takes nothing.

State lives in a :class:`ThrottleStore` (in memory here; a Redis store for many workers
sharing one limit implements the same two methods, with the same frozen :class:`ScopeState`
records, and the decisions stay as they are).
"""

from __future__ import annotations

import functools
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol, TypeVar

from .._exceptions import ConfigurationError

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
    "OVERRIDE_SCOPE",
    "OVERRIDE_WINDOW",
    "SLOT_TOLERANCE",
    "MemoryThrottleStore",
    "RateLimitHeaders",
    "Reservation",
    "ScopeLimits",
    "ScopeSnapshot",
    "ScopeState",
    "ThrottleConfig",
    "ThrottleSnapshot",
    "ThrottleStore",
    "attribute",
    "earliest",
    "grant",
    "observe_headers",
    "positive_number",
    "record_429",
    "record_success",
    "reset_buffer",
    "shape",
    "tokens_at",
    "voids",
]

R = TypeVar("R")

# ---- defaults: MaintainX's documented limits (API docs, "Rate Limiting") ------------------

#: 100 requests / 60 s per user, across all of the user's organizations.
DEFAULT_PER_USER = 100
#: 500 requests / 60 s for all users of one organization together.
DEFAULT_PER_ORG = 500
#: The documented timeframe of both limits.
DEFAULT_WINDOW = 60.0
#: ``POST /meterreadings`` (automated/IoT readings): 100 requests / 60 s.
DEFAULT_METER_READINGS = 100
#: ``POST /meters/{meterId}/readings``: 1 request / 10 s (per meter).
DEFAULT_SINGLE_METER_READINGS = 1
DEFAULT_SINGLE_METER_WINDOW = 10.0
#: One full window: a longer wait means a long block (a big Retry-After); fail fast instead.
DEFAULT_MAX_WAIT = 60.0
#: One request per window left unused absorbs network jitter at the server's window edges
#: (at 100/60 s, a request may arrive 0.6 s late or early without a 429).
DEFAULT_SAFETY_MARGIN = 1
#: After an idle spell two requests go at once (an interactive caller is not made to wait
#: 0.6 s for its second call); each extra burst request costs one request of steady rate.
DEFAULT_BURST = 2

#: botocore adaptive mode: the allowed rate is multiplied by this on a 429.
ADAPTIVE_BETA = 0.7
#: CUBIC regrowth constant with time in windows: one window to regrow after one 429.
CUBIC_SCALE = 0.3
#: The adaptive factor never goes below this (nor the rate below one request per window).
MIN_FACTOR = 0.05
#: "Add a small time buffer" to waits for ``X-Rate-Limit-Reset`` (API docs): 2% of the
#: window, at most half a second.
RESET_BUFFER_FRACTION = 0.02
RESET_BUFFER_MAX = 0.5
#: Jitter of the no-information backoff: the delay is multiplied by 0.75..1.0.
BACKOFF_JITTER = 0.25
#: Sleeps that end this close to the slot count as on time (event loops wake a little early).
SLOT_TOLERANCE = 0.002
#: Intervals are stretched by this relative amount so float rounding never lets one
#: more request into a window than the arithmetic allows.
_INTERVAL_STRETCH = 1e-6

#: The scope of the runbook's "enable throttling" cap, shared by every request of a client.
OVERRIDE_SCOPE = "override"
OVERRIDE_WINDOW = 60.0


# ---- configuration ------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def positive_number(value: object) -> bool:
    return (
        isinstance(value, (int, float))
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


@dataclass(frozen=True)
class ThrottleConfig:
    """Throttle settings (client keyword ``throttle=``; None disables the throttle).

    ``per_user``/``per_org`` requests per ``window`` seconds; ``meter_readings`` per window on
    ``POST /meterreadings``; ``single_meter_readings`` per ``single_meter_window`` seconds on
    ``POST /meters/{meterId}/readings``. ``max_wait`` is the longest a call waits for a slot
    before :class:`~maintainx_resilient.ThrottledError`. ``adaptive`` cuts the rate by 0.7 on
    a 429 and regrows it. ``safety_margin`` requests per window are left unused (headroom
    for jitter); ``burst`` requests may go at once after an idle spell. ``cap_per_minute``
    starts the client with the "enable throttling" cap on (see
    ``Throttle.enable_throttling``).
    """

    per_user: int = DEFAULT_PER_USER
    per_org: int = DEFAULT_PER_ORG
    window: float = DEFAULT_WINDOW
    meter_readings: int = DEFAULT_METER_READINGS
    single_meter_readings: int = DEFAULT_SINGLE_METER_READINGS
    single_meter_window: float = DEFAULT_SINGLE_METER_WINDOW
    max_wait: float = DEFAULT_MAX_WAIT
    adaptive: bool = True
    safety_margin: int = DEFAULT_SAFETY_MARGIN
    burst: int = DEFAULT_BURST
    cap_per_minute: float | None = None

    def __post_init__(self) -> None:
        for name in ("per_user", "per_org", "meter_readings", "single_meter_readings"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise ConfigurationError(
                    f"ThrottleConfig.{name} must be a whole number of requests >= 1, got "
                    f"{value!r} (use throttle=None to turn the throttle off)"
                )
        for name in ("window", "single_meter_window"):
            if not positive_number(getattr(self, name)):
                raise ConfigurationError(
                    f"ThrottleConfig.{name} must be a positive number of seconds, got "
                    f"{getattr(self, name)!r}"
                )
        wait = self.max_wait
        if isinstance(wait, bool) or not isinstance(wait, (int, float)) or not wait >= 0:
            raise ConfigurationError(
                f"ThrottleConfig.max_wait must be >= 0 seconds (0 = never wait), got {wait!r}"
            )
        if not math.isfinite(wait):
            raise ConfigurationError("ThrottleConfig.max_wait must be finite (e.g. 60.0)")
        if not isinstance(self.adaptive, bool):
            raise ConfigurationError("ThrottleConfig.adaptive must be True or False")
        if not _is_int(self.safety_margin) or self.safety_margin < 0:
            raise ConfigurationError(
                "ThrottleConfig.safety_margin must be a whole number of requests >= 0 "
                f"(typically 0-2), got {self.safety_margin!r}"
            )
        if not _is_int(self.burst) or self.burst < 1:
            raise ConfigurationError(
                f"ThrottleConfig.burst must be a whole number >= 1 (1 = no burst), got "
                f"{self.burst!r}"
            )
        if self.safety_margin + self.burst > self.per_user:
            raise ConfigurationError(
                f"ThrottleConfig: safety_margin + burst ({self.safety_margin} + {self.burst}) "
                f"must be at most per_user ({self.per_user}): both come out of each window's "
                "budget. Lower them (e.g. safety_margin=1, burst=1)."
            )
        cap = self.cap_per_minute
        if cap is not None and not positive_number(cap):
            raise ConfigurationError(
                f"ThrottleConfig.cap_per_minute must be a positive rate or None, got {cap!r}"
            )

    def limits_for(self, scope: str) -> ScopeLimits:
        """The budget of a scope, from its kind (the part before the first ``:``)."""
        kind = scope.split(":", 1)[0]
        m, c = self.safety_margin, self.burst
        if kind == "key":
            return ScopeLimits(self.per_user, self.window, m, c)
        if kind == "org":
            return ScopeLimits(self.per_org, self.window, m, c)
        if kind == "meterreadings":
            return ScopeLimits(self.meter_readings, self.window, m, c)
        if kind == "meter":
            return ScopeLimits(self.single_meter_readings, self.single_meter_window, m, c)
        raise ConfigurationError(
            f"unknown throttle scope {scope!r}: scopes start with key:, org:, meterreadings: "
            "or meter:"
        )


@dataclass(frozen=True, slots=True)
class ScopeLimits:
    """The configured budget of one scope: ``limit`` requests per ``window`` seconds."""

    limit: float
    window: float
    margin: int = 0
    burst: int = 1


@dataclass(frozen=True, slots=True)
class _Shape:
    limit: float
    burst: int
    interval: float
    tolerance: float
    rate: float  # requests per second


# ---- state and results --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScopeState:
    """Everything the throttle knows about one scope. Immutable; plain numbers only, so a
    shared store can keep it as a hash or JSON (``dataclasses.asdict`` / ``ScopeState(**d)``).
    Times are on the store's clock (:attr:`ThrottleStore.wall_clock`)."""

    tat: float | None = None  # GCRA theoretical arrival time
    blocked_until: float | None = None
    blocked_reason: str = ""  # "429" or "remaining"
    limit: int | None = None  # learned from X-Rate-Limit-Limit
    remaining: int | None = None  # estimate for the server window ending at reset_at
    reset_at: float | None = None
    factor: float = 1.0  # adaptive multiplier of the rate
    factor_max: float = 1.0  # the factor before the last decrease
    decreased_at: float | None = None
    decrease_guard: float | None = None  # no second decrease before this (same block)
    backoff_attempts: int = 0
    granted: int = 0
    throttled: int = 0  # 429s received
    waited: float = 0.0  # seconds callers were told to wait with this scope binding


@dataclass(frozen=True, slots=True)
class Reservation:
    """A slot granted by :meth:`Throttle.reserve`: send at ``slot`` (``wait`` seconds from
    the time of the call). ``scope`` and ``reason`` say what made the caller wait
    (``pace``, ``window``, ``remaining``, ``429``, ``override``; empty when it did not)."""

    scopes: tuple[str, ...]
    slot: float
    wait: float
    deadline: float
    scope: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ScopeSnapshot:
    """One scope, for diagnostics. ``remaining``/``reset_in`` are None when unknown."""

    scope: str
    limit: float
    window: float
    remaining: int | None
    reset_in: float | None
    rate_per_minute: float
    factor: float
    tokens: float
    backlog: float  # seconds of slots already promised ahead of a new caller
    blocked_for: float
    blocked_reason: str
    granted: int
    throttled: int
    waited: float


@dataclass(frozen=True, slots=True)
class ThrottleSnapshot:
    """The whole throttle at one instant."""

    at: float
    override_per_minute: float | None
    scopes: tuple[ScopeSnapshot, ...] = field(default=())

    def get(self, scope: str) -> ScopeSnapshot | None:
        return next((s for s in self.scopes if s.scope == scope), None)


@dataclass(frozen=True, slots=True)
class RateLimitHeaders:
    """``X-Rate-Limit-Limit``/``-Remaining``/``-Reset`` of one response; None when absent or
    unreadable."""

    limit: int | None = None
    remaining: int | None = None
    reset: float | None = None

    @classmethod
    def parse(cls, headers: Mapping[str, str] | None) -> RateLimitHeaders:
        if not headers:
            return cls()
        lower = {k.lower(): v for k, v in headers.items()}
        limit = _number(lower.get("x-rate-limit-limit"))
        remaining = _number(lower.get("x-rate-limit-remaining"))
        reset = _number(lower.get("x-rate-limit-reset"))
        return cls(
            limit=int(limit) if limit is not None and limit >= 1 else None,
            remaining=max(0, int(remaining)) if remaining is not None else None,
            reset=max(0.0, reset) if reset is not None else None,
        )

    @property
    def present(self) -> bool:
        return self.limit is not None or self.remaining is not None or self.reset is not None


def _number(text: str | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text.strip())
    except ValueError:
        return None
    return value if math.isfinite(value) else None


# ---- pure decisions on one scope ----------------------------------------------------------


def reset_buffer(window: float) -> float:
    """The small extra wait after a server-announced reset."""
    return min(RESET_BUFFER_MAX, window * RESET_BUFFER_FRACTION)


def shape(state: ScopeState, limits: ScopeLimits, *, adaptive: bool) -> _Shape:
    """The pacing of a scope now: interval between slots, burst tolerance, rate."""
    limit = float(state.limit) if state.limit is not None else limits.limit
    return _shape(limit, limits, state.factor if adaptive else 1.0)


@functools.lru_cache(maxsize=256)
def _shape(limit: float, limits: ScopeLimits, factor: float) -> _Shape:
    # Pure arithmetic on a handful of distinct inputs, asked several times per request.
    whole = max(1, math.floor(limit))
    margin = max(0, min(limits.margin, whole - 1))
    burst = max(1, min(limits.burst, whole - margin))
    sustained = (limit - margin - (burst - 1)) / limits.window
    rate = max(sustained * factor, min(sustained, 1.0 / limits.window))
    interval = (1.0 / rate) * (1.0 + _INTERVAL_STRETCH)
    return _Shape(limit, burst, interval, (burst - 1) * interval, rate)


def _window_exhausted(state: ScopeState, slot: float) -> bool:
    return (
        state.remaining is not None
        and state.reset_at is not None
        and slot < state.reset_at
        and state.remaining <= 0
    )


def earliest(
    state: ScopeState, limits: ScopeLimits, now: float, *, adaptive: bool
) -> tuple[float, str]:
    """The first time this scope lets a new request go, and why it is not ``now``."""
    pace = shape(state, limits, adaptive=adaptive)
    slot, reason = now, ""
    if state.blocked_until is not None and state.blocked_until > slot:
        slot, reason = state.blocked_until, state.blocked_reason or "blocked"
    if state.tat is not None and state.tat - pace.tolerance > slot:
        slot, reason = state.tat - pace.tolerance, "pace"
    if _window_exhausted(state, slot):
        assert state.reset_at is not None
        slot, reason = state.reset_at + reset_buffer(limits.window), "window"
    return slot, reason


def grant(state: ScopeState, limits: ScopeLimits, slot: float, *, adaptive: bool) -> ScopeState:
    """Record a request sent at ``slot`` (at or after :func:`earliest`)."""
    pace = shape(state, limits, adaptive=adaptive)
    tat = max(state.tat if state.tat is not None else slot, slot) + pace.interval
    remaining = state.remaining
    if remaining is not None and state.reset_at is not None and slot < state.reset_at:
        remaining = max(0, remaining - 1)
    return replace(state, tat=tat, remaining=remaining, granted=state.granted + 1)


def tokens_at(state: ScopeState, limits: ScopeLimits, t: float, *, adaptive: bool) -> float:
    """The GCRA state as a token bucket: tokens available at ``t`` (negative = promised
    ahead). Right after a grant at its slot this is never below 0."""
    pace = shape(state, limits, adaptive=adaptive)
    if state.tat is None:
        return float(pace.burst)
    return min(float(pace.burst), pace.burst - (state.tat - t) / pace.interval)


def voids(state: ScopeState, slot: float) -> bool:
    """True when a block set after a slot was granted covers it."""
    return state.blocked_until is not None and state.blocked_until > slot + SLOT_TOLERANCE


def _block(state: ScopeState, until: float, reason: str) -> ScopeState:
    if state.blocked_until is not None and state.blocked_until >= until:
        return state
    tat = max(state.tat if state.tat is not None else until, until)
    return replace(state, blocked_until=until, blocked_reason=reason, tat=tat)


def observe_headers(
    state: ScopeState, limits: ScopeLimits, info: RateLimitHeaders, now: float
) -> ScopeState:
    """Correct a scope from the rate-limit headers of a response received at ``now``."""
    limit = info.limit if info.limit is not None else state.limit
    state = replace(state, limit=limit)
    window = limits.window
    if info.remaining is None:
        if info.reset is not None:
            state = replace(state, reset_at=now + info.reset)
        return state
    reset_at = now + info.reset if info.reset is not None else None
    if reset_at is None:  # the reset is unknown: assume the worst, one full window
        reset_at = (
            state.reset_at if state.reset_at is not None and state.reset_at > now else now + window
        )
    remaining = info.remaining
    same_window = (
        state.remaining is not None
        and state.reset_at is not None
        and state.reset_at > now
        and remaining <= state.remaining
    )
    if same_window:
        assert state.reset_at is not None
        reset_at = min(reset_at, state.reset_at)
    state = replace(state, remaining=remaining, reset_at=reset_at)
    if remaining <= 0:
        state = _block(state, reset_at + reset_buffer(window), "remaining")
    return state


def _cubic(factor_max: float, elapsed_windows: float) -> float:
    k = math.pow(factor_max * (1.0 - ADAPTIVE_BETA) / CUBIC_SCALE, 1.0 / 3.0)
    return factor_max + CUBIC_SCALE * math.pow(elapsed_windows - k, 3.0)


def record_success(
    state: ScopeState, limits: ScopeLimits, now: float, *, adaptive: bool
) -> ScopeState:
    """A response that was not a 429: reset the backoff, regrow the adaptive rate."""
    factor = state.factor
    if adaptive and factor < 1.0 and state.decreased_at is not None:
        grown = _cubic(state.factor_max, max(0.0, now - state.decreased_at) / limits.window)
        factor = max(factor, min(1.0, grown))
    if factor == state.factor and state.backoff_attempts == 0:
        return state
    return replace(state, factor=factor, backoff_attempts=0)


def record_429(
    state: ScopeState,
    limits: ScopeLimits,
    now: float,
    *,
    retry_after: float | None,
    info: RateLimitHeaders,
    jitter: float,
    adaptive: bool,
) -> tuple[ScopeState, float]:
    """A 429 at ``now``: block the scope and slow it down. Returns the new state and the
    block's length. ``retry_after`` is the parsed ``Retry-After`` (seconds) if any;
    ``jitter`` is a number in [0, 1)."""
    window = limits.window
    attempts = state.backoff_attempts
    if retry_after is not None:
        delay = retry_after
    elif info.reset is not None:
        delay = info.reset + reset_buffer(window)
    else:
        base = shape(state, limits, adaptive=adaptive).interval
        delay = min(window, base * 2.0**attempts) * (1.0 - BACKOFF_JITTER * jitter)
        attempts += 1
    state = replace(
        state,
        limit=info.limit if info.limit is not None else state.limit,
        throttled=state.throttled + 1,
        backoff_attempts=attempts,
    )
    if info.reset is not None:
        remaining = info.remaining if info.remaining is not None else 0
        state = replace(state, remaining=remaining, reset_at=now + info.reset)
    state = _block(state, now + delay, "429")
    if adaptive and (state.decrease_guard is None or now >= state.decrease_guard):
        state = replace(
            state,
            factor_max=state.factor,
            factor=max(MIN_FACTOR, state.factor * ADAPTIVE_BETA),
            decreased_at=now,
            decrease_guard=state.blocked_until,
        )
    return state, delay


def attribute(
    scopes: Sequence[str],
    info: RateLimitHeaders,
    states: Mapping[str, ScopeState],
    limits: Mapping[str, ScopeLimits],
) -> str:
    """Which scope a response's headers (or its 429) describe: the scope whose limit equals
    ``X-Rate-Limit-Limit``, else the first (narrowest) scope of the request."""
    if info.limit is not None:
        for scope in scopes:
            state = states[scope]
            limit = state.limit if state.limit is not None else limits[scope].limit
            if limit == info.limit:
                return scope
    return scopes[0]


# ---- storage ------------------------------------------------------------------------------

Decide = Callable[[Mapping[str, ScopeState]], tuple[Mapping[str, ScopeState], R]]


class ThrottleStore(Protocol):
    """Where scope states live. ``transact`` runs ``decide`` on the current states of
    ``scopes`` (a fresh ``ScopeState()`` for a scope never seen) and atomically stores the
    states it returns (only the changed ones); if ``decide`` raises, nothing is stored.

    An in-process store runs ``decide`` under a lock. A shared one (Redis) reads the
    states, runs ``decide``, and writes them back in a WATCH/MULTI transaction, running
    ``decide`` again on a conflict; it sets ``wall_clock`` so that all workers use Unix time.
    """

    @property
    def wall_clock(self) -> bool: ...

    def transact(self, scopes: Sequence[str], decide: Decide[R]) -> R: ...

    def states(self) -> Mapping[str, ScopeState]: ...

    def clear(self) -> None: ...


class MemoryThrottleStore:
    """Scope states in a dict, for the calls of one process. The lock is held only while
    ``decide`` does its arithmetic, never across a sleep."""

    wall_clock = False

    def __init__(self) -> None:
        self._states: dict[str, ScopeState] = {}
        self._lock = threading.Lock()

    def transact(self, scopes: Sequence[str], decide: Decide[R]) -> R:
        with self._lock:
            current = {s: self._states.get(s, ScopeState()) for s in scopes}
            updated, result = decide(current)
            self._states.update(updated)
            return result

    def states(self) -> Mapping[str, ScopeState]:
        with self._lock:
            return dict(self._states)

    def clear(self) -> None:
        with self._lock:
            self._states.clear()

    def __repr__(self) -> str:
        return f"MemoryThrottleStore({len(self._states)} scopes)"
