"""Parsing ``Retry-After``: delta-seconds or an HTTP date (RFC 9110 section 10.2.3). Pure."""

from __future__ import annotations

import math
import time
from email.utils import parsedate_to_datetime

__all__ = ["parse_retry_after"]


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """Seconds to wait, or None when the header is absent or unreadable.

    ``now`` is the current Unix time (wall clock), used only for the HTTP-date form.
    Negative results (a date in the past) become 0.
    """
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        pass
    else:
        if math.isnan(seconds) or math.isinf(seconds):
            return None
        return max(0.0, seconds)
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)
