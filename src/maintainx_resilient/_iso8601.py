"""ISO-8601 timestamps, read and written one way for the whole package. Pure.

MaintainX writes ``updatedAt``/``createdAt`` as ISO-8601 UTC with milliseconds
(``2025-01-01T00:00:00.000Z``). Reading accepts what people and other systems write too: a
date alone, ``T`` or a space, seconds optional, any number of fraction digits (``.`` or
``,``), ``Z``, ``+hh``, ``+hhmm`` or ``+hh:mm``, and no zone at all, which means UTC (as
MaintainX filters do). Anything else is a ``ValueError``.

- :func:`parse_instant`: text to an aware ``datetime``.
- :func:`parse_timestamp` / :func:`to_timestamp`: text (or an aware ``datetime``) to integer
  microseconds since the Unix epoch (exact, sortable, independent of how it was written);
  the API's own format takes a fast path.
- :func:`format_timestamp`: microseconds back in the API's format, so a stored ``updatedAt``
  compares equal to MaintainX's.
- :func:`iso_utc`: Unix time (a float) in the same format, for reports and JSON documents.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

__all__ = ["format_timestamp", "iso_utc", "parse_instant", "parse_timestamp", "to_timestamp"]

_UNIX = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NAIVE_UNIX = datetime(1970, 1, 1)  # naive: only ever compared with naive UTC values
_ONE_US = timedelta(microseconds=1)
_fromiso = datetime.fromisoformat
_PATTERN = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?"
)


def parse_instant(text: str) -> datetime:
    """An ISO-8601 date or date-time as an aware ``datetime`` (UTC when it names no zone).

    Raises ``ValueError`` for anything else, an impossible date included.
    """
    match = _PATTERN.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"not an ISO-8601 timestamp: {text!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    tz = timezone.utc
    if zone and zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "").ljust(4, "0")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4])))
    return datetime(
        int(year),
        int(month),
        int(day),
        int(hour or 0),
        int(minute or 0),
        int(second or 0),
        int((fraction or "0").ljust(6, "0")[:6]),
        tzinfo=tz,
    )


def parse_timestamp(value: str | datetime) -> int:
    """Microseconds since the Unix epoch of an ISO-8601 string or an aware datetime.

    A string without a zone is UTC. Raises ``ValueError`` for anything else, and for a naive
    ``datetime`` (which would silently mean local time).
    """
    if type(value) is str and len(value) == 24 and value[23] == "Z" and value[19] == ".":
        try:  # the API's own format, by far the most common: the C parser, no regex
            return (_fromiso(value[:23]) - _NAIVE_UNIX) // _ONE_US
        except ValueError:
            pass
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()}: pass an aware (UTC) datetime")
        return (value - _UNIX) // _ONE_US
    return (parse_instant(value) - _UNIX) // _ONE_US


def to_timestamp(value: object) -> int | None:
    """:func:`parse_timestamp` for a field of a record: None when missing or unreadable."""
    if isinstance(value, str | datetime):
        try:
            return parse_timestamp(value)
        except (ValueError, OverflowError):
            return None
    return None


def format_timestamp(micros: int) -> str:
    """The API's format: ``YYYY-MM-DDTHH:MM:SS.mmmZ`` (six digits when sub-millisecond)."""
    m = _UNIX + timedelta(microseconds=micros)
    base = f"{m.year:04d}-{m.month:02d}-{m.day:02d}T{m.hour:02d}:{m.minute:02d}:{m.second:02d}"
    if m.microsecond % 1000:
        return f"{base}.{m.microsecond:06d}Z"
    return f"{base}.{m.microsecond // 1000:03d}Z"


def iso_utc(wall: float) -> str:
    """Unix time as ISO-8601 UTC with milliseconds: ``2025-06-15T15:06:40.000Z``."""
    moment = datetime.fromtimestamp(wall, tz=timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
