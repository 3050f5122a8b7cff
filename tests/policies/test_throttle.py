"""The throttle spends the budget MaintainX announces, keeps a sliding window without
information, and no answer can lock it. Time is passed in (or a FakeClock): nothing sleeps."""

from __future__ import annotations

import asyncio
import json
import math
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from email.utils import formatdate
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maintainx_resilient import ConfigurationError, ThrottleWarning
from maintainx_resilient._clock import FakeClock
from maintainx_resilient._events import Event, EventBus, ThrottleWaited
from maintainx_resilient._exceptions import ThrottledError
from maintainx_resilient._extensions import MAX_WAIT_EXTENSION, ROUTE_EXTENSION
from maintainx_resilient._secrets import fingerprint
from maintainx_resilient.policies.throttle import (
    DEFAULT_MAX_BLOCK,
    DEFAULT_MAX_WAIT,
    DEFAULT_PER_ORG,
    DEFAULT_PER_USER,
    DEFAULT_WINDOW,
    SLICES,
    STAGGER,
    AsyncThrottleLayer,
    Reservation,
    ScopeState,
    Throttle,
    ThrottleConfig,
    ThrottleLayer,
    request_scopes,
    reset_buffer,
)

from ..conftest import CANARY_KEY
from ._throttle_sim import Run, simulate

SCOPES = ("key:k", "org:o")
BUFFER = reset_buffer(60.0)
SLICE = 60.0 / SLICES  # the sliding window counts a grant up to one slice longer


def make(**config: Any) -> tuple[Throttle, FakeClock, list[Event]]:
    clock = FakeClock()
    events = EventBus()
    seen: list[Event] = []
    events.subscribe(seen.append)
    settings_: dict[str, Any] = {"per_org": 100_000}
    settings_.update(config)
    throttle = Throttle(ThrottleConfig(**settings_), clock=clock, events=events, jitter=lambda: 0.0)
    return throttle, clock, seen


def headers(limit: int | None, remaining: int | None, reset: float | None) -> dict[str, str]:
    out = {}
    if limit is not None:
        out["X-Rate-Limit-Limit"] = str(limit)
    if remaining is not None:
        out["X-Rate-Limit-Remaining"] = str(remaining)
    if reset is not None:
        out["X-Rate-Limit-Reset"] = str(reset)
    return out


def send(
    throttle: Throttle,
    now: float,
    status: int = 200,
    answer: Mapping[str, str] | None = None,
    scopes: Sequence[str] = SCOPES,
) -> Reservation:
    """A request that goes at once and is answered at once."""
    reservation = throttle.reserve(scopes, now=now)
    assert reservation.wait == 0.0, reservation
    throttle.settle(reservation, status, answer or {}, now=now)
    return reservation


def warnings(seen: list[Event]) -> list[ThrottleWarning]:
    return [e for e in seen if isinstance(e, ThrottleWarning)]


# ---- configuration -------------------------------------------------------------------------


def test_defaults_are_the_documented_limits() -> None:
    """100/60 s per user, 500/60 s per organization; a call waits for the next window at
    most; no answer imposes more than two windows."""
    config = ThrottleConfig()
    assert (config.per_user, config.per_org, config.window) == (100, 500, 60.0)
    assert (DEFAULT_PER_USER, DEFAULT_PER_ORG, DEFAULT_WINDOW) == (100, 500, 60.0)
    assert (config.meter_readings, config.single_meter_readings) == (100, 1)
    assert config.single_meter_window == 10.0
    assert DEFAULT_WINDOW < config.max_wait == DEFAULT_MAX_WAIT < 2 * DEFAULT_WINDOW
    assert config.max_block == DEFAULT_MAX_BLOCK == 2 * DEFAULT_WINDOW
    assert config.pacing == "budget"


@pytest.mark.parametrize(
    ("kwargs", "hint"),
    [
        ({"per_user": 0}, "per_user must be a whole number"),
        ({"per_org": 2.5}, "per_org must be a whole number"),
        ({"window": 0}, "window must be a positive number of seconds"),
        ({"single_meter_window": math.nan}, "single_meter_window"),
        ({"max_block": -1}, "max_block must be a positive number"),
        ({"max_wait": -1}, "max_wait must be >= 0"),
        ({"max_wait": math.inf}, "max_wait must be finite"),
        ({"safety_margin": -1}, "safety_margin must be a whole number"),
        ({"per_user": 3, "safety_margin": 3}, "must be below per_user"),
        ({"pacing": "fast"}, "pacing must be 'budget'"),
        ({"cap_per_minute": 0}, "cap_per_minute must be a positive rate"),
    ],
)
def test_bad_settings_fail_at_construction_with_a_hint(kwargs: dict[str, Any], hint: str) -> None:
    """Each bad value names the setting and what to do."""
    with pytest.raises(ConfigurationError, match=hint):
        ThrottleConfig(**kwargs)


def test_unknown_scope_kind_is_refused() -> None:
    """Scopes are key:, org:, meterreadings: or meter: (a typo would silently go unthrottled)."""
    with pytest.raises(ConfigurationError, match="unknown throttle scope"):
        ThrottleConfig().limits_for("user:1")


# ---- rule 1: spend what the server announces -----------------------------------------------


def test_requests_spend_the_announced_budget_at_once() -> None:
    """The server says 80 remain: 79 more go at once (one is the margin), the next waits
    for the reset. No request waited before that."""
    throttle, clock, _ = make()
    now = clock.monotonic()
    send(throttle, now, answer=headers(100, 80, 40))
    waits = [throttle.reserve(SCOPES, now=now).wait for _ in range(80)]
    assert waits[:79] == [0.0] * 79
    assert waits[79] == pytest.approx(40.0)


def test_sequential_calls_never_wait_while_budget_remains() -> None:
    """20 sequential calls, each answered with the server's count: no wait at all (the old
    throttle made each wait 0.6 s)."""
    throttle, clock, seen = make()
    for i in range(20):
        now = clock.monotonic()
        send(throttle, now, answer=headers(100, 80 - i, 50 - i * 0.01))
        clock.advance(0.01)
    assert clock.sleeps == []
    assert not [e for e in seen if isinstance(e, ThrottleWaited)]


def test_callers_queue_at_the_margin_and_are_released_in_order_at_the_reset() -> None:
    """Budget gone: callers get slots at the reset in arrival order, the first alone at the
    reset (a probe), the others a buffer later, a stagger apart."""
    throttle, clock, _ = make()
    now = clock.monotonic()
    send(throttle, now, answer=headers(100, 1, 30))  # one left = the margin
    slots = [throttle.reserve(SCOPES, now=now).slot - now for _ in range(4)]
    assert slots == pytest.approx(
        [30.0, 30.0 + BUFFER + STAGGER, 30.0 + BUFFER + 2 * STAGGER, 30.0 + BUFFER + 3 * STAGGER]
    )
    reasons = {throttle.reserve(SCOPES, now=now).reason for _ in range(2)}
    assert reasons == {"remaining"}


def test_the_next_windows_budget_goes_to_the_queue_then_to_new_callers() -> None:
    """99 queued callers take the next window's budget (limit - margin); the 100th queues
    for the window after; after the reset the queued ones send, and new callers wait."""
    throttle, clock, _ = make(per_user=10)
    now = clock.monotonic()
    send(throttle, now, answer=headers(10, 1, 5))
    queued = [throttle.reserve(SCOPES, now=now) for _ in range(10)]
    assert [round(r.slot - now) for r in queued] == [5] * 9 + [65]
    later = now + 5 + BUFFER + 0.01
    for reservation in queued[:9]:
        assert throttle.confirm(reservation, now=later).wait == 0.0
    assert throttle.reserve(SCOPES, now=later).slot == pytest.approx(now + 65 + BUFFER + STAGGER)


def test_out_of_order_answers_never_overestimate_and_settle_exactly() -> None:
    """8 requests in flight; the server counts them in one order, the answers come back in
    another. The budget never exceeds what the server really has left, and once all are
    answered it is exact."""
    throttle, clock, _ = make(per_user=20, safety_margin=0)
    now = clock.monotonic()
    send(throttle, now, answer=headers(20, 15, 50))
    inflight = [throttle.reserve(SCOPES, now=now) for _ in range(8)]
    server_order = [3, 0, 1, 7, 2, 4, 6, 5]  # the server counts them in this order
    remaining_after = {req: 15 - 1 - n for n, req in enumerate(server_order)}
    answer_order = [7, 1, 0, 5, 3, 6, 2, 4]
    processed = 8  # the server has seen all of them by the time answers arrive
    for seen, req in enumerate(answer_order, start=1):
        throttle.settle(inflight[req], 200, headers(20, remaining_after[req], 50), now=now)
        estimate = throttle.snapshot(now=now).get("key:k")
        assert estimate is not None and estimate.remaining is not None
        assert estimate.remaining <= 15 - processed
        assert estimate.sending == 8 - seen
    final = throttle.snapshot(now=now).get("key:k")
    assert final is not None and final.remaining == 15 - 8


def test_whole_second_reset_rounding_costs_nothing() -> None:
    """Resets rounded up to whole seconds: the window's end is the earliest the answers
    imply, so queued callers go at the true reset, not up to a second late."""
    throttle, clock, _ = make(per_user=10)
    true_end = clock.monotonic() + 20.3
    for dt, remaining in ((0.0, 8), (0.2, 7), (0.35, 6), (0.55, 1)):
        now = clock.monotonic() + dt
        send(throttle, now, answer=headers(10, remaining, math.ceil(true_end - now)))
    first = throttle.reserve(SCOPES, now=clock.monotonic() + 1)
    assert first.slot == pytest.approx(true_end, abs=0.06)


def test_a_late_answer_from_the_last_window_does_not_close_the_new_one() -> None:
    """After the reset, an answer of a request the server counted in the old window (low
    Remaining, reset about now) is ignored; the new window's answers count."""
    throttle, clock, _ = make(per_user=10)
    start = clock.monotonic()
    late = throttle.reserve(SCOPES, now=start)
    send(throttle, start, answer=headers(10, 3, 10))
    now = start + 10.5
    send(throttle, now, answer=headers(10, 9, 60))  # the new window
    throttle.settle(late, 200, headers(10, 0, 1), now=now + 0.1)  # old window, arrives late
    assert throttle.reserve(SCOPES, now=now + 0.1).wait == 0.0
    snapshot = throttle.snapshot(now=now + 0.1).get("key:k")
    assert snapshot is not None and snapshot.remaining == 9 - 1 - 1


def test_an_early_answer_of_the_next_window_opens_it() -> None:
    """The server reset before our estimate: an answer whose reset is a window later opens
    the new window at once; callers queued for it become its first grants."""
    throttle, clock, _ = make(per_user=10)
    now = clock.monotonic()
    in_flight = throttle.reserve(SCOPES, now=now)
    send(throttle, now, answer=headers(10, 1, 10))
    queued = throttle.reserve(SCOPES, now=now)
    assert queued.slot == pytest.approx(now + 10)
    # the request in flight was counted after the server's reset, at 9.4 s
    throttle.settle(in_flight, 200, headers(10, 9, 60), now=now + 9.5)
    snapshot = throttle.snapshot(now=now + 9.5).get("key:k")
    assert snapshot is not None and snapshot.reset_in == pytest.approx(60.0)
    assert throttle.reserve(SCOPES, now=now + 9.5).wait == 0.0
    assert throttle.confirm(queued, now=queued.slot).wait == 0.0


def test_headers_describe_the_scope_whose_limit_they_name() -> None:
    """An answer naming the organization's limit corrects the organization's scope; the
    key's scope, whose limit it does not name, is left to its sliding window."""
    throttle, clock, _ = make(per_org=500)
    now = clock.monotonic()
    send(throttle, now, answer=headers(500, 2, 30))
    org = throttle.snapshot(now=now).get("org:o")
    key = throttle.snapshot(now=now).get("key:k")
    assert org is not None and org.rule == "budget" and org.remaining == 1
    assert key is not None and key.rule == "sliding" and key.remaining is None


def test_a_scope_whose_limit_is_far_away_costs_nothing() -> None:
    """Headers describe the key; the organization (500) is never the binding scope while
    the key's budget lasts: 99 requests go in the same instant."""
    throttle, clock, _ = make(per_org=500)
    now = clock.monotonic()
    send(throttle, now, answer=headers(100, 99, 60))
    assert [throttle.reserve(SCOPES, now=now).wait for _ in range(98)] == [0.0] * 98


def test_unreadable_headers_are_ignored() -> None:
    """Garbage in the rate-limit headers changes nothing."""
    throttle, clock, _ = make()
    now = clock.monotonic()
    junk = {"X-Rate-Limit-Limit": "many", "X-Rate-Limit-Remaining": "nan", "X-Rate-Limit-Reset": ""}
    send(throttle, now, answer=junk)
    state = throttle.store.states()["key:k"]
    assert (state.limit, state.window_end, state.remaining) == (None, None, None)


# ---- rule 2: without information, a sliding window -----------------------------------------


def test_without_headers_a_window_holds_limit_minus_margin() -> None:
    """No headers ever: 99 go at once, the 100th waits until the first leaves the window."""
    throttle, clock, _ = make()
    now = clock.monotonic()
    waits = []
    for i in range(100):
        reservation = throttle.reserve(SCOPES, now=now + i * 0.01)
        waits.append(reservation.wait)
    assert waits[:99] == [0.0] * 99
    assert 60.0 - 0.99 <= waits[99] <= 60.0 - 0.99 + SLICE


def test_many_callers_share_one_fair_queue_without_information() -> None:
    """Beyond the window's budget, callers get successive slots in arrival order."""
    throttle, clock, _ = make(per_user=5, window=10.0)
    now = clock.monotonic()
    slots = [throttle.reserve(SCOPES, now=now + i).slot for i in range(8)]
    assert slots == sorted(slots)
    assert slots[4:] == pytest.approx(
        [now + 10, now + 11, now + 12, now + 13], abs=1.01 * 10 / SLICES
    )


@settings(max_examples=150, deadline=None)
@given(
    steps=st.lists(
        st.tuples(st.floats(0.0, 3.0), st.sampled_from(["send", "give up", "wake late"])),
        min_size=1,
        max_size=150,
    )
)
def test_the_sliding_window_total_always_adds_up_its_slices(
    steps: list[tuple[float, str]],
) -> None:
    """The kept sum of a sliding window's slices stays their sum through grants, slots given
    back, late wakers and slices leaving the window."""
    clock = FakeClock(start=1000.0)
    config = ThrottleConfig(per_user=20, per_org=10_000, window=10.0, max_wait=1e9)
    throttle = Throttle(config, clock=clock)
    for gap, what in steps:
        clock.advance(gap)
        reservation = throttle.reserve(SCOPES, now=clock.monotonic())
        if what == "give up":
            throttle.release(reservation)
        else:
            while reservation.wait > 0:
                late = 1.0 if what == "wake late" else 0.0
                clock.advance(reservation.wait + late)
                reservation = throttle.confirm(reservation, now=clock.monotonic())
            throttle.settle(reservation, 200, {}, now=clock.monotonic())
        for state in throttle.store.states().values():
            assert state.counted == sum(count for _, count in state.slices)


@settings(max_examples=150, deadline=None)
@given(
    limit=st.integers(2, 40),
    margin=st.integers(0, 1),
    window=st.floats(1.0, 120.0),
    phase=st.floats(0.0, 1.0),
    gaps=st.lists(st.floats(0.0, 0.3), min_size=1, max_size=120),
    even=st.booleans(),
)
def test_without_information_any_window_stretch_holds_at_most_limit_minus_margin(
    limit: int, margin: int, window: float, phase: float, gaps: list[float], even: bool
) -> None:
    """Whatever the arrivals, every stretch of `window` seconds holds at most limit - margin
    slots, so no fixed window of the server, whatever its phase, sees more."""
    config = ThrottleConfig(
        per_user=limit,
        per_org=10_000,
        window=window,
        safety_margin=margin,
        max_wait=1e9,
        pacing="even" if even else "budget",
    )
    throttle = Throttle(config)
    now, slots = 1000.0, []
    for gap in gaps:
        now += gap * window
        reservation = throttle.reserve(("key:k",), now=now)
        assert reservation.wait >= 0.0
        slots.append(reservation.slot)
    assert slots == sorted(slots)
    allowed = limit - margin
    for i, start in enumerate(slots):
        inside = [s for s in slots[i:] if s < start + window * (1 - 1e-9)]
        assert len(inside) <= allowed
    fixed = Counter(math.floor((s - phase * window) / window) for s in slots)
    assert max(fixed.values()) <= allowed


def test_even_pacing_spaces_requests_even_with_budget_announced() -> None:
    """pacing="even": one request every window / (limit - margin), whatever remains."""
    throttle, clock, _ = make(per_user=11, window=10.0, pacing="even")
    now = clock.monotonic()
    send(throttle, now, answer=headers(11, 10, 10))
    waits = [throttle.reserve(SCOPES, now=now).wait for _ in range(3)]
    assert waits == pytest.approx([1.0, 2.0, 3.0])


def test_single_meter_readings_go_one_per_ten_seconds() -> None:
    throttle, clock, _ = make()
    scopes = ("meter:1:42", "key:k", "org:o")
    now = clock.monotonic()
    waits = [throttle.reserve(scopes, now=now).wait for _ in range(3)]
    assert waits == pytest.approx([0.0, 10.0, 20.0], abs=2.02 * 10 / SLICES)


# ---- rule 3: nothing the server says can lock the client -----------------------------------


def test_a_429_closes_the_scope_for_retry_after_seconds() -> None:
    throttle, clock, _ = make()
    now = clock.monotonic()
    send(throttle, now, status=429, answer={"Retry-After": "7"})
    assert throttle.reserve(SCOPES, now=now).wait == pytest.approx(7.0)


def test_a_429_with_an_http_date() -> None:
    throttle, clock, _ = make()
    now = clock.monotonic()
    date = formatdate(clock.time() + 12, usegmt=True)
    send(throttle, now, status=429, answer={"Retry-After": date})
    assert throttle.reserve(SCOPES, now=now).wait == pytest.approx(12.0, abs=1.0)


def test_a_429_with_a_reset_waits_for_the_reset_and_the_buffer() -> None:
    throttle, clock, _ = make()
    now = clock.monotonic()
    send(throttle, now, status=429, answer=headers(100, 0, 9))
    assert throttle.reserve(SCOPES, now=now).wait == pytest.approx(9.0 + BUFFER)


def test_a_429_without_information_backs_off_exponentially_until_a_success() -> None:
    throttle, clock, _ = make(per_user=60, window=60.0)
    now = clock.monotonic()
    delays = []
    for _ in range(4):
        reservation = throttle.reserve(SCOPES, now=now)
        now = reservation.slot
        throttle.settle(throttle.confirm(reservation, now=now), 429, {}, now=now)
        delays.append(throttle.reserve(SCOPES, now=now).wait)
        throttle.release(throttle.reserve(SCOPES, now=now))
    assert delays[:4] == pytest.approx([1.0, 2.0, 4.0, 8.0], rel=0.01)


def test_a_block_voids_the_slots_of_waiting_callers() -> None:
    """Callers holding a slot inside a block set after they got it get a fresh slot after
    the block instead of sending into a known 429."""
    throttle, clock, _ = make(per_user=10, window=10.0, pacing="even")
    now = clock.monotonic()
    first = throttle.reserve(SCOPES, now=now)
    waiting = throttle.reserve(SCOPES, now=now)
    assert waiting.wait > 0
    throttle.settle(first, 429, {"Retry-After": "30"}, now=now)
    fresh = throttle.confirm(waiting, now=waiting.slot)
    assert fresh.slot == pytest.approx(now + 30)
    assert fresh.reason == "429"


def test_a_huge_retry_after_is_capped_warned_and_probed() -> None:
    """Retry-After: 999999 closes the scope for max_block only, with a warning; then the
    first caller goes alone as a probe and its answer is believed."""
    throttle, clock, seen = make(max_wait=1e9)
    now = clock.monotonic()
    send(throttle, now, status=429, answer={"Retry-After": "999999"})
    assert [w.scope for w in warnings(seen)] == ["key:k"]
    assert "999999" in warnings(seen)[0].detail
    probe, second = throttle.reserve(SCOPES, now=now), throttle.reserve(SCOPES, now=now)
    assert probe.slot == pytest.approx(now + DEFAULT_MAX_BLOCK)
    assert second.slot > probe.slot + BUFFER / 2
    at = probe.slot
    throttle.settle(throttle.confirm(probe, now=at), 200, headers(100, 97, 40), now=at)
    assert throttle.confirm(second, now=second.slot).wait == 0.0
    assert throttle.reserve(SCOPES, now=second.slot).wait == 0.0


def test_a_probe_refused_again_closes_the_scope_again_and_voids_the_others() -> None:
    throttle, clock, _ = make(max_wait=1e9)
    now = clock.monotonic()
    send(throttle, now, status=429, answer={"Retry-After": "999999"})
    probe, second = throttle.reserve(SCOPES, now=now), throttle.reserve(SCOPES, now=now)
    at = probe.slot
    throttle.settle(throttle.confirm(probe, now=at), 429, {"Retry-After": "999999"}, now=at)
    again = throttle.confirm(second, now=second.slot)
    assert again.slot == pytest.approx(at + DEFAULT_MAX_BLOCK)


def test_remaining_zero_with_a_huge_reset_is_held_until_confirmed() -> None:
    """A 200 with Remaining 0 and Reset 1e9 is suspect: held with a warning, the next
    request goes at once; a normal answer clears it."""
    throttle, clock, seen = make()
    now = clock.monotonic()
    send(throttle, now, answer=headers(100, 0, 1_000_000_000))
    assert len(warnings(seen)) == 1
    send(throttle, now, answer=headers(100, 90, 30))
    assert throttle.reserve(SCOPES, now=now).wait == 0.0


def test_a_confirmed_huge_reset_still_waits_no_longer_than_max_block() -> None:
    throttle, clock, _ = make(max_wait=1e9)
    now = clock.monotonic()
    send(throttle, now, answer=headers(100, 0, 1_000_000_000))
    send(throttle, now, answer=headers(100, 0, 1_000_000_000))
    assert throttle.reserve(SCOPES, now=now).wait == pytest.approx(DEFAULT_MAX_BLOCK)


def test_a_limit_of_one_is_held_until_confirmed() -> None:
    """One answer saying the limit is 1 does not slow the client to one request a minute;
    a second one saying it again is believed."""
    throttle, clock, seen = make()
    now = clock.monotonic()
    send(throttle, now, answer=headers(1, 0, 59))
    assert "below a tenth" in warnings(seen)[0].detail
    send(throttle, now, answer=headers(100, 98, 59))
    assert throttle.store.states()["key:k"].limit == 100
    assert throttle.reserve(SCOPES, now=now).wait == 0.0
    believer, clock2, _ = make()
    start = clock2.monotonic()
    send(believer, start, answer=headers(1, 1, 59))
    send(believer, start, answer=headers(1, 0, 59))
    assert believer.store.states()["key:k"].limit == 1


def test_a_low_limit_once_confirmed_is_not_doubted_again() -> None:
    """Configured far above what the server says: the server's limit is held once, then
    believed for good (no warning, no answer ignored, every other request after that)."""
    throttle, clock, seen = make(per_user=2000)
    now = clock.monotonic()
    send(throttle, now, answer=headers(100, 99, 59))
    send(throttle, now, answer=headers(100, 98, 59))
    for remaining in range(97, 80, -1):
        send(throttle, now, answer=headers(100, remaining, 59))
    assert len(warnings(seen)) == 1
    state = throttle.store.states()["key:k"]
    assert (state.limit, state.remaining, state.suspect) == (100, 81, None)


def test_remaining_zero_without_a_reset_waits_at_most_one_window() -> None:
    throttle, clock, _ = make()
    now = clock.monotonic()
    send(throttle, now, answer={"X-Rate-Limit-Remaining": "0"})
    reservation = throttle.reserve(SCOPES, now=now)
    assert 0.0 < reservation.wait <= 60.0


def test_a_wait_beyond_max_wait_fails_at_once_and_takes_nothing() -> None:
    throttle, clock, _ = make(max_wait=5.0)
    now = clock.monotonic()
    send(throttle, now, status=429, answer={"Retry-After": "20"})
    before = throttle.store.states()
    with pytest.raises(ThrottledError) as info:
        throttle.reserve(SCOPES, now=now)
    assert info.value.retry_after == pytest.approx(20.0)
    assert info.value.status_code == 429
    assert throttle.store.states() == before


def test_a_call_may_have_its_own_max_wait() -> None:
    """A call's max_wait replaces the config's, shorter or longer (a sync waits longer)."""
    throttle, clock, _ = make(max_wait=5.0)
    now = clock.monotonic()
    send(throttle, now, status=429, answer={"Retry-After": "20"})
    with pytest.raises(ThrottledError):
        throttle.reserve(SCOPES, now=now, max_wait=10.0)
    assert throttle.reserve(SCOPES, now=now, max_wait=25.0).wait == pytest.approx(20.0)


def test_reset_forgets_every_block_and_learned_limit() -> None:
    """The mitigation: after a poisoned answer, reset() lets the next request go at once."""
    throttle, clock, _ = make(max_wait=1e9)
    now = clock.monotonic()
    send(throttle, now, status=429, answer=headers(5, 0, 50) | {"Retry-After": "999999"})
    assert throttle.reserve(SCOPES, now=now, max_wait=1e9).wait > 60
    throttle.reset()
    assert throttle.reserve(SCOPES, now=now).wait == 0.0
    assert throttle.store.states()["key:k"].limit is None


operations = st.lists(
    st.one_of(
        st.tuples(st.just("reserve"), st.floats(0.0, 200.0)),
        st.tuples(st.just("advance"), st.floats(0.0, 90.0)),
        st.tuples(
            st.just("answer"),
            st.sampled_from([200, 429, None]),
            st.one_of(st.none(), st.integers(0, 10**6)),
            st.one_of(st.none(), st.integers(-5, 150)),
            st.one_of(st.none(), st.floats(-10, 1e10)),
            st.one_of(st.none(), st.sampled_from(["0", "5", "999999", "soon", "-3"])),
        ),
    ),
    max_size=50,
)


@settings(max_examples=300, deadline=None)
@given(ops=operations, max_wait=st.floats(0.0, 1e6))
def test_no_answer_makes_any_wait_longer_than_max_block_plus_a_window(
    ops: list[tuple[Any, ...]], max_wait: float
) -> None:
    """Whatever the answers (any limit, remaining, reset, Retry-After, none at all), a wait
    is never negative, never above the call's max_wait (beyond: ThrottledError, nothing
    taken), never
    above max_block plus one window of queue, and counts never go negative."""
    clock = FakeClock()
    throttle = Throttle(ThrottleConfig(max_wait=max_wait), clock=clock)
    pending: list[Reservation] = []
    bound = DEFAULT_MAX_BLOCK + DEFAULT_WINDOW + 1.0
    for op in ops:
        now = clock.monotonic()
        if op[0] == "reserve":
            before = throttle.store.states()
            refused: ThrottledError | None = None
            try:
                reservation = throttle.reserve(SCOPES, now=now, max_wait=op[1])
            except ThrottledError as exc:
                refused = exc
            if refused is not None:
                assert refused.retry_after is not None
                assert refused.retry_after > op[1]
                assert throttle.store.states() == before
                continue
            assert 0.0 <= reservation.wait <= op[1] + 1e-6
            assert reservation.wait <= bound
            pending.append(reservation)
        elif op[0] == "advance":
            clock.advance(op[1])
        elif pending:
            reservation = pending.pop(0)
            clock.advance(max(0.0, reservation.slot - now))
            now = clock.monotonic()
            try:
                confirmed = throttle.confirm(reservation, now=now)
            except ThrottledError:  # re-queued beyond this call's wait: it gives up
                throttle.release(reservation)
                continue
            if confirmed.wait > 0:
                throttle.release(confirmed)
                continue
            status, limit, remaining, reset, retry = op[1:]
            answer = headers(limit, remaining, reset)
            if retry is not None:
                answer["Retry-After"] = retry
            throttle.settle(confirmed, status, answer, now=now)
    for reservation in pending:
        throttle.release(reservation)
    for state in throttle.store.states().values():
        assert min(state.sending, state.promised, state.queued) >= 0
    for scope in throttle.snapshot().scopes:
        assert scope.blocked_for <= DEFAULT_MAX_BLOCK + 1e-6


# ---- many callers, answers with latency: no 429 storm, full goodput ------------------------


@pytest.mark.parametrize("headers_sent", [True, False], ids=["headers", "no-headers"])
@pytest.mark.parametrize("callers", [1, 8, 50])
def test_many_callers_use_the_whole_budget_without_429s(headers_sent: bool, callers: int) -> None:
    """A discrete-event run: `callers` loop for three 60 s windows against a fixed-window
    server (Reset rounded up to whole seconds), answers 5-50 ms each way and out of order:
    goodput >= 0.97 of the limit and at most 1% of answers are 429."""
    for seed, phase in ((1, 0.0), (2, 17.3), (3, 59.9)):
        run = simulate(Run(callers=callers, headers=headers_sent, seed=seed, phase=phase))
        assert run.goodput >= 0.97, run
        assert run.share_429 <= 0.01, run
        assert run.refused == 0, run


@settings(max_examples=40, deadline=None)
@given(
    callers=st.integers(1, 30),
    seed=st.integers(0, 10**6),
    phase=st.floats(0.0, 60.0),
    latency=st.floats(0.0005, 0.3),
    headers_sent=st.booleans(),
)
def test_any_run_stays_under_the_limit(
    callers: int, seed: int, phase: float, latency: float, headers_sent: bool
) -> None:
    """The server never counts more than the limit in a window and 429s stay rare, for
    any number of callers, latency and window phase."""
    run = simulate(
        Run(
            callers=callers,
            headers=headers_sent,
            seed=seed,
            phase=phase,
            latency=(latency / 10, latency),
        )
    )
    assert run.share_429 <= 0.02, run
    assert run.goodput >= 0.9, run


# ---- the "enable throttling" cap -----------------------------------------------------------


def test_enable_throttling_caps_every_request_until_removed() -> None:
    throttle, clock, _ = make()
    now = clock.monotonic()
    throttle.enable_throttling(30.0)
    waits = [throttle.reserve(SCOPES, now=now).wait for _ in range(3)]
    assert waits == pytest.approx([0.0, 2.0, 4.0])
    assert throttle.reserve(SCOPES, now=now).reason == "override"
    throttle.disable_override()
    assert throttle.override_per_minute is None
    assert throttle.reserve(SCOPES, now=now).wait == 0.0


def test_a_cap_can_start_on() -> None:
    throttle, _, _ = make(cap_per_minute=10.0)
    assert throttle.override_per_minute == 10.0


def test_enable_throttling_needs_a_positive_rate() -> None:
    throttle, _, _ = make()
    with pytest.raises(ConfigurationError, match="positive"):
        throttle.enable_throttling(0)


# ---- the snapshot and the store ------------------------------------------------------------


def test_snapshot_reports_each_scope() -> None:
    throttle, clock, _ = make()
    now = clock.monotonic()
    send(throttle, now, answer=headers(100, 50, 20))
    send(throttle, now, status=429, answer={"Retry-After": "5"})
    snapshot = throttle.snapshot(now=now)
    key = snapshot.get("key:k")
    assert key is not None
    assert (key.rule, key.limit, key.window, key.throttled) == ("budget", 100, 60.0, 1)
    assert key.blocked_for == pytest.approx(5.0)
    assert key.blocked_reason == "429"
    assert key.backlog == pytest.approx(5.0)
    assert key.rate_per_minute == 100.0
    assert key.granted == 2
    assert snapshot.get("nope") is None


class JsonStore:
    """Keeps each scope as a JSON string (as a Redis store would), on Unix time."""

    wall_clock = True

    def __init__(self) -> None:
        self.rows: dict[str, str] = {}

    def transact(self, scopes: Sequence[str], decide: Callable[[Any], Any]) -> Any:
        current = [self._load(self.rows[s]) if s in self.rows else ScopeState() for s in scopes]
        updated, result = decide(current)
        for scope, state in zip(scopes, updated, strict=True):
            self.rows[scope] = json.dumps(state._asdict())
        return result

    @staticmethod
    def _load(row: str) -> ScopeState:
        data = json.loads(row)
        data["slices"] = tuple(tuple(pair) for pair in data["slices"])
        if data["suspect"] is not None:
            data["suspect"] = tuple(data["suspect"])
        return ScopeState(**data)

    def states(self) -> Mapping[str, ScopeState]:
        return {s: self._load(row) for s, row in self.rows.items()}

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
        first = throttle.reserve(SCOPES, now=now)
        throttle.settle(first, 200, headers(10, 2, 4), now=now)
        log[name] += [throttle.reserve(SCOPES, now=now).wait for _ in range(3)]
        late = throttle.reserve(SCOPES, now=now + 10)
        throttle.settle(throttle.confirm(late, now=late.slot), 429, {}, now=late.slot)
        log[name].append(throttle.reserve(SCOPES, now=late.slot).wait)
    assert log["memory"] == pytest.approx(log["shared"])
    assert shared.snapshot().get("key:k") is not None


# ---- request scopes ------------------------------------------------------------------------


def req(path: str, route: str | None = None, **request_headers: str) -> httpx.Request:
    extensions = {ROUTE_EXTENSION: route} if route else {}
    return httpx.Request(
        "POST", f"https://api.example/v1{path}", headers=request_headers, extensions=extensions
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


# ---- the layers ----------------------------------------------------------------------------


def get(path: str = "/workorders", extensions: dict[str, Any] | None = None) -> httpx.Request:
    return httpx.Request(
        "GET",
        f"https://api.example/v1{path}",
        headers={"authorization": f"Bearer {CANARY_KEY}"},
        extensions={ROUTE_EXTENSION: path, **(extensions or {})},
    )


class Answers:
    """A mock server: answers in order, then 200 without headers; records what was sent."""

    def __init__(self, *answers: httpx.Response) -> None:
        self.answers = list(answers)
        self.sent: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.sent.append(request)
        return self.answers.pop(0) if self.answers else httpx.Response(200, json={})


def test_layer_waits_for_its_slot_and_reports_the_wait() -> None:
    throttle, clock, seen = make(per_user=3, window=10.0, safety_margin=0)
    server = Answers()
    layer = ThrottleLayer(httpx.MockTransport(server), throttle)
    for _ in range(4):
        assert layer.handle_request(get()).status_code == 200
    assert clock.sleeps == pytest.approx([10.0], abs=1.01 * 10 / SLICES)
    assert len(server.sent) == 4
    waited = [e for e in seen if isinstance(e, ThrottleWaited)]
    assert [e.reason for e in waited] == ["window"]
    assert waited[0].scope.startswith("key:sha256:")
    assert CANARY_KEY not in repr(seen)


@pytest.mark.parametrize(
    "spell",
    [str, str.lower, str.upper, lambda name: name.swapcase()],
    ids=["usual", "lower", "upper", "swapped"],
)
def test_layer_reads_the_rate_limit_headers_however_they_are_spelled(
    spell: Callable[[str], str],
) -> None:
    throttle, clock, _ = make()
    answer = {spell(k): v for k, v in headers(100, 10, 30).items()}
    layer = ThrottleLayer(
        httpx.MockTransport(Answers(httpx.Response(200, headers=answer))), throttle
    )
    layer.handle_request(get())
    key = next(s for s in throttle.snapshot().scopes if s.scope.startswith("key:"))
    assert (key.rule, key.limit, key.remaining) == ("budget", 100, 10 - 1)  # margin 1
    assert key.reset_in == pytest.approx(30.0)
    retry = {spell("Retry-After"): "7"}
    layer = ThrottleLayer(
        httpx.MockTransport(Answers(httpx.Response(429, headers=retry))), throttle
    )
    layer.handle_request(get())
    assert throttle.snapshot().get(key.scope).blocked_for == pytest.approx(7.0)  # type: ignore[union-attr]
    assert clock.sleeps == []


def test_the_scopes_remembered_follow_the_key_the_organization_and_the_route() -> None:
    """Scopes are remembered for the last key, organization and route; any change of one
    (or a header sent twice) names them afresh."""
    throttle = make()[0]

    def scopes(path: str, route: str, *pairs: tuple[str, str]) -> tuple[str, ...]:
        request = httpx.Request(
            "GET",
            f"https://api.example/v1{path}",
            headers=list(pairs),
            extensions={ROUTE_EXTENSION: route},
        )
        assert throttle.scopes_of(request) == request_scopes(request)
        return throttle.scopes_of(request)

    a, b = ("Authorization", "Bearer a"), ("Authorization", "Bearer b")
    first = scopes("/workorders", "/workorders", a)
    assert scopes("/workorders", "/workorders", a) is first  # remembered
    assert scopes("/workorders", "/workorders", b) != first
    assert scopes("/workorders", "/workorders", b, ("X-Organization-Id", "9"))[1] == "org:9"
    assert scopes("/workorders", "/workorders", b, ("X-Organization-Id", "10"))[1] == "org:10"
    assert scopes("/meters/1/readings", "/meters/{meterId}/readings", a)[0] == "meter:default:1"
    assert scopes("/meters/2/readings", "/meters/{meterId}/readings", a)[0] == "meter:default:2"
    twice = scopes("/workorders", "/workorders", a, b)  # joined by httpx: "Bearer a, Bearer b"
    assert twice[0] == f"key:{fingerprint('Bearer a, Bearer b')}"
    c = ("Authorization", "Bearer c")  # the same last value, another key
    assert (
        scopes("/workorders", "/workorders", c, b)[0] == f"key:{fingerprint('Bearer c, Bearer b')}"
    )


def test_layer_returns_429_and_the_next_request_waits() -> None:
    """The throttle does not retry: the 429 goes up to the retry layer; the scope is closed
    for Retry-After so the next request (the retry) waits."""
    throttle, clock, _ = make()
    server = Answers(httpx.Response(429, headers={"Retry-After": "7"}, json={"error": "slow"}))
    layer = ThrottleLayer(httpx.MockTransport(server), throttle)
    assert layer.handle_request(get()).status_code == 429
    assert layer.handle_request(get()).status_code == 200
    assert clock.sleeps == pytest.approx([7.0])


def test_layer_refuses_without_sending_when_the_wait_is_too_long() -> None:
    throttle, _, _ = make(max_wait=1.0)
    server = Answers(httpx.Response(429, headers={"Retry-After": "30"}))
    layer = ThrottleLayer(httpx.MockTransport(server), throttle)
    layer.handle_request(get())
    with pytest.raises(ThrottledError) as info:
        layer.handle_request(get())
    assert len(server.sent) == 1
    assert info.value.method == "GET" and info.value.path == "/v1/workorders"
    assert CANARY_KEY not in str(info.value)


def test_layer_honours_a_per_request_max_wait() -> None:
    throttle, _, _ = make()
    server = Answers(httpx.Response(429, headers={"Retry-After": "30"}))
    layer = ThrottleLayer(httpx.MockTransport(server), throttle)
    layer.handle_request(get())
    with pytest.raises(ThrottledError):
        layer.handle_request(get(extensions={MAX_WAIT_EXTENSION: 5.0}))


def test_layer_learns_from_answer_headers() -> None:
    throttle, _, _ = make()
    server = Answers(httpx.Response(200, headers=headers(100, 42, 30)))
    ThrottleLayer(httpx.MockTransport(server), throttle).handle_request(get())
    [key] = [s for s in throttle.snapshot().scopes if s.scope.startswith("key:")]
    assert key.remaining == 41 and key.sending == 0


def test_layer_counts_a_request_that_got_no_answer() -> None:
    """A transport error: the request is assumed to have counted; nothing stays in flight."""
    throttle, _, _ = make()
    calls = iter([httpx.Response(200, headers=headers(100, 10, 30))])

    def handler(request: httpx.Request) -> httpx.Response:
        answer = next(calls, None)
        if answer is None:
            raise httpx.ConnectError("down", request=request)
        return answer

    layer = ThrottleLayer(httpx.MockTransport(handler), throttle)
    layer.handle_request(get())
    with pytest.raises(httpx.ConnectError):
        layer.handle_request(get())
    [key] = [s for s in throttle.snapshot().scopes if s.scope.startswith("key:")]
    assert (key.remaining, key.sending) == (8, 0)


def test_layer_close_closes_the_inner_transport() -> None:
    closed: list[bool] = []

    class Inner(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            return httpx.Response(200)

        def close(self) -> None:
            closed.append(True)

    ThrottleLayer(Inner(), make()[0]).close()
    assert closed == [True]


async def test_async_layer_waits_and_learns_like_the_sync_one() -> None:
    throttle, clock, _ = make(per_user=2, window=10.0, safety_margin=0)
    server = Answers()
    layer = AsyncThrottleLayer(httpx.MockTransport(server), throttle)
    for _ in range(3):
        assert (await layer.handle_async_request(get())).status_code == 200
    assert clock.sleeps == pytest.approx([10.0], abs=1.01 * 10 / SLICES)


async def test_async_layer_refuses_without_sending() -> None:
    throttle, _, _ = make(max_wait=1.0)
    server = Answers(httpx.Response(429, headers={"Retry-After": "30"}))
    layer = AsyncThrottleLayer(httpx.MockTransport(server), throttle)
    await layer.handle_async_request(get())
    with pytest.raises(ThrottledError):
        await layer.handle_async_request(get())
    assert len(server.sent) == 1


async def test_a_cancelled_waiter_gives_its_slot_back() -> None:
    """A task cancelled while it waits for the next window returns its grant: the window's
    budget is not lost."""
    throttle = Throttle(ThrottleConfig(per_user=3, per_org=100, window=10.0, safety_margin=0))
    now = throttle.now()
    first = throttle.reserve(request_scopes(get()), now=now)
    throttle.settle(first, 200, headers(3, 0, 10), now=now)
    server = Answers()
    layer = AsyncThrottleLayer(httpx.MockTransport(server), throttle)

    async def call() -> None:
        await layer.handle_async_request(get())

    task = asyncio.create_task(call())
    await asyncio.sleep(0.01)
    [key] = [s for s in throttle.snapshot().scopes if s.scope.startswith("key:")]
    assert key.queued == 1
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    [key] = [s for s in throttle.snapshot().scopes if s.scope.startswith("key:")]
    assert key.queued == 0 and server.sent == []


def test_an_answer_that_never_comes_costs_one_window_at_most() -> None:
    """A process that dies mid-request (or a report a shared store lost) leaves a request
    "on the wire" forever; it counts against the window it was sent in and the next, then
    not at all, and a late answer is taken off the right count."""
    from maintainx_resilient.policies.throttle import ScopeLimits, _budget, answered, roll

    lim = ScopeLimits(100, 60.0, 1)
    s = ScopeState(window_end=60.0, remaining=50, heard_at=1.0, sending=3)
    assert _budget(s, lim) == 50 - 1 - 3
    s = roll(s, lim, 61.0)  # the next window: the three are old, still counted
    assert (s.sending, s.sending_old) == (0, 3)
    assert _budget(s, lim) == 100 - 1 - 3
    s = answered(s, lim, 62.0, counted=True, sent_at=59.0)  # one of them came back late
    assert (s.sending, s.sending_old) == (0, 2)
    s = roll(s, lim, 121.0)  # a whole window later: forgotten
    assert (s.sending, s.sending_old) == (0, 0)
    assert _budget(s, lim) == 100 - 1
    idle = roll(ScopeState(window_end=60.0, heard_at=1.0, sending=2), lim, 200.0)
    assert (idle.sending, idle.sending_old) == (0, 0)  # idle for windows: nothing left


def test_a_caller_that_wakes_late_is_counted_when_it_sends() -> None:
    """Without headers, a grant is counted at its slot; a holder that wakes well after it
    (a starved thread) must not send on that old count, or requests bunch beyond the limit
    in the stretch it actually sends in: it is counted again at its wake-up, and waits if
    the window has no room then."""
    clock = FakeClock()
    throttle = Throttle(ThrottleConfig(per_user=5, per_org=500, window=10.0), clock=clock)
    scopes = ("key:k", "org:1")
    now = throttle.now()
    for _ in range(4):  # limit 5, margin 1: four now
        throttle.confirm(throttle.reserve(scopes, now=now), now=now)
    sleeper = throttle.reserve(scopes, now=now)
    assert sleeper.wait > 0  # after the first four's slice leaves the window
    clock.advance(sleeper.wait + 2.0)  # it oversleeps by 2 s
    woke = throttle.now()
    others = [throttle.reserve(scopes, now=woke - 1.9) for _ in range(3)]  # took the room
    assert [o.wait for o in others] == [0.0, 0.0, 0.0]
    late = throttle.confirm(sleeper, now=woke)
    assert late.wait == 0.0  # one place left in the window ending now: it goes
    again = throttle.reserve(scopes, now=woke)
    assert again.wait > 0  # the window is full: 3 sent just before, the late one now
    width = 10.0 / SLICES
    state = throttle.store.states()["key:k"]
    assert math.floor(woke / width) in dict(state.slices)  # counted when it sent
    assert math.floor(sleeper.slot / width) not in dict(state.slices)  # not at its old slot
