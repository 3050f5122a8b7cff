"""The fallback cache shared through Redis (fleet mode, issue 10 item 4).

- a worker started during an outage serves, labelled stale, what another worker fetched;
- only to the same key and organization(s): another key or organization never sees it;
- a write through one worker drops the shared entries it makes wrong, for the whole fleet;
- the byte cap holds (oldest first, atomically, under concurrent writers), entries too large
  are not shared;
- corrupt values are misses, never crashes; Redis out or hung: local cache only, bounded;
- no API key (nor a webhook secret) in any Redis key or value.

Clients run on the in-process simulator with a FakeClock; Redis is the real test server
(db 15), each test under its own fleet name.
"""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import redis

from maintainx_resilient import (
    AsyncMaintainXClient,
    CircuitOpenError,
    FallbackConfig,
    FallbackModeError,
    MaintainXClient,
    ServerError,
)
from maintainx_resilient._clock import FakeClock
from maintainx_resilient._events import FleetStateChanged
from maintainx_resilient.fleet import FleetConfig, FleetLink, RedisFallbackStore
from maintainx_resilient.fleet._cache import (
    MAX_ENTRY_BYTES,
    decode_answer,
    encode_answer,
    entry_cap,
    entry_id,
)
from maintainx_resilient.fleet._keys import FleetKeys
from maintainx_resilient.policies._fallback_keys import WriteScope, cache_key
from maintainx_resilient.policies._fallback_store import StoredAnswer
from maintainx_resilient.policies.fallback import FallbackCache
from maintainx_resilient.testing import Simulator
from tests._redis import fleet_keys

from ..conftest import CANARY_KEY

pytestmark = pytest.mark.redis

BASE = "https://api.example.test/v1"
ORG1_KEY = "fleet-org-one-key-41d2"
ORG1_OTHER_KEY = "fleet-org-one-second-key-9ae0"
ORG2_KEY = "fleet-org-two-key-77b1"
MULTI_KEY = "fleet-multi-org-key-c3e5"

#: What a call not answered from the cache raises in an outage (the breaker opens on the way).
UNAVAILABLE = (ServerError, CircuitOpenError)

_OPEN: list[MaintainXClient] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> Simulator:
    sim = Simulator(seed=5, work_orders=12, assets=4, rate_limit=None, clock=clock)
    sim.add_key(ORG1_KEY, user_id=1, org_ids=(1,))
    sim.add_key(ORG1_OTHER_KEY, user_id=1, org_ids=(1,))
    sim.add_key(ORG2_KEY, user_id=2, org_ids=(2,))
    sim.add_key(MULTI_KEY, user_id=1, org_ids=(1, 2))
    return sim


@pytest.fixture
def fleet(redis_url: str, fleet_name: str) -> FleetConfig:
    return FleetConfig(url=redis_url, name=fleet_name)


def client_for(
    sim: Simulator, clock: FakeClock, api_key: Any, fleet: FleetConfig | str | None, **kw: Any
) -> MaintainXClient:
    """A new worker: a client with an empty local cache, in ``fleet``."""
    client = MaintainXClient(
        api_key=api_key,
        base_url=BASE,
        transport=sim.transport(),
        clock=clock,
        throttle=None,
        fleet=fleet,
        **kw,
    )
    _OPEN.append(client)
    return client


def cache_of(client: MaintainXClient | AsyncMaintainXClient) -> FallbackCache:
    cache = client.policies.fallback
    assert cache is not None
    return cache


def shared_of(client: MaintainXClient) -> RedisFallbackStore:
    fleet = client.policies.fleet
    assert fleet is not None and isinstance(fleet.cache, RedisFallbackStore)
    assert cache_of(client)._shared is fleet.cache
    return fleet.cache


def first_id(sim: Simulator, org_id: int) -> int:
    return int(sim.records("workorders", org_id=org_id)[0]["id"])


def outage_answer(call: Callable[[], Any]) -> Any:
    """What ``call`` gives during an outage: a (stale) result, or the error it raises."""
    try:
        return call()
    except UNAVAILABLE as exc:
        return exc


def entries_in_redis(client: redis.Redis, name: str) -> list[bytes]:
    """The fleet's cache entry keys (not the indexes)."""
    structure = {f"mx:{{{name}}}:cache:{s}".encode() for s in ("sizes", "paths", "bytes")}
    return [k for k in fleet_keys(client, name) if b":cache:" in k and k not in structure]


# ---- a worker serves what another fetched -----------------------------------------------------


def test_a_worker_started_in_the_outage_serves_what_another_fetched(
    sim: Simulator, clock: FakeClock, fleet: FleetConfig
) -> None:
    """Worker A reads a record and a list page; MaintainX goes down; worker B, started now
    with an empty cache, serves both labelled stale, and so does C in fallback mode."""
    wo = first_id(sim, 1)
    a = client_for(sim, clock, ORG1_KEY, fleet)
    fetched = a.work_orders.get(wo)
    page = a.work_orders.list(limit=5)
    cache_of(a).flush()
    sim.faults.outage()
    clock.advance(90)

    b = client_for(sim, clock, ORG1_KEY, fleet)
    assert cache_of(b).stats().entries == 0
    served = b.work_orders.get(wo)
    assert served.title == fetched.title
    meta = served.response_meta
    assert meta is not None and meta.stale and 90 <= meta.age < 100  # retries waited too
    assert meta.reason in ("server_error", "retries_exhausted")
    stale_page = b.work_orders.list(limit=5)
    assert stale_page.response_meta.stale
    assert [w.id for w in stale_page.items] == [w.id for w in page.items]
    stats = cache_of(b).stats()
    assert (stats.from_fleet, stats.stale_served, stats.entries) == (2, 2, 2)
    # Kept locally now: served again without asking Redis.
    found = shared_of(b).stats().found
    assert b.work_orders.get(wo).response_meta.stale  # type: ignore[union-attr]
    assert shared_of(b).stats().found == found

    c = client_for(sim, clock, ORG1_KEY, fleet)
    c.enable_fallback_mode()
    meta = c.work_orders.get(wo).response_meta
    assert meta is not None and meta.reason == "fallback_mode"


async def test_the_async_client_serves_what_a_sync_worker_fetched(
    sim: Simulator, clock: FakeClock, fleet: FleetConfig
) -> None:
    wo = first_id(sim, 1)
    a = client_for(sim, clock, ORG1_KEY, fleet)
    title = a.work_orders.get(wo).title
    cache_of(a).flush()
    sim.faults.outage()
    async with AsyncMaintainXClient(
        api_key=ORG1_KEY, base_url=BASE, transport=sim.transport(), clock=clock, fleet=fleet
    ) as b:
        served = await b.work_orders.get(wo)
        assert served.title == title and served.response_meta.stale  # type: ignore[union-attr]
        assert cache_of(b).stats().from_fleet == 1


def test_an_answer_older_than_max_stale_is_not_served_and_expires_in_redis(
    sim: Simulator, clock: FakeClock, fleet: FleetConfig, redis_client: redis.Redis
) -> None:
    """Each entry lives max_stale in Redis; an older one is never served from the fleet."""
    wo = first_id(sim, 1)
    config = FallbackConfig(max_stale=600)
    a = client_for(sim, clock, ORG1_KEY, fleet, fallback=config)
    a.work_orders.get(wo)
    cache_of(a).flush()
    (entry,) = entries_in_redis(redis_client, fleet.name)
    assert 590_000 < redis_client.pttl(entry) <= 600_000
    for books in ("cache", "cache:sizes", "cache:paths", "cache:bytes"):
        assert 590_000 < redis_client.pttl(f"mx:{{{fleet.name}}}:{books}") <= 600_000
    sim.faults.outage()
    clock.advance(601)
    b = client_for(sim, clock, ORG1_KEY, fleet, fallback=config)
    assert isinstance(outage_answer(lambda: b.work_orders.get(wo)), UNAVAILABLE)
    assert cache_of(b).stats().from_fleet == 0


# ---- whose answers -----------------------------------------------------------------------------


def test_another_key_or_organization_never_sees_the_shared_answers(
    sim: Simulator, clock: FakeClock, fleet: FleetConfig, redis_client: redis.Redis
) -> None:
    """Org 1's answers (a canary title) fetched by two workers are shared; in the outage a
    worker with another key of org 1, a worker of org 2, and the multi-organization key
    asking for org 2 are served none of them, not even in fallback mode. A worker with the
    same key and organization is (the control)."""
    canary = "CANARY-org1-shared-4e1f"
    wo = first_id(sim, 1)
    a = client_for(sim, clock, ORG1_KEY, fleet)
    a.work_orders.update(wo, title=canary)
    assert a.work_orders.get(wo).title == canary
    a.work_orders.list(limit=5)
    m1 = client_for(sim, clock, MULTI_KEY, fleet, organization_id=1)
    assert m1.work_orders.get(wo).title == canary
    m1.work_orders.list(limit=5)
    for worker in (a, m1):
        cache_of(worker).flush()
    assert len(entries_in_redis(redis_client, fleet.name)) == 4
    sim.faults.outage()

    strangers = {
        "another key of org 1": client_for(sim, clock, ORG1_OTHER_KEY, fleet),
        "org 2": client_for(sim, clock, ORG2_KEY, fleet),
        "the multi-org key, org 2": client_for(sim, clock, MULTI_KEY, fleet, organization_id=2),
    }
    for who, stranger in strangers.items():
        for call in (
            lambda s=stranger: s.work_orders.get(wo),
            lambda s=stranger: s.work_orders.list(limit=5),
        ):
            answer = outage_answer(call)
            assert isinstance(answer, UNAVAILABLE), who
            assert canary not in repr(answer), who
        stranger.enable_fallback_mode()
        with pytest.raises(FallbackModeError):
            stranger.work_orders.get(wo)
        assert cache_of(stranger).stats().from_fleet == 0, who
        assert shared_of(stranger).stats().found == 0, who

    for key, kw in ((ORG1_KEY, {}), (MULTI_KEY, {"organization_id": 1})):
        same = client_for(sim, clock, key, fleet, **kw)
        assert same.work_orders.get(wo).title == canary
        assert same.work_orders.list(limit=5).response_meta.stale


def test_no_api_key_or_secret_in_any_redis_key_or_value(
    sim: Simulator, clock: FakeClock, fleet: FleetConfig, redis_client: redis.Redis
) -> None:
    """Every key and value of the fleet, of every type: no API key, no webhook secret."""
    sim.add_key(CANARY_KEY, org_ids=(1,))
    client = client_for(sim, clock, CANARY_KEY, fleet)
    client.work_orders.get(first_id(sim, 1))
    client.work_orders.list(limit=5)
    client.assets.list(limit=2)
    created = client.subscriptions.create(type="NEW_WORK_ORDER", url="https://hooks.example.test/a")
    secret = client.subscriptions.secret(created.id)
    assert secret
    cache_of(client).flush()
    names = fleet_keys(redis_client, fleet.name)
    assert len(entries_in_redis(redis_client, fleet.name)) == 3  # the secret is not one
    dump: list[Any] = []
    for name in names:
        dump.append(name)
        kind = redis_client.type(name)
        if kind == b"string":
            dump.append(redis_client.get(name) or b"")
        elif kind == b"zset":
            dump += redis_client.zrange(name, 0, -1)
        elif kind == b"hash":
            for field, value in redis_client.hgetall(name).items():
                dump += [field, value]
        elif kind == b"set":
            dump += list(redis_client.smembers(name))
        else:
            pytest.fail(f"unexpected key type {kind!r} for {name!r}")
    blob = b"\n".join(dump)
    assert b"workOrder" in blob  # the scan saw the answers
    assert CANARY_KEY.encode() not in blob
    assert secret.encode() not in blob


# ---- writes -----------------------------------------------------------------------------------


def test_a_write_through_one_worker_drops_the_shared_entries_it_makes_wrong(
    sim: Simulator, clock: FakeClock, fleet: FleetConfig, redis_client: redis.Redis
) -> None:
    """A updates a record: the record and the collection's list pages are gone from Redis
    when the call returns, so B (a new worker) cannot serve them in the outage; other
    records and other collections still are. A delete drops the record's sub-paths too."""
    wo, other = first_id(sim, 1), first_id(sim, 1) + 1
    # A writes after the outage B saw; without a breaker of its own it is not refused by the
    # one B's failures opened for the fleet.
    a = client_for(sim, clock, ORG1_KEY, fleet, breaker=None)
    a.work_orders.get(wo)
    a.work_orders.get(other)
    a.work_orders.list(limit=3)
    a.assets.list(limit=2)
    cache_of(a).flush()
    assert len(entries_in_redis(redis_client, fleet.name)) == 4
    a.work_orders.update(wo, title="renamed")
    assert len(entries_in_redis(redis_client, fleet.name)) == 2  # no flush: synchronous
    assert shared_of(a).stats().invalidated == 2
    sim.faults.outage()
    b = client_for(sim, clock, ORG1_KEY, fleet)
    assert isinstance(outage_answer(lambda: b.work_orders.get(wo)), UNAVAILABLE)
    assert isinstance(outage_answer(lambda: b.work_orders.list(limit=3)), UNAVAILABLE)
    assert b.work_orders.get(other).response_meta.stale  # type: ignore[union-attr]
    assert b.assets.list(limit=2).response_meta.stale
    sim.faults.heal()
    a.work_orders.delete(other)
    (left,) = entries_in_redis(redis_client, fleet.name)
    assert "/assets?" in json.loads(redis_client.get(left) or b"")["key"]


def test_a_queued_answer_never_outlives_the_write_that_made_it_wrong(
    redis_url: str, fleet_name: str, redis_client: redis.Redis
) -> None:
    """An answer queued for the writer and a write right after it: the write drops it from
    the queue, and nothing reaches Redis."""
    store, link = store_for(redis_url, fleet_name)
    key = cache_key(httpx.Request("GET", BASE + "/workorders/1"), "cred-a")
    write = WriteScope.of(httpx.Request("PATCH", BASE + "/workorders/1"), "cred-a")
    try:
        for n in range(20):
            store.put(key, StoredAnswer(200, (), b'{"n": %d}' % n, 1.0))
            store.invalidate(write)
            assert store.flush(5)
            assert entries_in_redis(redis_client, fleet_name) == [], n
        assert store.stats().written == 0
    finally:
        store.close()
        link.close()


def test_an_answer_being_written_never_outlives_the_write_that_made_it_wrong(
    redis_url: str, fleet_name: str, redis_client: redis.Redis
) -> None:
    """The writer has taken the answer and is sending it (a slow Redis) when a write
    invalidates it: the invalidation waits for the send, then deletes it."""
    slow = SlowWriter(connection_pool=redis.ConnectionPool.from_url(redis_url, socket_timeout=1))
    link = FleetLink(FleetConfig(redis=slow, name=fleet_name))
    store = RedisFallbackStore(link, FleetKeys(fleet_name), ttl=3600, max_bytes=1 << 20)
    key = cache_key(httpx.Request("GET", BASE + "/workorders/1"), "cred-a")
    write = WriteScope.of(httpx.Request("PATCH", BASE + "/workorders/1"), "cred-a")
    try:
        for n in range(3):
            store.put(key, StoredAnswer(200, (), b'{"n": %d}' % n, 1.0))
            assert slow.sending.wait(5)  # the writer took it and is sending it now
            store.invalidate(write)
            assert store.flush(5)
            slow.sending.clear()
            assert entries_in_redis(redis_client, fleet_name) == [], n
        assert store.stats().written == 3 and store.stats().invalidated == 3
    finally:
        store.close()
        link.close()
        slow.close()


def test_an_invalidation_redis_missed_is_sent_again_when_it_answers(
    sim: Simulator,
    clock: FakeClock,
    redis_url: str,
    fleet_name: str,
    redis_client: redis.Redis,
) -> None:
    """A's Redis is cut while it updates a record: the write succeeds, the invalidation is
    kept; meanwhile A refuses the shared entry it covers; when Redis answers again it is sent,
    and a new worker cannot serve the old record."""
    switch = Switchable(
        connection_pool=redis.ConnectionPool.from_url(redis_url, socket_timeout=0.05)
    )
    config = FleetConfig(redis=switch, name=fleet_name, retry_interval=30)
    wo, other = first_id(sim, 1), first_id(sim, 1) + 1
    # no breaker: the link's local calls counted below are the cache's alone
    a = client_for(sim, clock, ORG1_KEY, config, breaker=None)
    events: list[FleetStateChanged] = []
    a.policies.events.subscribe(
        lambda e: events.append(e) if isinstance(e, FleetStateChanged) else None
    )
    a.work_orders.get(wo)
    cache_of(a).flush()
    switch.down = True
    assert a.work_orders.update(wo, title="renamed").title == "renamed"
    store = shared_of(a)
    assert store.stats().unsynced == 1
    assert [e.new for e in events] == ["local"]
    link = a.policies.fleet.link  # type: ignore[union-attr]
    deadline = time.monotonic() + 5  # the writer tries it once at once (while still cut)
    while link.status().local_calls < 2 and time.monotonic() < deadline:
        time.sleep(0.005)
    assert store.stats().unsynced == 1
    switch.down = False
    clock.advance(31)  # the link may try Redis again
    key = cache_key(httpx.Request("GET", f"{BASE}/workorders/{wo}"), a.policies.keys.credential())
    assert len(entries_in_redis(redis_client, fleet_name)) == 1  # still in Redis...
    assert store.get(key) is None  # ...but refused by the process that knows better
    a.work_orders.get(other)  # a fresh answer: the writer reaches Redis, then replays
    deadline = time.monotonic() + 5
    while store.stats().unsynced and time.monotonic() < deadline:
        time.sleep(0.01)
    assert store.stats().unsynced == 0
    assert [e.new for e in events] == ["local", "joined"]
    cache_of(a).flush()
    sim.faults.outage()
    b = client_for(sim, clock, ORG1_KEY, FleetConfig(url=redis_url, name=fleet_name))
    assert isinstance(outage_answer(lambda: b.work_orders.get(wo)), UNAVAILABLE)
    assert b.work_orders.get(other).response_meta.stale  # type: ignore[union-attr]
    switch.close()


def test_clear_forgets_the_fleets_copies_too(
    sim: Simulator, clock: FakeClock, fleet: FleetConfig, redis_client: redis.Redis
) -> None:
    a = client_for(sim, clock, ORG1_KEY, fleet)
    a.work_orders.get(first_id(sim, 1))
    a.work_orders.list(limit=2)
    cache_of(a).flush()
    assert len(entries_in_redis(redis_client, fleet.name)) == 2
    cache_of(a).clear()
    assert entries_in_redis(redis_client, fleet.name) == []
    assert int(redis_client.get(FleetKeys(fleet.name).cache_bytes) or 0) == 0


def test_cache_max_bytes_0_shares_nothing(
    sim: Simulator, clock: FakeClock, redis_url: str, fleet_name: str, redis_client: redis.Redis
) -> None:
    config = FleetConfig(url=redis_url, name=fleet_name, cache_max_bytes=0)
    a = client_for(sim, clock, ORG1_KEY, config)
    a.work_orders.get(first_id(sim, 1))
    assert cache_of(a)._shared is None and a.policies.fleet.cache is None  # type: ignore[union-attr]
    assert cache_of(a).stats().entries == 1
    assert entries_in_redis(redis_client, fleet_name) == []


# ---- the byte cap -----------------------------------------------------------------------------


def store_for(
    redis_url: str, name: str, max_bytes: int = 64 * 1024
) -> tuple[RedisFallbackStore, FleetLink]:
    link = FleetLink(FleetConfig(url=redis_url, name=name))
    return RedisFallbackStore(link, FleetKeys(name), ttl=3600, max_bytes=max_bytes), link


def answer_key(n: int, credential: str = "cred-a") -> str:
    return cache_key(httpx.Request("GET", f"{BASE}/workorders/{n}"), credential)


def check_books(client: redis.Redis, name: str, cap: int) -> list[bytes]:
    """The index, sizes, paths and total agree with each other and with the entries in
    Redis, and the total is under the cap. Returns the members, oldest first."""
    keys = FleetKeys(name)
    members = client.zrange(keys.cache_index, 0, -1)
    sizes = {m: int(v) for m, v in client.hgetall(keys.cache_sizes).items()}
    assert set(members) == set(sizes) == set(client.zrange(keys.cache_paths, 0, -1))
    total = int(client.get(keys.cache_bytes) or 0)
    assert total == sum(sizes.values()) <= cap
    entries = entries_in_redis(client, name)
    assert len(entries) == len(members)
    assert sum(int(client.strlen(e)) for e in entries) <= cap
    return [m for m in members if isinstance(m, bytes)]


def test_the_byte_cap_holds_oldest_first(
    redis_url: str, fleet_name: str, redis_client: redis.Redis
) -> None:
    """600 answers of ~1 KB into a 64 KB cache: the total stays under the cap at every step,
    the newest answers are there and the oldest were evicted."""
    cap = 64 * 1024
    store, link = store_for(redis_url, fleet_name, cap)
    body = json.dumps({"workOrder": {"title": "x" * 1000}}).encode()
    try:
        for n in range(600):
            store.put(answer_key(n), StoredAnswer(200, (), body, 1.0 + n))
            if n % 100 == 99:
                assert store.flush(10)
                check_books(redis_client, fleet_name, cap)
        members = check_books(redis_client, fleet_name, cap)
        assert 40 < len(members) < 64
        assert members[-1].endswith(entry_id(answer_key(599)).encode())
        assert store.get(answer_key(599)) is not None
        assert store.get(answer_key(0)) is None
        stats = store.stats()
        assert stats.written == 600 and stats.evicted == 600 - len(members)
    finally:
        store.close()
        link.close()


def test_the_byte_cap_holds_with_concurrent_writers(
    redis_url: str, fleet_name: str, redis_client: redis.Redis
) -> None:
    """Three processes' stores (each its own link) writing at once: the books still agree and
    stay under the cap (each write and its evictions are one script)."""
    cap = 32 * 1024
    stores = [store_for(redis_url, fleet_name, cap) for _ in range(3)]
    body = b'{"workOrder": {"title": "%s"}}' % (b"y" * 700)

    def fill(store: RedisFallbackStore, credential: str) -> None:
        for n in range(200):
            store.put(answer_key(n, credential), StoredAnswer(200, (), body, 1.0))
            if n % 50 == 49:
                store.flush(10)

    threads = [
        threading.Thread(target=fill, args=(store, f"cred-{i}"))
        for i, (store, _) in enumerate(stores)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    try:
        for store, _ in stores:
            assert store.flush(10)
        check_books(redis_client, fleet_name, cap)
        assert sum(s.stats().written for s, _ in stores) == 600
    finally:
        for store, link in stores:
            store.close()
            link.close()


def test_an_entry_larger_than_the_per_entry_cap_is_not_shared(
    redis_url: str, fleet_name: str, redis_client: redis.Redis
) -> None:
    cap = 64 * 1024
    assert entry_cap(cap) == 16 * 1024 and entry_cap(1 << 40) == MAX_ENTRY_BYTES
    store, link = store_for(redis_url, fleet_name, cap)
    try:
        store.put(answer_key(1), StoredAnswer(200, (), b"z" * 20_000, 1.0))  # over: at once
        store.put(answer_key(2), StoredAnswer(200, (), b"z" * 16_300, 1.0))  # over, encoded
        store.put(answer_key(3), StoredAnswer(200, (), b"z" * 1_000, 1.0))
        assert store.flush(5)
        assert store.stats().too_large == 2 and store.stats().written == 1
        assert len(entries_in_redis(redis_client, fleet_name)) == 1
    finally:
        store.close()
        link.close()


# ---- corrupt values ---------------------------------------------------------------------------

CORRUPT: dict[str, Callable[[dict[str, Any]], Any]] = {
    "not json": lambda v: b"\x80 not json {",
    "deep nesting": lambda v: b"[" * 100_000,
    "a list": lambda v: [v],
    "another key's answer": lambda v: {**v, "key": v["key"].replace("/workorders/", "/assets/")},
    "a 500": lambda v: {**v, "status": 500},
    "status true": lambda v: {**v, "status": True},
    "header smuggling": lambda v: {**v, "headers": [["content-type", "a\r\nset-cookie: x=1"]]},
    "a header not kept": lambda v: {**v, "headers": [["set-cookie", "x=1"]]},
    "bad base64": lambda v: {**v, "enc": "base64", "body": "!!!"},
    "unknown encoding": lambda v: {**v, "enc": "pickle"},
    "no time": lambda v: {**v, "at": "yesterday"},
    "infinite time": lambda v: b'{"v":1,"at":Infinity}',
    "extra field": lambda v: {**v, "extra": 1},
    "another version": lambda v: {**v, "v": 2},
}


@pytest.mark.parametrize("kind", ["untouched (the control)", *CORRUPT, "a hash"])
def test_a_corrupt_value_in_redis_is_a_miss(
    sim: Simulator,
    clock: FakeClock,
    fleet: FleetConfig,
    redis_client: redis.Redis,
    kind: str,
) -> None:
    """Whatever sits under the entry's key, a new worker treats it as a miss: the original
    error goes through, nothing crashes, the link stays joined."""
    wo = first_id(sim, 1)
    a = client_for(sim, clock, ORG1_KEY, fleet)
    a.work_orders.get(wo)
    cache_of(a).flush()
    (entry,) = entries_in_redis(redis_client, fleet.name)
    if kind == "a hash":
        redis_client.delete(entry)
        redis_client.hset(entry, "status", "200")
    elif kind.startswith("untouched"):
        sim.faults.outage()
        served = client_for(sim, clock, ORG1_KEY, fleet).work_orders.get(wo)
        assert served.response_meta.stale  # type: ignore[union-attr]
        return
    else:
        raw = CORRUPT[kind](json.loads(redis_client.get(entry) or b""))
        redis_client.set(entry, raw if isinstance(raw, bytes) else json.dumps(raw))
    sim.faults.outage()
    b = client_for(sim, clock, ORG1_KEY, fleet)
    assert isinstance(outage_answer(lambda: b.work_orders.get(wo)), UNAVAILABLE)
    assert shared_of(b).stats().corrupt >= 1
    assert cache_of(b).stats().from_fleet == 0
    assert b.policies.fleet is not None and b.policies.fleet.link.joined


def test_corrupt_indexes_never_fail_a_call(
    sim: Simulator,
    clock: FakeClock,
    fleet: FleetConfig,
    redis_client: redis.Redis,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """The indexes overwritten with values of the wrong type: writes and invalidations are
    refused by Redis as a whole (nothing half written; counted, one warning), every call
    still works, the local cache serves, the link stays joined."""
    keys = FleetKeys(fleet.name)
    redis_client.set(keys.cache_paths, "oops")
    redis_client.lpush(keys.cache_sizes, "oops")
    a = client_for(sim, clock, ORG1_KEY, fleet)
    wo = first_id(sim, 1)
    a.work_orders.get(wo)
    a.work_orders.list(limit=2)
    cache_of(a).flush()
    a.assets.list(limit=2)
    cache_of(a).flush()
    a.work_orders.update(wo, title="renamed")
    assert shared_of(a).stats().errors >= 2  # the writes (batched) and the invalidation
    assert shared_of(a).stats().written == 0
    assert entries_in_redis(redis_client, fleet.name) == []  # not even the entries
    assert len([r for r in caplog.records if "refused the shared cache" in r.message]) == 1
    assert a.policies.fleet is not None and a.policies.fleet.link.joined
    sim.faults.outage()
    assert a.assets.list(limit=2).response_meta.stale


def test_the_codec_round_trips_text_and_binary_bodies() -> None:
    key = answer_key(7)
    headers = (("content-type", "application/json"), ("x-request-id", "req-1"))
    for body in (b'{"workOrder": {"title": "caf\xc3\xa9"}}', b"\x00\xff\xfe binary", b""):
        answer = StoredAnswer(203, headers, body, 1_750_000_000.5)
        raw = encode_answer(key, answer)
        assert json.loads(raw)["enc"] == ("base64" if body.startswith(b"\x00") else "text")
        assert decode_answer(raw, key) == answer
        assert decode_answer(raw.decode(), key) == answer
        assert decode_answer(raw, answer_key(8)) is None
    assert decode_answer(None, key) is None and decode_answer(b"", key) is None


# ---- Redis out --------------------------------------------------------------------------------


def closed_port() -> int:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    sock.close()
    return port


@contextmanager
def silent_redis() -> Iterator[int]:
    """A port that accepts connections (the kernel's backlog) and never answers."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(64)
    try:
        yield int(sock.getsockname()[1])
    finally:
        sock.close()


@pytest.mark.parametrize("down", ["refused", "silent"])
def test_redis_out_means_the_local_cache_only(
    sim: Simulator, clock: FakeClock, fleet_name: str, down: str
) -> None:
    """Redis refusing or never answering: every call works, no call waits more than about
    the link's 50 ms for it, the answers are served stale from the local cache, and the
    process says it went local (once)."""
    wo, other = first_id(sim, 1), first_id(sim, 1) + 1
    with silent_redis() as silent:
        port = closed_port() if down == "refused" else silent
        config = FleetConfig(url=f"redis://127.0.0.1:{port}/0", name=fleet_name)
        events: list[Any] = []
        a = client_for(sim, clock, ORG1_KEY, config, hooks=[events.append])
        started = time.perf_counter()
        title = a.work_orders.get(wo).title
        a.work_orders.list(limit=2)
        fresh = time.perf_counter() - started
        cache_of(a).flush()  # the writer meets the failing Redis (bounded)
        sim.faults.outage()
        timings = []
        for call in (
            lambda: a.work_orders.get(other),  # a miss here: asks Redis, which fails
            lambda: a.work_orders.get(wo),
            lambda: a.work_orders.list(limit=2),
            lambda: a.work_orders.get(other),
        ):
            started = time.perf_counter()
            outage_answer(call)
            timings.append(time.perf_counter() - started)
        served = a.work_orders.get(wo)
        assert served.title == title and served.response_meta.stale  # type: ignore[union-attr]
    assert fresh < 0.2, fresh  # the writer thread pays for Redis, not the caller
    assert max(timings) < 0.3, timings
    changes = [e for e in events if isinstance(e, FleetStateChanged)]
    assert [e.new for e in changes] == ["local"]
    assert cache_of(a).stats().from_fleet == 0


class Switchable(redis.Redis):
    """A redis-py client whose every command fails while ``down`` (a cut network)."""

    down = False

    def execute_command(self, *args: Any, **options: Any) -> Any:
        if self.down:
            raise redis.ConnectionError("network cut (test)")
        return super().execute_command(*args, **options)  # type: ignore[no-untyped-call]


class SlowWriter(redis.Redis):
    """A Redis that takes 30 ms to run the writer thread's scripts (and says when it starts)."""

    sending = threading.Event()

    def execute_command(self, *args: Any, **options: Any) -> Any:
        if args[0] == "EVALSHA" and threading.current_thread().name.endswith("cache-writer"):
            self.sending.set()
            time.sleep(0.03)  # a slow Redis, not the test waiting for time to pass
        return super().execute_command(*args, **options)  # type: ignore[no-untyped-call]
