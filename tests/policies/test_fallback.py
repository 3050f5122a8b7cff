"""The fallback cache: what it keeps, when it serves stale answers, fallback mode, persistence."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import sqlite3
import stat
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from maintainx_resilient._clock import FakeClock
from maintainx_resilient._events import Event, EventBus, FallbackServed
from maintainx_resilient._exceptions import (
    AuthenticationError,
    CircuitOpenError,
    ConfigurationError,
    ConnectionError,
    FallbackModeError,
    ServerError,
    TimeoutError,
)
from maintainx_resilient._extensions import ATTEMPTS_EXTENSION, META_EXTENSION, ROUTE_EXTENSION
from maintainx_resilient._meta import FRESH, ResponseMeta, meta_of
from maintainx_resilient.policies.fallback import (
    DEFAULT_MAX_BYTES,
    DEFAULT_MAX_ENTRIES,
    DEFAULT_MAX_STALE,
    AsyncFallbackLayer,
    FallbackCache,
    FallbackConfig,
    FallbackLayer,
    cache_key,
    commit,
    stale_reason,
)

from ..conftest import CANARY_KEY

BASE = "https://api.example.test/v1"


def label(meta: object) -> tuple[object, ...]:
    """What labels an answer: stale, age, reason, request id (status and headers vary)."""
    assert isinstance(meta, ResponseMeta)
    return (meta.stale, meta.age, meta.reason, meta.request_id)


class Keeping(FallbackLayer):
    """The layer as the client drives it: a fresh answer is committed once its body "parsed"
    (here every body does; the tests of commit itself use FallbackLayer directly)."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        response = super().handle_request(request)
        commit(response)
        return response


class AsyncKeeping(AsyncFallbackLayer):
    """The async twin of :class:`Keeping`."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await super().handle_async_request(request)
        commit(response)
        return response


class Upstream:
    """A fake MaintainX below the fallback layer: answers or raises what it is told."""

    def __init__(self) -> None:
        self.calls: list[httpx.Request] = []
        self.failure: Exception | None = None
        self.status = 200

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.calls.append(request)
        if self.failure is not None:
            raise self.failure
        if self.status != 200:
            return httpx.Response(self.status, json={"error": "down"})
        body = {"url": str(request.url), "org": request.headers.get("x-organization-id")}
        return httpx.Response(
            200,
            json=body,
            headers={"x-request-id": f"req-{len(self.calls)}", "x-rate-limit-remaining": "9"},
        )


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def events() -> tuple[EventBus, list[Event]]:
    bus = EventBus()
    seen: list[Event] = []
    bus.subscribe(seen.append)
    return bus, seen


@pytest.fixture
def upstream() -> Upstream:
    return Upstream()


Make = Callable[..., Keeping]


@pytest.fixture
def make(
    clock: FakeClock, events: tuple[EventBus, list[Event]], upstream: Upstream
) -> Iterator[Make]:
    caches: list[FallbackCache] = []

    def factory(**config: Any) -> Keeping:
        cache = FallbackCache(FallbackConfig(**config), clock=clock, events=events[0])
        caches.append(cache)
        return Keeping(httpx.MockTransport(upstream), cache)

    yield factory
    for cache in caches:
        cache.close()


def get(path: str = "/workorders/1", *, org: str | None = "1") -> httpx.Request:
    headers = {"Authorization": f"Bearer {CANARY_KEY}"}
    if org is not None:
        headers["x-organization-id"] = org
    return httpx.Request(
        "GET", BASE + path, headers=headers, extensions={ROUTE_EXTENSION: "/workorders/{id}"}
    )


# ---- configuration ------------------------------------------------------------------------------


def test_defaults_are_named_constants() -> None:
    """2048 entries, 64 MiB, 24 h, in memory."""
    config = FallbackConfig()
    assert (config.max_entries, config.max_bytes, config.max_stale, config.path) == (
        2048,
        64 * 1024 * 1024,
        86400.0,
        None,
    )
    assert (DEFAULT_MAX_ENTRIES, DEFAULT_MAX_BYTES, DEFAULT_MAX_STALE) == (2048, 2**26, 86400.0)


@pytest.mark.parametrize(
    ("kwargs", "hint"),
    [
        ({"max_entries": 0}, "max_entries"),
        ({"max_entries": 1.5}, "max_entries"),
        ({"max_bytes": -1}, "max_bytes"),
        ({"max_stale": 0}, "max_stale"),
        ({"max_stale": float("nan")}, "max_stale"),
        ({"path": "/no/such/directory/cache.sqlite"}, "does not exist"),
        ({"path": ""}, "path"),
    ],
)
def test_bad_values_fail_at_construction(kwargs: dict[str, Any], hint: str) -> None:
    """Bad settings raise ConfigurationError saying what is wrong."""
    with pytest.raises(ConfigurationError, match=hint):
        FallbackConfig(**kwargs)


# ---- keys ------------------------------------------------------------------------------------


def test_key_sorts_query_and_scopes_by_credential_never_the_key() -> None:
    """The key normalizes the query order, is scoped by the credential id it is given, and
    never contains the API key (the Authorization header plays no part)."""
    a = get("/workorders?statuses=OPEN&limit=5&statuses=DONE")
    b = get("/workorders?limit=5&statuses=DONE&statuses=OPEN")
    assert cache_key(a, "c1") == cache_key(b, "c1")
    other_key = get("/workorders?limit=5&statuses=DONE&statuses=OPEN")
    other_key.headers["Authorization"] = "Bearer someone-else"
    assert cache_key(other_key, "c1") == cache_key(a, "c1")
    assert cache_key(a, "c1") != cache_key(a, "c2")
    assert cache_key(a, "c1").startswith("c1\n")
    assert CANARY_KEY not in cache_key(a, "c1")
    assert cache_key(get("/workorders?limit=5"), "c") != cache_key(get("/workorders?limit=6"), "c")


def test_key_separates_organizations() -> None:
    """x-organization-id and x-organization-ids are part of the key."""
    assert cache_key(get(org="1"), "c") != cache_key(get(org="2"), "c")
    assert cache_key(get(org="1"), "c") != cache_key(get(org=None), "c")
    many = get(org=None)
    many.headers["x-organization-ids"] = "2,1"
    many_sorted = get(org=None)
    many_sorted.headers["x-organization-ids"] = "1,2"
    assert cache_key(many, "c") == cache_key(many_sorted, "c") != cache_key(get(org=None), "c")


def test_organizations_never_see_each_others_answers(make: Make, upstream: Upstream) -> None:
    """An answer cached for org 1 is not served to org 2."""
    layer = make()
    layer.handle_request(get(org="1"))
    upstream.failure = ConnectionError("refused", sent=False)
    assert layer.handle_request(get(org="1")).json()["org"] == "1"
    with pytest.raises(ConnectionError):
        layer.handle_request(get(org="2"))


# ---- when a stale answer replaces a failure ---------------------------------------------------


@pytest.mark.parametrize(
    ("failure", "reason"),
    [
        (CircuitOpenError("open", scope="s", retry_after=3.0), "circuit_open"),
        (ConnectionError("refused", sent=False), "connection_error"),
        (TimeoutError("read timeout", phase="read"), "timeout"),
    ],
)
def test_errors_are_answered_stale_with_age_and_reason(
    make: Make,
    upstream: Upstream,
    clock: FakeClock,
    events: tuple[EventBus, list[Event]],
    failure: Exception,
    reason: str,
) -> None:
    """Breaker open, connection failure, timeout: the last good answer, labelled, with an event."""
    layer = make()
    fresh = layer.handle_request(get())
    assert label(meta_of(fresh)) == label(ResponseMeta(request_id="req-1"))
    clock.advance(90.0)
    upstream.failure = failure
    stale = layer.handle_request(get())
    assert stale.status_code == 200
    assert stale.json() == fresh.json()
    meta = stale.extensions[META_EXTENSION]
    assert label(meta) == (True, 90.0, reason, "req-1")
    assert stale.headers["content-type"] == "application/json"
    assert "x-rate-limit-remaining" not in stale.headers
    served = [e for e in events[1] if isinstance(e, FallbackServed)]
    assert served == [
        FallbackServed(
            at=clock.monotonic(),
            wall=clock.time(),
            method="GET",
            route="/workorders/{id}",
            age=90.0,
            reason=reason,
        )
    ]


def test_final_5xx_answer_is_replaced(make: Make, upstream: Upstream) -> None:
    """A final 5xx answer is replaced by the stale one (server_error / retries_exhausted)."""
    layer = make()
    layer.handle_request(get())
    upstream.status = 503
    assert meta_of(layer.handle_request(get())).reason == "server_error"

    def retried(request: httpx.Request) -> httpx.Response:
        return httpx.Response(502, extensions={ATTEMPTS_EXTENSION: (3, 1.5)})

    exhausted = Keeping(httpx.MockTransport(retried), layer.policy)
    assert meta_of(exhausted.handle_request(get())).reason == "retries_exhausted"


def test_stale_reason_table() -> None:
    """The pure decision: which outcomes may be replaced, and why."""
    assert stale_reason(httpx.Response(200)) is None
    assert stale_reason(httpx.Response(404)) is None
    assert stale_reason(httpx.Response(429)) is None
    assert stale_reason(httpx.Response(500)) == "server_error"
    assert stale_reason(httpx.Response(503, extensions={ATTEMPTS_EXTENSION: 2})) == (
        "retries_exhausted"
    )
    error = ServerError("boom", status_code=500)
    assert stale_reason(error) == "server_error"
    error.attempts = 3
    assert stale_reason(error) == "retries_exhausted"
    assert stale_reason(AuthenticationError("no", status_code=401)) is None
    assert stale_reason(ValueError("bug")) is None


@pytest.mark.parametrize("status", [400, 401, 404, 429])
def test_4xx_answers_go_through(make: Make, upstream: Upstream, status: int) -> None:
    """A 4xx (429 included) is a real answer: never replaced, never cached."""
    layer = make()
    layer.handle_request(get())
    upstream.status = status
    response = layer.handle_request(get())
    assert response.status_code == status
    assert label(meta_of(response)) == label(FRESH)


def test_miss_lets_the_original_error_through(make: Make, upstream: Upstream) -> None:
    """With nothing cached, the very same error object reaches the caller."""
    layer = make()
    upstream.failure = error = TimeoutError("read timeout", phase="read")
    with pytest.raises(TimeoutError) as info:
        layer.handle_request(get())
    assert info.value is error
    upstream.failure = None
    upstream.status = 503
    assert layer.handle_request(get()).status_code == 503
    assert layer.policy.stats().misses == 2


def test_other_errors_are_never_masked(make: Make, upstream: Upstream) -> None:
    """An error that is not an outage (a bug, a 401 raised below) goes through."""
    layer = make()
    layer.handle_request(get())
    upstream.failure = ValueError("bug")
    with pytest.raises(ValueError, match="bug"):
        layer.handle_request(get())


def test_writes_are_never_cached_or_served(make: Make, upstream: Upstream) -> None:
    """POST/PATCH are passed through; their failures are never answered from the cache."""
    layer = make()
    post = httpx.Request("POST", BASE + "/workorders/1", json={"title": "x"})
    assert layer.handle_request(post).status_code == 200
    layer.handle_request(get())
    upstream.failure = ConnectionError("reset", sent=True)
    for method in ("POST", "PATCH", "DELETE", "PUT"):
        with pytest.raises(ConnectionError):
            layer.handle_request(httpx.Request(method, BASE + "/workorders/1"))
    assert layer.policy.stats().entries == 1


def test_age_limit(make: Make, upstream: Upstream, clock: FakeClock) -> None:
    """An answer exactly max_stale old is served; older is not (counted as expired)."""
    layer = make(max_stale=60.0)
    layer.handle_request(get())
    upstream.failure = ConnectionError("refused", sent=False)
    clock.advance(60.0)
    assert meta_of(layer.handle_request(get())).age == 60.0
    clock.advance(0.5)
    with pytest.raises(ConnectionError):
        layer.handle_request(get())
    stats = layer.policy.stats()
    assert (stats.hits, stats.misses, stats.expired) == (1, 1, 1)


def test_a_fresh_answer_replaces_the_old_one(
    make: Make, upstream: Upstream, clock: FakeClock
) -> None:
    """Each good answer refreshes the entry: the age counts from the latest one."""
    layer = make()
    layer.handle_request(get())
    clock.advance(100.0)
    layer.handle_request(get())
    clock.advance(5.0)
    upstream.failure = ConnectionError("refused", sent=False)
    meta = meta_of(layer.handle_request(get()))
    assert (meta.age, meta.request_id) == (5.0, "req-2")


def test_pagination_pages_are_served(make: Make, upstream: Upstream) -> None:
    """Each page is its own URL (cursor in the query), so every page seen is served again."""
    layer = make()
    pages = [
        "/workorders?limit=2",
        "/workorders?limit=2&cursor=abc",
        "/workorders?cursor=def&limit=2",
    ]
    for page in pages:
        layer.handle_request(get(page))
    upstream.failure = CircuitOpenError("open", scope="s", retry_after=1.0)
    for page in pages:
        assert layer.handle_request(get(page)).json()["url"] == BASE + page
    with pytest.raises(CircuitOpenError):
        layer.handle_request(get("/workorders?limit=2&cursor=never-seen"))


# ---- bounds -------------------------------------------------------------------------------------


def test_entry_bound_evicts_least_recently_used(make: Make, upstream: Upstream) -> None:
    """With max_entries=3, a fourth answer evicts the least recently used one."""
    layer = make(max_entries=3)
    for n in (1, 2, 3):
        layer.handle_request(get(f"/workorders/{n}"))
    upstream.failure = ConnectionError("refused", sent=False)
    layer.handle_request(get("/workorders/1"))  # served: 1 is now the most recent
    upstream.failure = None
    layer.handle_request(get("/workorders/4"))
    upstream.failure = ConnectionError("refused", sent=False)
    for n in (1, 3, 4):
        assert meta_of(layer.handle_request(get(f"/workorders/{n}"))).stale
    with pytest.raises(ConnectionError):
        layer.handle_request(get("/workorders/2"))
    assert layer.policy.stats().entries == 3


def test_byte_bound(upstream: Upstream, clock: FakeClock) -> None:
    """The total size stays under max_bytes; an answer bigger than the whole cache is not kept."""
    big = b"x" * 4000

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=big if "big" in request.url.path else big * 10)

    cache = FallbackCache(FallbackConfig(max_bytes=10_000), clock=clock)
    layer = Keeping(httpx.MockTransport(handler), cache)
    for n in range(5):
        layer.handle_request(get(f"/big/{n}"))
    stats = cache.stats()
    assert stats.entries == 2
    assert stats.bytes <= 10_000
    assert stats.stored == 5
    layer.handle_request(get("/huge"))
    assert cache.stats().stored == 5  # too large on its own: not kept


def test_stats_and_clear(make: Make, upstream: Upstream) -> None:
    """stats() is a frozen snapshot with a hit rate; clear() forgets every answer."""
    layer = make()
    layer.handle_request(get("/workorders/1"))
    upstream.failure = ConnectionError("refused", sent=False)
    layer.handle_request(get("/workorders/1"))
    layer.handle_request(get("/workorders/1"))
    with pytest.raises(ConnectionError):
        layer.handle_request(get("/workorders/2"))
    stats = layer.policy.stats()
    assert (stats.hits, stats.misses, stats.stale_served, stats.stored) == (2, 1, 2, 1)
    assert stats.hit_rate == pytest.approx(2 / 3)
    assert stats.entries == 1 and stats.bytes > 0
    with pytest.raises(AttributeError):
        stats.hits = 0  # type: ignore[misc]
    layer.policy.clear()
    assert (layer.policy.stats().entries, layer.policy.stats().bytes) == (0, 0)
    with pytest.raises(ConnectionError):
        layer.handle_request(get("/workorders/1"))


# ---- fallback mode ------------------------------------------------------------------------------


def test_fallback_mode_serves_gets_without_sending(
    make: Make, upstream: Upstream, clock: FakeClock
) -> None:
    """Fallback mode: a cached GET is answered locally (reason fallback_mode), nothing is sent."""
    layer = make()
    layer.handle_request(get())
    sent = len(upstream.calls)
    layer.policy.enable_fallback_mode()
    assert layer.policy.fallback_mode
    clock.advance(30.0)
    response = layer.handle_request(get())
    assert label(meta_of(response)) == (True, 30.0, "fallback_mode", "req-1")
    assert len(upstream.calls) == sent
    stats = layer.policy.stats()
    assert (stats.fallback_mode_served, stats.stale_served, stats.fallback_mode) == (1, 0, True)
    layer.policy.disable_fallback_mode()
    assert label(meta_of(layer.handle_request(get()))) == label(ResponseMeta(request_id="req-2"))


def test_fallback_mode_miss_and_too_old_raise(
    make: Make, upstream: Upstream, clock: FakeClock
) -> None:
    """Fallback mode: no entry, or one older than max_stale, raises FallbackModeError; no send."""
    layer = make(max_stale=60.0)
    layer.handle_request(get("/workorders/1"))
    layer.policy.enable_fallback_mode()
    with pytest.raises(FallbackModeError, match="no cached answer") as info:
        layer.handle_request(get("/workorders/2"))
    assert (info.value.method, info.value.path) == ("GET", "/v1/workorders/2")
    clock.advance(61.0)
    with pytest.raises(FallbackModeError):
        layer.handle_request(get("/workorders/1"))
    assert len(upstream.calls) == 1


@pytest.mark.parametrize("method", ["POST", "PATCH", "PUT", "DELETE", "HEAD"])
def test_fallback_mode_refuses_everything_but_get(
    make: Make, upstream: Upstream, method: str
) -> None:
    """Fallback mode: every non-GET raises FallbackModeError with a clear message; no send."""
    layer = make()
    layer.policy.enable_fallback_mode()
    with pytest.raises(FallbackModeError, match="fallback mode is on") as info:
        layer.handle_request(httpx.Request(method, BASE + "/workorders/1"))
    assert "not sent" in str(info.value)
    assert info.value.method == method
    assert upstream.calls == []


# ---- async -----------------------------------------------------------------------------------


async def test_async_layer(clock: FakeClock, upstream: Upstream) -> None:
    """The async twin remembers, serves stale, and honours fallback mode."""

    async def handler(request: httpx.Request) -> httpx.Response:
        return upstream(request)

    cache = FallbackCache(clock=clock)
    layer = AsyncKeeping(httpx.MockTransport(handler), cache)
    await layer.handle_async_request(get())
    upstream.failure = TimeoutError("read timeout", phase="read")
    assert meta_of(await layer.handle_async_request(get())).reason == "timeout"
    with pytest.raises(TimeoutError):
        await layer.handle_async_request(get("/workorders/9"))
    upstream.status, upstream.failure = 500, None
    assert meta_of(await layer.handle_async_request(get())).reason == "server_error"
    cache.enable_fallback_mode()
    assert meta_of(await layer.handle_async_request(get())).reason == "fallback_mode"
    with pytest.raises(FallbackModeError):
        await layer.handle_async_request(httpx.Request("POST", BASE + "/workorders"))
    await layer.aclose()


async def test_many_tasks_share_the_cache(clock: FakeClock) -> None:
    """100 concurrent tasks store and serve without losing entries or corrupting counts."""

    async def handler(request: httpx.Request) -> httpx.Response:
        await asyncio.sleep(0)
        if request.headers.get("x-down"):
            raise ConnectionError("refused", sent=False)
        return httpx.Response(200, text=request.url.path)

    cache = FallbackCache(clock=clock)
    layer = AsyncKeeping(httpx.MockTransport(handler), cache)
    await asyncio.gather(*(layer.handle_async_request(get(f"/wo/{n}")) for n in range(100)))
    down = [get(f"/wo/{n}") for n in range(100)]
    for req in down:
        req.headers["x-down"] = "1"
    answers = await asyncio.gather(*(layer.handle_async_request(r) for r in down))
    assert [a.text for a in answers] == [f"/v1/wo/{n}" for n in range(100)]
    assert cache.stats().stale_served == 100


def test_threads_share_the_cache(clock: FakeClock) -> None:
    """20 threads storing and reading concurrently keep the bounds and the counts exact."""
    cache = FallbackCache(FallbackConfig(max_entries=50), clock=clock)
    layer = Keeping(httpx.MockTransport(lambda r: httpx.Response(200, text="ok")), cache)
    down = Keeping(httpx.MockTransport(lambda r: httpx.Response(503)), cache)
    barrier = threading.Barrier(20)

    def worker(n: int) -> None:
        barrier.wait()
        for i in range(50):
            layer.handle_request(get(f"/t/{n}/{i}"))
            down.handle_request(get(f"/t/{n}/{i}"))

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    stats = cache.stats()
    assert stats.stored == 1000
    assert stats.entries == 50
    assert stats.hits + stats.misses == 1000


# ---- persistence -------------------------------------------------------------------------------


def test_persistence_round_trip(tmp_path: Path, clock: FakeClock, upstream: Upstream) -> None:
    """A new FallbackCache on the same file (a restart) serves the answers with their age."""
    path = tmp_path / "fallback.sqlite"
    first = FallbackCache(FallbackConfig(path=path), clock=clock)
    layer = Keeping(httpx.MockTransport(upstream), first)
    for n in (1, 2):
        layer.handle_request(get(f"/workorders/{n}"))
    layer.close()
    first.close()
    clock.advance(120.0)

    restarted = FallbackCache(FallbackConfig(path=path), clock=clock)
    upstream.failure = ConnectionError("refused", sent=False)
    layer = Keeping(httpx.MockTransport(upstream), restarted)
    response = layer.handle_request(get("/workorders/2"))
    assert response.json()["url"] == BASE + "/workorders/2"
    meta = meta_of(response)
    assert (meta.stale, meta.age, meta.request_id) == (True, 120.0, "req-2")
    assert restarted.stats().entries == 2
    restarted.close()


def test_file_is_owner_only_and_holds_no_pickle(
    tmp_path: Path, clock: FakeClock, upstream: Upstream
) -> None:
    """The SQLite file (and its WAL files) are 0600; values are JSON text and raw body bytes."""
    path = tmp_path / "fallback.sqlite"
    old_umask = os.umask(0o022)
    try:
        cache = FallbackCache(FallbackConfig(path=path), clock=clock)
        Keeping(httpx.MockTransport(upstream), cache).handle_request(get())
        cache.flush()
        for file in tmp_path.iterdir():
            assert stat.S_IMODE(file.stat().st_mode) == 0o600, file
        cache.close()
    finally:
        os.umask(old_umask)
    db = sqlite3.connect(path)
    try:
        rows = db.execute(
            "SELECT key, typeof(status), headers, typeof(body), body, typeof(stored_at) "
            "FROM answers"
        ).fetchall()
    finally:
        db.close()
    assert len(rows) == 1
    key, status_type, headers, body_type, body, stored_type = rows[0]
    assert (status_type, body_type, stored_type) == ("integer", "blob", "real")
    assert dict(json.loads(headers))["x-request-id"] == "req-1"
    assert json.loads(body)["url"] == BASE + "/workorders/1"
    assert CANARY_KEY not in key
    raw = path.read_bytes() + b"".join(p.read_bytes() for p in tmp_path.glob("*-wal"))
    assert CANARY_KEY.encode() not in raw
    assert b"\x80\x04\x95" not in raw and b"\x80\x05\x95" not in raw  # pickle protocol 4/5


def test_existing_file_is_tightened_to_0600(tmp_path: Path, clock: FakeClock) -> None:
    """A cache file left world-readable is made owner-only when opened."""
    path = tmp_path / "fallback.sqlite"
    path.touch(mode=0o644)
    os.chmod(path, 0o644)
    cache = FallbackCache(FallbackConfig(path=str(path)), clock=clock)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    cache.close()


def test_persisted_entries_follow_evictions_clear_and_age(
    tmp_path: Path, clock: FakeClock, upstream: Upstream
) -> None:
    """Evicted or cleared answers leave the file; answers older than max_stale are not loaded."""
    path = tmp_path / "fallback.sqlite"

    def reopen(**kwargs: Any) -> FallbackCache:
        return FallbackCache(FallbackConfig(path=path, **kwargs), clock=clock)

    cache = reopen(max_entries=2)
    layer = Keeping(httpx.MockTransport(upstream), cache)
    for n in (1, 2, 3):
        layer.handle_request(get(f"/workorders/{n}"))
    cache.close()
    cache = reopen(max_entries=2)
    assert cache.stats().entries == 2
    cache.close()
    db = sqlite3.connect(path)
    assert sorted(k.split()[-1] for (k,) in db.execute("SELECT key FROM answers")) == [
        BASE + "/workorders/2",
        BASE + "/workorders/3",
    ]
    db.close()

    clock.advance(3600.0)
    cache = reopen(max_stale=1800.0)
    assert cache.stats().entries == 0
    cache.close()

    cache = reopen()
    Keeping(httpx.MockTransport(upstream), cache).handle_request(get())
    cache.clear()
    cache.close()
    cache = reopen()
    assert cache.stats().entries == 0
    cache.close()


def test_unreadable_file_falls_back_to_memory(
    tmp_path: Path, clock: FakeClock, upstream: Upstream, caplog: pytest.LogCaptureFixture
) -> None:
    """A file that is not a SQLite database is left alone; the cache works in memory."""
    path = tmp_path / "not-a-db.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    with caplog.at_level(logging.WARNING, logger="maintainx_resilient"):
        cache = FallbackCache(FallbackConfig(path=path), clock=clock)
    assert "memory only" in caplog.text
    layer = Keeping(httpx.MockTransport(upstream), cache)
    layer.handle_request(get())
    upstream.failure = ConnectionError("refused", sent=False)
    assert meta_of(layer.handle_request(get())).stale
    assert path.read_bytes() == b"this is not a database" * 100
    cache.close()


def test_writes_do_not_block_the_caller(
    tmp_path: Path, clock: FakeClock, upstream: Upstream
) -> None:
    """Remembering an answer only queues the write; flush() waits for the writer thread."""
    path = tmp_path / "fallback.sqlite"
    cache = FallbackCache(FallbackConfig(path=path), clock=clock)
    layer = Keeping(httpx.MockTransport(upstream), cache)
    for n in range(200):
        layer.handle_request(get(f"/workorders/{n}"))
    cache.flush()
    db = sqlite3.connect(path)
    try:
        assert db.execute("SELECT count(*) FROM answers").fetchone() == (200,)
    finally:
        db.close()
    cache.close()
    cache.close()  # idempotent
