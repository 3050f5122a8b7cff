"""The total deadline of one call: connect, every read, every retry and every wait.

A per-read timeout alone cannot bound a call: a server that trickles one byte a second
never lets a read time out. So each call carries a :class:`Deadline` (an absolute time on
the client's clock) in ``request.extensions[DEADLINE_EXTENSION]``, stamped once by the
outermost layer (:class:`DeadlineLayer`), and every layer that waits asks it how much time
is left:

- the retry layer starts no attempt (and no backoff sleep) that would end past it;
- the throttle may make an attempt wait for a slot only as long as is left;
- the HTTP layer shortens every phase's timeout to what is left, checks it between body
  chunks, and publishes it in :data:`CURRENT_DEADLINE` so that the default network
  transport bounds each socket wait by it too (:mod:`._net`).

When it passes, the call fails with :class:`~maintainx_resilient.DeadlineExceededError`.
Pure except for reading the injected clock.
"""

from __future__ import annotations

import math
from contextvars import ContextVar

import httpx

from ._clock import Clock
from ._exceptions import ConfigurationError, DeadlineExceededError
from ._extensions import DEADLINE_EXTENSION
from ._layer import AsyncLayer, Layer

__all__ = [
    "CURRENT_DEADLINE",
    "DEFAULT_DEADLINE",
    "AsyncDeadlineLayer",
    "Deadline",
    "DeadlineLayer",
    "DeadlinePolicy",
    "deadline_of",
    "validate_seconds",
]

#: Seconds one call may take in all (connect + reads + retries + rate-limit waits).
DEFAULT_DEADLINE = 120.0


#: The deadline of the call the current thread or task is sending (None: unbounded).
CURRENT_DEADLINE: ContextVar[Deadline | None] = ContextVar("maintainx_deadline", default=None)


def validate_seconds(value: object, name: str) -> float:
    """``value`` as positive, finite seconds, or :class:`ConfigurationError` saying so."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ConfigurationError(f"{name} must be a number of seconds, got {value!r}")
    seconds = float(value)
    if not math.isfinite(seconds) or seconds <= 0:
        raise ConfigurationError(f"{name} must be positive, finite seconds, got {value!r}")
    return seconds


class Deadline:
    """An absolute end time ``at`` on ``clock.monotonic()``; ``total`` is the whole budget.

    Made once per call on the hot path: a plain slotted class (a frozen dataclass costs
    more to build); treat it as immutable."""

    __slots__ = ("at", "clock", "total")

    def __init__(self, at: float, total: float, clock: Clock) -> None:
        self.at = at
        self.total = total
        self.clock = clock

    def __repr__(self) -> str:
        return f"Deadline(total={self.total:g}, left={self.left():.3f})"

    @classmethod
    def after(cls, seconds: float, clock: Clock) -> Deadline:
        return cls(clock.monotonic() + seconds, seconds, clock)

    def left(self) -> float:
        """Seconds left (negative once passed)."""
        return self.at - self.clock.monotonic()

    def exceeded(self, request: httpx.Request, phase: str) -> DeadlineExceededError:
        """The error for this deadline having passed during ``phase``."""
        return DeadlineExceededError(
            f"the call's {self.total:g} s deadline passed ({phase})",
            method=request.method,
            path=request.url.path,
            phase=phase,
            deadline=self.total,
        )


def deadline_of(request: httpx.Request) -> Deadline | None:
    """The deadline stamped on ``request``, if any."""
    value = request.extensions.get(DEADLINE_EXTENSION)
    return value if isinstance(value, Deadline) else None


class DeadlinePolicy:
    """Stamps every request with ``seconds`` from now (unless it already carries one)."""

    def __init__(self, seconds: float, *, clock: Clock) -> None:
        self.seconds = validate_seconds(seconds, "deadline")
        self.clock = clock

    def stamp(self, request: httpx.Request) -> Deadline:
        deadline = deadline_of(request)
        if deadline is None:
            deadline = Deadline(self.clock.monotonic() + self.seconds, self.seconds, self.clock)
            request.extensions[DEADLINE_EXTENSION] = deadline
        return deadline

    def __repr__(self) -> str:
        return f"DeadlinePolicy({self.seconds:g} s)"


class DeadlineLayer(Layer[DeadlinePolicy]):
    """The outermost layer: starts the call's clock."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.policy.stamp(request)
        return self.inner.handle_request(request)


class AsyncDeadlineLayer(AsyncLayer[DeadlinePolicy]):
    """The async twin of :class:`DeadlineLayer`."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.policy.stamp(request)
        return await self.inner.handle_async_request(request)
