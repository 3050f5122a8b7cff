"""The package's one ISO-8601 reader and writer (sync, diagnostics and the CLI share it)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from maintainx_resilient._iso8601 import (
    format_timestamp,
    iso_utc,
    parse_instant,
    parse_timestamp,
    to_timestamp,
)

UTC = timezone.utc


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2025-01-01T00:00:00.000Z", datetime(2025, 1, 1, tzinfo=UTC)),
        ("2025-01-01T00:00:00Z", datetime(2025, 1, 1, tzinfo=UTC)),
        ("2025-01-01 00:00", datetime(2025, 1, 1, tzinfo=UTC)),  # no zone: UTC
        ("2025-01-01", datetime(2025, 1, 1, tzinfo=UTC)),
        ("2025-01-01T01:00:00+01", datetime(2025, 1, 1, tzinfo=UTC)),
        ("2025-01-01T01:00:00+0100", datetime(2025, 1, 1, tzinfo=UTC)),
        ("2024-12-31T19:00:00.000-05:00", datetime(2025, 1, 1, tzinfo=UTC)),
        # any number of fraction digits, "." or "," (fromisoformat on 3.10 takes 3 or 6)
        ("2025-01-01T00:00:00.1234567Z", datetime(2025, 1, 1, 0, 0, 0, 123456, tzinfo=UTC)),
        ("2025-01-01T00:00:00,5z", datetime(2025, 1, 1, 0, 0, 0, 500000, tzinfo=UTC)),
    ],
)
def test_every_accepted_form_is_the_same_instant(text: str, expected: datetime) -> None:
    instant = parse_instant(text)
    assert instant == expected
    assert instant.tzinfo is not None
    assert parse_timestamp(text) == (expected - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(
        microseconds=1
    )


@pytest.mark.parametrize(
    "text", ["", "yesterday", "2025-13-01T00:00:00Z", "2025-01-01T00:00:00+5", "2025/01/01"]
)
def test_anything_else_is_a_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        parse_instant(text)
    assert to_timestamp(text) is None


def test_writing_round_trips_in_the_api_format() -> None:
    micros = parse_timestamp("2025-06-15T15:06:40.123Z")
    assert format_timestamp(micros) == "2025-06-15T15:06:40.123Z"
    assert format_timestamp(micros + 1) == "2025-06-15T15:06:40.123001Z"
    assert iso_utc(micros / 1e6) == "2025-06-15T15:06:40.123Z"
    with pytest.raises(ValueError, match="naive"):
        parse_timestamp(datetime(2025, 1, 1))
