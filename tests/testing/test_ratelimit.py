"""Rate-limit accounting (pure, fake clock) and the limits as the API applies them."""

from __future__ import annotations

import pytest

from maintainx_resilient.testing import ApiKey, RateLimitConfig
from maintainx_resilient.testing._ratelimit import Bucket, FixedWindowLimiter

from ._support import FakeClock, client, make_sim


def test_a_bucket_admits_its_limit_per_window_then_rejects() -> None:
    """Three per 10 s: the fourth request in the window is rejected, the next window admits."""
    limiter = FixedWindowLimiter()
    bucket = [Bucket("user", 3, 10.0)]
    decisions = [limiter.check(bucket, now) for now in (0.0, 1.0, 2.0, 3.0)]
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert [d.remaining for d in decisions] == [2, 1, 0, 0]
    assert decisions[-1].reset == 7
    assert limiter.check(bucket, 10.0).allowed
    assert limiter.check(bucket, 10.0).remaining == 1


def test_reset_is_whole_seconds_rounded_up() -> None:
    """X-Rate-Limit-Reset counts seconds to the window's end, rounded up, never 0."""
    limiter = FixedWindowLimiter()
    bucket = [Bucket("k", 100, 60.0)]
    assert limiter.check(bucket, 120.0).reset == 60
    assert limiter.check(bucket, 120.2).reset == 60
    assert limiter.check(bucket, 179.9).reset == 1
    assert limiter.check(bucket, 179.9999).reset == 1


def test_a_rejected_request_counts_in_no_bucket() -> None:
    """When the org bucket is full, the user's count does not move."""
    limiter = FixedWindowLimiter()
    user, org = Bucket("user", 5, 60.0), Bucket("org", 2, 60.0)
    assert limiter.check([user, org], 0.0).allowed
    assert limiter.check([user, org], 0.0).allowed
    rejected = limiter.check([user, org], 0.0)
    assert not rejected.allowed and rejected.limit == 2
    assert limiter.check([user], 0.0).remaining == 2  # only the two admitted ones count


def test_headers_describe_the_bucket_closest_to_its_limit() -> None:
    """With user and org buckets the reported remaining is the smaller one."""
    limiter = FixedWindowLimiter()
    user, org = Bucket("user", 100, 60.0), Bucket("org", 3, 60.0)
    decision = limiter.check([user, org], 0.0)
    assert (decision.limit, decision.remaining) == (3, 2)
    assert decision.headers() == {
        "X-Rate-Limit-Limit": "3",
        "X-Rate-Limit-Remaining": "2",
        "X-Rate-Limit-Reset": "60",
    }


def test_remaining_never_goes_negative_under_load() -> None:
    """Hammering a bucket never reports a negative remaining count."""
    limiter = FixedWindowLimiter()
    bucket = [Bucket("k", 7, 1.0)]
    for step in range(1000):
        decision = limiter.check(bucket, step * 0.01)
        assert 0 <= decision.remaining <= 7


def test_old_windows_are_pruned() -> None:
    """Thousands of one-off buckets (meters) do not accumulate forever."""
    limiter = FixedWindowLimiter()
    for key in range(10_050):
        limiter.check([Bucket(("meter", key), 1, 10.0)], float(key))
    assert len(limiter._counts) < 10_050


@pytest.mark.parametrize(
    "kwargs",
    [{"per_user": 0}, {"per_org": -1}, {"window": 0}, {"single_meter_per": -1.0}],
)
def test_config_rejects_impossible_limits(kwargs: dict[str, float]) -> None:
    """A limit below 1 or a window that is not positive fails at construction."""
    with pytest.raises(ValueError, match="RateLimitConfig"):
        RateLimitConfig(**kwargs)  # type: ignore[arg-type]


def test_the_api_answers_429_past_the_user_limit_until_the_window_resets() -> None:
    """Over the per-user limit: 429 with the documented body and headers, then room again."""
    clock = FakeClock(start=0.0)
    sim = make_sim(clock, rate_limit=RateLimitConfig(per_user=3, per_org=50, window=60.0))
    with client(sim) as http:
        answers = [http.get("/workorders", params={"limit": 1}) for _ in range(4)]
        assert [a.status_code for a in answers] == [200, 200, 200, 429]
        assert answers[0].headers["X-Rate-Limit-Limit"] == "3"
        assert answers[0].headers["X-Rate-Limit-Remaining"] == "2"
        assert answers[0].headers["X-Rate-Limit-Reset"] == "60"
        assert answers[3].json() == {"error": "Too many requests. Please retry in 60 seconds"}
        assert answers[3].headers["X-Rate-Limit-Remaining"] == "0"
        assert "Retry-After" not in answers[3].headers
        clock.advance(45.5)
        late = http.get("/workorders")
        assert late.status_code == 429 and late.headers["X-Rate-Limit-Reset"] == "15"
        clock.advance(15)
        assert http.get("/workorders").status_code == 200
    assert sim.stats.rate_limited == 2


def test_the_org_limit_is_shared_by_every_user_of_the_organization() -> None:
    """Two users of one organization together hit the per-org limit."""
    clock = FakeClock(start=0.0)
    keys = {"alice": ApiKey(1, (1,)), "bob": ApiKey(2, (1,))}
    sim = make_sim(clock, api_keys=keys, rate_limit=RateLimitConfig(per_user=10, per_org=4))
    with client(sim, "alice") as alice, client(sim, "bob") as bob:
        statuses = [c.get("/users").status_code for c in (alice, bob, alice, bob, alice)]
    assert statuses == [200, 200, 200, 200, 429]


def test_retry_after_and_headers_are_switchable() -> None:
    """retry_after=True adds Retry-After to 429s; headers=False removes X-Rate-Limit-*."""
    clock = FakeClock(start=0.0)
    with_retry = make_sim(clock, rate_limit=RateLimitConfig(per_user=1, retry_after=True))
    with client(with_retry) as http:
        http.get("/teams")
        limited = http.get("/teams")
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "60"
    quiet = make_sim(clock, rate_limit=RateLimitConfig(per_user=1, headers=False))
    with client(quiet) as http:
        ok, limited = http.get("/teams"), http.get("/teams")
    assert ok.status_code == 200 and limited.status_code == 429
    assert not any(h.lower().startswith("x-rate-limit") for h in (*ok.headers, *limited.headers))


def test_no_rate_limit_means_no_headers_and_no_429() -> None:
    """rate_limit=None disables the limiter entirely."""
    sim = make_sim()
    with client(sim) as http:
        answers = [http.get("/categories") for _ in range(150)]
    assert {a.status_code for a in answers} == {200}
    assert "X-Rate-Limit-Limit" not in answers[0].headers


def test_single_meter_readings_are_limited_to_one_per_interval() -> None:
    """POST /meters/{id}/readings: one per 10 s and meter; another meter is independent."""
    clock = FakeClock(start=0.0)
    sim = make_sim(clock, rate_limit=RateLimitConfig())
    meter_a, meter_b = (m["id"] for m in sim.records("meters")[:2])
    with client(sim) as http:
        first = http.post(f"/meters/{meter_a}/readings", json={"readingValue": 1})
        second = http.post(f"/meters/{meter_a}/readings", json={"readingValue": 2})
        other = http.post(f"/meters/{meter_b}/readings", json={"readingValue": 3})
        clock.advance(10)
        later = http.post(f"/meters/{meter_a}/readings", json={"readingValue": 4})
    assert [r.status_code for r in (first, second, other, later)] == [201, 429, 201, 201]
    assert second.json() == {"error": "Too many requests. Please retry in 10 seconds"}


def test_bulk_meter_readings_have_their_own_limit() -> None:
    """POST /meterreadings is limited separately (here 2 per window) from other calls."""
    clock = FakeClock(start=0.0)
    sim = make_sim(clock, rate_limit=RateLimitConfig(meter_readings=2))
    meter = sim.records("meters")[0]["id"]
    with client(sim) as http:
        statuses = [
            http.post("/meterreadings", json=[{"meterId": meter, "value": v}]).status_code
            for v in range(3)
        ]
        assert http.get("/meters").status_code == 200
    assert statuses == [201, 201, 429]
