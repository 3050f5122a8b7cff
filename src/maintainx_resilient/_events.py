"""One way for the client to say what it does: frozen event records sent to hooks.

Every policy reports through :class:`EventBus.emit`; statistics, telemetry, logging, the
incident timeline and user hooks are subscribers. A hook that raises is logged and ignored:
observing the client never breaks it. Events carry fingerprints, never keys.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

__all__ = [
    "REFUSAL_KINDS",
    "BreakerStateChanged",
    "Event",
    "EventBus",
    "FallbackServed",
    "FleetStateChanged",
    "Hooks",
    "KeyRotated",
    "RequestCompleted",
    "RequestRefused",
    "ResponseUnreadable",
    "RetryScheduled",
    "ThrottleWaited",
    "ThrottleWarning",
]

logger = logging.getLogger("maintainx_resilient")


@dataclass(frozen=True, slots=True)
class Event:
    """Base of all events. ``at`` is the client's monotonic clock, ``wall`` Unix time."""

    at: float
    wall: float


@dataclass(frozen=True, slots=True)
class RequestCompleted(Event):
    """One attempt finished: a status, or an error kind when no response came."""

    method: str
    route: str
    status: int | None
    error: str | None
    duration: float
    attempt: int = 1


#: The errors of a call the client refused without sending (``RequestRefused.kind``).
REFUSAL_KINDS: frozenset[str] = frozenset(
    {"CircuitOpenError", "ThrottledError", "FallbackModeError"}
)


@dataclass(frozen=True, slots=True)
class RequestRefused(Event):
    """A call failed without being sent: the client itself refused it.

    ``kind`` is the error the caller got, one of :data:`REFUSAL_KINDS`: an open circuit
    breaker (``CircuitOpenError``), a rate-limit wait longer than the call may wait
    (``ThrottledError``), or fallback mode with nothing cached (``FallbackModeError``).
    No attempt was made, so no :class:`RequestCompleted` is emitted for it.
    """

    method: str
    route: str
    kind: str


@dataclass(frozen=True, slots=True)
class ResponseUnreadable(Event):
    """A call's answer came (``status``, a 2xx, already reported by its attempt's
    :class:`RequestCompleted`) but could not be read: the call failed with ``kind``
    (``DecodeError``: an HTML page from a proxy, truncated JSON, JSON of the wrong shape).

    Emitted by the client after the answer failed to parse; statistics count that attempt
    as failed instead of succeeded (the application got an error, not an answer).
    """

    method: str
    route: str
    status: int
    kind: str


@dataclass(frozen=True, slots=True)
class RetryScheduled(Event):
    method: str
    route: str
    attempt: int
    delay: float
    reason: str


@dataclass(frozen=True, slots=True)
class ThrottleWaited(Event):
    scope: str
    wait: float
    reason: str


@dataclass(frozen=True, slots=True)
class ThrottleWarning(Event):
    """The server said something the throttle does not take at its word: a wait beyond
    ``ThrottleConfig.max_block`` (capped, then probed), or a suspect limit or reset (held
    until the next answer confirms it)."""

    scope: str
    detail: str


@dataclass(frozen=True, slots=True)
class BreakerStateChanged(Event):
    scope: str
    old: str
    new: str


@dataclass(frozen=True, slots=True)
class FallbackServed(Event):
    method: str
    route: str
    age: float
    reason: str


@dataclass(frozen=True, slots=True)
class FleetStateChanged(Event):
    """Fleet mode left Redis (``new="local"``: this process runs on its own state, with a
    warning) or rejoined it (``new="joined"``). ``detail`` says why, without secrets."""

    old: str
    new: str
    detail: str


@dataclass(frozen=True, slots=True)
class KeyRotated(Event):
    old_fingerprint: str
    new_fingerprint: str
    reason: str = field(default="401")


Hook = Callable[[Event], None]

_V = TypeVar("_V")


class Hooks(Generic[_V]):
    """A list of functions called with each value emitted: in subscription order, on the
    emitting thread. A hook that raises is logged and skipped; the others still run.

    Subscribing and unsubscribing swap an immutable tuple under a lock, so emitting takes
    no lock and a hook may (un)subscribe while being called. The one implementation of
    subscribers in the library: the :class:`EventBus`, a ``SeverityTracker``'s hooks.
    """

    __slots__ = ("_hooks", "_lock", "_what")

    def __init__(self, what: str = "event") -> None:
        self._hooks: tuple[Callable[[_V], None], ...] = ()
        self._lock = threading.Lock()
        self._what = what

    def subscribe(self, hook: Callable[[_V], None]) -> Callable[[], None]:
        """Add a hook; returns a function that removes it."""
        with self._lock:
            self._hooks = (*self._hooks, hook)

        def unsubscribe() -> None:
            with self._lock:
                self._hooks = tuple(h for h in self._hooks if h is not hook)

        return unsubscribe

    @property
    def active(self) -> bool:
        """True when at least one hook is subscribed."""
        return bool(self._hooks)

    def emit(self, value: _V) -> None:
        """Call every hook with ``value``."""
        for hook in self._hooks:
            try:
                hook(value)
            except Exception:
                logger.exception("maintainx_resilient %s hook %r failed", self._what, hook)


class EventBus(Hooks[Event]):
    """Delivers events to subscribers, in subscription order, on the emitting thread."""

    __slots__ = ()
