"""The throttle keeps a client under MaintainX's rate limits: paced slots, header corrections,
429 blocks, an adaptive rate, and the "enable throttling" cap. Time is a FakeClock."""

from __future__ import annotations

import dataclasses
import heapq
import itertools
import json
import math
import threading
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from email.utils import formatdate
from typing import Any

import httpx
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from maintainx_resilient import ConfigurationError, RateLimitError
from maintainx_resilient._clock import FakeClock
from maintainx_resilient._events import Event, EventBus, ThrottleWaited
from maintainx_resilient._exceptions import ThrottledError
from maintainx_resilient._operation import ROUTE_EXTENSION
from maintainx_resilient._secrets import fingerprint
from maintainx_resilient.policies._throttle_core import (
    ADAPTIVE_BETA,
    ScopeState,
    reset_buffer,
    tokens_at,
)
from maintainx_resilient.policies.throttle import (
    DEFAULT_MAX_WAIT,
    DEFAULT_PER_ORG,
    DEFAULT_PER_USER,
    DEFAULT_WINDOW,
    MAX_WAIT_EXTENSION,
    AsyncThrottleLayer,
    Reservation,
    Throttle,
    ThrottleConfig,
    ThrottleLayer,
    request_scopes,
)

from ..conftest import CANARY_KEY

SCOPES = ("key:k", "org:o")
STRETCH = 1 + 1e-6  # intervals are stretched by a millionth against float rounding


def make(**config: object) -> tuple[Throttle, FakeClock]:
    clock = FakeClock()
    settings_: dict[str, object] = {"per_org": 100_000}
    settings_.update(config)
    return Throttle(ThrottleConfig(**settings_), clock=clock, jitter=lambda: 0.0), clock  # type: ignore[arg-type]


def waits(throttle: Throttle, now: float, n: int, scopes: tuple[str, ...] = SCOPES) -> list[float]:
    return [throttle.reserve(scopes, now=now).wait for _ in range(n)]


# ---- configuration -------------------------------------------------------------------------


def test_defaults_are_the_documented_limits() -> None:
    """100/60 s per user, 500/60 s per organization, a wait of at most one window."""
    config = ThrottleConfig()
    assert (config.per_user, config.per_org, config.window) == (100, 500, 60.0)
    assert (DEFAULT_PER_USER, DEFAULT_PER_ORG, DEFAULT_WINDOW, DEFAULT_MAX_WAIT) == (
        100,
        500,
        60.0,
        60.0,
    )
    assert (config.meter_readings, config.single_meter_readings) == (100, 1)
    assert config.single_meter_window == 10.0
    assert config.adaptive


@pytest.mark.parametrize(
    ("kwargs", "hint"),
    [
        ({"per_user": 0}, "per_user must be a whole number"),
        ({"per_org": 2.5}, "per_org must be a whole number"),
        ({"window": 0}, "window must be a positive number of seconds"),
        ({"single_meter_window": math.nan}, "single_meter_window"),
        ({"max_wait": -1}, "max_wait must be >= 0"),
        ({"max_wait": math.inf}, "max_wait must be finite"),
        ({"safety_margin": -1}, "safety_margin must be a whole number"),
        ({"burst": 0}, "burst must be a whole number >= 1"),
        ({"per_user": 3, "safety_margin": 2, "burst": 2}, "must be at most per_user"),
        ({"cap_per_minute": 0}, "cap_per_minute must be a positive rate"),
        ({"adaptive": "yes"}, "adaptive must be True or False"),
    ],
)
def test_bad_settings_fail_at_construction_with_a_hint(
    kwargs: dict[str, object], hint: str
) -> None:
    """Each bad value names the setting and what to do."""
    with pytest.raises(ConfigurationError, match=hint):
        ThrottleConfig(**kwargs)  # type: ignore[arg-type]


def test_unknown_scope_kind_is_refused() -> None:
    """Scopes are key:, org:, meterreadings: or meter: (a typo would silently go unthrottled)."""
    with pytest.raises(ConfigurationError, match="unknown throttle scope"):
        ThrottleConfig().limits_for("user:1")


# ---- pacing --------------------------------------------------------------------------------


def test_burst_then_evenly_spaced_slots() -> None:
    """10 per 10 s, margin 1, burst 2: two at once, then one every 10/(10-1-1) s."""
    throttle, clock = make(per_user=10, window=10.0, safety_margin=1, burst=2)
    got = waits(throttle, clock.monotonic(), 5)
    interval = 1.25 * STRETCH
    assert got == pytest.approx([0.0, 0.0, interval, 2 * interval, 3 * interval])


def test_no_burst_no_margin_is_exactly_limit_per_window() -> None:
    """burst=1, safety_margin=0: one slot every window/limit."""
    throttle, clock = make(per_user=4, window=2.0, safety_margin=0, burst=1)
    assert waits(throttle, clock.monotonic(), 3) == pytest.approx([0.0, 0.5 * STRETCH, STRETCH])


def test_concurrent_callers_get_successive_slots() -> None:
    """16 threads reserving at the same instant get 16 distinct slots, one interval apart."""
    throttle, clock = make(per_user=20, window=1.0, safety_margin=1, burst=1)
    now = clock.monotonic()
    barrier = threading.Barrier(16)
    got: list[Reservation] = []
    lock = threading.Lock()

    def take() -> None:
        barrier.wait()
        reservation = throttle.reserve(SCOPES, now=now)
        with lock:
            got.append(reservation)

    threads = [threading.Thread(target=take) for _ in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    slots = sorted(r.slot for r in got)
    gaps = [b - a for a, b in itertools.pairwise(slots)]
    assert slots[0] == now
    assert gaps == pytest.approx([STRETCH / 19] * 15)


def test_idle_time_refills_the_burst_but_never_beyond_it() -> None:
    """After a long pause the burst is back, and only the burst."""
    throttle, clock = make(per_user=10, window=10.0, safety_margin=1, burst=2)
    waits(throttle, clock.monotonic(), 4)
    clock.advance(1000.0)
    got = waits(throttle, clock.monotonic(), 3)
    assert got == pytest.approx([0.0, 0.0, 1.25 * STRETCH])


def test_a_request_waits_for_its_tightest_scope() -> None:
    """The slot is the latest of the request's scopes; the binding scope is named."""
    throttle, clock = make(per_user=60, per_org=12, window=60.0, safety_margin=0, burst=1)
    now = clock.monotonic()
    throttle.reserve(SCOPES, now=now)
    second = throttle.reserve(SCOPES, now=now)
    assert second.wait == pytest.approx(5.0)
    assert (second.scope, second.reason) == ("org:o", "pace")


# ---- headers -------------------------------------------------------------------------------


def rate_headers(limit: int, remaining: int, reset: float) -> dict[str, str]:
    return {
        "X-Rate-Limit-Limit": str(limit),
        "X-Rate-Limit-Remaining": str(remaining),
        "X-Rate-Limit-Reset": str(reset),
    }


def test_limit_header_replaces_the_configured_limit() -> None:
    """The server's X-Rate-Limit-Limit wins: 30/60 s instead of the configured 100/60 s."""
    throttle, clock = make(per_user=100, window=60.0, safety_margin=1, burst=1)
    now = clock.monotonic()
    throttle.observe(SCOPES, {"x-rate-limit-limit": "30"}, now=now)
    assert waits(throttle, now, 2) == pytest.approx([0.0, 60 / 29 * STRETCH])
    snapshot = throttle.snapshot().get("key:k")
    assert snapshot is not None
    assert snapshot.limit == 30


def test_remaining_zero_waits_for_reset() -> None:
    """Remaining 0: the next caller waits for X-Rate-Limit-Reset (plus a small buffer)."""
    throttle, clock = make()
    now = clock.monotonic()
    throttle.observe(SCOPES, rate_headers(100, 0, 7), now=now)
    reservation = throttle.reserve(SCOPES, now=now)
    assert reservation.wait == pytest.approx(7 + reset_buffer(60.0))
    assert (reservation.scope, reservation.reason) == ("key:k", "remaining")


def test_remaining_estimate_counts_our_own_requests() -> None:
    """Remaining 3: three more go in this window, the fourth is given a slot after the reset."""
    throttle, clock = make(per_user=6000, window=60.0, safety_margin=0, burst=3)
    now = clock.monotonic()
    throttle.observe(SCOPES, rate_headers(6000, 3, 20), now=now)
    got = [throttle.reserve(SCOPES, now=now) for _ in range(4)]
    assert [r.wait for r in got[:3]] == [0.0, 0.0, 0.0]
    assert got[3].wait == pytest.approx(20 + reset_buffer(60.0))
    assert got[3].reason == "window"


def test_no_herd_after_a_reset() -> None:
    """Callers queued behind a reset get successive slots after it, not all the same one."""
    throttle, clock = make(per_user=10, window=10.0, safety_margin=1, burst=2)
    now = clock.monotonic()
    throttle.observe(SCOPES, rate_headers(10, 0, 5), now=now)
    got = waits(throttle, now, 4)
    start = 5 + reset_buffer(10.0)
    interval = 1.25 * STRETCH
    assert got == pytest.approx([start, start, start + interval, start + 2 * interval])


def test_a_new_window_replaces_the_old_estimate() -> None:
    """Remaining going up means a new window: the estimate follows the server."""
    throttle, clock = make(per_user=100, window=60.0)
    now = clock.monotonic()
    throttle.observe(SCOPES, rate_headers(100, 2, 1), now=now)
    clock.advance(2.0)
    throttle.observe(SCOPES, rate_headers(100, 99, 59), now=clock.monotonic())
    snapshot = throttle.snapshot().get("key:k")
    assert snapshot is not None
    assert snapshot.remaining == 99
    assert snapshot.reset_in == pytest.approx(59.0)


def test_headers_describe_the_scope_whose_limit_they_name() -> None:
    """X-Rate-Limit-Limit 500 is the organization's budget; an unknown limit is the first
    scope's."""
    throttle, clock = make(per_user=100, per_org=500)
    now = clock.monotonic()
    throttle.observe(SCOPES, rate_headers(500, 0, 30), now=now)
    snapshot = throttle.snapshot()
    org, key = snapshot.get("org:o"), snapshot.get("key:k")
    assert org is not None and key is not None
    assert (org.remaining, org.blocked_reason) == (0, "remaining")
    assert (key.remaining, key.blocked_for) == (None, 0.0)
    throttle.observe(SCOPES, rate_headers(77, 50, 30), now=now)
    key = throttle.snapshot().get("key:k")
    assert key is not None
    assert (key.limit, key.remaining) == (77, 50)


def test_unreadable_headers_are_ignored() -> None:
    """Garbage in X-Rate-Limit-* changes nothing."""
    throttle, clock = make()
    now = clock.monotonic()
    throttle.observe(
        SCOPES,
        {"X-Rate-Limit-Limit": "lots", "X-Rate-Limit-Remaining": "nan", "X-Rate-Limit-Reset": ""},
        now=now,
    )
    snapshot = throttle.snapshot().get("key:k")
    assert snapshot is not None
    assert (snapshot.limit, snapshot.remaining, snapshot.blocked_for) == (100, None, 0.0)


def test_a_block_voids_slots_it_covers() -> None:
    """A caller already holding a slot inside a new block gets a fresh slot after it;
    one whose slot lies beyond the block keeps it."""
    throttle, clock = make(per_user=10, window=10.0, safety_margin=1, burst=2)
    now = clock.monotonic()
    held = [throttle.reserve(SCOPES, now=now) for _ in range(5)]  # slots +0 +0 +1.25 +2.5 +3.75
    throttle.observe(SCOPES, rate_headers(10, 0, 3), now=now)  # blocked until +3.2
    block_end = now + 3 + reset_buffer(10.0)
    late = throttle.confirm(held[4], now=held[4].slot)
    assert (late.slot, late.wait) == (held[4].slot, 0.0)
    voided = throttle.confirm(held[2], now=held[2].slot)
    assert voided.slot >= block_end
    assert voided.slot not in {r.slot for r in held}
    assert voided.reason in {"remaining", "pace"}


def test_confirm_after_an_early_wake_returns_the_rest_of_the_wait() -> None:
    """A sleep that ends early is topped up; one that ends on time sends."""
    throttle, clock = make(per_user=10, window=10.0, safety_margin=0, burst=1)
    now = clock.monotonic()
    throttle.reserve(SCOPES, now=now)
    second = throttle.reserve(SCOPES, now=now)
    assert throttle.confirm(second, now=now + 0.4).wait == pytest.approx(0.6, rel=1e-5)
    assert throttle.confirm(second, now=second.slot - 0.001).wait == 0.0


# ---- 429 -----------------------------------------------------------------------------------


def test_429_with_retry_after_seconds_blocks_that_long() -> None:
    throttle, clock = make()
    now = clock.monotonic()
    assert throttle.on_429(SCOPES, "12", now=now) == 12.0
    reservation = throttle.reserve(SCOPES, now=now)
    assert reservation.wait == pytest.approx(12.0)
    assert reservation.reason == "429"


def test_429_with_retry_after_http_date() -> None:
    """An HTTP date is read against the clock's wall time."""
    throttle, clock = make()
    date = formatdate(clock.time() + 30, usegmt=True)
    assert throttle.on_429(SCOPES, date, now=clock.monotonic()) == pytest.approx(30.0)


def test_429_with_reset_header_waits_for_the_reset_plus_buffer() -> None:
    throttle, clock = make()
    delay = throttle.on_429(
        SCOPES, None, now=clock.monotonic(), headers={"X-Rate-Limit-Reset": "9"}
    )
    assert delay == pytest.approx(9 + reset_buffer(60.0))
    snapshot = throttle.snapshot().get("key:k")
    assert snapshot is not None
    assert (snapshot.remaining, snapshot.throttled) == (0, 1)


def test_429_without_information_backs_off_exponentially_until_a_success() -> None:
    """No Retry-After, no reset: one interval, then two, then four; a success starts over."""
    throttle, clock = make(per_user=10, window=10.0, safety_margin=0, burst=1, adaptive=False)
    interval = 1.0 * STRETCH
    delays = []
    for _ in range(3):
        delays.append(throttle.on_429(SCOPES, None, now=clock.monotonic()))
        clock.advance(delays[-1])
    assert delays == pytest.approx([interval, 2 * interval, 4 * interval])
    throttle.observe(SCOPES, {}, now=clock.monotonic())
    assert throttle.on_429(SCOPES, None, now=clock.monotonic()) == pytest.approx(interval)


def test_backoff_jitter_shortens_the_delay_by_up_to_a_quarter() -> None:
    clock = FakeClock()
    config = ThrottleConfig(per_user=10, window=10.0, safety_margin=0, burst=1)
    throttle = Throttle(config, clock=clock, jitter=lambda: 0.999)
    assert throttle.on_429(SCOPES, None, now=clock.monotonic()) == pytest.approx(0.75, rel=1e-3)


def test_backoff_is_capped_at_one_window() -> None:
    throttle, clock = make(per_user=2, window=4.0, safety_margin=0, burst=1, adaptive=False)
    for _ in range(6):
        delay = throttle.on_429(SCOPES, None, now=clock.monotonic())
        clock.advance(delay)
    assert delay == 4.0


def test_429_cuts_the_rate_by_beta_once_per_block() -> None:
    """botocore adaptive: x0.7 on a 429; the echoes of the same overload (429s arriving
    during the block) do not cut again."""
    throttle, clock = make(per_user=100, window=60.0)
    before = throttle.snapshot().get("key:k")
    throttle.reserve(SCOPES, now=clock.monotonic())
    before = throttle.snapshot().get("key:k")
    assert before is not None
    throttle.on_429(SCOPES, "5", now=clock.monotonic())
    throttle.on_429(SCOPES, "5", now=clock.monotonic() + 1)
    after = throttle.snapshot().get("key:k")
    assert after is not None
    assert after.factor == pytest.approx(ADAPTIVE_BETA)
    assert after.rate_per_minute == pytest.approx(before.rate_per_minute * ADAPTIVE_BETA)
    assert after.throttled == 2
    clock.advance(6.0)
    throttle.on_429(SCOPES, "5", now=clock.monotonic())
    again = throttle.snapshot().get("key:k")
    assert again is not None
    assert again.factor == pytest.approx(ADAPTIVE_BETA**2)


def test_rate_regrows_along_the_cubic_curve_on_successes() -> None:
    """After one 429 the rate is back to where it was one window later, and never above."""
    throttle, clock = make(per_user=100, window=60.0)
    start = clock.monotonic()
    throttle.on_429(SCOPES, "1", now=start)

    def factor_after(seconds: float) -> float:
        throttle.observe(SCOPES, {}, now=start + seconds)
        snapshot = throttle.snapshot(now=start + seconds).get("key:k")
        assert snapshot is not None
        return snapshot.factor

    assert factor_after(0.0) == pytest.approx(0.7)
    assert factor_after(30.0) == pytest.approx(1 + 0.3 * (0.5 - 1.0) ** 3)
    assert factor_after(60.0) == pytest.approx(1.0)
    assert factor_after(600.0) == 1.0


def test_regrowth_needs_successes() -> None:
    """Time alone does not regrow the rate: only answers that are not 429s do."""
    throttle, clock = make()
    throttle.on_429(SCOPES, "1", now=clock.monotonic())
    clock.advance(600.0)
    snapshot = throttle.snapshot().get("key:k")
    assert snapshot is not None
    assert snapshot.factor == pytest.approx(0.7)


def test_adaptive_off_keeps_the_rate() -> None:
    throttle, clock = make(adaptive=False)
    throttle.on_429(SCOPES, "1", now=clock.monotonic())
    snapshot = throttle.snapshot().get("key:k")
    assert snapshot is not None
    assert snapshot.factor == 1.0


def test_settle_dispatches_on_the_status() -> None:
    throttle, clock = make()
    now = clock.monotonic()
    throttle.settle(SCOPES, 200, httpx.Headers(rate_headers(100, 42, 10)), now=now)
    throttle.settle(SCOPES, 429, httpx.Headers({"Retry-After": "3"}), now=now)
    snapshot = throttle.snapshot().get("key:k")
    assert snapshot is not None
    assert (snapshot.remaining, snapshot.throttled, snapshot.blocked_for) == (42, 1, 3.0)


# ---- max_wait ------------------------------------------------------------------------------


def test_a_wait_beyond_max_wait_fails_at_once_and_takes_nothing() -> None:
    """ThrottledError (a RateLimitError) says how long the wait would be; the slot stays
    free for the next caller."""
    throttle, clock = make(per_user=10, window=10.0, safety_margin=1, burst=2, max_wait=5.5)
    now = clock.monotonic()
    waits(throttle, now, 6)  # up to +5.0
    granted = throttle.snapshot().get("key:k")
    with pytest.raises(ThrottledError) as caught:
        throttle.reserve(SCOPES, now=now)
    assert isinstance(caught.value, RateLimitError)
    assert caught.value.retry_after == pytest.approx(5 * 1.25 * STRETCH)
    assert throttle.snapshot().get("key:k") == granted
    clock.advance(1.25 * STRETCH)
    assert throttle.reserve(SCOPES, now=clock.monotonic()).wait == pytest.approx(5.0, rel=1e-5)


def test_a_call_may_ask_for_less_than_max_wait() -> None:
    throttle, clock = make(per_user=10, window=10.0, safety_margin=0, burst=1)
    now = clock.monotonic()
    throttle.reserve(SCOPES, now=now)
    with pytest.raises(ThrottledError, match=r"0\.50s this call may wait"):
        throttle.reserve(SCOPES, now=now, max_wait=0.5)
    assert throttle.reserve(SCOPES, now=now, max_wait=1.5).wait == pytest.approx(1.0, rel=1e-5)


def test_a_long_retry_after_fails_fast() -> None:
    """A one-hour Retry-After is not waited out: the caller hears at once, with the time."""
    throttle, clock = make()
    throttle.on_429(SCOPES, "3600", now=clock.monotonic())
    with pytest.raises(ThrottledError) as caught:
        throttle.reserve(SCOPES, now=clock.monotonic())
    assert caught.value.retry_after == pytest.approx(3600.0)


# ---- the "enable throttling" cap -----------------------------------------------------------


def test_enable_throttling_caps_every_request_until_removed() -> None:
    throttle, clock = make(per_user=100, window=60.0)
    now = clock.monotonic()
    throttle.enable_throttling(6)
    got = [throttle.reserve(SCOPES, now=now) for _ in range(3)]
    assert [r.wait for r in got] == pytest.approx([0.0, 10.0, 20.0], rel=1e-5)
    assert (got[1].scope, got[1].reason) == ("override", "override")
    assert throttle.snapshot().override_per_minute == 6.0
    snapshot = throttle.snapshot().get("override")
    assert snapshot is not None
    assert snapshot.rate_per_minute == pytest.approx(6.0, rel=1e-5)
    throttle.disable_override()
    assert throttle.override_per_minute is None
    assert throttle.snapshot().get("override") is None
    clock.advance(20.0)  # slots already promised stand; after them the normal pace is back
    interval = 60 / 98 * STRETCH
    assert waits(throttle, clock.monotonic(), 2) == pytest.approx([0.0, interval], abs=1e-4)


def test_a_cap_can_start_on() -> None:
    throttle, clock = make(cap_per_minute=30.0)
    now = clock.monotonic()
    assert waits(throttle, now, 2) == pytest.approx([0.0, 2.0], rel=1e-5)


def test_enable_throttling_needs_a_positive_rate() -> None:
    throttle, _ = make()
    with pytest.raises(ConfigurationError, match="positive requests-per-minute"):
        throttle.enable_throttling(0)


# ---- snapshot ------------------------------------------------------------------------------


def test_snapshot_reports_each_scope() -> None:
    throttle, clock = make(per_user=10, window=10.0, safety_margin=1, burst=2)
    now = clock.monotonic()
    waits(throttle, now, 3)
    throttle.observe(SCOPES, rate_headers(10, 4, 6), now=now)
    snapshot = throttle.snapshot(now=now)
    assert snapshot.at == now
    assert [s.scope for s in snapshot.scopes] == ["key:k", "org:o"]
    key = snapshot.get("key:k")
    assert key is not None
    assert key.limit == 10
    assert key.window == 10.0
    assert key.remaining == 4
    assert key.reset_in == pytest.approx(6.0)
    assert key.rate_per_minute == pytest.approx(60 * 8 / 10 / STRETCH)
    assert key.granted == 3
    assert key.waited == pytest.approx(1.25 * STRETCH)
    assert key.backlog == pytest.approx(2.5 * STRETCH)
    assert key.tokens == 0.0
    throttle.reset()
    assert throttle.snapshot().scopes == ()


# ---- storage -------------------------------------------------------------------------------


class JsonStore:
    """A stand-in for a shared (Redis) store: states kept only as JSON text, Unix time."""

    wall_clock = True

    def __init__(self) -> None:
        self.rows: dict[str, str] = {}

    def transact(self, scopes: Sequence[str], decide: Callable[..., tuple[Any, Any]]) -> Any:
        current = {s: ScopeState(**json.loads(self.rows[s])) if s in self.rows else ScopeState()
                   for s in scopes}  # fmt: skip
        updated, result = decide(current)
        for scope, state in updated.items():
            self.rows[scope] = json.dumps(dataclasses.asdict(state))
        return result

    def states(self) -> Mapping[str, ScopeState]:
        return {s: ScopeState(**json.loads(row)) for s, row in self.rows.items()}

    def clear(self) -> None:
        self.rows.clear()


def test_a_store_that_keeps_only_plain_data_gives_the_same_decisions() -> None:
    """The state is plain numbers and strings: a store that round-trips it through JSON (as
    a Redis store would) makes exactly the decisions of the in-memory one, on Unix time."""
    config = ThrottleConfig(per_user=10, window=10.0)
    clock = FakeClock()
    memory = Throttle(config, clock=clock, jitter=lambda: 0.5)
    shared = Throttle(config, clock=clock, store=JsonStore(), jitter=lambda: 0.5)
    assert (memory.now(), shared.now()) == (clock.monotonic(), clock.time())
    offset = clock.time() - clock.monotonic()
    log: dict[str, list[float]] = {"memory": [], "shared": []}
    for name, throttle, shift in (("memory", memory, 0.0), ("shared", shared, offset)):
        now = clock.monotonic() + shift
        log[name] += [throttle.reserve(SCOPES, now=now).wait for _ in range(3)]
        throttle.observe(SCOPES, rate_headers(10, 0, 4), now=now)
        log[name].append(throttle.reserve(SCOPES, now=now).wait)
        log[name].append(throttle.on_429(SCOPES, None, now=now + 10))
        log[name].append(throttle.reserve(SCOPES, now=now + 10).wait)
    assert log["memory"] == pytest.approx(log["shared"])
    assert shared.snapshot().get("key:k") is not None


# ---- request scopes ------------------------------------------------------------------------


def req(path: str, route: str | None = None, **headers: str) -> httpx.Request:
    extensions = {ROUTE_EXTENSION: route} if route else {}
    return httpx.Request(
        "POST", f"https://api.example/v1{path}", headers=headers, extensions=extensions
    )


def test_scopes_of_a_request_use_a_fingerprint_never_the_key() -> None:
    request = req("/workorders", "/workorders", authorization=f"Bearer {CANARY_KEY}")
    scopes = request_scopes(request)
    assert scopes == (f"key:{fingerprint(f'Bearer {CANARY_KEY}')}", "org:default")
    assert CANARY_KEY not in repr(scopes)


def test_scopes_of_meter_reading_routes() -> None:
    auth = {"authorization": "Bearer k", "x-organization-id": "7"}
    key = fingerprint("Bearer k")
    batch = request_scopes(req("/meterreadings", "/meterreadings", **auth))
    assert batch == (f"meterreadings:{key}", f"key:{key}", "org:7")
    single = request_scopes(req("/meters/42/readings", "/meters/{meterId}/readings", **auth))
    assert single == ("meter:7:42", f"key:{key}", "org:7")
    no_route = request_scopes(req("/meters/43/readings", **auth))
    assert no_route[0] == "meter:7:43"
    assert request_scopes(req("/workorders"))[0] == "key:anonymous"


def test_single_meter_readings_go_one_per_ten_seconds() -> None:
    throttle, clock = make()
    scopes = ("meter:1:42", "key:k", "org:o")
    assert waits(throttle, clock.monotonic(), 2, scopes) == pytest.approx([0.0, 10.0])


# ---- the layers ----------------------------------------------------------------------------


def answering(
    answers: list[httpx.Response], sent: list[httpx.Request]
) -> Callable[[httpx.Request], httpx.Response]:
    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return answers.pop(0) if answers else httpx.Response(200, json={})

    return handler


def layer_setup(
    answers: list[httpx.Response], **config: object
) -> tuple[Throttle, FakeClock, list[httpx.Request], list[Event]]:
    clock = FakeClock()
    events = EventBus()
    seen: list[Event] = []
    events.subscribe(seen.append)
    settings_: dict[str, object] = {"per_user": 10, "window": 10.0, "safety_margin": 0, "burst": 1}
    settings_.update(config)
    throttle = Throttle(ThrottleConfig(**settings_), clock=clock, events=events)  # type: ignore[arg-type]
    return throttle, clock, [], seen


def get(path: str = "/workorders") -> httpx.Request:
    return httpx.Request(
        "GET",
        f"https://api.example/v1{path}",
        headers={"authorization": f"Bearer {CANARY_KEY}"},
        extensions={ROUTE_EXTENSION: path},
    )


def test_layer_waits_for_its_slot_and_reports_the_wait() -> None:
    throttle, clock, sent, seen = layer_setup([])
    layer = ThrottleLayer(httpx.MockTransport(answering([], sent)), throttle)
    for _ in range(3):
        assert layer.handle_request(get()).status_code == 200
    assert clock.sleeps == pytest.approx([STRETCH, STRETCH])
    assert len(sent) == 3
    waited = [e for e in seen if isinstance(e, ThrottleWaited)]
    assert [e.reason for e in waited] == ["pace", "pace"]
    assert [e.wait for e in waited] == pytest.approx([STRETCH, STRETCH])
    assert waited[0].scope.startswith("key:sha256:")
    assert CANARY_KEY not in repr(seen)


def test_layer_returns_429_and_the_next_request_waits() -> None:
    """The throttle does not retry: the 429 goes up to the retry layer; the scope is blocked
    for Retry-After so the next request (the retry) waits."""
    answers = [httpx.Response(429, headers={"Retry-After": "7"}, json={"error": "slow"})]
    throttle, clock, sent, seen = layer_setup(answers)
    layer = ThrottleLayer(httpx.MockTransport(answering(answers, sent)), throttle)
    assert layer.handle_request(get()).status_code == 429
    assert len(sent) == 1
    assert layer.handle_request(get()).status_code == 200
    assert clock.sleeps == pytest.approx([7.0])
    assert [e.reason for e in seen if isinstance(e, ThrottleWaited)] == ["429"]


def test_layer_refuses_without_sending_when_the_wait_is_too_long() -> None:
    throttle, _clock, sent, _ = layer_setup([], max_wait=0.5)
    layer = ThrottleLayer(httpx.MockTransport(answering([], sent)), throttle)
    layer.handle_request(get())
    with pytest.raises(ThrottledError) as caught:
        layer.handle_request(get("/assets"))
    assert (caught.value.method, caught.value.path) == ("GET", "/v1/assets")
    assert caught.value.retry_after == pytest.approx(1.0)
    assert len(sent) == 1
    assert CANARY_KEY not in str(caught.value)


def test_layer_honours_a_per_request_max_wait() -> None:
    throttle, _clock, sent, _ = layer_setup([])
    layer = ThrottleLayer(httpx.MockTransport(answering([], sent)), throttle)
    layer.handle_request(get())
    request = get()
    request.extensions[MAX_WAIT_EXTENSION] = 0.1
    with pytest.raises(ThrottledError):
        layer.handle_request(request)


def test_layer_learns_from_response_headers() -> None:
    answers = [httpx.Response(200, headers=rate_headers(10, 0, 4), json={})]
    throttle, clock, sent, _ = layer_setup(answers)
    layer = ThrottleLayer(httpx.MockTransport(answering(answers, sent)), throttle)
    layer.handle_request(get())
    layer.handle_request(get())
    assert clock.sleeps == pytest.approx([4 + reset_buffer(10.0)])


def test_layer_close_closes_the_inner_transport() -> None:
    closed: list[bool] = []

    class Inner(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            return httpx.Response(200)

        def close(self) -> None:
            closed.append(True)

    ThrottleLayer(Inner(), Throttle()).close()
    assert closed == [True]


async def test_async_layer_waits_and_learns_like_the_sync_one() -> None:
    answers = [
        httpx.Response(200, json={}),
        httpx.Response(429, headers={"X-Rate-Limit-Reset": "3"}, json={}),
    ]
    throttle, clock, sent, seen = layer_setup(answers)
    layer = AsyncThrottleLayer(httpx.MockTransport(answering(answers, sent)), throttle)
    statuses = [(await layer.handle_async_request(get())).status_code for _ in range(3)]
    assert statuses == [200, 429, 200]
    assert clock.sleeps == pytest.approx([1.0, 3 + reset_buffer(10.0)])
    assert [e.reason for e in seen if isinstance(e, ThrottleWaited)] == ["pace", "429"]
    await layer.aclose()


async def test_async_layer_refuses_without_sending() -> None:
    throttle, _clock, sent, _ = layer_setup([], max_wait=0.0)
    layer = AsyncThrottleLayer(httpx.MockTransport(answering([], sent)), throttle)
    await layer.handle_async_request(get())
    with pytest.raises(ThrottledError):
        await layer.handle_async_request(get())
    assert len(sent) == 1


def test_layer_requeues_a_caller_whose_slot_a_block_covered() -> None:
    """A block set while a caller sleeps sends it to the back of the queue, not into a 429."""
    throttle, clock, sent, seen = layer_setup([])
    scopes = request_scopes(get())
    throttle.reserve(scopes, now=clock.monotonic())  # someone else takes the first slot

    class BlockWhileSleeping(FakeClock):
        def sleep(self, seconds: float) -> None:
            if not self.sleeps:
                throttle.on_429(scopes, "5", now=clock.monotonic())
            super().sleep(seconds)
            clock.advance(seconds)

    throttle.clock = BlockWhileSleeping(start=clock.monotonic())
    layer = ThrottleLayer(httpx.MockTransport(answering([], sent)), throttle)
    layer.handle_request(get())
    reasons = [e.reason for e in seen if isinstance(e, ThrottleWaited)]
    assert reasons == ["pace", "429"]
    assert isinstance(throttle.clock, FakeClock)
    assert sum(throttle.clock.sleeps) == pytest.approx(5.0)


# ---- properties ----------------------------------------------------------------------------


@st.composite
def shapes(draw: st.DrawFn) -> tuple[int, float, int, int]:
    limit = draw(st.integers(1, 40))
    window = draw(st.floats(0.5, 120.0))
    margin = draw(st.integers(0, 2))
    burst = draw(st.integers(1, 3))
    assume(margin + burst <= limit)
    return limit, window, margin, burst


def attempt(
    throttle: Throttle, scopes: tuple[str, ...], now: float, max_wait: float | None
) -> Reservation | ThrottledError:
    try:
        return throttle.reserve(scopes, now=now, max_wait=max_wait)
    except ThrottledError as exc:
        return exc


def fixed_window_counts(times: list[float], window: float, phase: float) -> Counter[int]:
    return Counter(math.floor((t - phase) / window) for t in times)


@settings(max_examples=200, deadline=None)
@given(
    shape=shapes(),
    phase=st.floats(0.0, 1.0),
    gaps=st.lists(st.floats(0.0, 0.6), min_size=1, max_size=150),
)
def test_no_header_pacing_never_overfills_a_fixed_window(
    shape: tuple[int, float, int, int], phase: float, gaps: list[float]
) -> None:
    """Whatever the arrivals and the server's window phase, no fixed window of the server
    sees more than limit - safety_margin requests (so never more than the limit)."""
    limit, window, margin, burst = shape
    throttle = Throttle(
        ThrottleConfig(
            per_user=limit,
            per_org=10_000,
            window=window,
            safety_margin=margin,
            burst=burst,
            max_wait=0.0,
        )
    )
    now, slots = 1000.0, []
    for gap in gaps:
        now += gap * window
        state = throttle.store.states().get("key:k", ScopeState())
        outcome = attempt(throttle, ("key:k",), now, None)
        if isinstance(outcome, ThrottledError):
            assert outcome.retry_after is not None and outcome.retry_after > 0
            assert throttle.store.states().get("key:k", ScopeState()) == state
            continue
        assert outcome.wait == 0.0
        slots.append(outcome.slot)
    # Callers that wait: everyone queues (max_wait large), arrival times as above.
    queued = Throttle(
        ThrottleConfig(
            per_user=limit, per_org=10_000, window=window, safety_margin=margin, burst=burst,
            max_wait=1e9,
        )
    )  # fmt: skip
    now, queued_slots = 1000.0, []
    for gap in gaps:
        now += gap * window / 4
        reservation = queued.reserve(("key:k",), now=now)
        assert reservation.wait >= 0.0
        state = queued.store.states()["key:k"]
        limits = queued.limits_for("key:k")
        assert tokens_at(state, limits, reservation.slot, adaptive=True) >= -1e-9
        queued_slots.append(reservation.slot)
    allowed = limit - min(margin, limit - 1)
    for times in (slots, queued_slots):
        counts = fixed_window_counts(times, window, phase * window)
        assert max(counts.values()) <= allowed <= limit


@settings(max_examples=150, deadline=None)
@given(
    shape=shapes(),
    clients=st.integers(1, 12),
    phase=st.floats(0.0, 1.0),
    latency=st.floats(0.0, 0.05),
)
def test_with_headers_a_lone_client_never_sees_a_429(
    shape: tuple[int, float, int, int], clients: int, phase: float, latency: float
) -> None:
    """Against a fixed-window server that sends X-Rate-Limit-* (Reset rounded up to whole
    seconds, as MaintainX and the simulator do), `clients` callers looping for 4 windows
    never get a 429, and the server never counts more than the limit in a window."""
    limit, window, margin, burst = shape
    config = ThrottleConfig(
        per_user=limit, per_org=10_000, window=window, safety_margin=margin, burst=burst,
        max_wait=1e9,
    )  # fmt: skip
    throttle = Throttle(config)
    start = 1000.0
    offset = phase * window
    counts: Counter[int] = Counter()
    rejected = 0
    # (time, sequence, kind, client, reservation): discrete events, processed in time order.
    events: list[tuple[float, int, str, int, Reservation | None]] = []
    sequence = 0
    for client in range(clients):
        heapq.heappush(events, (start, sequence, "arrive", client, None))
        sequence += 1
    end = start + 4 * window
    while events:
        now, _, kind, client, reservation = heapq.heappop(events)
        if kind == "arrive":
            if now > end:
                continue
            reservation = throttle.reserve(("key:k",), now=now)
            heapq.heappush(events, (reservation.slot, sequence, "wake", client, reservation))
        elif kind == "wake":
            assert reservation is not None
            confirmed = throttle.confirm(reservation, now=now)
            if confirmed.slot != reservation.slot or confirmed.wait > 0:
                heapq.heappush(events, (confirmed.slot, sequence, "wake", client, confirmed))
            else:
                heapq.heappush(events, (now + latency, sequence, "serve", client, None))
        elif kind == "serve":
            index = math.floor((now - offset) / window)
            window_end = offset + (index + 1) * window
            allowed = counts[index] < limit
            if allowed:
                counts[index] += 1
            reset = max(1, math.ceil(window_end - now))
            headers = rate_headers(limit, limit - counts[index], reset)
            heapq.heappush(events, (now + latency, sequence, "answer", client, None))
            if not allowed:
                rejected += 1
                throttle.on_429(("key:k",), None, now=now + latency, headers=headers)
            else:
                throttle.observe(("key:k",), headers, now=now + latency)
        else:  # answer: the client loops
            heapq.heappush(events, (now, sequence, "arrive", client, None))
        sequence += 1
    assert rejected == 0
    assert max(counts.values()) <= limit


operations = st.lists(
    st.one_of(
        st.tuples(st.just("reserve"), st.floats(0.0, 5.0)),
        st.tuples(st.just("advance"), st.floats(0.0, 30.0)),
        st.tuples(st.just("observe"), st.integers(0, 120), st.integers(0, 60), st.integers(1, 200)),
        st.tuples(st.just("429"), st.one_of(st.none(), st.floats(0.0, 90.0)), st.booleans()),
        st.tuples(st.just("success"), st.just(0.0)),
    ),
    max_size=60,
)


@settings(max_examples=300, deadline=None)
@given(
    ops=operations,
    max_wait=st.floats(0.0, 120.0),
    adaptive=st.booleans(),
    override=st.one_of(st.none(), st.floats(1.0, 600.0)),
)
def test_waits_stay_within_bounds_and_the_bucket_never_goes_negative(
    ops: list[tuple[object, ...]], max_wait: float, adaptive: bool, override: float | None
) -> None:
    """Whatever happens (headers, 429s, caps), a wait is never negative and never above
    max_wait (beyond it: ThrottledError, nothing taken), and right after a grant no scope's
    bucket is below zero."""
    clock = FakeClock()
    throttle = Throttle(
        ThrottleConfig(max_wait=max_wait, adaptive=adaptive, cap_per_minute=override),
        clock=clock,
    )
    scopes = ("key:k", "org:o")
    for op in ops:
        now = clock.monotonic()
        if op[0] == "reserve":
            assert isinstance(op[1], float)
            before = throttle.store.states()
            reservation = attempt(throttle, scopes, now, op[1] * 10)
            if isinstance(reservation, ThrottledError):
                assert reservation.retry_after is not None
                assert reservation.retry_after > min(max_wait, op[1] * 10)
                assert throttle.store.states() == before
                continue
            assert 0.0 <= reservation.wait <= min(max_wait, op[1] * 10) + 1e-9
            states = throttle.store.states()
            for scope in reservation.scopes:
                limits = throttle.limits_for(scope)
                level = tokens_at(states[scope], limits, reservation.slot, adaptive=adaptive)
                assert level >= -1e-9
        elif op[0] == "advance":
            assert isinstance(op[1], float)
            clock.advance(op[1])
        elif op[0] == "observe":
            remaining, reset, limit = op[1], op[2], op[3]
            assert isinstance(limit, int) and isinstance(remaining, int)
            throttle.observe(scopes, rate_headers(limit, remaining, float(str(reset))), now=now)
        elif op[0] == "429":
            told, with_reset = op[1], op[2]
            headers = {"X-Rate-Limit-Reset": "7"} if with_reset else {}
            assert told is None or isinstance(told, float)
            delay = throttle.on_429(scopes, told, now=now, headers=headers)
            assert delay >= 0.0
        else:
            throttle.observe(scopes, {}, now=now)
    for snapshot in throttle.snapshot().scopes:
        assert snapshot.tokens >= 0.0
        assert snapshot.blocked_for >= 0.0
        assert 0 < snapshot.factor <= 1.0
