"""When a failed handler runs again, and when an event gives up. Pure.

:class:`RetrySchedule` is the schedule: exponential backoff ``base_delay * multiplier ** (n-1)``
capped at ``max_delay``, with jitter drawn in ``[1 - jitter, 1]`` of it (the random number is
an argument, so tests pin it). :func:`decide` turns one handler outcome into what the worker
does next: acknowledge, retry later, or move the event to the dead letters.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from .._deprecated import renamed

__all__ = [
    "DEFAULT_RETRY_SCHEDULE",
    "Decision",
    "PermanentError",
    "RetrySchedule",
    "decide",
    "describe",
]


class PermanentError(Exception):
    """Raise from a handler for a failure that no retry will fix: the event goes straight
    to the dead letters (replay it once the cause is fixed)."""


@dataclass(frozen=True)
class RetrySchedule:
    """``max_attempts`` handler runs per event (1 = no retry); ``max_deliveries`` claims
    without an outcome (a handler that crashes its worker every time) before giving up."""

    max_attempts: int = 5
    base_delay: float = 1.0
    multiplier: float = 2.0
    max_delay: float = 300.0
    jitter: float = 0.25
    max_deliveries: int = 20

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1")
        if self.base_delay < 0 or self.max_delay < 0:
            raise ValueError("delays must be >= 0 seconds")
        if self.multiplier < 1:
            raise ValueError("multiplier must be >= 1")
        if not 0 <= self.jitter <= 1:
            raise ValueError("jitter must be between 0 and 1")
        if self.max_deliveries < self.max_attempts:
            raise ValueError("max_deliveries must be >= max_attempts")

    def delay(self, failures: int, rand: float) -> float:
        """Seconds before the next attempt after ``failures`` failures; ``rand`` in [0, 1)."""
        exponent = max(0, failures - 1)
        raw = self.base_delay * self.multiplier**exponent if exponent < 64 else self.max_delay
        capped = min(self.max_delay, raw)
        return capped * (1.0 - self.jitter * min(max(rand, 0.0), 1.0))


DEFAULT_RETRY_SCHEDULE = RetrySchedule()


@dataclass(frozen=True)
class Decision:
    """What to do with an event after a handler ran: ``ack``, ``retry`` after ``delay``
    seconds, or ``dead`` (dead letter) with ``error``."""

    action: Literal["ack", "retry", "dead"]
    delay: float = 0.0
    error: str | None = None


def describe(exc: BaseException, limit: int = 2000) -> str:
    """``Type: message`` of an exception, truncated (what the dead letters keep); never
    raises, even for an exception whose ``__str__`` does."""
    try:
        message = str(exc)
    except Exception:
        message = "(the exception's message could not be printed)"
    text = f"{type(exc).__name__}: {message}"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def decide(
    policy: RetrySchedule, attempt: int, error: BaseException | None, rand: float
) -> Decision:
    """The next step for an event whose ``attempt``-th handler run ended with ``error``."""
    if error is None:
        return Decision("ack")
    text = describe(error)
    if isinstance(error, PermanentError) or attempt >= policy.max_attempts:
        return Decision("dead", error=text)
    return Decision("retry", delay=policy.delay(attempt, rand), error=text)


#: Renamed public names, still answered (with a DeprecationWarning).
_RENAMED = {"RetryPolicy": "RetrySchedule", "DEFAULT_RETRY_POLICY": "DEFAULT_RETRY_SCHEDULE"}


def __getattr__(name: str) -> Any:
    return renamed(__name__, name, _RENAMED, globals())
