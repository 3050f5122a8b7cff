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

__all__ = [
    "BreakerStateChanged",
    "Event",
    "EventBus",
    "FallbackServed",
    "KeyRotated",
    "RequestCompleted",
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
class KeyRotated(Event):
    old_fingerprint: str
    new_fingerprint: str
    reason: str = field(default="401")


Hook = Callable[[Event], None]


class EventBus:
    """Delivers events to subscribers, in subscription order, on the emitting thread."""

    __slots__ = ("_hooks", "_lock")

    def __init__(self) -> None:
        self._hooks: tuple[Hook, ...] = ()
        self._lock = threading.Lock()

    def subscribe(self, hook: Hook) -> Callable[[], None]:
        """Add a hook; returns a function that removes it."""
        with self._lock:
            self._hooks = (*self._hooks, hook)

        def unsubscribe() -> None:
            with self._lock:
                self._hooks = tuple(h for h in self._hooks if h is not hook)

        return unsubscribe

    @property
    def active(self) -> bool:
        return bool(self._hooks)

    def emit(self, event: Event) -> None:
        for hook in self._hooks:
            try:
                hook(event)
            except Exception:
                logger.exception("maintainx_resilient event hook %r failed", hook)
