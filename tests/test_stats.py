"""Rolling statistics: counts, percentiles, the RB-002 error distribution, expiry, bounds."""

from __future__ import annotations

import dataclasses
import threading

import pytest

from maintainx_resilient import ConfigurationError
from maintainx_resilient._clock import FakeClock
from maintainx_resilient._events import (
    BreakerStateChanged,
    EventBus,
    FallbackServed,
    KeyRotated,
    RequestCompleted,
    RequestRefused,
    ResponseUnreadable,
    RetryScheduled,
    ThrottleWaited,
)
from maintainx_resilient.telemetry._stats import OTHER_ROUTE, RollingStats, StatsTotals, percentile


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def stats(clock: FakeClock) -> RollingStats:
    return RollingStats(window=300.0, clock=clock)


def attempt(
    stats: RollingStats,
    method: str,
    route: str,
    status: int | None,
    duration: float = 0.1,
    error: str | None = None,
) -> None:
    clock = stats.clock
    stats.record(
        RequestCompleted(clock.monotonic(), clock.time(), method, route, status, error, duration)
    )


def test_percentile_is_nearest_rank() -> None:
    """Nearest rank: an observed value, None when there is nothing to rank."""
    assert percentile([], 50) is None
    assert percentile([7.0], 99) == 7.0
    ordered = [float(i) for i in range(1, 101)]
    assert (percentile(ordered, 50), percentile(ordered, 95), percentile(ordered, 99)) == (
        50.0,
        95.0,
        99.0,
    )
    assert percentile(ordered, 100) == 100.0


def test_endpoint_latency_percentiles(stats: RollingStats) -> None:
    """p50/p95/p99 of an endpoint's attempt durations, in any arrival order."""
    for i in reversed(range(1, 101)):
        attempt(stats, "GET", "/workorders", 200, duration=i / 100)
    endpoint = stats.snapshot().endpoints["GET /workorders"]
    assert (endpoint.p50, endpoint.p95, endpoint.p99) == (0.50, 0.95, 0.99)
    assert endpoint.samples == endpoint.requests == 100


def test_counts_by_status_and_error_kind(stats: RollingStats) -> None:
    """Responses count by status, no-response attempts by error kind; both are errors
    when >= 400 or without a response."""
    for status in (200, 200, 201, 404, 503):
        attempt(stats, "GET", "/assets", status)
    attempt(stats, "GET", "/assets", None, error="TimeoutError")
    endpoint = stats.snapshot().endpoints["GET /assets"]
    assert (endpoint.method, endpoint.route) == ("GET", "/assets")
    assert dict(endpoint.by_status) == {200: 2, 201: 1, 404: 1, 503: 1}
    assert dict(endpoint.by_error) == {"TimeoutError": 1}
    assert (endpoint.requests, endpoint.errors) == (6, 3)
    assert endpoint.error_rate == 0.5


def test_error_distribution_is_keyed_status_colon_endpoint(stats: RollingStats) -> None:
    """As the runbook's RB-002 script groups errors: ``"503:GET /workorders"``, most frequent
    first; no-response attempts under their error kind; successes left out."""
    for _ in range(3):
        attempt(stats, "GET", "/workorders", 503)
    attempt(stats, "GET", "/workorders", 200)
    attempt(stats, "GET", "/assets", 429)
    attempt(stats, "POST", "/workorders", None, error="ConnectionError")
    attempt(stats, "GET", "/users", 200)
    snap = stats.snapshot()
    assert list(snap.error_distribution.items()) == [
        ("503:GET /workorders", 3),
        ("429:GET /assets", 1),
        ("ConnectionError:POST /workorders", 1),
    ]
    assert (snap.requests, snap.errors) == (7, 5)
    assert snap.error_rate == pytest.approx(5 / 7)
    assert list(snap.endpoints) == sorted(snap.endpoints)
    assert snap.totals.rate_limited == 1


def test_rolling_window_forgets_old_attempts(clock: FakeClock, stats: RollingStats) -> None:
    """Attempts stay for the window (at most one 5 s bucket longer), then fall out."""
    attempt(stats, "GET", "/workorders", 503)
    clock.advance(200)
    attempt(stats, "GET", "/workorders", 200)
    assert stats.snapshot().requests == 2
    clock.advance(100)  # the first attempt is exactly `window` old: still in
    assert stats.snapshot().requests == 2
    clock.advance(5)
    snap = stats.snapshot()
    assert (snap.requests, snap.errors, dict(snap.error_distribution)) == (1, 0, {})
    assert snap.endpoints["GET /workorders"].samples == 1
    clock.advance(300)
    snap = stats.snapshot()
    assert (snap.requests, dict(snap.endpoints)) == (0, {})
    assert snap.error_rate == 0.0


def test_policy_totals_and_their_expiry(clock: FakeClock, stats: RollingStats) -> None:
    """Retries, throttle waits (count and seconds), 429s, breaker changes, fallbacks and
    key rotations are totalled over the window too."""
    at, wall = clock.monotonic(), clock.time()
    stats.record(RetryScheduled(at, wall, "GET", "/parts", 1, 0.5, "status 503"))
    stats.record(RetryScheduled(at, wall, "GET", "/parts", 2, 1.0, "status 503"))
    stats.record(ThrottleWaited(at, wall, "org", 1.25, "tokens"))
    stats.record(ThrottleWaited(at, wall, "org", 0.75, "tokens"))
    stats.record(BreakerStateChanged(at, wall, "global", "closed", "open"))
    stats.record(FallbackServed(at, wall, "GET", "/parts", 30.0, "circuit open"))
    stats.record(KeyRotated(at, wall, "sha256:00000000", "sha256:11111111"))
    attempt(stats, "GET", "/parts", 429)
    assert stats.snapshot().totals == StatsTotals(
        retries=2,
        throttle_waits=2,
        throttle_wait_seconds=2.0,
        rate_limited=1,
        breaker_changes=1,
        fallbacks_served=1,
        key_rotations=1,
    )
    clock.advance(306)
    assert stats.snapshot().totals == StatsTotals()


def test_reset_clears_error_state(stats: RollingStats) -> None:
    """reset() forgets counts, samples and totals; recording goes on afterwards."""
    attempt(stats, "GET", "/workorders", 503)
    stats.record(RetryScheduled(0.0, 0.0, "GET", "/workorders", 1, 0.5, "status 503"))
    stats.reset()
    snap = stats.snapshot()
    assert (snap.requests, dict(snap.endpoints), snap.totals) == (0, {}, StatsTotals())
    attempt(stats, "GET", "/workorders", 200)
    assert stats.snapshot().requests == 1


def test_samples_are_bounded_per_endpoint(clock: FakeClock) -> None:
    """Only the newest max_samples_per_route durations are kept; counts stay exact."""
    stats = RollingStats(clock=clock, max_samples_per_route=10)
    for i in range(100):
        attempt(stats, "GET", "/meters", 200, duration=float(i))
    endpoint = stats.snapshot().endpoints["GET /meters"]
    assert (endpoint.requests, endpoint.samples) == (100, 10)
    assert (endpoint.p50, endpoint.p99) == (94.0, 99.0)


def test_endpoints_beyond_the_limit_are_pooled(clock: FakeClock) -> None:
    """Past max_endpoints, new endpoints are counted under ``"METHOD (other)"``."""
    stats = RollingStats(clock=clock, max_endpoints=2)
    for n in range(5):
        attempt(stats, "GET", f"/raw/path/{n}", 500)
    snap = stats.snapshot()
    assert list(snap.endpoints) == [f"GET {OTHER_ROUTE}", "GET /raw/path/0", "GET /raw/path/1"]
    assert snap.endpoints[f"GET {OTHER_ROUTE}"].requests == 3
    assert snap.error_distribution[f"500:GET {OTHER_ROUTE}"] == 3


def test_snapshot_is_frozen(stats: RollingStats) -> None:
    """Snapshots are frozen dataclasses with read-only mappings."""
    attempt(stats, "GET", "/workorders", 503)
    snap = stats.snapshot()
    with pytest.raises(dataclasses.FrozenInstanceError):
        snap.requests = 0  # type: ignore[misc]
    with pytest.raises(TypeError):
        snap.error_distribution["x"] = 1  # type: ignore[index]
    with pytest.raises(TypeError):
        snap.endpoints["GET /workorders"].by_status[200] = 1  # type: ignore[index]


def test_subscribes_to_the_event_bus_until_closed(clock: FakeClock) -> None:
    """Given ``events``, the stats listen to the bus; close() stops that."""
    bus = EventBus()
    stats = RollingStats(clock=clock, events=bus)
    bus.emit(RequestCompleted(0.0, 0.0, "GET", "/teams", 200, None, 0.2))
    stats.close()
    stats.close()
    bus.emit(RequestCompleted(0.0, 0.0, "GET", "/teams", 200, None, 0.2))
    assert stats.snapshot().requests == 1
    assert not bus.active


@pytest.mark.parametrize(
    "kwargs", [{"window": 0}, {"max_samples_per_route": 0}, {"max_endpoints": 0}]
)
def test_bad_settings_fail_at_construction(kwargs: dict[str, float]) -> None:
    """A window <= 0 or empty bounds are refused with ConfigurationError."""
    with pytest.raises(ConfigurationError):
        RollingStats(**kwargs)  # type: ignore[arg-type]


def test_concurrent_recording_and_snapshots(clock: FakeClock) -> None:
    """Smoke test: 8 threads recording while another takes snapshots lose no count."""
    stats = RollingStats(clock=clock, max_samples_per_route=64)
    threads_n, per_thread = 8, 2000
    done = threading.Event()
    seen: list[int] = []

    def record(n: int) -> None:
        for i in range(per_thread):
            attempt(stats, "GET", f"/r{n % 3}", 503 if i % 4 == 0 else 200, duration=i / 1000)
            if i % 100 == 0:
                stats.record(RetryScheduled(0.0, 0.0, "GET", "/r", 1, 0.5, "status 503"))

    def read() -> None:
        while not done.is_set():
            seen.append(stats.snapshot().requests)

    reader = threading.Thread(target=read)
    reader.start()
    writers = [threading.Thread(target=record, args=(n,)) for n in range(threads_n)]
    for thread in writers:
        thread.start()
    for thread in writers:
        thread.join()
    done.set()
    reader.join()

    snap = stats.snapshot()
    assert snap.requests == threads_n * per_thread
    assert snap.errors == threads_n * per_thread // 4
    assert snap.totals.retries == threads_n * per_thread // 100
    assert all(e.samples == 64 for e in snap.endpoints.values())
    assert seen == sorted(seen)


def refuse(stats: RollingStats, route: str, kind: str = "CircuitOpenError") -> None:
    clock = stats.clock
    stats.record(RequestRefused(clock.monotonic(), clock.time(), "GET", route, kind))


def test_refused_calls_count_as_failed_requests_without_latency(stats: RollingStats) -> None:
    """A call the client refused (open breaker) is a failed request the application saw,
    counted apart as ``refused`` and keyed by its kind; it adds no latency sample."""
    attempt(stats, "GET", "/workorders/{id}", 500)
    for _ in range(3):
        refuse(stats, "/workorders/{id}")
    refuse(stats, "/workorders/{id}", "ThrottledError")
    snap = stats.snapshot()
    assert (snap.requests, snap.errors, snap.refused) == (5, 5, 4)
    endpoint = snap.endpoints["GET /workorders/{id}"]
    assert (endpoint.requests, endpoint.errors, endpoint.refused, endpoint.samples) == (5, 5, 4, 1)
    assert dict(endpoint.by_error) == {"CircuitOpenError": 3, "ThrottledError": 1}
    assert dict(snap.error_distribution) == {
        "CircuitOpenError:GET /workorders/{id}": 3,
        "500:GET /workorders/{id}": 1,
        "ThrottledError:GET /workorders/{id}": 1,
    }


def test_failures_since_the_last_success(stats: RollingStats, clock: FakeClock) -> None:
    """The streak counts failed tries since the last success (not windowed) and how long
    ago that success was; a success ends it; reset() forgets it."""
    assert stats.snapshot().last_try_ok is None
    attempt(stats, "GET", "/workorders", 200)
    clock.advance(1000.0)  # beyond the window: the success's count expires, its time does not
    attempt(stats, "GET", "/workorders", 503)
    refuse(stats, "/workorders")
    snap = stats.snapshot()
    assert snap.requests == 2
    assert (snap.failures_since_success, snap.last_success_age, snap.last_try_ok) == (
        2,
        1000.0,
        False,
    )
    attempt(stats, "GET", "/workorders", 200)
    snap = stats.snapshot()
    assert (snap.failures_since_success, snap.last_success_age, snap.last_try_ok) == (0, 0.0, True)
    attempt(stats, "GET", "/workorders", 404)
    assert stats.snapshot().failures_since_success == 1
    stats.reset()
    snap = stats.snapshot()
    assert (snap.failures_since_success, snap.last_success_age) == (0, None)


def test_the_client_reports_the_calls_it_refuses() -> None:
    """Through the real client: a write in fallback mode fails without being sent
    (FallbackModeError) and is counted as a refused call of its route; a sent call is not."""
    from maintainx_resilient import FallbackModeError, MaintainXClient
    from maintainx_resilient.testing import Simulator

    sim = Simulator(seed=1, work_orders=5, rate_limit=None)
    with MaintainXClient(api_key=Simulator.API_KEY, transport=sim.transport()) as client:
        client.work_orders.get(1)
        client.enable_fallback_mode()
        with pytest.raises(FallbackModeError):
            client.work_orders.create(title="while the fallback cache answers")
        snap = client.stats.snapshot()
    assert (snap.requests, snap.errors, snap.refused) == (2, 1, 1)
    assert dict(snap.endpoints["POST /workorders"].by_error) == {"FallbackModeError": 1}
    assert snap.last_try_ok is False


def unreadable(stats: RollingStats, route: str, status: int = 200) -> None:
    clock = stats.clock
    stats.record(
        ResponseUnreadable(clock.monotonic(), clock.time(), "GET", route, status, "DecodeError")
    )


def test_an_unreadable_answer_counts_its_attempt_as_failed(
    stats: RollingStats, clock: FakeClock
) -> None:
    """A 200 whose body could not be read (an HTML page from a proxy) failed for the
    application: that attempt moves from 200 to ``DecodeError``; it is not a second try."""
    attempt(stats, "GET", "/workorders/{id}", 200)
    for _ in range(3):
        attempt(stats, "GET", "/workorders/{id}", 200)
        unreadable(stats, "/workorders/{id}")
    snap = stats.snapshot()
    assert (snap.requests, snap.errors, snap.refused) == (4, 3, 0)
    endpoint = snap.endpoints["GET /workorders/{id}"]
    assert dict(endpoint.by_status) == {200: 1}
    assert dict(endpoint.by_error) == {"DecodeError": 3}
    assert endpoint.samples == 4
    assert dict(snap.error_distribution) == {"DecodeError:GET /workorders/{id}": 3}
    assert snap.failures_since_success == 3
    assert snap.last_try_ok is False


def test_an_unreadable_answer_undoes_the_success_it_was_counted_as(
    stats: RollingStats, clock: FakeClock
) -> None:
    """The last success is the last readable answer, not the 200 that could not be read."""
    attempt(stats, "GET", "/workorders", 200)
    clock.advance(10)
    attempt(stats, "GET", "/workorders/{id}", 200)
    unreadable(stats, "/workorders/{id}")
    snap = stats.snapshot()
    assert snap.failures_since_success == 1
    assert snap.last_success_age == pytest.approx(10.0)


def test_an_unreadable_answer_whose_attempt_left_the_window_is_a_failed_try(
    stats: RollingStats, clock: FakeClock
) -> None:
    """Without the attempt to move (expired, or never seen), it counts as a failed try."""
    unreadable(stats, "/assets")
    snap = stats.snapshot()
    assert (snap.requests, snap.errors) == (1, 1)
    assert dict(snap.endpoints["GET /assets"].by_error) == {"DecodeError": 1}
