"""The throttle: keep a client under MaintainX's rate limits without making it slow.

MaintainX allows 100 requests / 60 s per user, 500 / 60 s per organization, and less on the
meter-reading endpoints; answers carry ``X-Rate-Limit-Limit``/``-Remaining``/``-Reset``. A
request counts against several *scopes* at once (``key:<fingerprint>``, ``org:<id>``,
``meterreadings:<fingerprint>``, ``meter:<org>:<meterId>``) and goes when all of them allow it.
Per scope, one of two rules decides:

1. **Spend what the server announces** (once answers carry ``Remaining`` and ``Reset``). The
   budget known to be left in the server's current window is its lowest ``Remaining`` minus
   the requests granted since and not yet answered (``sending``/``promised``): an answer can
   only lower the server's count by requests we know about, so the estimate never exceeds
   the truth, and every answer corrects it. While the budget is above ``safety_margin`` a
   request goes at once. At the margin, callers queue first come first served for the
   window's end; the next window's budget is released to them in order: the first alone at
   the reset (a probe, in case the reset estimate was early), the others a small buffer later.
   Whole-second ``Reset`` rounding costs nothing: the window's end is the earliest of the
   ends the answers imply (``arrival + Reset``); an answer whose end lies half a window away
   belongs to another window (a late answer of the last one is ignored, an early one of the
   next one opens it).
2. **A sliding window without information** (before the first headers, for a server that
   never sends them, and for scopes the headers do not describe, like the organization while
   headers describe the key). Any stretch of ``window`` seconds holds at most ``limit -
   safety_margin`` grants; callers beyond that get the first slots that keep the rule, in
   order. A scope whose limit is far away costs nothing.

``pacing="even"`` adds even spacing (``window / (limit - margin)`` between grants) to both
rules, for background jobs that should leave room for others.

**Nothing the server says locks the client.** A 429 closes its scope for ``Retry-After``
(seconds or an HTTP date), else ``X-Rate-Limit-Reset`` plus the buffer, else an exponential
backoff with jitter; every such wait is capped at ``max_block`` (two windows by default). A
wait beyond the cap emits a :class:`~maintainx_resilient.ThrottleWarning` and, at the cap,
the first queued request goes alone as a probe whose answer is believed. An answer that
announces a limit below a tenth of the documented one, or a reset more than two windows
away, is *suspect*: it is held, with a warning, until the next answer of that scope confirms
it. ``Remaining: 0`` without ``Reset`` closes the scope for one window at most.
:meth:`Throttle.reset` (the client's ``reset_throttle()``) forgets every block and every
learned limit at once.

The decisions are pure functions over frozen :class:`ScopeState` records (plain numbers, so
a shared store can hold them); :class:`Throttle` runs them inside a :class:`ThrottleStore`
transaction, and the two transport layers at the bottom only sleep, send and report.
"""

from __future__ import annotations

import bisect
import functools
import math
import operator
import random
import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple, Protocol, TypeVar

import httpx

from .._clock import SYSTEM_CLOCK, Clock
from .._deadline import deadline_of
from .._events import EventBus, ThrottleWaited, ThrottleWarning
from .._exceptions import ConfigurationError, ThrottledError
from .._extensions import MAX_WAIT_EXTENSION
from .._headers import HeaderNames, pick
from .._http import route_of
from .._retry_after import parse_retry_after
from .._secrets import fingerprint

__all__ = [
    "DEFAULT_MAX_BLOCK",
    "DEFAULT_MAX_WAIT",
    "DEFAULT_METER_READINGS",
    "DEFAULT_PER_ORG",
    "DEFAULT_PER_USER",
    "DEFAULT_SAFETY_MARGIN",
    "DEFAULT_SINGLE_METER_READINGS",
    "DEFAULT_SINGLE_METER_WINDOW",
    "DEFAULT_WINDOW",
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
#: One request per window left unused absorbs other clients and network jitter.
DEFAULT_SAFETY_MARGIN = 1
#: A call may wait for the next window (60 s and the reset buffer), not for two.
DEFAULT_MAX_WAIT = 75.0
#: No wait the server asks for is taken longer than this (two windows); beyond it the
#: client warns and probes.
DEFAULT_MAX_BLOCK = 120.0

#: "Add a small time buffer" after a reset (API docs): 1 % of the window, at most 0.25 s.
RESET_BUFFER_FRACTION = 0.01
RESET_BUFFER_MAX = 0.25
#: Callers released together are spaced this far apart so they go in the order they queued.
STAGGER = 0.0002
#: The sliding window counts grants in this many slices of a window: bounded state whatever
#: the limit or the rate, at the price of counting a grant up to one slice (0.6 s of a 60 s
#: window) longer than exactly.
SLICES = 100
#: A learned limit below this share of the documented one is suspect until confirmed.
LIMIT_FLOOR_FRACTION = 0.1
#: A reset further away than this many windows is suspect until confirmed.
SUSPECT_RESET_WINDOWS = 2.0
#: Without information a 429 backs off ``window / limit * 2**n`` (at most one window),
#: shortened by up to this share at random.
BACKOFF_JITTER = 0.25

#: The scope of the runbook's "enable throttling" cap, shared by every request of a client.
OVERRIDE_SCOPE = "override"
OVERRIDE_WINDOW = 60.0

Pacing = Literal["budget", "even"]


# ---- configuration ------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _positive(value: object) -> bool:
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
    ``POST /meters/{meterId}/readings``. These are the budgets assumed until the server's
    headers say otherwise. ``safety_margin`` requests of each window are left unused.
    ``max_wait``: the longest a call waits for its slot before
    :class:`~maintainx_resilient.ThrottledError` (nothing is sent). ``max_block``: the longest
    wait any server answer can impose. ``pacing="even"`` spaces requests evenly instead of
    spending the announced budget at once. ``cap_per_minute`` starts the client with the
    "enable throttling" cap on.
    """

    per_user: int = DEFAULT_PER_USER
    per_org: int = DEFAULT_PER_ORG
    window: float = DEFAULT_WINDOW
    meter_readings: int = DEFAULT_METER_READINGS
    single_meter_readings: int = DEFAULT_SINGLE_METER_READINGS
    single_meter_window: float = DEFAULT_SINGLE_METER_WINDOW
    safety_margin: int = DEFAULT_SAFETY_MARGIN
    max_wait: float = DEFAULT_MAX_WAIT
    max_block: float = DEFAULT_MAX_BLOCK
    pacing: Pacing = "budget"
    cap_per_minute: float | None = None

    def __post_init__(self) -> None:
        for name in ("per_user", "per_org", "meter_readings", "single_meter_readings"):
            value = getattr(self, name)
            if not _is_int(value) or value < 1:
                raise ConfigurationError(
                    f"ThrottleConfig.{name} must be a whole number of requests >= 1, got "
                    f"{value!r} (use throttle=None to turn the throttle off)"
                )
        for name in ("window", "single_meter_window", "max_block"):
            if not _positive(getattr(self, name)):
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
            raise ConfigurationError("ThrottleConfig.max_wait must be finite (e.g. 75.0)")
        if not _is_int(self.safety_margin) or self.safety_margin < 0:
            raise ConfigurationError(
                "ThrottleConfig.safety_margin must be a whole number of requests >= 0 "
                f"(typically 0-2), got {self.safety_margin!r}"
            )
        if self.safety_margin >= self.per_user:
            raise ConfigurationError(
                f"ThrottleConfig.safety_margin ({self.safety_margin}) must be below per_user "
                f"({self.per_user}): it is left unused out of each window's budget"
            )
        if self.pacing not in ("budget", "even"):
            raise ConfigurationError(
                f"ThrottleConfig.pacing must be 'budget' (spend the announced budget) or "
                f"'even' (space requests evenly), got {self.pacing!r}"
            )
        cap = self.cap_per_minute
        if cap is not None and not _positive(cap):
            raise ConfigurationError(
                f"ThrottleConfig.cap_per_minute must be a positive rate or None, got {cap!r}"
            )

    def limits_for(self, scope: str) -> ScopeLimits:
        """The documented budget of a scope, from its kind (the part before the first ``:``)."""
        kind = scope.split(":", 1)[0]
        even = self.pacing == "even"
        m, block = self.safety_margin, self.max_block
        if kind == "key":
            return ScopeLimits(self.per_user, self.window, m, block, even)
        if kind == "org":
            return ScopeLimits(self.per_org, self.window, m, block, even)
        if kind == "meterreadings":
            return ScopeLimits(self.meter_readings, self.window, m, block, even)
        if kind == "meter":
            return ScopeLimits(self.single_meter_readings, self.single_meter_window, m, block, even)
        raise ConfigurationError(
            f"unknown throttle scope {scope!r}: scopes start with key:, org:, meterreadings: "
            "or meter:"
        )


class ScopeLimits(NamedTuple):
    """The configured budget of one scope: ``limit`` requests per ``window`` seconds."""

    limit: int
    window: float
    margin: int = 0
    max_block: float = DEFAULT_MAX_BLOCK
    even: bool = False


# ---- state --------------------------------------------------------------------------------


class ScopeState(NamedTuple):
    """Everything the throttle knows about one scope. Immutable; plain numbers only, so a
    shared store can keep it as JSON (``state._asdict()`` / ``ScopeState(**d)``, tuples as
    lists). Times are on the store's clock (:attr:`ThrottleStore.wall_clock`)."""

    #: learned from ``X-Rate-Limit-Limit`` (None: the configured limit)
    limit: int | None = None
    #: end of the server's current window (None: no information, the sliding window rules)
    window_end: float | None = None
    #: lowest ``Remaining`` the server reported for that window (None: assumed full)
    remaining: int | None = None
    #: when an answer last carried rate-limit headers for this scope (None: never; from
    #: then on the scope follows the server's windows, extrapolated when answers stop)
    heard_at: float | None = None
    #: the window's end is our guess (after a block, or Remaining without Reset), not the
    #: server's: the next answer with a Reset replaces it
    assumed: bool = False
    #: requests on the wire, answer not yet seen
    sending: int = 0
    #: requests sent before the current window began, answer not yet seen: forgotten when
    #: the next window begins (an answer a whole window late is not coming: its process died,
    #: or its report was lost), so a lost answer costs a shared budget one window at most
    sending_old: int = 0
    #: grants in the current window whose holders have not sent yet
    promised: int = 0
    #: grants booked into later windows
    queued: int = 0
    #: bumped when a block voids the grants of waiting callers
    epoch: int = 0
    #: why the window is closed early: "429" or "suspect" (empty: it is not)
    reason: str = ""
    #: the sliding window: grants per slice of ``window / SLICES`` seconds, ``(slice, count)``
    #: sorted, the slices of the last window and those booked ahead (uninformed scopes)
    slices: tuple[tuple[int, int], ...] = ()
    #: the grants in ``slices``, added up (kept with them: a full window is about a hundred
    #: slices, too many to add up on every request)
    counted: int = 0
    #: the latest slot granted (even pacing)
    last: float | None = None
    #: 429s in a row without information (the backoff's exponent)
    backoff: int = 0
    #: an answer held until the next one confirms it: (limit, remaining, reset)
    suspect: tuple[int | None, int | None, float | None] | None = None
    granted: int = 0
    throttled: int = 0
    waited: float = 0.0


_FIELD_INDEX = {name: i for i, name in enumerate(ScopeState._fields)}


def _replace(self: ScopeState, /, **changes: Any) -> ScopeState:
    """``ScopeState._replace``: the generic one pops every field from a mapping for each
    change; the throttle makes several a request, so this copies and sets (half the cost)."""
    values = list(self)
    try:
        for name, value in changes.items():
            values[_FIELD_INDEX[name]] = value
    except KeyError as exc:
        raise ValueError(f"Got unexpected field name: {exc.args[0]!r}") from None
    return tuple.__new__(ScopeState, values)


ScopeState._replace = _replace  # type: ignore[method-assign,assignment]


class RateLimitHeaders(NamedTuple):
    """``X-Rate-Limit-Limit``/``-Remaining``/``-Reset`` of one answer; None when absent or
    unreadable."""

    limit: int | None = None
    remaining: int | None = None
    reset: float | None = None

    @classmethod
    def parse(cls, headers: Mapping[str, str] | None) -> RateLimitHeaders:
        return _read(_lowered(headers)) if headers else _NO_HEADERS

    @classmethod
    def of(
        cls, limit: float | None, remaining: float | None, reset: float | None
    ) -> RateLimitHeaders:
        """From the headers' numbers: a limit below 1 is unreadable, negatives count as 0."""
        return cls(
            int(limit) if limit is not None and limit >= 1 else None,
            max(0, int(remaining)) if remaining is not None else None,
            max(0.0, reset) if reset is not None else None,
        )

    @property
    def present(self) -> bool:
        return self.remaining is not None or self.reset is not None or self.limit is not None


_NO_HEADERS = RateLimitHeaders()


def _read(headers: Mapping[str, str]) -> RateLimitHeaders:
    """:meth:`RateLimitHeaders.parse` of headers whose names are lower-case."""
    limit = _number(headers.get("x-rate-limit-limit"))
    remaining = _number(headers.get("x-rate-limit-remaining"))
    reset = _number(headers.get("x-rate-limit-reset"))
    if limit is None and remaining is None and reset is None:
        return _NO_HEADERS
    return RateLimitHeaders.of(limit, remaining, reset)


def _lowered(headers: Mapping[str, str]) -> Mapping[str, str]:
    if isinstance(headers, httpx.Headers) or all(k.islower() for k in headers):
        return headers
    return {k.lower(): v for k, v in headers.items()}


def _number(text: str | bytes | None) -> float | None:
    if text is None:
        return None
    try:
        value = float(text)  # float() ignores surrounding white space, str or bytes
    except ValueError:
        return None
    return value if math.isfinite(value) else None


#: How a scope counted a grant: sent at once, promised in the current window, booked into a
#: later one, or only recorded in the sliding window.
GrantKind = Literal["now", "promised", "queued", "window"]


class Grant(NamedTuple):
    kind: GrantKind
    epoch: int


_NOW_GRANT = Grant("now", 0)


def _now_grant(epoch: int) -> Grant:
    """A grant sent at once (one object for the usual epoch 0: grants are immutable)."""
    return _NOW_GRANT if epoch == 0 else Grant("now", epoch)


class Reservation(NamedTuple):
    """A slot granted by :meth:`Throttle.reserve`: send at ``slot`` (``wait`` seconds after
    the call). ``scope`` and ``reason`` say what made the caller wait (``window``,
    ``remaining``, ``429``, ``pace``, ``override``; empty when it did not)."""

    scopes: tuple[str, ...]
    grants: tuple[Grant, ...]
    slot: float
    wait: float
    deadline: float
    scope: str = ""
    reason: str = ""


@dataclass(frozen=True, slots=True)
class ScopeSnapshot:
    """One scope, for diagnostics. ``remaining``/``reset_in`` are None when unknown."""

    scope: str
    rule: str  # "budget" (headers), "sliding" (no information) or "even"
    limit: int
    window: float
    remaining: int | None
    reset_in: float | None
    sending: int
    queued: int
    backlog: float  # seconds a new caller would wait now
    blocked_for: float  # seconds the scope stays closed by a 429 or a suspect answer
    blocked_reason: str
    granted: int
    throttled: int
    waited: float

    @property
    def rate_per_minute(self) -> float:
        """The budget per minute this scope allows."""
        return self.limit * 60.0 / self.window


@dataclass(frozen=True, slots=True)
class ThrottleSnapshot:
    """The whole throttle at one instant."""

    at: float
    override_per_minute: float | None
    scopes: tuple[ScopeSnapshot, ...] = field(default=())

    def get(self, scope: str) -> ScopeSnapshot | None:
        return next((s for s in self.scopes if s.scope == scope), None)


# ---- pure decisions on one scope ----------------------------------------------------------


def reset_buffer(window: float) -> float:
    """The small extra wait after a server-announced reset."""
    return min(RESET_BUFFER_MAX, window * RESET_BUFFER_FRACTION)


def _limit(s: ScopeState, lim: ScopeLimits) -> int:
    return s.limit if s.limit is not None else lim.limit


def _per_window(s: ScopeState, lim: ScopeLimits) -> int:
    """Grants per window: the limit minus the margin (at least one)."""
    limit = _limit(s, lim)
    return max(1, limit - min(lim.margin, limit - 1))


def _budget(s: ScopeState, lim: ScopeLimits) -> int:
    """Grants that may still go in the current window (informed scopes)."""
    limit = _limit(s, lim)
    remaining = s.remaining if s.remaining is not None else limit
    return remaining - min(lim.margin, limit - 1) - s.sending - s.sending_old - s.promised


def roll(s: ScopeState, lim: ScopeLimits, now: float) -> ScopeState:
    """The scope at ``now``: a window that has ended gives way to the next (fixed windows
    of the same length, its budget assumed full until an answer says otherwise; grants
    booked into it become promised). A block of a scope that never heard the server's
    headers gives way to the sliding window again."""
    end = s.window_end
    if end is None or now < end:
        return s
    w = lim.window
    if s.heard_at is None:
        forgotten = s.promised + s.queued
        return s._replace(window_end=None, remaining=None, promised=forgotten, queued=0, reason="")
    passed = int((now - end) // w) + 1
    moved = min(s.queued, _per_window(s, lim) * passed)
    return s._replace(
        window_end=end + passed * w,
        sending=0,
        sending_old=s.sending if passed == 1 else 0,
        remaining=None,
        promised=s.promised + moved,
        queued=s.queued - moved,
        reason="",
    )


def earliest(s: ScopeState, lim: ScopeLimits, now: float) -> tuple[float, str]:
    """The first time this scope lets a new request go (``s`` rolled to ``now``), and why
    it is not ``now``."""
    if s.window_end is not None and (s.queued or _budget(s, lim) <= 0):
        per = _per_window(s, lim)
        ahead, position = divmod(s.queued, per)
        slot = s.window_end + ahead * lim.window
        if position:
            slot += reset_buffer(lim.window) + position * STAGGER
        why = s.reason or ("remaining" if s.remaining is not None else "window")
        slot, why = max(slot, now), why
    elif s.window_end is not None:
        slot, why = now, ""
    else:
        per = _per_window(s, lim)
        slot, why = _sliding_slot(s.slices, s.counted, per, lim.window, now), "window"
    if lim.even and s.last is not None:
        paced = s.last + lim.window / _per_window(s, lim)
        if paced > slot:
            slot, why = paced, "pace"
    return slot, (why if slot > now else "")


_COUNT = operator.itemgetter(1)


def _slice(t: float, window: float) -> int:
    return math.floor(t * SLICES / window)


def _live(
    slices: tuple[tuple[int, int], ...], window: float, now: float
) -> tuple[tuple[int, int], ...]:
    """The slices that overlap the last ``window`` seconds, and those booked ahead."""
    first = _slice(now - window, window)
    if not slices or slices[0][0] >= first:
        return slices
    return tuple(pair for pair in slices if pair[0] >= first)


def _sliding_slot(
    slices: tuple[tuple[int, int], ...], counted: int, per: int, window: float, now: float
) -> float:
    """The earliest slot keeping every ``window``-long stretch at ``per`` grants or fewer:
    now, when fewer than ``per`` grants lie after ``now - window`` (past ones still counting,
    and those booked ahead; a slice counts whole); else when enough of the oldest slices have
    left the window. ``counted`` is the sum of ``slices``."""
    live = _live(slices, window, now)
    total = counted if live is slices else sum(map(_COUNT, live))
    if total < per:
        return now
    excess = total - per + 1
    width = window / SLICES
    for index, count in live:
        excess -= count
        if excess <= 0:
            return max(now, (index + 1) * width + window)
    return now  # not reached: the counts add up to total


def take(
    s: ScopeState, lim: ScopeLimits, slot: float, now: float, waited: float = 0.0
) -> tuple[ScopeState, Grant]:
    """Record a grant at ``slot`` (at or after :func:`earliest`; ``s`` rolled to ``now``);
    ``waited`` is the wait this scope imposed on it."""
    slices, counted, last = s.slices, s.counted, s.last
    if lim.even:  # only the latest slot matters
        last = slot if last is None else max(last, slot)
    elif s.heard_at is None:  # the sliding window
        slices, counted = _counted(slices, counted, _slice(slot, lim.window), lim.window, now)
    elif slot <= now:  # the budget rule: only the counts move
        return s._replace(sending=s.sending + 1, granted=s.granted + 1), _now_grant(s.epoch)
    if slot <= now:
        state = s._replace(
            slices=slices,
            counted=counted,
            last=last,
            sending=s.sending + 1,
            granted=s.granted + 1,
        )
        return state, _now_grant(s.epoch)
    kind: GrantKind = "window"
    promised, queued = s.promised, s.queued
    if s.window_end is not None:
        if slot < s.window_end:
            kind, promised = "promised", promised + 1
        else:
            kind, queued = "queued", queued + 1
    state = s._replace(
        slices=slices,
        counted=counted,
        last=last,
        promised=promised,
        queued=queued,
        granted=s.granted + 1,
        waited=s.waited + waited,
    )
    return state, Grant(kind, s.epoch)


def _counted(
    slices: tuple[tuple[int, int], ...], counted: int, index: int, window: float, now: float
) -> tuple[tuple[tuple[int, int], ...], int]:
    """``slices`` (adding up to ``counted``) with one more grant in slice ``index``, those
    that left the window at ``now`` dropped when a slice is added; and their new sum."""
    if slices and slices[-1][0] == index:  # the usual case: the latest slice
        return (*slices[:-1], (index, slices[-1][1] + 1)), counted + 1
    live = _live(slices, window, now)
    if live is not slices:
        slices, counted = live, sum(map(_COUNT, live))
    if not slices or slices[-1][0] < index:
        return (*slices, (index, 1)), counted + 1
    at = bisect.bisect_left(slices, (index, 0))
    if at < len(slices) and slices[at][0] == index:
        return (*slices[:at], (index, slices[at][1] + 1), *slices[at + 1 :]), counted + 1
    return (*slices[:at], (index, 1), *slices[at:]), counted + 1


def release(s: ScopeState, grant: Grant, slot: float) -> ScopeState:
    """Give back a grant at ``slot`` whose holder will not send (cancelled, or re-queued);
    ``s`` rolled to now."""
    if grant.epoch != s.epoch:  # a block already dropped it
        return s
    if grant.kind == "now":
        return _unsent(s)
    if grant.kind == "queued" and s.window_end is not None and slot >= s.window_end:
        return s._replace(queued=max(0, s.queued - 1))
    if grant.kind in ("promised", "queued"):  # booked into what is now the current window
        return s._replace(promised=max(0, s.promised - 1))
    return s


def _sliding(s: ScopeState, lim: ScopeLimits) -> bool:
    """The scope follows the sliding window (it counts grants per slice)."""
    return s.heard_at is None and not lim.even


def unbook(s: ScopeState, lim: ScopeLimits, grant: Grant, slot: float) -> ScopeState:
    """:func:`release`, and a sliding window's count at ``slot`` given back too: the
    grant's holder will not send at ``slot`` (it gave up, or it woke too late)."""
    if grant.epoch == s.epoch and _sliding(s, lim) and grant.kind in ("now", "window"):
        slices = _uncounted(s.slices, _slice(slot, lim.window))
        if slices is not s.slices:
            s = s._replace(slices=slices, counted=s.counted - 1)
    return release(s, grant, slot)


def _uncounted(slices: tuple[tuple[int, int], ...], index: int) -> tuple[tuple[int, int], ...]:
    """``slices`` with one grant fewer in slice ``index`` (unchanged if it has none)."""
    at = bisect.bisect_left(slices, (index, 0))
    if at == len(slices) or slices[at][0] != index:
        return slices
    count = slices[at][1] - 1
    rest = slices[at + 1 :]
    return (*slices[:at], (index, count), *rest) if count else (*slices[:at], *rest)


def late(s: ScopeState, lim: ScopeLimits, slot: float, now: float) -> bool:
    """A sliding window's grant whose holder wakes more than a slice after its slot
    (a starved thread, a paused process): it must be counted when it sends, not at
    ``slot``, or requests bunch where the window allowed no more."""
    return _sliding(s, lim) and now - slot > lim.window / SLICES


def send(s: ScopeState, grant: Grant, slot: float) -> ScopeState:
    """The holder of a waiting grant at ``slot`` sends now (``s`` rolled to now)."""
    if grant.kind == "now":
        return s
    return release(s, grant, slot)._replace(sending=s.sending + 1)


def _unsent(s: ScopeState) -> ScopeState:
    """One request fewer on the wire (one of this window's if any, else an older one)."""
    if s.sending:
        return s._replace(sending=s.sending - 1)
    return s._replace(sending_old=max(0, s.sending_old - 1))


def answered(
    s: ScopeState, lim: ScopeLimits, now: float, counted: bool, sent_at: float
) -> ScopeState:
    """A request of this scope sent at ``sent_at`` finished (``s`` rolled to ``now``).
    Unless an answer's headers describe the scope (``counted``), it is assumed to have
    counted against the server's current window."""
    end, sending, old = s.window_end, s.sending, s.sending_old
    if end is not None and sent_at < end - lim.window and old:
        old -= 1  # sent in an earlier window
    elif sending:
        sending -= 1
    elif old:
        old -= 1
    if counted or end is None:
        return s._replace(sending=sending, sending_old=old)
    remaining = s.remaining if s.remaining is not None else _limit(s, lim)
    return s._replace(sending=sending, sending_old=old, remaining=max(0, remaining - 1))


def suspicious(info: RateLimitHeaders, lim: ScopeLimits, believed: int | None = None) -> str:
    """Why an answer's headers are not believed at once (empty: they are). ``believed``: the
    limit the scope has already learned (confirmed once, it is not doubted again)."""
    floor = max(1, math.floor(lim.limit * LIMIT_FLOOR_FRACTION))
    if info.limit is not None and info.limit != believed and info.limit < floor:
        return f"limit {info.limit} is below a tenth of the documented {lim.limit}"
    if info.reset is not None and info.reset > SUSPECT_RESET_WINDOWS * lim.window:
        return f"reset in {info.reset:.0f} s is more than two windows away"
    return ""


def observe(
    s: ScopeState, lim: ScopeLimits, info: RateLimitHeaders, now: float
) -> tuple[ScopeState, str]:
    """Correct a scope from the rate-limit headers of an answer received at ``now`` (the
    answer itself already counted by :func:`answered`). Returns the new state and a warning
    (empty unless the answer is suspect and held)."""
    doubt = suspicious(info, lim, s.limit)
    if doubt and s.suspect is None:
        return s._replace(suspect=(info.limit, info.remaining, info.reset)), doubt
    limit = info.limit if info.limit is not None else s.limit
    end, remaining, assumed = s.window_end, s.remaining, s.assumed
    if s.reason and end is not None:  # our block holds: late answers don't lift it
        pass
    elif info.reset is not None:
        told = now + min(info.reset, lim.max_block)
        w = lim.window
        if end is None or assumed:  # the server's window replaces our guess
            end, remaining, assumed = told, info.remaining, False
        elif told > end + w / 2:  # the server's next window has begun
            s = roll(s, lim, end)
            end, remaining = told, info.remaining
        elif told >= end - w / 2:  # the same window: the earliest end, the lowest count
            end = min(end, told)
            if remaining is None or (info.remaining is not None and info.remaining < remaining):
                remaining = info.remaining
        # else: a late answer from a window that has ended tells nothing about this one
    elif info.remaining is not None:
        if end is None:  # the reset is unknown: assume one full window at most
            end, remaining, assumed = now + lim.window, info.remaining, True
        elif remaining is None or info.remaining < remaining:
            remaining = info.remaining
    state = s._replace(
        limit=limit,
        window_end=end,
        remaining=remaining,
        assumed=assumed,
        heard_at=now,
        suspect=None,
    )
    return state, ""


def block(
    s: ScopeState,
    lim: ScopeLimits,
    now: float,
    *,
    retry_after: float | None,
    info: RateLimitHeaders,
    jitter: float,
) -> tuple[ScopeState, float, str]:
    """A 429 at ``now``: close the scope. Returns the new state, the length of the block
    and a warning (empty unless the server asked for more than ``max_block``)."""
    backoff = s.backoff
    if retry_after is not None:
        delay = retry_after
    elif info.reset is not None:
        delay = info.reset + reset_buffer(lim.window)
    else:
        base = lim.window / _limit(s, lim)
        delay = min(lim.window, base * 2.0**backoff) * (1.0 - BACKOFF_JITTER * jitter)
        backoff += 1
    warning = ""
    if delay > lim.max_block:
        warning = f"asked to wait {delay:.0f} s; waiting {lim.max_block:.0f} s, then probing"
        delay = lim.max_block
    limit = s.limit
    if info.limit is not None and not suspicious(info, lim, s.limit):
        limit = info.limit
    state = s._replace(
        limit=limit,
        window_end=now + delay,
        remaining=0,
        heard_at=now if info.present or retry_after is not None else s.heard_at,
        assumed=info.reset is None,
        promised=0,
        queued=0,
        epoch=s.epoch + 1,
        reason="429",
        backoff=backoff,
        throttled=s.throttled + 1,
    )
    return state, delay, warning


def attribute(
    scopes: Sequence[str],
    info: RateLimitHeaders,
    states: Sequence[ScopeState],
    limits: Sequence[ScopeLimits],
) -> int:
    """Which scope an answer's headers (or its 429) describe, by position: the scope whose
    limit equals ``X-Rate-Limit-Limit``, else the first (narrowest) scope of the request
    (never the override cap, which the server knows nothing of)."""
    if info.limit is not None:
        for i, scope in enumerate(scopes):
            if scope != OVERRIDE_SCOPE and _limit(states[i], limits[i]) == info.limit:
                return i
    return 0 if scopes[0] != OVERRIDE_SCOPE else -1


def _grant(
    scopes: tuple[str, ...],
    limits: Sequence[ScopeLimits],
    states: Sequence[ScopeState],
    now: float,
    deadline: float,
) -> tuple[list[ScopeState], Reservation]:
    """A request's slot: the latest of its scopes' earliest slots, granted in every scope;
    :class:`~maintainx_resilient.ThrottledError` (taking nothing) past ``deadline``."""
    rolled: list[ScopeState] = []
    updated: list[ScopeState] = []  # taken at ``now`` while no scope has made it wait
    grants: list[Grant] = []
    slot, binding, reason = now, -1, ""
    for i, (state, lim) in enumerate(zip(states, limits, strict=True)):
        if state.window_end is not None and now >= state.window_end:
            state = roll(state, lim, now)
        rolled.append(state)
        at, why = earliest(state, lim, now)
        if at > slot:
            slot, binding, reason = at, i, why
        elif binding < 0:
            state, grant = take(state, lim, now, now)
            updated.append(state)
            grants.append(grant)
    if binding < 0 and now <= deadline:  # the usual case: every scope lets it go now
        return updated, Reservation(scopes, tuple(grants), now, 0.0, deadline)
    wait = slot - now
    scope = scopes[binding] if binding >= 0 else ""
    if scope == OVERRIDE_SCOPE:
        reason = "override"
    if slot > deadline:
        raise ThrottledError(
            f"rate limit of {scope} ({reason}): the next slot is {wait:.2f}s away, more than "
            f"the {max(0.0, deadline - now):.2f}s this call may wait (ThrottleConfig.max_wait)",
            retry_after=wait,
            status_code=429,
        )
    updated, grants = [], []
    for i, (state, lim) in enumerate(zip(rolled, limits, strict=True)):
        state, grant = take(state, lim, slot, now, wait if i == binding else 0.0)
        updated.append(state)
        grants.append(grant)
    return updated, Reservation(scopes, tuple(grants), slot, wait, deadline, scope, reason)


# ---- storage ------------------------------------------------------------------------------

Decide = Callable[[list[ScopeState]], tuple[Sequence[ScopeState], R]]


class ThrottleStore(Protocol):
    """Where scope states live. ``transact`` runs ``decide`` on the current states of
    ``scopes``, in their order (a fresh ``ScopeState()`` for a scope never seen), and
    atomically stores the states it returns, in the same order; if ``decide`` raises,
    nothing is stored. ``decide`` is pure: a shared store may call it more than once (on
    fresher states) and keep only the last result. A store shared by processes sets
    ``wall_clock`` so that all of them use Unix time."""

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
            states = self._states
            updated, result = decide([states.get(s, _FRESH) for s in scopes])
            for scope, state in zip(scopes, updated, strict=True):
                states[scope] = state
            return result

    def states(self) -> Mapping[str, ScopeState]:
        with self._lock:
            return dict(self._states)

    def clear(self) -> None:
        with self._lock:
            self._states.clear()

    def __repr__(self) -> str:
        return f"MemoryThrottleStore({len(self._states)} scopes)"


_FRESH = ScopeState()


# ---- the throttle -------------------------------------------------------------------------


class Throttle:
    """The rate limiter shared by every call of one client. Thread-safe; never sleeps.

    A transport layer calls :meth:`reserve`, sleeps ``reservation.wait``, calls
    :meth:`confirm` until the wait is 0, sends, and reports with :meth:`settle` (or gives the
    slot back with :meth:`release` when it will not send). ``now`` is :meth:`now`.
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
        self._limits: dict[str, ScopeLimits] = {}
        self._limits_of: dict[tuple[str, ...], tuple[ScopeLimits, ...]] = {}
        self._label_memo = ("", "")
        self._scopes_memo: tuple[_ScopeFacts, tuple[str, ...]] = ((None, None, ""), ())

    def scopes_of(self, request: httpx.Request) -> tuple[str, ...]:
        """:func:`request_scopes`, remembered for the last key, organization and route (a
        client sends most requests with one key to one organization)."""
        facts = _scope_facts(request)
        known, scopes = self._scopes_memo
        if known != facts or _route_kind(facts[2]) == _SINGLE_METER_ROUTE:  # names the meter
            scopes = _scopes(*facts, request, self._label)
            self._scopes_memo = (facts, scopes)
        return scopes

    def _label(self, authorization: str) -> str:
        known, label = self._label_memo
        if authorization != known:
            label = fingerprint(authorization)
            self._label_memo = (authorization, label)
        return label

    def now(self) -> float:
        """The time to pass as ``now``, on the store's clock."""
        return self.clock.time() if self.store.wall_clock else self.clock.monotonic()

    # -- the "enable throttling" mitigation (runbook RB-002) ---------------------------------

    @property
    def override_per_minute(self) -> float | None:
        """The hard cap set by :meth:`enable_throttling`, or None."""
        return self._override

    def enable_throttling(self, rate_per_minute: float) -> None:
        """Cap every request of this client at ``rate_per_minute``, evenly spaced, until
        :meth:`disable_override`, on top of the normal limits."""
        if not _positive(rate_per_minute):
            raise ConfigurationError(
                f"enable_throttling needs a positive requests-per-minute rate, got "
                f"{rate_per_minute!r}"
            )
        self._override = float(rate_per_minute)
        self._forget_limits()
        self.store.transact((OVERRIDE_SCOPE,), lambda _: ((_FRESH,), None))

    def disable_override(self) -> None:
        """Remove the cap set by :meth:`enable_throttling`."""
        self._override = None
        self._forget_limits()

    def _forget_limits(self) -> None:
        self._limits.pop(OVERRIDE_SCOPE, None)
        self._limits_of.clear()

    def reset(self) -> None:
        """Forget every block, every learned limit and every count (the mitigation for a
        throttle that a wrong answer has slowed down); the override stays."""
        self.store.clear()

    # -- decisions ---------------------------------------------------------------------------

    def limits_for(self, scope: str) -> ScopeLimits:
        limits = self._limits.get(scope)
        if limits is None:
            if scope == OVERRIDE_SCOPE:  # one request every 60/rate seconds
                spacing = OVERRIDE_WINDOW / (self._override or 1.0)
                limits = ScopeLimits(1, spacing, 0, self.config.max_block, True)
            else:
                limits = self.config.limits_for(scope)
            if len(self._limits) > 4096:
                self._limits.clear()
            self._limits[scope] = limits
        return limits

    def _limits_tuple(self, scopes: tuple[str, ...]) -> tuple[ScopeLimits, ...]:
        limits = self._limits_of.get(scopes)
        if limits is None:
            limits = tuple(self.limits_for(s) for s in scopes)
            if len(self._limits_of) > 4096:
                self._limits_of.clear()
            self._limits_of[scopes] = limits
        return limits

    def reserve(
        self, scopes: Sequence[str], *, now: float, max_wait: float | None = None
    ) -> Reservation:
        """Take the next slot for a request in ``scopes``; the caller sleeps
        ``reservation.wait`` before sending (0 = now).

        Raises :class:`~maintainx_resilient.ThrottledError` (taking nothing) when the wait
        would pass ``max_wait`` (this call's, else ``ThrottleConfig.max_wait``).
        """
        budget = self.config.max_wait if max_wait is None else max_wait
        scopes = tuple(scopes) if self._override is None else (*scopes, OVERRIDE_SCOPE)
        deadline = now + max(0.0, budget)
        limits = self._limits_tuple(scopes)
        return self.store.transact(
            scopes, lambda states: _grant(scopes, limits, states, now, deadline)
        )

    def confirm(self, reservation: Reservation, *, now: float) -> Reservation:
        """After sleeping: the rest of the wait, or wait 0 (the caller sends now and its
        grants count as sending); when a block set meanwhile covers the slot, or the caller
        woke more than a slice late in a sliding window, a fresh slot from now within the
        original deadline."""
        if reservation.slot > now:
            return _rest(reservation, now)
        scopes, grants, slot = reservation.scopes, reservation.grants, reservation.slot
        limits = self._limits_tuple(scopes)

        def decide(states: list[ScopeState]) -> tuple[Sequence[ScopeState], Reservation]:
            rolled = [roll(s, lim, now) for s, lim in zip(states, limits, strict=True)]
            if any(
                s.epoch != g.epoch or late(s, lim, slot, now)
                for s, g, lim in zip(rolled, grants, limits, strict=True)
            ):  # a block voided the slot, or the caller woke late: a fresh slot from now
                kept = [
                    unbook(s, lim, g, slot)
                    for s, g, lim in zip(rolled, grants, limits, strict=True)
                ]
                return _grant(scopes, limits, kept, now, reservation.deadline)
            sent = [send(s, g, slot) for s, g in zip(rolled, grants, strict=True)]
            return sent, _rest(reservation, now)

        return self.store.transact(scopes, decide)

    def release(self, reservation: Reservation) -> None:
        """Give the slot back: the caller will not send (cancelled, or gave up)."""
        scopes, grants, slot = reservation.scopes, reservation.grants, reservation.slot
        limits = self._limits_tuple(scopes)
        now = self.now()

        def decide(states: list[ScopeState]) -> tuple[Sequence[ScopeState], None]:
            return [
                unbook(roll(s, lim, now), lim, g, slot)
                for s, lim, g in zip(states, limits, grants, strict=True)
            ], None

        self.store.transact(scopes, decide)

    def settle(
        self,
        reservation: Reservation,
        status_code: int | None,
        headers: Mapping[str, str] | None,
        *,
        now: float,
    ) -> None:
        """Report what came back for a sent request: a status and its headers, or None
        when no answer came (the request is assumed to have counted)."""
        if status_code is None or not headers:
            self._settle(reservation, status_code, _NO_HEADERS, None, now)
            return
        lowered = _lowered(headers)
        self._settle(reservation, status_code, _read(lowered), lowered.get("retry-after"), now)

    def _settle(
        self,
        reservation: Reservation,
        status_code: int | None,
        info: RateLimitHeaders,
        retry_after: str | None,
        now: float,
    ) -> None:
        scopes = reservation.scopes
        limits = self._limits_tuple(scopes)
        refused = status_code == 429
        told = None
        if refused and retry_after is not None:
            told = parse_retry_after(retry_after, now=self.clock.time())
        jitter = self._jitter() if refused else 0.0
        heard = info.present
        success = status_code is not None and not refused
        sent_at = reservation.slot
        warnings: list[tuple[str, str]] = []

        def decide(states: list[ScopeState]) -> tuple[Sequence[ScopeState], None]:
            warnings.clear()  # a shared store may decide again on fresher states
            target = attribute(scopes, info, states, limits) if heard or refused else -1
            updated = []
            for i, (state, lim) in enumerate(zip(states, limits, strict=True)):
                if state.window_end is not None and now >= state.window_end:
                    state = roll(state, lim, now)
                warning = ""
                if i != target:
                    state = answered(state, lim, now, False, sent_at)
                elif refused:
                    state = answered(state, lim, now, heard, sent_at)
                    state, _, warning = block(
                        state, lim, now, retry_after=told, info=info, jitter=jitter
                    )
                else:
                    state, warning = observe(
                        answered(state, lim, now, True, sent_at), lim, info, now
                    )
                if warning:
                    warnings.append((scopes[i], warning))
                if success and state.backoff:
                    state = state._replace(backoff=0)  # a success ends the backoff
                updated.append(state)
            return updated, None

        self.store.transact(scopes, decide)
        for scope, warning in warnings:
            self._warn(scope, warning)

    def _warn(self, scope: str, detail: str) -> None:
        clock = self.clock
        self.events.emit(
            ThrottleWarning(at=clock.monotonic(), wall=clock.time(), scope=scope, detail=detail)
        )

    # -- diagnostics -------------------------------------------------------------------------

    def snapshot(self, *, now: float | None = None) -> ThrottleSnapshot:
        """The state of every scope seen so far."""
        at = self.now() if now is None else now
        scopes: list[ScopeSnapshot] = []
        for name, raw in sorted(self.store.states().items()):
            if name == OVERRIDE_SCOPE and self._override is None:
                continue
            lim = self.limits_for(name)
            state = roll(raw, lim, at)
            slot, _ = earliest(state, lim, at)
            end = state.window_end
            closed = bool(state.reason) and end is not None
            scopes.append(
                ScopeSnapshot(
                    scope=name,
                    rule="even" if lim.even else ("sliding" if end is None else "budget"),
                    limit=_limit(state, lim),
                    window=lim.window,
                    remaining=max(0, _budget(state, lim)) if end is not None else None,
                    reset_in=end - at if end is not None else None,
                    sending=state.sending + state.sending_old,
                    queued=state.promised + state.queued,
                    backlog=slot - at,
                    blocked_for=end - at if closed and end is not None else 0.0,
                    blocked_reason=state.reason if closed else "",
                    granted=state.granted,
                    throttled=state.throttled,
                    waited=state.waited,
                )
            )
        return ThrottleSnapshot(at=at, override_per_minute=self._override, scopes=tuple(scopes))

    def __repr__(self) -> str:
        return f"Throttle({self.config!r}, override={self._override!r})"


def _rest(reservation: Reservation, now: float) -> Reservation:
    left = max(0.0, reservation.slot - now)
    return Reservation(
        reservation.scopes,
        reservation.grants if left else tuple(Grant("now", g.epoch) for g in reservation.grants),
        reservation.slot,
        left,
        reservation.deadline,
        reservation.scope,
        reservation.reason,
    )


# ---- the transport layers -----------------------------------------------------------------


_METER_READINGS = re.compile(r"(?:^|/)meterreadings/?$")
_SINGLE_METER = re.compile(r"(?:^|/)meters/(?P<meter>[^/]+)/readings/?$")


#: What names a request's scopes: its ``Authorization`` and ``X-Organization-Id`` values (as
#: ``headers.get`` gives them) and its route.
_ScopeFacts = tuple[str | None, str | None, str]
_SCOPE_HEADERS = HeaderNames(["Authorization", "X-Organization-Id"])


def _scope_facts(request: httpx.Request) -> _ScopeFacts:
    found = pick(request.headers, _SCOPE_HEADERS)
    return found.get("authorization"), found.get("x-organization-id"), route_of(request)


def request_scopes(
    request: httpx.Request, label: Callable[[str], str] = fingerprint
) -> tuple[str, ...]:
    """The budgets a request counts against, narrowest first. The key is named by its
    fingerprint (``label`` of the ``Authorization`` value), never by the key."""
    return _scopes(*_scope_facts(request), request, label)


def _scopes(
    auth: str | None,
    org: str | None,
    route: str,
    request: httpx.Request,
    label: Callable[[str], str],
) -> tuple[str, ...]:
    key = label(auth) if auth else "anonymous"
    org = (org.strip() if org else "") or "default"
    kind = _route_kind(route)
    if kind == _METER_READINGS_ROUTE:
        return (f"meterreadings:{key}", f"key:{key}", f"org:{org}")
    if kind == _SINGLE_METER_ROUTE:
        match = _SINGLE_METER.search(request.url.path)
        meter = match["meter"] if match else "?"
        return (f"meter:{org}:{meter}", f"key:{key}", f"org:{org}")
    return (f"key:{key}", f"org:{org}")


_PLAIN_ROUTE, _METER_READINGS_ROUTE, _SINGLE_METER_ROUTE = range(3)


@functools.lru_cache(maxsize=512)
def _route_kind(route: str) -> int:
    """Which budgets a route has beside the key's and the organization's (route templates
    are few, so this is cached; they hold no secret)."""
    if _METER_READINGS.search(route):
        return _METER_READINGS_ROUTE
    if _SINGLE_METER.search(route):
        return _SINGLE_METER_ROUTE
    return _PLAIN_ROUTE


_REPORTED = HeaderNames(
    ["X-Rate-Limit-Limit", "X-Rate-Limit-Remaining", "X-Rate-Limit-Reset", "Retry-After"]
)


def _report(throttle: Throttle, reservation: Reservation, response: httpx.Response) -> None:
    """Tell the throttle what came back, reading the rate-limit headers in one pass (a
    header sent twice is joined, as ``headers.get`` does: an unreadable number)."""
    found = pick(response.headers, _REPORTED)  # lower-case names: read as they are
    info = _read(found) if found else _NO_HEADERS
    retry_after = found.get("retry-after")
    throttle._settle(reservation, response.status_code, info, retry_after, throttle.now())


def _max_wait_of(request: httpx.Request, default: float) -> float:
    """How long this attempt may wait: the call's own allowance (``with_options(max_wait=)``)
    or ``default`` (``ThrottleConfig.max_wait``), never past what is left of the call's
    deadline."""
    value = request.extensions.get(MAX_WAIT_EXTENSION)
    budget = float(value) if isinstance(value, (int, float)) else default
    deadline = deadline_of(request)
    return budget if deadline is None else max(0.0, min(budget, deadline.left()))


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
            scopes = throttle.scopes_of(request)
            budget = _max_wait_of(request, throttle.config.max_wait)
            return throttle.reserve(scopes, now=throttle.now(), max_wait=budget)
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


class ThrottleLayer(httpx.BaseTransport):
    """Waits for a rate-limit slot, sends, and tells the throttle what came back."""

    def __init__(self, inner: httpx.BaseTransport, throttle: Throttle) -> None:
        self.inner = inner
        self.throttle = throttle

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        throttle = self.throttle
        reservation = _admit(throttle, request, None)
        try:
            while reservation.wait > 0:
                _waited(throttle, reservation)
                throttle.clock.sleep(reservation.wait)
                reservation = _admit(throttle, request, reservation)
        except BaseException:
            throttle.release(reservation)
            raise
        try:
            response = self.inner.handle_request(request)
        except BaseException:
            throttle.settle(reservation, None, None, now=throttle.now())
            raise
        _report(throttle, reservation, response)
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
        try:
            while reservation.wait > 0:
                _waited(throttle, reservation)
                await throttle.clock.asleep(reservation.wait)
                reservation = _admit(throttle, request, reservation)
        except BaseException:
            throttle.release(reservation)
            raise
        try:
            response = await self.inner.handle_async_request(request)
        except BaseException:
            throttle.settle(reservation, None, None, now=throttle.now())
            raise
        _report(throttle, reservation, response)
        return response

    async def aclose(self) -> None:
        await self.inner.aclose()
