"""The circuit breakers shared by a fleet: one process opens, all fail fast; exactly one probe
per reset interval across the fleet; failures counted fleet-wide; isolate/close for the fleet;
Redis out or corrupt never fails a call."""

from __future__ import annotations

import json
import math
import threading
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pybreaker
import pytest

from maintainx_resilient import (
    AsyncMaintainXClient,
    BreakerConfig,
    CircuitOpenError,
    MaintainXClient,
    ServerError,
)
from maintainx_resilient._clock import FakeClock
from maintainx_resilient._events import BreakerStateChanged, Event, EventBus, FleetStateChanged
from maintainx_resilient.fleet import Fleet, FleetConfig
from maintainx_resilient.fleet._breaker import (
    BREAKER_TTL,
    BreakerRecord,
    RedisBreakerStore,
    decide_admission,
    decide_outcome,
    decode_record,
    encode_record,
)
from maintainx_resilient.policies.breaker import Admission, Breakers, LocalBreakerStore
from maintainx_resilient.testing import Simulator
from tests.webhooks._private_redis import PrivateRedis

pytestmark = pytest.mark.redis

WO = "https://api.example.test/v1/workorders"
ASSETS = "https://api.example.test/v1/assets"
ME = "host:1:aaaaaa"


# ---- the JSON form --------------------------------------------------------------------------


def test_record_round_trips_through_json() -> None:
    for record in (
        BreakerRecord(),
        BreakerRecord("closed", failures=3, by=ME),
        BreakerRecord("open", 5, opened_at=1_750_000_000.25, by=ME),
        BreakerRecord("half-open", 5, probe_until=1_750_000_030.5, by=ME),
        BreakerRecord("isolated", 0, opened_at=1_750_000_000.0, by=ME),
    ):
        assert decode_record(encode_record(record)) == record


def _raw(**changes: Any) -> bytes:
    data: dict[str, Any] = {
        "state": "open",
        "failures": 2,
        "opened_at": 1_750_000_000.0,
        "probe_until": None,
        "by": ME,
    }
    data.update(changes)
    return json.dumps(data).encode()


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"\xff\xfe",
        b"\x80\x04\x95pickle?",
        b"[]",
        b"{}",
        b"null",
        _raw(extra=1),
        _raw(state="ajar"),
        _raw(state=None),
        _raw(failures=-1),
        _raw(failures=True),
        _raw(failures="2"),
        _raw(failures=2.5),
        _raw(opened_at="soon"),
        _raw(opened_at=-5.0),
        _raw(opened_at=None),  # open, but since when?
        _raw(state="closed"),  # closed with an opened_at
        _raw(state="half-open", opened_at=None),  # half-open without a claim
        _raw(by=7),
        _raw(by="x" * 500),
        b'{"state":"open","failures":1,"opened_at":NaN,"probe_until":null,"by":""}',
        b'{"state":"open","failures":1,"opened_at":1e999,"probe_until":null,"by":""}',
    ],
)
def test_a_corrupt_record_counts_as_none(raw: bytes) -> None:
    assert decode_record(raw) is None


# ---- the pure decisions ---------------------------------------------------------------------


def test_decisions_walk_the_state_machine() -> None:
    now, t = 1_750_000_000.0, 10.0
    record = BreakerRecord()
    assert decide_admission(WO, record, now, reset_timeout=t, worker=ME)[0] is None
    for count in (1, 2):
        new = decide_outcome(record, "failure", now, probe=False, fail_max=3, worker=ME)
        assert new is not None and (new.state, new.failures) == ("closed", count)
        record = new
    record = decide_outcome(record, "failure", now, probe=False, fail_max=3, worker=ME) or record
    assert (record.state, record.failures, record.opened_at) == ("open", 3, now)
    # open: refused until the interval ends, then this attempt claims the probe
    new, admission = decide_admission(WO, record, now + 4.0, reset_timeout=t, worker=ME)
    assert new is None and (admission.allowed, admission.state) == (False, "open")
    assert admission.retry_after == pytest.approx(6.0)
    claimed, admission = decide_admission(WO, record, now + t, reset_timeout=t, worker=ME)
    assert admission == Admission(WO, True, "half-open", probe=True)
    assert claimed == BreakerRecord("half-open", 3, probe_until=now + 2 * t, by=ME)
    # the claim holds for one interval
    new, admission = decide_admission(WO, claimed, now + t + 1, reset_timeout=t, worker="b")
    assert new is None and (admission.allowed, admission.retry_after) == (False, 9.0)
    # the probe fails: a new interval from the failure
    reopened = decide_outcome(claimed, "failure", now + t + 2, probe=True, fail_max=3, worker=ME)
    assert reopened == BreakerRecord("open", 3, opened_at=now + t + 2, by=ME)
    # the probe succeeds: closed, count reset
    closed = decide_outcome(claimed, "success", now + t + 2, probe=True, fail_max=3, worker=ME)
    assert closed == BreakerRecord("closed", 0, by=ME)
    # attempts that were not the probe say nothing in half-open; nothing counts when open
    assert decide_outcome(claimed, "failure", now, probe=False, fail_max=3, worker=ME) is None
    assert decide_outcome(record, "failure", now, probe=False, fail_max=3, worker=ME) is None


def test_a_neutral_probe_frees_only_its_own_claim() -> None:
    claimed = BreakerRecord("half-open", 3, probe_until=1010.0, by=ME)
    freed = decide_outcome(claimed, "neutral", 1002.0, probe=True, fail_max=3, worker=ME)
    assert freed == BreakerRecord("half-open", 3, probe_until=1002.0, by=ME)
    assert decide_outcome(claimed, "neutral", 1002.0, probe=True, fail_max=3, worker="b") is None


def test_a_clock_behind_never_waits_more_than_one_interval() -> None:
    """Another host's clock is ahead: its opened_at is in our future. We wait one interval."""
    record = BreakerRecord("open", 3, opened_at=2000.0, by="b")
    _, admission = decide_admission(WO, record, 1000.0, reset_timeout=10.0, worker=ME)
    assert (admission.allowed, admission.retry_after) == (False, 10.0)


# ---- helpers on the shared Redis ------------------------------------------------------------


def _fleet(url: str, name: str, clock: FakeClock, **kw: Any) -> Fleet:
    return Fleet(FleetConfig(url=url, name=name, **kw), clock=clock)


def _breakers(
    fleet: Fleet, clock: FakeClock, *, fail_max: int = 3, events: EventBus | None = None, **kw: Any
) -> Breakers:
    config = BreakerConfig(fail_max=fail_max, reset_timeout=10.0, **kw)
    return Breakers(config, clock=clock, events=events, store=fleet.breaker_store)


class _Fleet:
    """Several processes of one fleet: each registry has its own Fleet (its own connection)."""

    def __init__(self, url: str, name: str, n: int, *, fail_max: int = 3) -> None:
        self.clock = FakeClock()
        self.fleets = [_fleet(url, name, self.clock) for _ in range(n)]
        self.events: list[list[Event]] = [[] for _ in range(n)]
        self.members: list[Breakers] = []
        for fleet, seen in zip(self.fleets, self.events, strict=True):
            bus = EventBus()
            bus.subscribe(seen.append)
            self.members.append(_breakers(fleet, self.clock, fail_max=fail_max, events=bus))

    def close(self) -> None:
        for fleet in self.fleets:
            fleet.close()


@pytest.fixture
def pair(redis_url: str, fleet_name: str) -> Iterator[_Fleet]:
    fleet = _Fleet(redis_url, fleet_name, 2)
    yield fleet
    fleet.close()


def _trip(breakers: Breakers, scope: str = WO, n: int | None = None) -> None:
    for _ in range(breakers.config.fail_max if n is None else n):
        admission = breakers.admit(scope)
        assert admission.allowed
        breakers.record(scope, "failure", probe=admission.probe)


def _transitions(events: list[Event]) -> list[tuple[str, str]]:
    return [(e.old, e.new) for e in events if isinstance(e, BreakerStateChanged)]


# ---- one breaker for the fleet --------------------------------------------------------------


def test_open_in_one_process_refuses_in_the_other_at_once(pair: _Fleet) -> None:
    first, second = pair.members
    assert second.admit(WO).allowed
    _trip(first)
    refused = second.admit(WO)
    assert (refused.allowed, refused.state, refused.retry_after) == (False, "open", 10.0)
    assert second.admit(ASSETS).allowed  # another scope is not affected
    pair.clock.advance(4.0)
    assert second.admit(WO).retry_after == pytest.approx(6.0)
    assert _transitions(pair.events[1]) == [("closed", "open")]  # seen, not made, here
    assert second.breaker(WO).current_state == "open"  # the pybreaker object follows it


def test_failures_are_counted_across_the_fleet(pair: _Fleet) -> None:
    """fail_max 3: two failures in one process and one in the other open it for both."""
    first, second = pair.members
    _trip(first, n=2)
    assert second.states()[WO].failures == 2
    _trip(second, n=1)
    assert not first.admit(WO).allowed and not second.admit(WO).allowed
    assert first.states()[WO].failures == 3


def test_a_success_anywhere_resets_the_count(pair: _Fleet) -> None:
    first, second = pair.members
    _trip(first, n=2)
    assert second.admit(WO).allowed
    second.record(WO, "success")
    _trip(first, n=2)
    assert second.admit(WO).allowed  # 2, success, 2: never 3 in a row


def test_probe_success_closes_everywhere_and_failure_reopens_everywhere(pair: _Fleet) -> None:
    first, second = pair.members
    _trip(first)
    pair.clock.advance(10.0)
    probe = second.admit(WO)
    assert probe.probe and probe.allowed
    refused = first.admit(WO)
    assert (refused.allowed, refused.state) == (False, "half-open")
    assert refused.retry_after == pytest.approx(10.0)
    second.record(WO, "failure", probe=True)  # a new interval, for everyone
    pair.clock.advance(9.0)
    assert first.admit(WO).state == "open" and not first.admit(WO).allowed
    pair.clock.advance(1.0)
    probe = first.admit(WO)
    assert probe.probe
    assert not second.admit(WO).allowed
    first.record(WO, "success", probe=True)
    assert second.admit(WO) == Admission(WO, True, "closed")
    assert second.states()[WO].failures == 0
    assert _transitions(pair.events[0]) == [
        ("closed", "open"),
        ("open", "half-open"),
        ("half-open", "open"),
        ("open", "half-open"),
        ("half-open", "closed"),
    ]


def test_a_dead_probe_holds_the_claim_one_interval(pair: _Fleet) -> None:
    """The probe's process died (never reports): the next one goes when its claim ends."""
    first, second = pair.members
    _trip(first)
    pair.clock.advance(10.0)
    assert first.admit(WO).probe  # ... and this process dies
    pair.clock.advance(9.9)
    assert not second.admit(WO).allowed
    pair.clock.advance(0.1)
    assert second.admit(WO).probe


def _race(members: list[Breakers], threads_per_member: int) -> list[tuple[int, Admission]]:
    """Every member's threads ask for admission at once (their Redis connections apart)."""
    n = len(members) * threads_per_member
    barrier = threading.Barrier(n)
    answers: list[tuple[int, Admission]] = []
    lock = threading.Lock()

    def ask(i: int) -> None:
        barrier.wait(10)
        admission = members[i].admit(WO)
        with lock:
            answers.append((i, admission))

    threads = [threading.Thread(target=ask, args=(i % len(members),)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert len(answers) == n
    return answers


def test_exactly_one_probe_among_contending_processes(redis_url: str, fleet_name: str) -> None:
    """4 processes (own connections) x 5 threads race in half-open, 3 intervals in a row:
    one admission per interval, whoever wins."""
    fleet = _Fleet(redis_url, fleet_name, 4)
    try:
        _trip(fleet.members[0])
        for _ in range(3):
            fleet.clock.advance(10.0)
            answers = _race(fleet.members, 5)
            winners = [(i, a) for i, a in answers if a.allowed]
            assert len(winners) == 1 and winners[0][1].probe
            assert {a.state for _, a in answers} == {"half-open"}
            fleet.members[winners[0][0]].record(WO, "failure", probe=True)
        assert all(f.link.joined for f in fleet.fleets)
    finally:
        fleet.close()


# ---- by hand --------------------------------------------------------------------------------


def test_isolate_and_close_act_on_the_fleet(pair: _Fleet, redis_url: str, fleet_name: str) -> None:
    first, second = pair.members
    first.isolate(WO)
    refused = second.admit(WO)
    assert (refused.allowed, refused.state, refused.retry_after) == (False, "isolated", math.inf)
    assert second.admit(ASSETS).allowed
    second.close(WO)
    assert first.admit(WO).allowed
    assert _transitions(pair.events[0]) == [("closed", "isolated"), ("isolated", "closed")]
    # The on-call engineer's process (the CLI) has used no scope: it acts on every one,
    # those the fleet has used and those it will.
    oncall_fleet = _fleet(redis_url, fleet_name, pair.clock)
    oncall = _breakers(oncall_fleet, pair.clock)
    try:
        _trip(second, ASSETS, n=2)
        oncall.isolate()
        for member in pair.members:
            for scope in (WO, ASSETS, "https://api.example.test/v1/parts"):
                assert member.admit(scope).state == "isolated"
                member.record(scope, "success")
        assert {s.state for s in oncall.states().values()} == {"isolated"}
        oncall.close()
        for member in pair.members:
            for scope in (WO, ASSETS, "https://api.example.test/v1/parts"):
                assert member.admit(scope) == Admission(scope, True, "closed")
        assert oncall.states()[ASSETS].failures == 0
    finally:
        oncall_fleet.close()


def test_closing_one_scope_while_every_scope_is_isolated(pair: _Fleet) -> None:
    first, second = pair.members
    first.isolate()
    second.close(WO)
    assert first.admit(WO).allowed
    assert first.admit(ASSETS).state == "isolated"  # a scope no one used: the flag holds it


def test_states_report_the_fleets_scopes(pair: _Fleet, redis_url: str, fleet_name: str) -> None:
    first, _ = pair.members
    _trip(first)
    opened_wall = pair.clock.time()
    pair.clock.advance(3.0)
    oncall_fleet = _fleet(redis_url, fleet_name, pair.clock)
    try:
        states = _breakers(oncall_fleet, pair.clock).states()
        snap = states[WO]
        assert (snap.state, snap.failures) == ("open", 3)
        assert snap.opened_at == pytest.approx(opened_wall)
        assert snap.retry_after == pytest.approx(7.0)
    finally:
        oncall_fleet.close()


def test_listeners_see_what_the_fleet_did(redis_url: str, fleet_name: str) -> None:
    changes: list[str] = []

    class Recorder(pybreaker.CircuitBreakerListener):
        def state_change(self, cb: Any, old_state: Any, new_state: Any) -> None:
            changes.append(new_state.name)

    clock = FakeClock()
    fleets = [_fleet(redis_url, fleet_name, clock) for _ in range(2)]
    try:
        opener = _breakers(fleets[0], clock)
        watcher = _breakers(fleets[1], clock, listeners=(Recorder(),))
        assert watcher.admit(WO).allowed
        _trip(opener)
        watcher.admit(WO)
        assert changes == ["open"]
    finally:
        for fleet in fleets:
            fleet.close()


# ---- corrupt values -------------------------------------------------------------------------


def test_corrupt_values_in_redis_never_crash(pair: _Fleet) -> None:
    first, second = pair.members
    fleet = pair.fleets[0]
    r = fleet.link.redis
    r.set(fleet.keys.breaker(WO), b"\x80\x04pickle?")
    r.set(fleet.keys.breakers_isolated, b"{not json")
    r.set(fleet.keys.breaker_index, b"not a set")  # the wrong type
    r.hset(fleet.keys.breaker(ASSETS), "state", "open")  # the wrong type
    assert first.admit(WO) == Admission(WO, True, "closed")
    assert first.admit(ASSETS) == Admission(ASSETS, True, "closed")
    assert second.states() == {}  # the index was unreadable (and is dropped)
    assert {s.state for s in first.states().values()} == {"closed"}
    _trip(first)  # overwrites the corrupt record with a good one
    assert decode_record(r.get(fleet.keys.breaker(WO))) is not None
    assert not second.admit(WO).allowed
    _trip(first, ASSETS)
    assert not second.admit(ASSETS).allowed
    second.isolate()  # a corrupt index is replaced
    assert r.type(fleet.keys.breaker_index) == b"set"
    assert all(f.link.joined and f.link.status().local_calls == 0 for f in pair.fleets)


def test_records_expire_and_isolation_does_not(pair: _Fleet) -> None:
    first, _ = pair.members
    fleet = pair.fleets[0]
    _trip(first, n=1)
    ttl = fleet.link.redis.pttl(fleet.keys.breaker(WO))
    assert BREAKER_TTL * 1000 - 5000 < ttl <= BREAKER_TTL * 1000
    first.isolate(WO)
    assert fleet.link.redis.pttl(fleet.keys.breaker(WO)) == -1


# ---- Redis out ------------------------------------------------------------------------------


@pytest.fixture
def private_redis() -> Iterator[PrivateRedis]:
    server = PrivateRedis()
    server.start()
    yield server
    server.close()


def _timed(fn: Any, *args: Any, **kw: Any) -> tuple[Any, float]:
    started = time.perf_counter()
    result = fn(*args, **kw)
    return result, time.perf_counter() - started


def test_redis_down_falls_back_to_the_local_breaker_then_rejoins(
    private_redis: PrivateRedis,
) -> None:
    clock = FakeClock()
    seen: list[Event] = []
    bus = EventBus()
    bus.subscribe(seen.append)
    fleets = [Fleet(FleetConfig(url=private_redis.url, name="f"), clock=clock, events=bus)]
    fleets.append(Fleet(FleetConfig(url=private_redis.url, name="f"), clock=clock))
    first = _breakers(fleets[0], clock, events=bus)
    second = _breakers(fleets[1], clock)
    try:
        _trip(second)
        assert not first.admit(WO).allowed  # the fleet's open state, mirrored locally
        private_redis.kill()
        refused, took = _timed(first.admit, WO)
        assert (refused.allowed, refused.state) == (False, "open")  # carries on from it
        assert took < 0.5
        assert fleets[0].link.status().state == "local"
        assert [e.new for e in seen if isinstance(e, FleetStateChanged)] == ["local"]
        # on its own: every call answers at once, from the local breaker, no exception
        for _ in range(50):
            _, took = _timed(first.admit, ASSETS)
            assert took < 0.05
        _trip(first, ASSETS)
        assert not first.admit(ASSETS).allowed
        clock.advance(10.0)
        assert first.admit(WO).probe  # the local breaker probes by itself
        first.record(WO, "success", probe=True)
        assert first.admit(WO).allowed
        # Redis back (empty: no persistence): the fleet's state is used again
        private_redis.start()
        clock.advance(1.0)
        assert first.admit(ASSETS) == Admission(ASSETS, True, "closed")  # the fleet's word
        assert fleets[0].link.status().state == "joined"
        _trip(second, WO)
        assert not first.admit(WO).allowed
    finally:
        for fleet in fleets:
            fleet.close()


def test_a_hung_redis_costs_a_call_about_the_timeout(private_redis: PrivateRedis) -> None:
    clock = FakeClock()
    fleet = Fleet(FleetConfig(url=private_redis.url, name="f"), clock=clock)
    breakers = _breakers(fleet, clock)
    try:
        assert breakers.admit(WO).allowed
        private_redis.hang()
        admission, took = _timed(breakers.admit, WO)
        assert admission.allowed and took < 0.2  # one 50 ms timeout, then local
        for _ in range(20):
            _, took = _timed(breakers.record, WO, "failure")
            assert took < 0.05
        assert not breakers.admit(WO).allowed  # the local breaker opened
        private_redis.resume()
        clock.advance(1.0)
        assert breakers.admit(WO).allowed  # rejoined: the fleet never heard of it
        assert fleet.link.joined
    finally:
        fleet.close()


def test_a_closed_port_is_local_mode_with_no_exception() -> None:
    clock = FakeClock()
    fleet = Fleet(FleetConfig(url="redis://127.0.0.1:1/0", name="f"), clock=clock)
    breakers = _breakers(fleet, clock)
    try:
        _trip(breakers)
        assert not breakers.admit(WO).allowed
        breakers.isolate()
        breakers.close()
        assert set(breakers.states()) == {WO}
        assert not fleet.link.joined
    finally:
        fleet.close()


# ---- clients on the simulator ---------------------------------------------------------------


def _client(
    sim: Simulator, url: str, name: str, clock: FakeClock, transport: Any = None
) -> MaintainXClient:
    return MaintainXClient(
        api_key=sim.API_KEY,
        transport=transport or sim.transport(),
        clock=clock,
        fleet=FleetConfig(url=url, name=name),
        breaker=BreakerConfig(fail_max=3, reset_timeout=30.0),
        retry=None,
        fallback=None,
        throttle=None,
    )


class _Gate(httpx.BaseTransport):
    """The simulator, behind a gate: while closed, a request that reaches it waits (bounded)
    until the test opens it, so a probe stays in flight while the others race."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.opened = threading.Event()
        self.opened.set()

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        assert self.opened.wait(10), "the test never opened the gate"
        return self.inner.handle_request(request)


def test_clients_of_one_fleet_share_the_breaker(redis_url: str, fleet_name: str) -> None:
    clock, sim = FakeClock(), Simulator(work_orders=5, rate_limit=None)
    a, b = (_client(sim, redis_url, fleet_name, clock) for _ in range(2))
    with a, b:
        assert isinstance(a.policies.breakers and a.policies.breakers.store, RedisBreakerStore)
        sim.faults.outage()
        for _ in range(3):
            with pytest.raises(ServerError):
                a.work_orders.get(1)
        sent = sim.stats.requests_total
        with pytest.raises(CircuitOpenError) as refused:
            b.work_orders.get(1)
        assert refused.value.retry_after == 30.0
        assert sim.stats.requests_total == sent  # failed fast: nothing sent


def test_one_probe_per_interval_reaches_the_server(redis_url: str, fleet_name: str) -> None:
    """4 clients (own Redis connections) x 3 threads each, during an outage then after it:
    while one probe is in flight (held at the gate), the 11 other calls fail fast; exactly
    one request per reset interval reaches the simulator; its success closes the breaker for
    every client."""
    clock, sim = FakeClock(), Simulator(work_orders=5, rate_limit=None)
    gate = _Gate(sim.transport())
    clients = [_client(sim, redis_url, fleet_name, clock, gate) for _ in range(4)]

    def burst(*, hold: bool) -> list[BaseException | None]:
        """Each client's 3 threads call at once. ``hold``: the gate stays closed until 11
        calls have ended (the 12th is the probe, waiting at the gate)."""
        barrier = threading.Barrier(12)
        results: list[BaseException | None] = []
        done = threading.Condition()

        def call(client: MaintainXClient) -> None:
            barrier.wait(10)
            outcome: BaseException | None = None
            try:
                client.work_orders.get(1)
            except (ServerError, CircuitOpenError) as exc:
                outcome = exc
            with done:
                results.append(outcome)
                done.notify_all()

        if hold:
            gate.opened.clear()
        threads = [threading.Thread(target=call, args=(c,)) for c in clients for _ in range(3)]
        for t in threads:
            t.start()
        if hold:
            with done:
                assert done.wait_for(lambda: len(results) >= 11, timeout=20)
                assert all(isinstance(r, CircuitOpenError) for r in results)
            assert sim.stats.requests_total == before  # the probe is still at the gate
            gate.opened.set()
        for t in threads:
            t.join(30)
        assert len(results) == 12
        return results

    try:
        sim.faults.outage()
        for _ in range(3):
            with pytest.raises(ServerError):
                clients[0].work_orders.get(1)
        for _ in range(3):  # the outage goes on: each interval's probe fails
            clock.advance(30.0)
            before = sim.stats.requests_total
            results = burst(hold=True)
            assert sim.stats.requests_total - before == 1
            assert sum(isinstance(r, ServerError) for r in results) == 1
        before = sim.stats.requests_total
        results = burst(hold=False)  # within the interval: nothing at all is sent
        assert all(isinstance(r, CircuitOpenError) for r in results)
        assert sim.stats.requests_total == before
        sim.faults.heal()
        clock.advance(30.0)
        results = burst(hold=True)
        assert sim.stats.requests_total - before == 1  # the probe, which closes it
        assert sum(r is None for r in results) == 1
        assert burst(hold=False) == [None] * 12  # closed for every client
        assert sim.stats.requests_total - before == 13
    finally:
        gate.opened.set()
        for client in clients:
            client.close()


async def test_an_async_client_fails_fast_on_the_fleets_state(
    redis_url: str, fleet_name: str
) -> None:
    clock, sim = FakeClock(), Simulator(work_orders=5, rate_limit=None)
    with _client(sim, redis_url, fleet_name, clock) as opener:
        async with AsyncMaintainXClient(
            api_key=sim.API_KEY,
            transport=sim.transport(),
            clock=clock,
            fleet=FleetConfig(url=redis_url, name=fleet_name),
            breaker=BreakerConfig(fail_max=3, reset_timeout=30.0),
            retry=None,
            fallback=None,
            throttle=None,
        ) as watcher:
            assert (await watcher.work_orders.get(1)).id == 1
            sim.faults.outage()
            for _ in range(3):
                with pytest.raises(ServerError):
                    opener.work_orders.get(1)
            sent = sim.stats.requests_total
            with pytest.raises(CircuitOpenError):
                await watcher.work_orders.get(1)
            assert sim.stats.requests_total == sent


def test_without_a_fleet_the_store_is_local() -> None:
    sim = Simulator(work_orders=1, rate_limit=None)
    with MaintainXClient(api_key=sim.API_KEY, transport=sim.transport(), fleet=None) as client:
        assert client.policies.breakers is not None
        assert isinstance(client.policies.breakers.store, LocalBreakerStore)
