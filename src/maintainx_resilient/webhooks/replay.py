"""Replaying dead letters: all of them, some by id, or by the age of their failure.

:func:`replay_dead_letters` selects the dead letters first (so the total is known), then moves
them back to the queue in chunks, calling ``progress`` after each chunk. Replayed events start
again at attempt 1; their dedupe keys never left the queue, so a replay never duplicates.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from .queue import WebhookQueue
from .records import DeadLetter, ReplayProgress

__all__ = ["ReplayResult", "replay_dead_letters", "select_dead_letters"]

#: At most this many dead letters are selected by one call.
MAX_SELECTION = 1_000_000


@dataclass(frozen=True)
class ReplayResult:
    """``matched`` dead letters were selected, ``requeued`` of them went back to the queue
    (fewer if another process replayed or discarded some meanwhile)."""

    matched: int
    requeued: int
    dry_run: bool = False


def select_dead_letters(
    queue: WebhookQueue,
    *,
    ids: Sequence[str] | None = None,
    older_than: float | None = None,
    newer_than: float | None = None,
    limit: int = MAX_SELECTION,
) -> list[DeadLetter]:
    """The dead letters a replay with these arguments would take, oldest failure first."""
    return queue.dead_letters(ids=ids, older_than=older_than, newer_than=newer_than, limit=limit)


def replay_dead_letters(
    queue: WebhookQueue,
    *,
    all: bool = False,
    ids: Sequence[str] | None = None,
    older_than: float | None = None,
    newer_than: float | None = None,
    chunk: int = 100,
    dry_run: bool = False,
    progress: Callable[[ReplayProgress], None] | None = None,
) -> ReplayResult:
    """Move dead letters back to the queue.

    Say what to replay: ``all=True``, or ``ids``, and/or an age window (``older_than`` /
    ``newer_than``: seconds since the failure). ``dry_run`` only counts.
    """
    if not all and ids is None and older_than is None and newer_than is None:
        raise ValueError("say what to replay: all=True, ids=..., older_than=... or newer_than=...")
    if chunk < 1:
        raise ValueError("chunk must be >= 1")
    selected = [
        letter.id
        for letter in select_dead_letters(
            queue, ids=ids, older_than=older_than, newer_than=newer_than
        )
    ]
    total = len(selected)
    if dry_run:
        return ReplayResult(total, 0, dry_run=True)
    done = 0
    requeued = 0
    if progress is not None:
        progress(ReplayProgress(0, total))
    for start in range(0, total, chunk):
        part = selected[start : start + chunk]
        requeued += queue.requeue(part)
        done += len(part)
        if progress is not None:
            progress(ReplayProgress(done, total))
    return ReplayResult(total, requeued)
