"""The throttle's state in Redis: atomic decisions shared by processes, JSON checked on the
way in, and Redis failing never failing a call."""

from __future__ import annotations

import json
import threading
from typing import Any

import pytest
import redis

from maintainx_resilient import ConfigurationError, MaintainXClient
from maintainx_resilient._clock import FakeClock
from maintainx_resilient._events import Event, EventBus, FleetStateChanged
from maintainx_resilient.fleet import Fleet, FleetConfig
from maintainx_resilient.fleet._config import redacted_url, resolve_fleet
from maintainx_resilient.fleet._throttle import decode_state, encode_state
from maintainx_resilient.policies.throttle import ScopeState, Throttle, ThrottleConfig
from maintainx_resilient.testing import Simulator
from tests.webhooks._private_redis import PrivateRedis

pytestmark = pytest.mark.redis

CANARY = "canary-fleet-pass-3f9a"


def _fleet(url: str, name: str, clock: FakeClock | None = None, **kw: Any) -> Fleet:
    return Fleet(FleetConfig(url=url, name=name, **kw), clock=clock or FakeClock())


def _bump(states: list[ScopeState]) -> tuple[list[ScopeState], int]:
    new = [s._replace(granted=s.granted + 1) for s in states]
    return new, new[0].granted


# ---- the JSON form --------------------------------------------------------------------------


def test_state_round_trips_through_json() -> None:
    state = ScopeState(
        limit=90,
        window_end=1_700_000_060.5,
        remaining=12,
        heard_at=1_700_000_001.25,
        assumed=True,
        sending=3,
        promised=2,
        queued=1,
        epoch=4,
        reason="429",
        slices=((170, 2), (171, 5)),
        counted=7,
        last=1_700_000_002.0,
        backoff=2,
        suspect=(5, None, 500.0),
        granted=77,
        throttled=1,
        waited=3.5,
    )
    assert decode_state(encode_state(state)) == state
    # the slices' sum is derived on reading, whatever the record says
    lying = encode_state(state._replace(counted=0))
    assert decode_state(lying).counted == 7


@pytest.mark.parametrize(
    "raw",
    [
        b"not json",
        b"\xff\xfe",
        b"[]",
        b"{}",
        json.dumps({**ScopeState()._asdict(), "extra": 1}).encode(),
        json.dumps({**ScopeState()._asdict(), "sending": -1}).encode(),
        json.dumps({**ScopeState()._asdict(), "sending": "1"}).encode(),
        json.dumps({**ScopeState()._asdict(), "granted": True}).encode(),
        json.dumps({**ScopeState()._asdict(), "window_end": "soon"}).encode(),
        json.dumps({**ScopeState()._asdict(), "slices": [[1]]}).encode(),
        json.dumps({**ScopeState()._asdict(), "slices": 5}).encode(),
        json.dumps({**ScopeState()._asdict(), "suspect": [1, 2]}).encode(),
        json.dumps({**ScopeState()._asdict(), "reason": "x" * 100}).encode(),
        json.dumps({**ScopeState()._asdict(), "assumed": 1}).encode(),
        b'{"limit": 1e999}',
    ],
)
def test_a_corrupt_state_counts_as_a_fresh_scope(raw: bytes) -> None:
    assert decode_state(raw) == ScopeState()


def test_a_corrupt_value_in_redis_does_not_break_a_decision(
    redis_url: str, fleet_name: str
) -> None:
    fleet = _fleet(redis_url, fleet_name)
    fleet.link.redis.set(fleet.keys.throttle("key:x"), b"\x80\x04pickle?")
    assert fleet.throttle_store.transact(["key:x"], _bump) == 1
    assert fleet.link.joined
    fleet.close()


# ---- shared and atomic ----------------------------------------------------------------------


def test_decisions_of_many_connections_are_atomic(redis_url: str, fleet_name: str) -> None:
    """8 threads, each with its own connection (as 8 processes would), 100 decisions each on
    the same two scopes: no decision is lost or counted twice. Each command's bound is 2 s, not
    50 ms, and each store retries a contended decision for 30 s, not 250 ms: on a loaded CI
    machine (coverage tracing 8 threads that share one GIL) a command can take longer and a
    thread can lose the race for longer, and the process then decides on local state (the
    intended degradation, tested below), which is not what this test is about."""
    fleets = [_fleet(redis_url, fleet_name, timeout=2.0) for _ in range(8)]
    for f in fleets:
        f.throttle_store.contention_budget = 30.0

    def work(fleet: Fleet) -> None:
        for _ in range(100):
            fleet.throttle_store.transact(["key:a", "org:1"], _bump)

    threads = [threading.Thread(target=work, args=(f,)) for f in fleets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(f.link.joined and f.link.status().local_calls == 0 for f in fleets)
    assert sum(f.throttle_store.contended for f in fleets) == 0  # retried, not fallen back
    states = fleets[0].throttle_store.states()
    assert states["key:a"].granted == 800
    assert states["org:1"].granted == 800
    for f in fleets:
        f.close()


def test_a_decision_that_stays_contended_is_taken_on_local_state(
    redis_url: str, fleet_name: str
) -> None:
    """Another process changes the scope between every read and write: once the contention
    budget is spent, the decision is taken once on local state (counted), not looped on, and
    the shared record keeps only what the other process wrote."""
    fleet = _fleet(redis_url, fleet_name)
    fleet.throttle_store.contention_budget = 0.0
    other = redis.Redis.from_url(redis_url)
    key = fleet.keys.throttle("key:a")
    tries = 0

    def racing(states: list[ScopeState]) -> tuple[list[ScopeState], int]:
        nonlocal tries
        tries += 1
        other.set(key, encode_state(ScopeState(granted=100 + tries)))
        return _bump(states)

    assert fleet.throttle_store.transact(["key:a"], racing) == 1  # the local store's count
    assert fleet.throttle_store.contended == 1
    assert tries == 2  # one shared try, lost; then the local decision
    assert decode_state(other.get(key)).granted == 102
    assert fleet.link.joined  # contention is not Redis failing
    other.close()
    fleet.close()


class _Counted:
    """Counts the commands one Redis client sends (each is one round trip here)."""

    def __init__(self, client: redis.Redis) -> None:
        self.names: list[str] = []
        send = client.execute_command

        def counted(*args: Any, **options: Any) -> Any:
            self.names.append(str(args[0]).upper())
            return send(*args, **options)

        client.execute_command = counted  # type: ignore[method-assign]


def test_a_decision_is_one_round_trip_while_no_other_process_changes_the_scopes(
    redis_url: str, fleet_name: str
) -> None:
    """The first decision on scopes reads them (MGET) and then swaps (EVALSHA); later ones are
    taken on the states this process last saw and cost the swap alone."""
    fleet = _fleet(redis_url, fleet_name)
    counted = _Counted(fleet.link.redis)
    assert fleet.throttle_store.transact(["key:a", "org:1"], _bump) == 1
    assert counted.names == ["MGET", "EVALSHA"]
    counted.names.clear()
    for expected in range(2, 12):
        assert fleet.throttle_store.transact(["key:a", "org:1"], _bump) == expected
    assert counted.names == ["EVALSHA"] * 10
    fleet.close()


def test_a_stale_memory_costs_one_more_round_trip_and_loses_nothing(
    redis_url: str, fleet_name: str
) -> None:
    """Another process changed a scope since this one last saw it: the swap refuses the
    decision taken on the old state and hands back the current one, the decision is taken
    again on it (no MGET, no back-off, not counted as contention), and the other process's
    grants are kept."""
    fleet = _fleet(redis_url, fleet_name)
    other = redis.Redis.from_url(redis_url)
    assert fleet.throttle_store.transact(["key:a"], _bump) == 1
    key = fleet.keys.throttle("key:a")
    other.set(key, encode_state(ScopeState(granted=100)))
    counted = _Counted(fleet.link.redis)
    assert fleet.throttle_store.transact(["key:a"], _bump) == 101
    assert counted.names == ["EVALSHA", "EVALSHA"]
    assert decode_state(other.get(key)).granted == 101
    other.delete(key)  # gone (expired, or reset by another process): a fresh scope again
    assert fleet.throttle_store.transact(["key:a"], _bump) == 1
    assert fleet.throttle_store.contended == 0
    other.close()
    fleet.close()


def test_two_throttles_share_one_budget(redis_url: str, fleet_name: str) -> None:
    """Without headers, two processes' throttles together grant at most the window's budget
    at once; the third grant waits, in both."""
    clock = FakeClock(start=1_700_000_000.0)
    config = ThrottleConfig(per_user=5, per_org=500, window=10.0)
    throttles = [
        Throttle(config, clock=clock, store=_fleet(redis_url, fleet_name, clock).throttle_store)
        for _ in range(2)
    ]
    scopes = ("key:k", "org:1")
    now = throttles[0].now()
    assert now == clock.time()  # a shared store works in Unix time
    waits = [throttles[i % 2].reserve(scopes, now=now).wait for i in range(6)]
    assert waits[:4] == [0.0, 0.0, 0.0, 0.0]  # limit 5 minus the margin of 1
    assert waits[4] > 0 and waits[5] >= waits[4]
    snapshot = throttles[1].snapshot(now=now)
    assert snapshot.get("key:k") is not None
    assert snapshot.get("key:k").granted == 6  # type: ignore[union-attr]


def test_reset_throttle_clears_the_fleet(redis_url: str, fleet_name: str) -> None:
    fleet = _fleet(redis_url, fleet_name)
    fleet.throttle_store.transact(["key:a"], _bump)
    assert fleet.throttle_store.states()
    other = _fleet(redis_url, fleet_name)
    other.throttle_store.clear()
    assert fleet.throttle_store.states() == {}
    assert list(fleet.link.redis.scan_iter(f"mx:{{{fleet_name}}}:*")) == []


def test_every_key_is_hash_tagged_for_redis_cluster(redis_url: str, fleet_name: str) -> None:
    sim = Simulator()
    client = MaintainXClient(
        api_key=Simulator.API_KEY,
        transport=sim.transport(),
        fleet=FleetConfig(url=redis_url, name=fleet_name),
    )
    client.work_orders.list(limit=1)
    client.close()
    keys = [k.decode() for k in redis.Redis.from_url(redis_url).scan_iter(f"*{fleet_name}*")]
    assert keys
    assert all(k.startswith(f"mx:{{{fleet_name}}}:") for k in keys)
    assert not any(Simulator.API_KEY in k for k in keys)


# ---- Redis failing --------------------------------------------------------------------------


def test_redis_unreachable_never_fails_a_call() -> None:
    """A closed port: the first decision goes local with one event, the next ones do not
    touch Redis until the retry interval has passed."""
    clock = FakeClock()
    events = EventBus()
    seen: list[Event] = []
    events.subscribe(seen.append)
    fleet = Fleet(FleetConfig(url="redis://127.0.0.1:1/0", name="down"), clock=clock, events=events)
    store = fleet.throttle_store
    for _ in range(5):
        assert store.transact(["key:a"], _bump) >= 1
    assert store.local.states()["key:a"].granted == 5
    status = fleet.link.status()
    assert status.state == "local" and status.outages == 1 and status.local_calls == 5
    assert "ConnectionError" in status.last_error
    changes = [e for e in seen if isinstance(e, FleetStateChanged)]
    assert [(e.old, e.new) for e in changes] == [("joined", "local")]


def test_the_fleet_is_rejoined_when_redis_comes_back(fleet_name: str) -> None:
    server = PrivateRedis()
    server.start()
    try:
        clock = FakeClock()
        events = EventBus()
        seen: list[Event] = []
        events.subscribe(seen.append)
        fleet = Fleet(
            FleetConfig(url=server.url, name=fleet_name, retry_interval=1.0),
            clock=clock,
            events=events,
        )
        store = fleet.throttle_store
        assert store.transact(["key:a"], _bump) == 1
        server.kill()
        assert store.transact(["key:a"], _bump) == 1  # local state, no error
        assert fleet.link.status().state == "local"
        server.start()
        assert store.transact(["key:a"], _bump) == 2  # still local: not time to retry yet
        clock.advance(1.0)
        assert store.transact(["key:a"], _bump) == 1  # the restarted Redis came back empty
        assert fleet.link.joined
        kinds = [(e.old, e.new) for e in seen if isinstance(e, FleetStateChanged)]
        assert kinds == [("joined", "local"), ("local", "joined")]
        fleet.close()
    finally:
        server.close()


def test_a_hung_redis_costs_one_timeout_then_nothing(fleet_name: str) -> None:
    """SIGSTOP: the first decision waits out the 50 ms command timeout, the others go
    local at once (counted: only one call touched Redis)."""
    server = PrivateRedis()
    server.start()
    try:
        clock = FakeClock()
        fleet = Fleet(FleetConfig(url=server.url, name=fleet_name), clock=clock)
        store = fleet.throttle_store
        store.transact(["key:a"], _bump)
        server.hang()
        for _ in range(20):
            store.transact(["key:a"], _bump)
        status = fleet.link.status()
        assert status.state == "local" and status.outages == 1
        assert "Timeout" in status.last_error
        assert status.local_calls == 20
    finally:
        server.close()


# ---- configuration --------------------------------------------------------------------------


def test_the_password_of_a_redis_url_is_never_shown() -> None:
    url = f"redis://user:{CANARY}@127.0.0.1:1/0"
    config = FleetConfig(url=url)
    assert CANARY not in repr(config) and CANARY not in config.location
    assert redacted_url(url) == "redis://user:***@127.0.0.1:1/0"
    fleet = Fleet(config)
    fleet.throttle_store.transact(["key:a"], _bump)
    status = fleet.link.status()
    assert CANARY not in repr(status) and CANARY not in repr(fleet)
    with pytest.raises(ConfigurationError) as info:
        FleetConfig(url=f"http://u:{CANARY}@host/")
    assert CANARY not in str(info.value)


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({}, "exactly one"),
        ({"url": "redis://h", "name": "a b"}, "fleet name"),
        ({"url": "redis://h", "timeout": 0}, "timeout"),
        ({"url": "redis://h", "timeout": 30}, "well under"),
        ({"url": "redis://h", "heartbeat": -1}, "heartbeat"),
        ({"url": "redis://h", "cache_max_bytes": -1}, "cache_max_bytes"),
        ({"url": "memcached://h"}, "must start with"),
    ],
)
def test_wrong_fleet_settings_fail_at_construction(kwargs: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ConfigurationError, match=fragment):
        FleetConfig(**kwargs)


def test_the_fleet_is_read_from_the_environment() -> None:
    env = {"MAINTAINX_FLEET": "redis://10.0.0.1:6379/2", "MAINTAINX_FLEET_NAME": "plant-7"}
    config = resolve_fleet("env", env)
    assert config is not None and config.url == "redis://10.0.0.1:6379/2"
    assert config.name == "plant-7"
    assert resolve_fleet("env", {}) is None
    assert resolve_fleet(None, env) is None  # fleet=None: this process alone
    with pytest.raises(ConfigurationError, match="fleet="):
        resolve_fleet(42, env)


@pytest.mark.parametrize("name", ["", "  "])
def test_an_empty_fleet_name_is_a_configuration_error(name: str) -> None:
    """MAINTAINX_FLEET_NAME set but empty does not silently mean the 'default' fleet."""
    env = {"MAINTAINX_FLEET": "redis://10.0.0.1:6379/2", "MAINTAINX_FLEET_NAME": name}
    with pytest.raises(ConfigurationError, match="MAINTAINX_FLEET_NAME is set but empty"):
        resolve_fleet("env", env)
    with pytest.raises(ConfigurationError, match="MAINTAINX_FLEET_NAME"):
        resolve_fleet("redis://10.0.0.1:6379/2", env)
    with pytest.raises(ConfigurationError, match="fleet name"):
        FleetConfig(url="redis://10.0.0.1:6379/2", name=name)
    assert resolve_fleet("env", {"MAINTAINX_FLEET_NAME": name}) is None  # no fleet: no matter


def test_a_client_you_pass_is_used_and_not_closed(redis_url: str, fleet_name: str) -> None:
    mine = redis.Redis.from_url(redis_url, socket_timeout=0.05)
    sim = Simulator()
    client = MaintainXClient(api_key=Simulator.API_KEY, transport=sim.transport(), fleet=mine)
    client.work_orders.list(limit=1)
    fleet = client.policies.fleet
    assert fleet is not None and fleet.link.redis is mine
    client.close()
    assert mine.ping()  # still open: yours to close
    for key in mine.scan_iter("mx:{default}:throttle*"):
        mine.delete(key)
    mine.close()
