"""Timestamps as MaintainX writes them: ISO-8601 UTC with milliseconds.

E.g. ``2024-01-01T00:00:00.000Z``.

Records keep their timestamps as strings in exactly this format, so string order is time order
and date filters compare strings. ``Timestamps`` turns an injected monotonic clock into strictly
increasing wall-clock-like timestamps, so an incremental sync always sees a write as newer.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta, timezone

from .._iso8601 import parse_instant

__all__ = ["DEFAULT_EPOCH", "Timestamps", "format_ms", "normalize_iso", "parse_iso_ms"]

#: The simulated "now" when a simulator starts; seeded data is older than this.
DEFAULT_EPOCH = datetime(2025, 1, 1, tzinfo=timezone.utc)

_UNIX = datetime(1970, 1, 1, tzinfo=timezone.utc)
_ISO = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,9}))?)?)?"
    r"(Z|z|[+-]\d{2}:?\d{2})?$"
)


def to_ms(moment: datetime) -> int:
    """Milliseconds since the Unix epoch of an aware datetime."""
    return (moment - _UNIX) // timedelta(milliseconds=1)


def format_ms(ms: int) -> str:
    """Format milliseconds since the Unix epoch as ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    return time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(ms // 1000)) + f".{ms % 1000:03d}Z"


def parse_iso_ms(text: str) -> int:
    """Parse an ISO-8601 date or date-time (naive means UTC) to milliseconds; ValueError if bad.

    The simulator takes the forms of ``_ISO`` (stricter than the client's reader); the
    conversion is the package's one parser."""
    if _ISO.match(text.strip()) is None:
        raise ValueError(f"not an ISO-8601 date-time: {text!r}")
    return to_ms(parse_instant(text))


def normalize_iso(text: str) -> str:
    """Any accepted ISO-8601 form, rewritten in the records' canonical format."""
    return format_ms(parse_iso_ms(text))


class Timestamps:
    """Strictly increasing timestamps derived from an injected clock.

    ``epoch`` is the wall time that corresponds to the clock's value at construction; the
    simulated wall time advances with the clock, and two writes never share a timestamp.
    """

    def __init__(self, clock: Callable[[], float], epoch: datetime = DEFAULT_EPOCH) -> None:
        self._clock = clock
        self._start = clock()
        self.epoch_ms = to_ms(epoch)
        self._last = self.epoch_ms - 1
        self._lock = threading.Lock()

    def now_ms(self) -> int:
        """The current simulated wall time in milliseconds (not reserved)."""
        return self.epoch_ms + int((self._clock() - self._start) * 1000)

    def next_ms(self) -> int:
        """A fresh timestamp, strictly greater than every one handed out before."""
        with self._lock:
            ms = max(self.now_ms(), self._last + 1)
            self._last = ms
            return ms

    def next_iso(self) -> str:
        """``next_ms`` formatted like the API does."""
        return format_ms(self.next_ms())
