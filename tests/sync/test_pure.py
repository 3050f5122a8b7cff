"""The pure parts: timestamps, watermark arithmetic, webhook payloads, rate limits and ETAs."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from types import SimpleNamespace
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maintainx_resilient._iso8601 import format_timestamp, parse_timestamp, to_timestamp
from maintainx_resilient.sync import (
    DOCUMENTED_RATE_LIMIT,
    Progress,
    RateLimit,
    RecordRef,
    estimate_duration,
    rate_limit_of,
    ref_from_webhook,
)
from maintainx_resilient.sync.progress import pages_for
from maintainx_resilient.sync.resources import canonical_name, resolve, support
from maintainx_resilient.sync.watermark import advance, window_start

MS = 1000


# -- timestamps --------------------------------------------------------------------------


def test_api_format_round_trips() -> None:
    text = "2025-01-01T00:00:00.123Z"
    assert format_timestamp(parse_timestamp(text)) == text


@pytest.mark.parametrize(
    ("text", "same_as"),
    [
        ("2025-01-01T01:00:00.000+01:00", "2025-01-01T00:00:00.000Z"),
        ("2025-01-01T00:00:00Z", "2025-01-01T00:00:00.000Z"),
        ("2025-01-01T00:00:00", "2025-01-01T00:00:00.000Z"),
        ("2025-01-01", "2025-01-01T00:00:00.000Z"),
        ("2024-12-31T19:00:00.5-05:00", "2025-01-01T00:00:00.500Z"),
    ],
)
def test_any_iso_form_means_the_same_instant(text: str, same_as: str) -> None:
    assert parse_timestamp(text) == parse_timestamp(same_as)


def test_sub_millisecond_precision_is_kept() -> None:
    assert format_timestamp(parse_timestamp("2025-01-01T00:00:00.123456Z")).endswith(".123456Z")


def test_naive_datetimes_and_garbage_are_refused() -> None:
    with pytest.raises(ValueError, match="naive"):
        parse_timestamp(datetime(2025, 1, 1))
    with pytest.raises(ValueError, match="ISO-8601"):
        parse_timestamp("yesterday")
    assert to_timestamp("yesterday") is None
    assert to_timestamp(None) is None
    assert to_timestamp(12) is None


@given(st.datetimes(timezones=st.just(timezone.utc)))
def test_format_then_parse_is_identity(moment: datetime) -> None:
    micros = parse_timestamp(moment)
    assert parse_timestamp(format_timestamp(micros)) == micros


@given(st.integers(0, 2**40), st.integers(0, 2**40))
def test_timestamp_order_is_time_order(a: int, b: int) -> None:
    ta, tb = format_timestamp(a * MS), format_timestamp(b * MS)
    assert (ta < tb) == (a < b)  # same precision: the strings sort like the instants


# -- watermarks ----------------------------------------------------------------------------


def test_window_starts_overlap_before_the_watermark() -> None:
    assert window_start(10_000_000, 2.5) == 7_500_000
    assert window_start(None, 60) is None
    with pytest.raises(ValueError, match="overlap"):
        window_start(1, -1)


@given(
    st.one_of(st.none(), st.integers(0, 10**15)),
    st.lists(st.one_of(st.none(), st.integers(0, 10**15))),
)
def test_watermark_is_the_largest_seen_and_never_moves_back(
    start: int | None, seen: list[int | None]
) -> None:
    result = advance(start, seen)
    values = [v for v in [start, *seen] if v is not None]
    assert result == (max(values) if values else None)
    if start is not None:
        assert result is not None and result >= start


# -- resources and webhook payloads ---------------------------------------------------------


def test_resource_names_accept_the_usual_spellings() -> None:
    for name in ("workOrders", "workorders", "work-orders", "work_orders", "WORKORDERS"):
        assert resolve(name).name == "workOrders"
    assert canonical_name("workorders") == "workOrders"
    assert canonical_name("somethingElse") == "somethingElse"
    with pytest.raises(ValueError, match="known resources"):
        resolve("widgets")
    assert not support(resolve("locations")).incremental


@pytest.mark.parametrize(
    ("payload", "event_type", "ref"),
    [
        ({"workOrderId": 7, "orgId": 1, "assetId": 3}, None, RecordRef("workOrders", 7)),
        ({"workOrderId": 7, "assetId": 3}, "ASSET_STATUS_CHANGE", RecordRef("assets", 3)),
        ({"partId": "12", "orgId": 1}, "PART_DELETE", RecordRef("parts", 12)),
        ({"id": 5}, "NEW_WORK_ORDER", RecordRef("workOrders", 5)),
        ({"purchaseOrderId": 9}, "PURCHASE_ORDER_STATUS_CHANGE", RecordRef("purchaseOrders", 9)),
        ({"assetId": 4}, None, RecordRef("assets", 4)),
        ({"userId": 4}, None, None),
        ({"userId": 4}, "USER_LOGOUT", None),
        ({"workOrderId": True}, None, None),
        ({"workOrderId": 1}, "NEW_COMMENT_ON_WORK_ORDER", RecordRef("workOrders", 1)),
    ],
)
def test_webhook_payloads_name_their_record(
    payload: dict[str, Any], event_type: str | None, ref: RecordRef | None
) -> None:
    assert ref_from_webhook(payload, event_type) == ref


# -- rate limits and ETA -------------------------------------------------------------------


def test_without_a_throttle_the_documented_limit_is_assumed() -> None:
    assert rate_limit_of(object()) == DOCUMENTED_RATE_LIMIT
    assert rate_limit_of(SimpleNamespace(policies=SimpleNamespace())) == DOCUMENTED_RATE_LIMIT
    odd = SimpleNamespace(config=SimpleNamespace(per_user="many", window=60))
    assert rate_limit_of(SimpleNamespace(policies=SimpleNamespace(throttle=odd))) == (
        DOCUMENTED_RATE_LIMIT
    )


def test_the_client_throttle_sets_the_pace() -> None:
    config = SimpleNamespace(per_user=100, window=60.0, safety_margin=1)
    throttle = SimpleNamespace(config=config, override_per_minute=None)
    rate = rate_limit_of(SimpleNamespace(policies=SimpleNamespace(throttle=throttle)))
    assert (rate.requests, rate.window) == (99, 60.0)
    throttle.override_per_minute = 30.0  # the "enable throttling" cap, when lower, wins
    rate = rate_limit_of(SimpleNamespace(policies=SimpleNamespace(throttle=throttle)))
    assert (rate.requests, rate.window) == (30.0, 60.0)


def test_the_throttle_of_a_real_client_is_read_when_present() -> None:
    from maintainx_resilient.policies.throttle import Throttle, ThrottleConfig

    throttle = Throttle(ThrottleConfig(per_user=50, window=30.0))
    client = SimpleNamespace(policies=SimpleNamespace(throttle=throttle))
    rate = rate_limit_of(client)
    assert rate.requests == 50 - throttle.config.safety_margin
    assert rate.window == 30.0


def test_a_100k_org_takes_five_minutes_at_the_documented_limit() -> None:
    assert pages_for(100_000) == 500
    assert pages_for(0) == 1
    assert estimate_duration(100_000) == pytest.approx(501 * 0.6)
    assert estimate_duration(100_000, RateLimit(99, 60)) == pytest.approx(501 * 60 / 99)


def test_eta_follows_the_slower_of_rate_limit_and_observed_pace() -> None:
    rate = RateLimit(100, 60)
    fast = Progress("workOrders", "full", 10, 2000, 1.0, 10, rate, 200, 20_000)
    assert fast.eta == pytest.approx(90 * 0.6)  # the rate limit, not the 0.1 s pages
    slow = Progress("workOrders", "full", 10, 2000, 20.0, 10, rate, 200, 20_000)
    assert slow.eta == pytest.approx(90 * 2.0)
    unknown = Progress("workOrders", "full", 10, 2000, 1.0, 10, rate)
    assert unknown.eta is None and unknown.fraction is None
    done = Progress("workOrders", "full", 100, 20_000, 60.0, 100, rate, 200, 20_000, True)
    assert done.eta == 0 and done.fraction == 1.0
    assert timedelta(seconds=fast.eta or 0) < timedelta(minutes=1)
