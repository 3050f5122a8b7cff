"""Timestamps as the sync engine keeps them. Pure.

MaintainX writes ``updatedAt``/``createdAt`` as ISO-8601 UTC with milliseconds
(``2025-01-01T00:00:00.000Z``). The store indexes them as integer microseconds since the Unix
epoch (exact, sortable, independent of how the string was written) and hands them back in the
API's own format, so a local ``updatedAt`` compares equal to MaintainX's.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

__all__ = ["format_timestamp", "parse_timestamp", "to_timestamp"]

_UNIX = datetime(1970, 1, 1, tzinfo=timezone.utc)
_NAIVE_UNIX = datetime(1970, 1, 1)  # naive: only ever compared with naive UTC values
_ONE_US = timedelta(microseconds=1)
_ISO = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})"
    r"(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?)?"
    r"\s*(Z|z|[+-]\d{2}(?::?\d{2})?)?"
)


def parse_timestamp(value: str | datetime) -> int:
    """Microseconds since the Unix epoch of an ISO-8601 string or an aware datetime.

    A string without a zone is UTC (as MaintainX filters are). Raises ``ValueError`` for
    anything else, and for a naive ``datetime`` (which would silently mean local time).
    """
    if type(value) is str and len(value) == 24 and value[23] == "Z" and value[19] == ".":
        try:  # the API's own format, by far the most common: the C parser, no regex
            return (datetime.fromisoformat(value[:23]) - _NAIVE_UNIX) // _ONE_US
        except ValueError:
            pass
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value.isoformat()}: pass an aware (UTC) datetime")
        return (value - _UNIX) // _ONE_US
    match = _ISO.fullmatch(value.strip())
    if match is None:
        raise ValueError(f"not an ISO-8601 timestamp: {value!r}")
    year, month, day, hour, minute, second, fraction, zone = match.groups()
    tz = timezone.utc
    if zone and zone not in ("Z", "z"):
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "").ljust(4, "0")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:4])))
    moment = datetime(
        int(year),
        int(month),
        int(day),
        int(hour or 0),
        int(minute or 0),
        int(second or 0),
        int((fraction or "0").ljust(6, "0")[:6]),
        tzinfo=tz,
    )
    return (moment - _UNIX) // _ONE_US


def to_timestamp(value: object) -> int | None:
    """``parse_timestamp`` for a field of a record: None when missing or unreadable."""
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
