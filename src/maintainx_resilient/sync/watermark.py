"""Watermark arithmetic for incremental sync. Pure: no I/O, no clock.

The spec's "Polling for Changes" guide, step by step:

1. ask for ``updatedAt[gte]=<watermark>`` (here: the watermark minus a small *overlap*, so a
   record written in the same millisecond as the watermark, or one that moved between pages
   of an offset-paged list, is fetched again rather than missed);
2. keep the same filter on every page;
3. after the last page, advance the watermark to the largest ``updatedAt`` seen;
4. dedupe by ``id``.

A watermark never moves backwards here: :func:`advance` keeps the old one when a run saw
nothing newer. Timestamps are integer microseconds since the Unix epoch (see ``_time``).
"""

from __future__ import annotations

from collections.abc import Iterable

__all__ = ["DEFAULT_OVERLAP", "advance", "window_start"]

#: How far before the watermark each incremental window starts (seconds).
DEFAULT_OVERLAP = 60.0


def window_start(watermark: int | None, overlap: float = DEFAULT_OVERLAP) -> int | None:
    """The ``updatedAt[gte]`` bound of the next window: ``watermark - overlap``.

    None (no watermark yet) means "everything": the first incremental run is a full read.
    """
    if overlap < 0:
        raise ValueError(f"overlap must be >= 0 seconds, got {overlap!r}")
    if watermark is None:
        return None
    return watermark - round(overlap * 1_000_000)


def advance(watermark: int | None, seen: Iterable[int | None]) -> int | None:
    """The next watermark: the largest ``updatedAt`` seen, never below ``watermark``."""
    best = watermark
    for value in seen:
        if value is not None and (best is None or value > best):
            best = value
    return best
