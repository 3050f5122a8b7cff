"""The circuit breaker: transitions, exactly one probe, what counts, manual control, events."""

from __future__ import annotations

import asyncio
import math
import threading
import time
from collections.abc import Callable
from typing import Any

import httpx
import pybreaker
import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from maintainx_resilient._clock import FakeClock
from maintainx_resilient._events import BreakerStateChanged, Event, EventBus
from maintainx_resilient._exceptions import (
    CircuitOpenError,
    ConfigurationError,
    ConnectionError,
    RateLimitError,
    ServerError,
    ThrottledError,
    TimeoutError,
)
from maintainx_resilient._extensions import BASE_EXTENSION, ROUTE_EXTENSION
from maintainx_resilient.policies.breaker import (
    DEFAULT_FAIL_MAX,
    DEFAULT_RESET_TIMEOUT,
    DEFAULT_SCOPE,
    Admission,
    AsyncBreakerLayer,
    BreakerConfig,
    BreakerLayer,
    Breakers,
    outcome_of_error,
    outcome_of_response,
    scope_of,
)

BASE = "https://api.example.test/v1"
WO = f"{BASE}/workorders"


def make(
    fail_max: int = 3, reset_timeout: float = 10.0, **kwargs: Any
) -> tuple[Breakers, FakeClock, list[Event]]:
    clock = FakeClock()
    bus = EventBus()
    seen: list[Event] = []
    bus.subscribe(seen.append)
    config = BreakerConfig(fail_max=fail_max, reset_timeout=reset_timeout, **kwargs)
    return Breakers(config, clock=clock, events=bus), clock, seen


def transitions(events: list[Event]) -> list[tuple[str, str]]:
    return [(e.old, e.new) for e in events if isinstance(e, BreakerStateChanged)]


def trip(breakers: Breakers, scope: str = WO) -> None:
    for _ in range(breakers.config.fail_max):
        assert breakers.admit(scope).allowed
        breakers.record(scope, "failure")


def request(
    path: str = "/v1/workorders/7", route: str | None = "/workorders/{id}"
) -> httpx.Request:
    extensions = {ROUTE_EXTENSION: route} if route else {}
    return httpx.Request("GET", f"https://api.example.test{path}", extensions=extensions)


# ---- configuration --------------------------------------------------------------------------


def test_defaults_are_named_constants() -> None:
    """BreakerConfig() uses the documented defaults: 5 failures, 30 s, one breaker per endpoint."""
    config = BreakerConfig()
    assert (config.fail_max, config.reset_timeout, config.scope) == (5, 30.0, "endpoint")
    assert (DEFAULT_FAIL_MAX, DEFAULT_RESET_TIMEOUT, DEFAULT_SCOPE) == (5, 30.0, "endpoint")


@pytest.mark.parametrize(
    ("kwargs", "hint"),
    [
        ({"fail_max": 0}, "fail_max"),
        ({"fail_max": True}, "fail_max"),
        ({"fail_max": 2.5}, "fail_max"),
        ({"reset_timeout": 0}, "reset_timeout"),
        ({"reset_timeout": -1.0}, "reset_timeout"),
        ({"reset_timeout": math.inf}, "reset_timeout"),
        ({"scope": "global"}, "scope"),
        ({"storage": "redis"}, "storage"),
    ],
)
def test_bad_values_fail_at_construction(kwargs: dict[str, Any], hint: str) -> None:
    """Bad settings raise ConfigurationError naming the setting."""
    with pytest.raises(ConfigurationError, match=hint):
        BreakerConfig(**kwargs)


# ---- scopes ---------------------------------------------------------------------------------


def test_endpoint_scope_is_base_url_plus_first_route_segment() -> None:
    """Scope = base URL + first route segment, from the operation's route template."""
    assert scope_of(request(), "endpoint") == WO
    assert scope_of(request(), "base_url") == BASE
    status = request("/v1/workorders/7/status", "/workorders/{id}/status")
    assert scope_of(status, "endpoint") == WO
    assert scope_of(request("/v1/assets", "/assets"), "endpoint") == f"{BASE}/assets"


def test_scope_without_route_ends_base_at_version_segment() -> None:
    """Without a route, the base URL ends at /v1 (or at the origin when there is none)."""
    assert scope_of(request("/v1/workorders/7", None), "endpoint") == WO
    assert scope_of(request("/v1/workorders", None), "base_url") == BASE
    plain = request("/workorders/7", None)
    assert scope_of(plain, "endpoint") == "https://api.example.test/workorders"
    assert scope_of(plain, "base_url") == "https://api.example.test"


def test_scopes_are_independent() -> None:
    """An open /workorders breaker does not stop /assets."""
    breakers, _, _ = make()
    trip(breakers)
    assert not breakers.admit(WO).allowed
    assert breakers.admit(f"{BASE}/assets").allowed


# ---- what counts -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "expected"),
    [
        (200, "success"),
        (204, "success"),
        (400, "success"),
        (404, "success"),
        (429, "success"),
        (500, "failure"),
        (502, "failure"),
        (503, "failure"),
    ],
)
def test_only_5xx_answers_are_failures(status: int, expected: str) -> None:
    """5xx counts as a failure; 2xx and every 4xx (429 included) show the server is up."""
    assert outcome_of_response(httpx.Response(status)) == expected


def test_error_outcomes() -> None:
    """Timeouts, connection errors and 5xx errors fail; throttling, 429 and cancels are neutral."""
    assert outcome_of_error(TimeoutError("t", phase="read")) == "failure"
    assert outcome_of_error(ConnectionError("c", sent=False)) == "failure"
    assert outcome_of_error(ServerError("s", status_code=503)) == "failure"
    assert outcome_of_error(RateLimitError("r", status_code=429)) == "neutral"
    assert outcome_of_error(ThrottledError("t", status_code=429)) == "neutral"
    assert outcome_of_error(asyncio.CancelledError()) == "neutral"
    assert outcome_of_error(ValueError()) == "neutral"


def test_4xx_never_counts() -> None:
    """Any number of 4xx answers, 429 included, never opens the breaker."""
    statuses = iter([429, 400, 404, 401, 429] * 4)
    layer = BreakerLayer(httpx.MockTransport(lambda r: httpx.Response(next(statuses))), make()[0])
    for _ in range(20):
        assert layer.handle_request(request()).status_code < 500
    assert layer.policy.states()[WO].state == "closed"
    assert layer.policy.states()[WO].failures == 0


def test_failures_must_be_consecutive() -> None:
    """A success (or a 4xx) between failures resets the count."""
    breakers, _, _ = make(fail_max=3)
    for outcome in ["failure", "failure", "success", "failure", "failure"]:
        assert breakers.admit(WO).allowed
        breakers.record(WO, outcome)  # type: ignore[arg-type]
    assert breakers.states()[WO].state == "closed"
    assert breakers.states()[WO].failures == 2
    breakers.admit(WO)
    breakers.record(WO, "failure")
    assert breakers.states()[WO].state == "open"


# ---- transitions -----------------------------------------------------------------------------


def test_full_cycle_with_retry_after_and_events() -> None:
    """closed -> open (fail_max) -> half-open (one probe after reset_timeout) -> closed."""
    breakers, clock, seen = make(fail_max=3, reset_timeout=10.0)
    trip(breakers)
    refused = breakers.admit(WO)
    assert refused == Admission(WO, False, "open", retry_after=10.0)
    clock.advance(4.0)
    assert breakers.admit(WO).retry_after == pytest.approx(6.0)
    clock.advance(6.0)
    probe = breakers.admit(WO)
    assert (probe.allowed, probe.probe, probe.state) == (True, True, "half-open")
    waiting = breakers.admit(WO)
    assert (waiting.allowed, waiting.state) == (False, "half-open")
    assert waiting.retry_after == pytest.approx(10.0)
    breakers.record(WO, "success", probe=True)
    assert breakers.admit(WO) == Admission(WO, True, "closed")
    assert transitions(seen) == [("closed", "open"), ("open", "half-open"), ("half-open", "closed")]
    assert all(e.scope == WO for e in seen if isinstance(e, BreakerStateChanged))


def test_failed_probe_reopens_for_a_new_interval() -> None:
    """A failed probe opens the breaker again, and the reset timer starts over."""
    breakers, clock, seen = make(fail_max=1, reset_timeout=10.0)
    trip(breakers)
    clock.advance(10.0)
    assert breakers.admit(WO).probe
    clock.advance(2.0)
    breakers.record(WO, "failure", probe=True)
    assert breakers.admit(WO).retry_after == pytest.approx(10.0)
    clock.advance(9.9)
    assert not breakers.admit(WO).allowed
    clock.advance(0.1)
    assert breakers.admit(WO).probe
    assert transitions(seen) == [
        ("closed", "open"),
        ("open", "half-open"),
        ("half-open", "open"),
        ("open", "half-open"),
    ]


def test_neutral_probe_releases_the_slot() -> None:
    """A probe that says nothing (throttled, cancelled) lets the next caller probe."""
    breakers, clock, _ = make(fail_max=1)
    trip(breakers)
    clock.advance(10.0)
    assert breakers.admit(WO).probe
    assert not breakers.admit(WO).allowed
    breakers.record(WO, "neutral", probe=True)
    assert breakers.admit(WO).probe


def test_lost_probe_is_replaced_after_reset_timeout() -> None:
    """A probe that never reports back blocks half-open for one reset_timeout only."""
    breakers, clock, _ = make(fail_max=1, reset_timeout=10.0)
    trip(breakers)
    clock.advance(10.0)
    assert breakers.admit(WO).probe
    clock.advance(9.0)
    assert breakers.admit(WO).retry_after == pytest.approx(1.0)
    clock.advance(1.0)
    assert breakers.admit(WO).probe


def test_late_outcomes_of_earlier_attempts_are_ignored() -> None:
    """Attempts admitted while closed that end after the breaker opened change nothing."""
    breakers, clock, _ = make(fail_max=1)
    trip(breakers)
    breakers.record(WO, "success")
    breakers.record(WO, "failure")
    assert breakers.states()[WO].state == "open"
    clock.advance(10.0)
    assert breakers.admit(WO).probe
    breakers.record(WO, "success")  # not the probe
    assert breakers.states()[WO].state == "half-open"
    breakers.record(WO, "success", probe=True)
    assert breakers.states()[WO].state == "closed"


# ---- by hand ---------------------------------------------------------------------------------


def test_isolate_holds_open_until_close() -> None:
    """isolate() refuses every call (retry_after inf) whatever the time, until close()."""
    breakers, clock, seen = make()
    breakers.isolate(WO)
    clock.advance(10_000.0)
    refused = breakers.admit(WO)
    assert (refused.allowed, refused.state, refused.retry_after) == (False, "isolated", math.inf)
    snap = breakers.states()[WO]
    assert (snap.state, snap.retry_after, snap.opened_at) == (
        "isolated",
        math.inf,
        clock.time() - 10_000.0,
    )
    breakers.close(WO)
    assert breakers.admit(WO).allowed
    assert transitions(seen) == [("closed", "isolated"), ("isolated", "closed")]


def test_isolate_all_covers_later_scopes() -> None:
    """isolate() with no scope holds every breaker open, new ones included; close() ends it."""
    breakers, _, _ = make()
    breakers.admit(WO)
    breakers.isolate()
    assert not breakers.admit(WO).allowed
    assert breakers.admit(f"{BASE}/assets").state == "isolated"
    breakers.close()
    assert breakers.admit(WO).allowed
    assert breakers.admit(f"{BASE}/assets").allowed


def test_close_by_hand_resets_counts() -> None:
    """close() closes an open breaker and forgets its failures."""
    breakers, _, seen = make(fail_max=3)
    trip(breakers)
    breakers.close(WO)
    snap = breakers.states()[WO]
    assert (snap.state, snap.failures, snap.retry_after, snap.opened_at) == ("closed", 0, 0.0, None)
    assert transitions(seen)[-1] == ("open", "closed")
    breakers.admit(WO)
    breakers.record(WO, "failure")
    breakers.close(WO)  # already closed: no event, count reset
    assert breakers.states()[WO].failures == 0
    assert transitions(seen)[-1] == ("open", "closed")


def test_states_snapshot() -> None:
    """states() reports state, failures, opened_at (Unix time) and retry_after per scope."""
    breakers, clock, _ = make(fail_max=2, reset_timeout=10.0)
    breakers.admit(f"{BASE}/assets")
    trip(breakers)
    opened_wall = clock.time()
    clock.advance(3.0)
    states = breakers.states()
    assert set(states) == {WO, f"{BASE}/assets"}
    snap = states[WO]
    assert (snap.state, snap.failures) == ("open", 2)
    assert snap.opened_at == pytest.approx(opened_wall)
    assert snap.retry_after == pytest.approx(7.0)
    clock.advance(7.0)
    assert breakers.states()[WO].state == "open"  # looking does not move it to half-open
    breakers.admit(WO)
    assert breakers.states()[WO].state == "half-open"


# ---- pybreaker interop -----------------------------------------------------------------------


class Recorder(pybreaker.CircuitBreakerListener):
    def __init__(self) -> None:
        self.changes: list[tuple[str | None, str]] = []

    def state_change(
        self,
        cb: pybreaker.CircuitBreaker,
        old_state: pybreaker.CircuitBreakerState | None,
        new_state: pybreaker.CircuitBreakerState,
    ) -> None:
        self.changes.append((old_state.name if old_state else None, new_state.name))


def test_pybreaker_holds_the_state_and_listeners_see_it() -> None:
    """The pybreaker CircuitBreaker of a scope mirrors every transition; its listeners fire."""
    recorder = Recorder()
    breakers, clock, _ = make(fail_max=2, listeners=(recorder,))
    trip(breakers)
    cb = breakers.breaker(WO)
    assert (cb.current_state, cb.fail_counter, cb.name) == ("open", 2, WO)
    clock.advance(10.0)
    breakers.admit(WO)
    assert cb.current_state == "half-open"
    breakers.record(WO, "success", probe=True)
    assert (cb.current_state, cb.fail_counter) == ("closed", 0)
    assert recorder.changes == [("closed", "open"), ("open", "half-open"), ("half-open", "closed")]


def test_shared_storage_is_seen_by_another_registry() -> None:
    """Two registries on one storage (as with CircuitRedisStorage): one opens, the other refuses."""
    shared: dict[str, pybreaker.CircuitMemoryStorage] = {}

    def storage(scope: str) -> pybreaker.CircuitBreakerStorage:
        return shared.setdefault(scope, pybreaker.CircuitMemoryStorage("closed"))

    clock = FakeClock(wall_start=time.time())
    config = BreakerConfig(fail_max=2, reset_timeout=60.0, storage=storage)
    bus = EventBus()
    seen: list[Event] = []
    bus.subscribe(seen.append)
    first, second = Breakers(config, clock=clock), Breakers(config, clock=clock, events=bus)
    assert second.admit(WO).allowed
    trip(first)
    refused = second.admit(WO)
    assert (refused.allowed, refused.state) == (False, "open")
    assert 55.0 < refused.retry_after <= 60.0
    assert transitions(seen) == [("closed", "open")]
    first.close(WO)
    assert second.admit(WO).allowed


def test_hooks_may_read_the_breakers() -> None:
    """Events are emitted outside every lock: a hook may call states() without deadlock."""
    clock = FakeClock()
    bus = EventBus()
    breakers = Breakers(BreakerConfig(fail_max=1), clock=clock, events=bus)
    seen: list[str] = []
    bus.subscribe(lambda e: seen.append(breakers.states()[WO].state))
    trip(breakers)
    assert seen == ["open"]


# ---- exactly one probe under concurrency ------------------------------------------------------


def test_exactly_one_probe_with_20_threads() -> None:
    """20 threads racing in half-open: exactly one is let through."""
    breakers, clock, _ = make(fail_max=1, reset_timeout=5.0)
    trip(breakers)
    clock.advance(5.0)
    barrier = threading.Barrier(20)
    results: list[Admission] = []
    lock = threading.Lock()

    def worker() -> None:
        barrier.wait()
        admission = breakers.admit(WO)
        with lock:
            results.append(admission)

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 20
    assert sum(a.allowed for a in results) == 1
    assert sum(a.probe for a in results) == 1


def test_exactly_one_probe_through_the_sync_layer_with_20_threads() -> None:
    """Through BreakerLayer: one thread's probe reaches the server, 19 fail fast meanwhile."""
    breakers, clock, _ = make(fail_max=1, reset_timeout=5.0)
    trip(breakers)
    clock.advance(5.0)
    sent: list[httpx.Request] = []
    release = threading.Event()
    inside = threading.Event()

    def handler(req: httpx.Request) -> httpx.Response:
        sent.append(req)
        inside.set()
        assert release.wait(10)
        return httpx.Response(200)

    layer = BreakerLayer(httpx.MockTransport(handler), breakers)
    barrier = threading.Barrier(20)
    outcomes: list[object] = []
    lock = threading.Lock()
    all_refused = threading.Event()

    def worker() -> None:
        barrier.wait()
        try:
            outcome: object = layer.handle_request(request()).status_code
        except CircuitOpenError as exc:
            outcome = exc
        with lock:
            outcomes.append(outcome)
            if sum(isinstance(o, CircuitOpenError) for o in outcomes) == 19:
                all_refused.set()

    threads = [threading.Thread(target=worker) for _ in range(20)]
    for t in threads:
        t.start()
    assert inside.wait(10)
    assert all_refused.wait(10)  # 19 refused while the probe is still in flight
    release.set()
    for t in threads:
        t.join()
    assert len(sent) == 1
    assert outcomes.count(200) == 1
    assert breakers.states()[WO].state == "closed"


async def test_exactly_one_probe_with_50_tasks() -> None:
    """50 asyncio tasks racing in half-open: one probe is sent; no lock is held across await."""
    breakers, clock, _ = make(fail_max=1, reset_timeout=5.0)
    trip(breakers)
    clock.advance(5.0)
    gate = asyncio.Event()
    sent: list[httpx.Request] = []

    async def handler(req: httpx.Request) -> httpx.Response:
        sent.append(req)
        await gate.wait()
        return httpx.Response(200)

    layer = AsyncBreakerLayer(httpx.MockTransport(handler), breakers)

    refused = 0
    all_refused = asyncio.Event()

    async def call() -> object:
        nonlocal refused
        try:
            return (await layer.handle_async_request(request())).status_code
        except CircuitOpenError as exc:
            refused += 1
            if refused == 49:
                all_refused.set()
            return exc

    tasks = [asyncio.create_task(call()) for _ in range(50)]
    await asyncio.wait_for(all_refused.wait(), 10)  # 49 refused while the probe waits
    gate.set()
    results = await asyncio.gather(*tasks)
    assert len(sent) == 1
    assert results.count(200) == 1
    assert sum(isinstance(r, CircuitOpenError) for r in results) == 49
    assert breakers.states()[WO].state == "closed"


async def test_cancelled_probe_does_not_wedge_half_open() -> None:
    """A probe task cancelled mid-flight releases the slot; the next call probes."""
    breakers, clock, _ = make(fail_max=1, reset_timeout=5.0)
    trip(breakers)
    clock.advance(5.0)
    never = asyncio.Event()

    async def handler(req: httpx.Request) -> httpx.Response:
        await never.wait()
        return httpx.Response(200)

    layer = AsyncBreakerLayer(httpx.MockTransport(handler), breakers)
    task = asyncio.create_task(layer.handle_async_request(request()))
    await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert breakers.admit(breakers.for_request(request())).probe


# ---- the layers --------------------------------------------------------------------------------


def failing(exc: Exception) -> Callable[[httpx.Request], httpx.Response]:
    def handler(req: httpx.Request) -> httpx.Response:
        raise exc

    return handler


def test_layer_fails_fast_with_circuit_open_error() -> None:
    """Once open, the layer raises CircuitOpenError at once (well under 5 ms), sending nothing."""
    breakers, _, _ = make(fail_max=2, reset_timeout=30.0)
    calls: list[httpx.Request] = []

    def handler(req: httpx.Request) -> httpx.Response:
        calls.append(req)
        return httpx.Response(503)

    layer = BreakerLayer(httpx.MockTransport(handler), breakers)
    for _ in range(2):
        assert layer.handle_request(request()).status_code == 503
    for _ in range(100):
        with pytest.raises(CircuitOpenError) as info:
            layer.handle_request(request())
    assert len(calls) == 2
    exc = info.value
    assert (exc.scope, exc.retry_after, exc.method, exc.path) == (
        WO,
        30.0,
        "GET",
        "/v1/workorders/7",
    )
    assert WO in str(exc)


@pytest.mark.parametrize(
    "error", [TimeoutError("read timeout", phase="read"), ConnectionError("reset", sent=True)]
)
def test_layer_reraises_errors_unchanged_and_counts_them(error: Exception) -> None:
    """Transport errors go through as the same object and count as failures."""
    breakers, _, _ = make(fail_max=2)
    layer = BreakerLayer(httpx.MockTransport(failing(error)), breakers)
    for _ in range(2):
        with pytest.raises(type(error)) as info:
            layer.handle_request(request())
        assert info.value is error
    with pytest.raises(CircuitOpenError):
        layer.handle_request(request())


def test_layer_returns_responses_unchanged() -> None:
    """The response object below is the one returned."""
    answer = httpx.Response(200, json={"ok": True})
    layer = BreakerLayer(httpx.MockTransport(lambda r: answer), make()[0])
    assert layer.handle_request(request()) is answer


async def test_async_layer_opens_and_recovers() -> None:
    """The async layer: 5xx opens, refusal is immediate, the probe closes again."""
    breakers, clock, seen = make(fail_max=2, reset_timeout=10.0)
    statuses = iter([500, 502, 200, 200])

    async def handler(req: httpx.Request) -> httpx.Response:
        return httpx.Response(next(statuses))

    layer = AsyncBreakerLayer(httpx.MockTransport(handler), breakers)
    assert (await layer.handle_async_request(request())).status_code == 500
    assert (await layer.handle_async_request(request())).status_code == 502
    with pytest.raises(CircuitOpenError):
        await layer.handle_async_request(request())
    clock.advance(10.0)
    assert (await layer.handle_async_request(request())).status_code == 200
    assert (await layer.handle_async_request(request())).status_code == 200
    assert transitions(seen) == [("closed", "open"), ("open", "half-open"), ("half-open", "closed")]
    await layer.aclose()


def test_isolated_message_says_how_to_recover() -> None:
    """CircuitOpenError for an isolated breaker says it was isolated by hand."""
    breakers, _, _ = make()
    breakers.isolate()
    layer = BreakerLayer(httpx.MockTransport(lambda r: httpx.Response(200)), breakers)
    with pytest.raises(CircuitOpenError, match="isolated") as info:
        layer.handle_request(request())
    assert info.value.retry_after == math.inf
    layer.close()


# ---- property: the breaker never skips a state --------------------------------------------------

AUTOMATIC = {
    ("closed", "open"),
    ("open", "half-open"),
    ("half-open", "closed"),
    ("half-open", "open"),
}


class BreakerMachine(RuleBasedStateMachine):
    """Random admits, outcomes, clock moves and manual actions. Every automatic transition is
    one step of closed -> open -> half-open -> closed/open; manual ones only isolate or close;
    at most one probe is in flight within a reset interval."""

    def __init__(self) -> None:
        super().__init__()
        self.breakers, self.clock, self.events = make(fail_max=3, reset_timeout=10.0)
        self.in_flight: list[tuple[int, Admission]] = []
        self.live_probes: dict[int, float] = {}  # token -> when the probe was let through
        self.tokens = 0
        self.checked = 0

    def _check_new_events(self, manual: bool) -> None:
        new = transitions(self.events)[self.checked :]
        self.checked += len(new)
        for old, state in new:
            if manual:
                assert state in ("isolated", "closed"), (old, state)
            else:
                assert (old, state) in AUTOMATIC, (old, state)

    @rule()
    def admit(self) -> None:
        admission = self.breakers.admit(WO)
        if admission.allowed:
            self.tokens += 1
            self.in_flight.append((self.tokens, admission))
            if admission.probe:
                now = self.clock.monotonic()
                live = [t for t in self.live_probes.values() if now - t < 10.0]
                assert not live, "a second probe while one is in flight"
                self.live_probes[self.tokens] = now
        self._check_new_events(manual=False)

    @precondition(lambda self: bool(self.in_flight))
    @rule(
        index=st.integers(min_value=0),
        outcome=st.sampled_from(["success", "failure", "neutral"]),
    )
    def finish(self, index: int, outcome: str) -> None:
        token, admission = self.in_flight.pop(index % len(self.in_flight))
        self.live_probes.pop(token, None)
        self.breakers.record(WO, outcome, probe=admission.probe)  # type: ignore[arg-type]
        self._check_new_events(manual=False)

    @rule(seconds=st.sampled_from([0.5, 3.0, 9.99, 10.0, 25.0]))
    def wait(self, seconds: float) -> None:
        self.clock.advance(seconds)

    @rule()
    def isolate(self) -> None:
        self.breakers.isolate(WO)
        self.live_probes.clear()
        self._check_new_events(manual=True)

    @rule()
    def close(self) -> None:
        self.breakers.close(WO)
        self.live_probes.clear()
        self._check_new_events(manual=True)

    @invariant()
    def snapshot_is_consistent(self) -> None:
        states = self.breakers.states()
        if WO in states:
            snap = states[WO]
            assert snap.retry_after >= 0
            assert snap.failures >= 0
            if snap.state == "closed":
                assert snap.failures < 3


BreakerMachine.TestCase.settings = settings(max_examples=150, stateful_step_count=40, deadline=None)
TestBreakerMachine = BreakerMachine.TestCase


@pytest.mark.parametrize(
    "base",
    [
        "https://api.example.test/v1/",
        "http://127.0.0.1:8123/v1/",
        "https://API.Example.test:443/v1/",
        "https://api.example.test/",
        "https://api.example.test/a%20b/v2/",
        "http://[::1]:9000/v1/",
    ],
)
@pytest.mark.parametrize("route", ["/workorders/{id}", "/workorders", "/meters/{id}/readings"])
def test_the_scope_from_the_stamped_base_is_the_scope_from_the_url(base: str, route: str) -> None:
    from maintainx_resilient._operation import Operation, expect_json
    from maintainx_resilient.policies.breaker import _parsed_scope

    op = Operation.make("GET", route, expect_json, path_params={"id": 42})
    built = op.build_request(httpx.Client(base_url=base))
    assert BASE_EXTENSION in built.extensions
    for mode in ("endpoint", "base_url"):
        assert scope_of(built, mode) == _parsed_scope(built, mode)  # type: ignore[arg-type]
