"""Timestamps: the API's ISO format and strictly increasing write times."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from maintainx_resilient.testing._timeutil import (
    Timestamps,
    format_ms,
    normalize_iso,
    parse_iso_ms,
)

from ._support import FakeClock


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("2024-01-01T00:00:00.000Z", "2024-01-01T00:00:00.000Z"),
        ("2024-01-01T00:00:00Z", "2024-01-01T00:00:00.000Z"),
        ("2024-01-01", "2024-01-01T00:00:00.000Z"),
        ("2024-01-01T01:30:00+01:30", "2024-01-01T00:00:00.000Z"),
        ("2024-01-01T00:00:00.123456Z", "2024-01-01T00:00:00.123Z"),
        ("2023-12-31T19:00:00-0500", "2024-01-01T00:00:00.000Z"),
        ("2024-01-01 00:00", "2024-01-01T00:00:00.000Z"),
    ],
)
def test_iso_variants_normalise_to_the_api_format(text: str, expected: str) -> None:
    """Accepted ISO-8601 spellings all become YYYY-MM-DDTHH:MM:SS.mmmZ in UTC."""
    assert normalize_iso(text) == expected


@pytest.mark.parametrize("text", ["yesterday", "2024-13-01", "2024-01-01T25:00:00Z", ""])
def test_bad_dates_are_value_errors(text: str) -> None:
    """Garbage and impossible dates are rejected."""
    with pytest.raises(ValueError):
        parse_iso_ms(text)


def test_format_round_trips() -> None:
    """format_ms and parse_iso_ms are inverses at millisecond precision."""
    for ms in (0, 1_704_067_200_000, 1_735_689_599_999):
        assert parse_iso_ms(format_ms(ms)) == ms


def test_write_timestamps_follow_the_clock_and_never_repeat() -> None:
    """Timestamps start at the epoch, advance with the clock, and stay strictly increasing."""
    clock = FakeClock(start=50.0)
    stamps = Timestamps(clock, datetime(2025, 1, 1, tzinfo=timezone.utc))
    first, second = stamps.next_iso(), stamps.next_iso()
    assert first == "2025-01-01T00:00:00.000Z"
    assert second == "2025-01-01T00:00:00.001Z", "a frozen clock still gives a later stamp"
    clock.advance(90.5)
    assert stamps.next_iso() == "2025-01-01T00:01:30.500Z"
