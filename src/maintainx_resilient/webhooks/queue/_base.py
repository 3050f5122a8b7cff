"""What a durable webhook queue does, whatever stores it.

Every method is synchronous and thread-safe; several processes may share one queue (the
SQLite file or the Redis stream). The receiver calls :meth:`WebhookQueue.enqueue` (through a
group-commit thread, so concurrent deliveries share one write); workers call ``claim`` then
exactly one of ``ack``, ``retry`` or ``dead_letter`` per delivery.

Guarantees (both backends):

- ``enqueue`` returns only once the events are stored (SQLite: committed, fsynced with the
  default ``synchronous="FULL"``; Redis: written by a Lua script, as durable as the server's
  persistence settings). A key seen before (within the dedupe TTL) is not stored again.
- A claimed event is leased to its consumer for ``lease`` seconds. If the consumer dies, the
  event is claimed again by anyone once the lease expires, or at once by the same consumer
  name calling ``recover`` after a restart: at-least-once, never lost.
- ``ack``/``retry``/``dead_letter`` of a delivery whose lease another consumer has taken over
  do nothing (they return False): that consumer now owns the event.
- A store that cannot be used (a damaged file, a full disk, Redis down or hanging) raises
  :class:`~maintainx_resilient.StorageError`, within a bounded time; ``ping`` returns False
  instead. The receiver answers 503, workers back off and try again.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol, runtime_checkable

from ..records import DeadLetter, Delivery, Envelope, QueueStats

__all__ = ["DEFAULT_DEDUPE_TTL", "DEFAULT_LEASE", "WebhookQueue"]

#: How long a delivered event's key is remembered for deduplication (7 days).
DEFAULT_DEDUPE_TTL = 7 * 24 * 3600.0
#: How long a claimed event stays with its worker before anyone may take it over.
DEFAULT_LEASE = 60.0


@runtime_checkable
class WebhookQueue(Protocol):
    """The storage behind the receiver and the workers (SQLite or Redis Streams)."""

    #: ``"sqlite"`` or ``"redis"``.
    backend: str

    def enqueue(self, envelopes: Sequence[Envelope]) -> list[bool]:
        """Store new events durably; per envelope, True if stored, False if a duplicate."""
        ...

    def claim(self, consumer: str, limit: int, *, lease: float = DEFAULT_LEASE) -> list[Delivery]:
        """Up to ``limit`` events due now (none while paused), leased to ``consumer``."""
        ...

    def ack(self, delivery: Delivery) -> bool:
        """The event is processed: remove it (its key stays remembered for dedupe)."""
        ...

    def retry(self, delivery: Delivery, *, delay: float, error: str) -> bool:
        """The handler failed: run it again after ``delay`` seconds."""
        ...

    def dead_letter(self, delivery: Delivery, *, error: str) -> bool:
        """The event keeps failing: keep it aside with ``error`` until replayed."""
        ...

    def recover(self, consumer: str, *, ids: Sequence[str] | None = None) -> int:
        """Make the events still leased to ``consumer`` claimable now (after a restart under
        the same name), or only those of ``ids`` (a worker stopping mid-batch gives back
        what it did not start); their attempt counts are unchanged. Returns how many."""
        ...

    def dead_letters(
        self,
        *,
        ids: Sequence[str] | None = None,
        older_than: float | None = None,
        newer_than: float | None = None,
        limit: int = 100,
    ) -> list[DeadLetter]:
        """Dead letters, oldest failure first; ``older_than``/``newer_than`` are ages in
        seconds of the failure."""
        ...

    def requeue(self, ids: Sequence[str]) -> int:
        """Move these dead letters back to the queue (attempts reset); returns how many."""
        ...

    def discard(self, ids: Sequence[str]) -> int:
        """Delete these dead letters for good; returns how many."""
        ...

    def stats(self) -> QueueStats: ...

    def pause(self) -> None:
        """Stop handing events to workers (every worker of this queue); the receiver keeps
        accepting and storing them."""
        ...

    def resume(self) -> None: ...

    def is_paused(self) -> bool: ...

    def ping(self) -> bool:
        """True if the store answers."""
        ...

    def close(self) -> None: ...
