"""Fleet-wide mitigations: set on one client (or the CLI), applied by every worker's
heartbeat within a second, recorded with who and when; local mitigations stay local, the
fleet's apply on top; workers are listed while they beat; Redis failing keeps what was
applied and is a diagnostic finding; nothing secret ever reaches Redis."""

from __future__ import annotations

import json
import logging
import os
import socket
import time
from collections.abc import Callable
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maintainx_resilient import (
    AsyncMaintainXClient,
    ConfigurationError,
    FallbackModeError,
    MaintainXClient,
    StorageError,
)
from maintainx_resilient._clock import FakeClock
from maintainx_resilient.cli._output import document, schema
from maintainx_resilient.diagnostics.rb005_performance import FLEET_LOCAL, FLEET_MITIGATIONS
from maintainx_resilient.fleet import FleetConfig
from maintainx_resilient.fleet._mitigations import TIMELINE_CAP, decode_mitigation
from maintainx_resilient.testing import Simulator

from ..conftest import CANARY_KEY
from ..webhooks._private_redis import PrivateRedis
from ._fleet_clients import MANUAL, Clients, beat, clients, sim, wait_for

__all__ = ["clients", "sim"]  # fixtures, imported explicitly

pytestmark = pytest.mark.redis

jsonschema: Any = pytest.importorskip("jsonschema")

SCOPE = "https://api.example.test/v1/workorders"
OTHER = "https://api.example.test/v1/assets"
HOST = socket.gethostname()[:64]


def _redis(url: str) -> Any:
    import redis

    return redis.Redis.from_url(url)


def _texts(client: MaintainXClient) -> list[str]:
    return [e.text for e in client.incident.timeline.entries()]


def _state(client: MaintainXClient, scope: str) -> str:
    breakers = client.policies.breakers
    assert breakers is not None
    return breakers.states()[scope].state


def _cap(client: MaintainXClient) -> float | None:
    throttle = client.policies.throttle
    assert throttle is not None
    return throttle.override_per_minute


def _fallback(client: MaintainXClient | AsyncMaintainXClient) -> bool:
    fallback = client.policies.fallback
    assert fallback is not None
    return fallback.fallback_mode


# ---- one change, every worker ------------------------------------------------------------


def test_fallback_mode_set_on_one_client_reaches_another_within_a_second(
    clients: Clients, sim: Simulator
) -> None:
    """The other worker sends nothing: its heartbeat alone applies the change, within 1 s
    (the heartbeat is 0.5 s); then it answers from the cache without calling MaintainX."""
    a, b = clients(heartbeat=0.5), clients(heartbeat=0.5)
    assert not _fallback(b)
    a.fleet.enable_fallback_mode(reason="INC-42 MaintainX 503s")
    assert _fallback(a)  # the client that set it applies it at once
    took = wait_for(lambda: _fallback(b), within=1.0)
    assert took < 1.0
    sim.reset_stats()
    with pytest.raises(FallbackModeError):
        b.work_orders.get(987654)
    assert sim.request_log == []
    applied = [t for t in _texts(b) if "fleet enable_fallback_mode" in t]
    assert len(applied) == 1
    assert f"{HOST} pid {os.getpid()}" in applied[0] and "INC-42 MaintainX 503s" in applied[0]

    a.fleet.disable_fallback_mode(reason="MaintainX is back")
    assert not _fallback(a)
    wait_for(lambda: not _fallback(b), within=1.0)
    assert any("fleet disable_fallback_mode" in t for t in _texts(b))


def test_the_fleet_timeline_says_who_changed_what_and_when(clients: Clients) -> None:
    a, b = clients(), clients()
    before = time.time()
    a.fleet.enable_fallback_mode(reason="INC-7")
    b.fleet.enable_throttling(60)
    a.fleet.disable_fallback_mode()
    entries = b.fleet.timeline()
    assert [e.action for e in entries] == [
        "disable_fallback_mode",
        "enable_throttling",
        "enable_fallback_mode",
    ]
    first = entries[-1].mitigation
    assert first.reason == "INC-7" and first.value is True
    assert first.by.host == HOST and first.by.pid == os.getpid()
    assert first.by.worker == a.policies.fleet.worker.id  # type: ignore[union-attr]
    assert entries[1].mitigation.by.worker == b.policies.fleet.worker.id  # type: ignore[union-attr]
    assert before <= first.set_at <= time.time()
    assert [e.action for e in b.fleet.timeline(limit=1)] == ["disable_fallback_mode"]


def test_throttling_and_breakers_for_the_fleet(
    clients: Clients, redis_url: str, fleet_name: str
) -> None:
    a, b = clients(), clients()
    throttle, breakers = b.policies.throttle, b.policies.breakers
    assert throttle is not None and breakers is not None
    a.fleet.enable_throttling(60, reason="429 storm")
    beat(b)
    assert throttle.override_per_minute == 60

    a.fleet.isolate_breaker(SCOPE)
    beat(b)
    assert _state(b, SCOPE) == "isolated"
    a.fleet.close_breaker(SCOPE)
    beat(b)
    assert _state(b, SCOPE) == "closed"

    a.fleet.isolate_breaker(OTHER)
    a.fleet.isolate_breaker()  # every scope, also those created later
    beat(b)
    assert not breakers.admit("https://api.example.test/v1/parts").allowed
    a.fleet.close_breaker()
    beat(b)
    assert breakers.admit("https://api.example.test/v1/parts").allowed
    assert _state(b, OTHER) == "closed"
    fields = _redis(redis_url).hkeys(f"mx:{{{fleet_name}}}:mitigations")
    assert sorted(fields) == [b"breaker:*", b"throttling"]  # closing all clears each scope's

    a.fleet.disable_throttling()
    beat(b)
    assert _cap(b) is None
    assert a.fleet.mitigations() == ()
    assert [m.name for m in a.fleet.mitigations(include_off=True)] == ["breaker:*", "throttling"]


def test_a_worker_started_later_applies_the_fleet_before_its_first_request(
    clients: Clients, sim: Simulator
) -> None:
    """Its first heartbeat runs while the client is built; a breaker "close" order given
    before it joined is not replayed on it."""
    a = clients()
    a.fleet.isolate_breaker(OTHER)
    a.fleet.close_breaker(OTHER)
    a.fleet.enable_fallback_mode(reason="outage")
    sim.reset_stats()
    late = clients()
    assert _fallback(late)
    with pytest.raises(FallbackModeError):
        late.work_orders.get(123456)
    assert sim.request_log == []
    fleet_lines = [t for t in _texts(late) if "fleet " in t]
    assert len(fleet_lines) == 1 and "enable_fallback_mode" in fleet_lines[0]
    states = late.policies.breakers.states()  # type: ignore[union-attr]
    # the fleet's breakers are shared: the scope may be listed, closed, never re-closed here
    assert OTHER not in states or states[OTHER].state == "closed"


# ---- local and fleet layers --------------------------------------------------------------


def test_a_mitigation_set_on_one_client_stays_on_that_client(
    clients: Clients, redis_url: str, fleet_name: str
) -> None:
    a, b = clients(), clients()
    a.enable_fallback_mode()
    a.enable_throttling(30)
    a.isolate_breaker(SCOPE)
    beat(a, b)
    assert _fallback(a) and not _fallback(b)
    assert b.policies.throttle.override_per_minute is None  # type: ignore[union-attr]
    # the breakers' state itself is the fleet's (one breaker per scope for every worker):
    # isolating it anywhere isolates it everywhere, without a fleet mitigation record
    assert _state(b, SCOPE) == "isolated"
    assert _redis(redis_url).hgetall(f"mx:{{{fleet_name}}}:mitigations") == {}
    assert a.fleet.mitigations() == () and a.fleet.timeline() == ()
    # ...and the fleet's heartbeat does not undo it
    beat(a)
    assert _fallback(a) and _state(a, SCOPE) == "isolated"


def test_fleet_mitigations_apply_on_top_of_local_ones(clients: Clients) -> None:
    a, b = clients(), clients()
    throttle = b.policies.throttle
    assert throttle is not None
    b.enable_fallback_mode()
    b.enable_throttling(100)
    b.isolate_breaker(SCOPE)
    a.fleet.enable_fallback_mode()
    a.fleet.enable_throttling(60)
    a.fleet.isolate_breaker(SCOPE)
    a.fleet.isolate_breaker(OTHER)
    beat(b)
    assert _fallback(b) and throttle.override_per_minute == 60  # the lower cap
    assert _state(b, SCOPE) == _state(b, OTHER) == "isolated"

    b.disable_fallback_mode()  # by hand: the fleet's still holds
    assert _fallback(b)
    assert "still on: fallback mode is set for the fleet" in _texts(b)[-1]
    b.close_breaker(OTHER)
    assert _state(b, OTHER) == "isolated"
    assert "still isolated for the fleet" in _texts(b)[-1]
    b.enable_fallback_mode()

    a.fleet.disable_fallback_mode()
    a.fleet.disable_throttling()
    a.fleet.close_breaker()
    beat(b)
    assert _fallback(b)  # set by hand on b
    assert throttle.override_per_minute == 100  # b's own cap is back
    assert _state(b, SCOPE) == "isolated"  # isolated by hand on b
    assert _state(b, OTHER) == "closed"
    assert not _fallback(a)
    assert a.policies.throttle.override_per_minute is None  # type: ignore[union-attr]


def test_a_policy_switched_on_directly_is_kept_when_the_fleet_lets_go(clients: Clients) -> None:
    b = clients()
    fallback = b.policies.fallback
    assert fallback is not None
    fallback.enable_fallback_mode()  # not through the client's method
    b.fleet.enable_fallback_mode()
    b.fleet.disable_fallback_mode()
    assert fallback.fallback_mode


def test_a_client_without_the_policy_notes_what_it_could_not_apply(clients: Clients) -> None:
    a, b = clients(), clients(fallback=None, breaker=None)
    a.fleet.enable_fallback_mode()
    a.fleet.isolate_breaker(SCOPE)
    beat(b)
    texts = _texts(b)
    assert any("not applied: no fallback cache" in t for t in texts)
    assert any("not applied: this client's circuit breaker is off" in t for t in texts)


# ---- workers --------------------------------------------------------------------------


def test_workers_lists_live_clients_and_drops_closed_and_stale_ones(
    clients: Clients, redis_url: str, fleet_name: str
) -> None:
    clock = FakeClock(wall_start=time.time())
    # a's heartbeat (0.5 s: stale after 2.5 s) reads the list; c's never beats again
    a, b, c = clients(clock=clock, heartbeat=0.5), clients(clock=clock), clients(clock=clock)
    ids = {x.policies.fleet.worker.id for x in (a, b, c)}  # type: ignore[union-attr]
    listed = a.fleet.workers()
    assert {w.worker for w in listed} == ids
    assert {(w.host, w.pid) for w in listed} == {(HOST, os.getpid())}

    heartbeat = b.policies.fleet.heartbeat  # type: ignore[union-attr]
    assert heartbeat is not None and heartbeat.running
    b.close()
    assert not heartbeat.running
    assert b.policies.fleet.worker.id not in {w.worker for w in a.fleet.workers()}  # type: ignore[union-attr]

    clock.advance(3.0)  # c says nothing for 6 heartbeats: stale
    beat(a)
    assert [w.worker for w in a.fleet.workers()] == [a.policies.fleet.worker.id]  # type: ignore[union-attr]
    assert _redis(redis_url).zcard(f"mx:{{{fleet_name}}}:workers") == 1  # pruned
    report = a.health().to_dict()["fleet"]
    assert report["workers_alive"] == 1 and report["state"] == "joined"


def test_a_client_dropped_without_close_stops_its_heartbeat(
    redis_url: str, fleet_name: str
) -> None:
    """The heartbeat holds the client weakly: a client collected without ``close()`` stops
    beating and leaves the list of live workers."""
    import gc

    client = MaintainXClient(
        api_key=Simulator.API_KEY,
        transport=Simulator(work_orders=5).transport(),
        fleet=FleetConfig(url=redis_url, name=fleet_name, heartbeat=0.05),
    )
    fleet = client.policies.fleet
    assert fleet is not None and fleet.heartbeat is not None
    heartbeat = fleet.heartbeat
    assert heartbeat.running
    del client
    gc.collect()
    wait_for(lambda: not heartbeat.running, within=2.0)
    assert _redis(redis_url).zcard(f"mx:{{{fleet_name}}}:workers") == 0
    fleet.close()


# ---- corrupt values ----------------------------------------------------------------------

_BY = {"host": "h", "pid": 1, "worker": "h:1:ab"}


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        ("fallback_mode", b"not json"),
        ("fallback_mode", json.dumps({"value": "yes", "set_at": 1.0, "by": _BY})),
        ("fallback_mode", json.dumps({"value": True, "set_at": 1.0, "by": {**_BY, "pid": True}})),
        ("fallback_mode", json.dumps({"value": True, "set_at": -1, "by": _BY})),
        ("fallback_mode", json.dumps({"value": True, "set_at": 1.0, "by": _BY, "x": 1})),
        ("throttling", json.dumps({"value": -5, "set_at": 1.0, "by": _BY})),
        ("breaker:x", json.dumps({"value": "open", "set_at": 1.0, "by": _BY})),
        ("reboot", json.dumps({"value": True, "set_at": 1.0, "by": _BY})),
        ("fallback_mode", json.dumps([1, 2, 3])),
    ],
)
def test_a_corrupt_mitigation_is_ignored_with_one_warning(
    field: str,
    raw: str | bytes,
    clients: Clients,
    redis_url: str,
    fleet_name: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Never a crash; what was applied from that field stays applied; one warning, not one
    per heartbeat."""
    a = clients()
    a.fleet.enable_fallback_mode()
    _redis(redis_url).hset(f"mx:{{{fleet_name}}}:mitigations", field, raw)
    with caplog.at_level(logging.WARNING, logger="maintainx_resilient"):
        for _ in range(3):
            beat(a)
    assert _fallback(a)
    warned = [r for r in caplog.records if "ignored the fleet mitigation" in r.getMessage()]
    assert len(warned) == 1
    assert [m.name for m in a.fleet.mitigations()] == (
        [] if field == "fallback_mode" else ["fallback_mode"]
    )


@given(name=st.sampled_from(["fallback_mode", "throttling", "breaker:x", "breaker:*", "x"]),
       raw=st.one_of(st.binary(max_size=60), st.recursive(
           st.none() | st.booleans() | st.floats() | st.integers() | st.text(max_size=10),
           lambda kids: st.lists(kids, max_size=4) | st.dictionaries(st.text(max_size=8), kids),
           max_leaves=10).map(lambda v: json.dumps(v))))  # fmt: skip
def test_decoding_never_raises(name: str, raw: bytes | str) -> None:
    decode_mitigation(name, raw)


def test_bad_values_are_typed_errors_and_store_nothing(
    clients: Clients, redis_url: str, fleet_name: str
) -> None:
    a = clients()
    attempts: list[Callable[[], object]] = [
        lambda: a.fleet.enable_throttling(0),
        lambda: a.fleet.enable_throttling(-1),
        lambda: a.fleet.enable_throttling(float("nan")),
        lambda: a.fleet.enable_throttling(True),
        lambda: a.fleet.enable_throttling("60"),  # type: ignore[arg-type]
        lambda: a.fleet.isolate_breaker(""),
        lambda: a.fleet.isolate_breaker("*"),
        lambda: a.fleet.isolate_breaker(" padded"),
        lambda: a.fleet.isolate_breaker("workorders"),  # names no breaker: isolates nothing
        lambda: a.fleet.isolate_breaker("/v1/workorders"),
        lambda: a.fleet.isolate_breaker(f"{SCOPE}/"),
        lambda: a.fleet.close_breaker("api.example.test/v1/workorders"),
        lambda: a.fleet.close_breaker("x" * 301),
        lambda: a.fleet.enable_fallback_mode(reason="x" * 201),
        lambda: a.fleet.enable_fallback_mode(reason=42),  # type: ignore[arg-type]
        lambda: a.fleet.timeline(limit=0),
    ]
    for attempt in attempts:
        with pytest.raises(ConfigurationError):
            attempt()
    assert _redis(redis_url).exists(f"mx:{{{fleet_name}}}:mitigations") == 0
    # a reason is one line
    entry = a.fleet.enable_fallback_mode(reason="INC-1\n  two\tlines ")
    assert entry.reason == "INC-1 two lines"


def test_a_client_outside_a_fleet_says_how_to_join() -> None:
    client = MaintainXClient(api_key="k" * 20, transport=Simulator().transport(), fleet=None)
    try:
        assert not client.fleet.joined
        with pytest.raises(ConfigurationError, match="MAINTAINX_FLEET"):
            client.fleet.enable_fallback_mode()
        assert client.policies.fleet is None
    finally:
        client.close()


def test_the_timeline_and_the_breaker_fields_are_capped(
    clients: Clients, redis_url: str, fleet_name: str
) -> None:
    a = clients()
    for i in range(64):
        a.fleet.isolate_breaker(f"{SCOPE}{i}")
    with pytest.raises(ConfigurationError, match="close every breaker"):
        a.fleet.isolate_breaker(OTHER)
    a.fleet.isolate_breaker(f"{SCOPE}0")  # a field already there may change
    for _ in range(TIMELINE_CAP - 60):
        a.fleet.disable_fallback_mode()
    assert _redis(redis_url).llen(f"mx:{{{fleet_name}}}:timeline") == TIMELINE_CAP
    a.fleet.close_breaker()
    assert [m.name for m in a.fleet.mitigations(include_off=True)][-1] == "breaker:*"


# ---- health and diagnose -----------------------------------------------------------------


def test_diagnose_and_health_report_the_fleet(clients: Clients) -> None:
    a, b = clients(), clients()
    a.fleet.enable_fallback_mode(reason="INC-9")
    beat(b)
    report = b.diagnose(only=["RB-005"], deadline=5)
    data = report.to_dict()
    jsonschema.validate(data, schema("diagnose"))
    fleet = data["fleet"]
    assert fleet["state"] == "joined" and fleet["workers_alive"] == 2
    assert {w["worker"] for w in fleet["workers"]} == {
        x.policies.fleet.worker.id  # type: ignore[union-attr]
        for x in (a, b)
    }
    assert [m["name"] for m in fleet["mitigations"]] == ["fallback_mode"]
    assert fleet["mitigations"][0]["by"]["pid"] == os.getpid()
    codes = {f.code: f for f in report.findings}
    assert FLEET_MITIGATIONS in codes and FLEET_LOCAL not in codes
    assert "INC-9" in codes[FLEET_MITIGATIONS].title
    checks = {c.name: c for c in report.results[0].checks}
    assert checks["Fleet"].ok is True and "2 workers alive" in checks["Fleet"].detail

    health = b.health()
    assert health.status == "degraded"  # fallback mode is on
    doc = document("health", health.to_dict())
    jsonschema.validate(doc, schema("health"))
    assert doc["fleet"]["workers_alive"] == 2 and doc["fleet"]["workers"] is None


def test_a_client_outside_a_fleet_reports_no_fleet() -> None:
    client = MaintainXClient(api_key="k" * 20, transport=Simulator().transport(), fleet=None)
    try:
        data = client.diagnose(only=["RB-005"], deadline=5).to_dict()
        jsonschema.validate(data, schema("diagnose"))
        assert data["fleet"] is None
        assert client.health().to_dict()["fleet"] is None
    finally:
        client.close()


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_process_that_cannot_reach_redis_is_a_finding_without_the_password(
    fleet_name: str,
) -> None:
    password = "s3cret-redis-pass"
    url = f"redis://ops:{password}@127.0.0.1:{_closed_port()}/0"
    start = time.monotonic()
    client = MaintainXClient(
        api_key=Simulator.API_KEY,
        transport=Simulator(work_orders=5).transport(),
        fleet=FleetConfig(url=url, name=fleet_name, heartbeat=MANUAL),
    )
    try:
        assert time.monotonic() - start < 1.0  # building it is not held up by Redis
        assert client.work_orders.list(limit=1) is not None  # calls still work
        report = client.diagnose(only=["RB-005"], deadline=5)
        data = report.to_dict()
        jsonschema.validate(data, schema("diagnose"))
        found = {f.code: f for f in report.findings}[FLEET_LOCAL]
        assert found.severity.name == "SEV3"
        assert "redis://ops:***@127.0.0.1" in found.title
        assert any(
            "Check the fleet's Redis at redis://ops:***@" in m.description
            for m in found.mitigations
        )
        assert data["fleet"]["state"] == "local" and data["fleet"]["workers_alive"] is None
        assert data["fleet"]["local_since_at"] is not None
        health = client.health()
        assert health.status == "degraded"
        assert any("does not see the fleet's mitigations" in r for r in health.reasons)
        everything = json.dumps([data, health.to_dict()]) + repr(client.fleet) + repr(report)
        assert password not in everything
        with pytest.raises(StorageError, match="did not answer") as caught:
            client.fleet.enable_fallback_mode()
        assert password not in str(caught.value) and caught.value.kind == "unavailable"
    finally:
        client.close()


# ---- Redis failing ------------------------------------------------------------------------


def test_redis_failing_keeps_what_was_applied_and_the_heartbeat_rejoins(
    fleet_name: str, caplog: pytest.LogCaptureFixture
) -> None:
    server = PrivateRedis()
    server.start()
    clock = FakeClock(wall_start=time.time())
    client = MaintainXClient(
        api_key=Simulator.API_KEY,
        transport=Simulator(work_orders=5).transport(),
        fleet=FleetConfig(url=server.url, name=fleet_name, heartbeat=MANUAL, retry_interval=1.0),
        clock=clock,
    )
    try:
        fleet = client.policies.fleet
        assert fleet is not None and fleet.heartbeat is not None
        heartbeat = fleet.heartbeat
        client.fleet.enable_fallback_mode(reason="outage")
        server.kill()
        with caplog.at_level(logging.WARNING, logger="maintainx_resilient"):
            for _ in range(6):
                assert heartbeat.beat() is None
                clock.advance(0.5)
        assert _fallback(client)  # applied before Redis went: still applied
        assert heartbeat.running and not fleet.link.joined
        failed = [r for r in caplog.records if "failed" in r.getMessage()]
        assert len(failed) == 1  # logged once, however many heartbeats
        with pytest.raises(StorageError):
            client.fleet.disable_fallback_mode()
        assert _fallback(client)

        server.start()
        clock.advance(1.0)  # the link tries Redis again once per retry_interval
        assert heartbeat.beat() is not None
        assert fleet.link.status().state == "joined"
        # the restarted Redis came back empty: the fleet's fallback mode is gone with it
        assert not _fallback(client)
        texts = _texts(client)
        assert any(t.startswith("Fleet: Redis failed") for t in texts)
        assert any(t.startswith("Fleet: rejoined") for t in texts)
        assert any("fleet cleared fallback_mode" in t for t in texts)
    finally:
        client.close()
        server.close()


def test_the_heartbeat_thread_survives_redis_and_rejoins_by_itself(fleet_name: str) -> None:
    """Real time: Redis killed, the thread keeps beating; Redis back, the thread (no call
    to the client) rejoins within a retry interval and a heartbeat."""
    server = PrivateRedis()
    server.start()
    client = MaintainXClient(
        api_key=Simulator.API_KEY,
        transport=Simulator(work_orders=5).transport(),
        fleet=FleetConfig(url=server.url, name=fleet_name, heartbeat=0.1, retry_interval=0.3),
    )
    try:
        fleet = client.policies.fleet
        assert fleet is not None and fleet.heartbeat is not None
        server.kill()
        wait_for(lambda: not fleet.link.joined, within=2.0)
        beats = fleet.heartbeat.beats
        wait_for(lambda: fleet.heartbeat.beats > beats + 3, within=2.0)  # type: ignore[union-attr]
        server.start()
        wait_for(lambda: fleet.link.joined, within=2.0)
        assert fleet.heartbeat.running
        assert [w.worker for w in client.fleet.workers()] == [fleet.worker.id]
    finally:
        client.close()
        server.close()


# ---- the async client, and secrets --------------------------------------------------------


async def test_the_async_client_applies_fleet_mitigations(
    clients: Clients, redis_url: str, fleet_name: str
) -> None:
    a = clients()
    client = AsyncMaintainXClient(
        api_key=Simulator.API_KEY,
        transport=Simulator(work_orders=5).transport(),
        fleet=FleetConfig(url=redis_url, name=fleet_name, heartbeat=MANUAL),
    )
    try:
        a.fleet.enable_fallback_mode()
        heartbeat = client.policies.fleet.heartbeat  # type: ignore[union-attr]
        assert heartbeat is not None
        heartbeat.beat()
        assert _fallback(client)
        report = await client.diagnose(only=["RB-005"], deadline=5)
        assert report.to_dict()["fleet"]["workers_alive"] == 2
    finally:
        await client.aclose()


_READ = {
    b"string": lambda r, key: r.get(key),
    b"hash": lambda r, key: r.hgetall(key),
    b"list": lambda r, key: r.lrange(key, 0, -1),
    b"zset": lambda r, key: r.zrange(key, 0, -1, withscores=True),
    b"set": lambda r, key: r.smembers(key),
}


def _everything(r: Any, fleet_name: str) -> str:
    """Every key of the fleet and its whole value, as text."""
    return repr(
        [(key, _READ[r.type(key)](r, key)) for key in r.scan_iter(f"mx:{{{fleet_name}}}:*")]
    )


def test_no_secret_reaches_redis(
    clients: Clients, sim: Simulator, redis_url: str, fleet_name: str
) -> None:
    """The canary key is used for calls, named in a reason by mistake, and never stored."""
    sim.add_key(CANARY_KEY)
    a = clients(api_key=CANARY_KEY)
    a.work_orders.list(limit=1)
    a.fleet.enable_fallback_mode(reason=f"key {CANARY_KEY} looks revoked")
    a.fleet.enable_throttling(10, reason=f"Bearer {CANARY_KEY}")
    a.fleet.isolate_breaker(SCOPE)
    beat(a)
    a.diagnose(only=["RB-005"], deadline=5)
    stored = _everything(_redis(redis_url), fleet_name)
    assert "mitigations" in stored and "workers" in stored and "timeline" in stored
    assert CANARY_KEY not in stored
    assert "<redacted sha256:" in a.fleet.mitigations()[0].reason


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork()")
def test_a_client_built_before_fork_beats_in_the_child_as_a_worker_of_its_own(
    redis_url: str, fleet_name: str
) -> None:
    """``gunicorn --preload``: the client is built in the parent; the child gets its own
    worker id and heartbeat thread, so it is listed and applies the fleet's mitigations."""
    import warnings

    client = MaintainXClient(
        api_key=Simulator.API_KEY,
        transport=Simulator(work_orders=5).transport(),
        fleet=FleetConfig(url=redis_url, name=fleet_name, heartbeat=0.1),
    )
    fleet = client.policies.fleet
    assert fleet is not None
    parent = fleet.worker.id
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # fork with threads (3.12+)
            pid = os.fork()
        if pid == 0:  # the child: report by exit status, never return into pytest
            code = 1
            try:
                child = fleet.worker
                client.fleet.enable_fallback_mode(reason="from the child")
                listed = wait_for(
                    lambda: (
                        child.pid == os.getpid()
                        and child.id in {w.worker for w in client.fleet.workers()}
                    ),
                    within=3.0,
                )
                code = 0 if listed < 3.0 and child.id != parent else 1
            finally:
                os._exit(code)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0
        wait_for(lambda: _fallback(client), within=1.0)  # the parent applies the child's change
        entry = client.fleet.mitigations()[0]
        assert entry.by.pid == pid and entry.reason == "from the child"
    finally:
        client.close()
