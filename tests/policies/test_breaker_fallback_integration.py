"""Breaker and fallback cache together, over real sockets, against the MaintainX simulator.

The stack is the production order for these two policies:
``FallbackLayer(BreakerLayer(HTTPLayer(httpx transport)))``. The breaker runs on a FakeClock,
so the test decides when a reset interval has passed; the simulator's counters prove what
reached it.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from maintainx_resilient._clock import FakeClock
from maintainx_resilient._events import BreakerStateChanged, Event, EventBus, FallbackServed
from maintainx_resilient._exceptions import (
    CircuitOpenError,
    ConnectionError,
    MaintainXError,
    ServerError,
    TimeoutError,
)
from maintainx_resilient._http import AsyncHTTPLayer, HTTPLayer
from maintainx_resilient._meta import ResponseMeta, meta_of
from maintainx_resilient._response import build_status_error
from maintainx_resilient.policies.breaker import (
    AsyncBreakerLayer,
    BreakerConfig,
    BreakerLayer,
    Breakers,
)
from maintainx_resilient.policies.fallback import (
    AsyncFallbackLayer,
    FallbackCache,
    FallbackConfig,
    FallbackLayer,
    commit,
)
from maintainx_resilient.testing import Simulator, SimulatorServer

pytestmark = pytest.mark.socket

RESET = 30.0
FAIL_MAX = 3


def label(meta: object) -> tuple[object, ...]:
    """What labels an answer: stale, age, reason, request id (status and headers vary)."""
    assert isinstance(meta, ResponseMeta)
    return (meta.stale, meta.age, meta.reason, meta.request_id)


@pytest.fixture
def sim() -> Simulator:
    return Simulator(seed=7, work_orders=25, assets=5, rate_limit=None, hang_seconds=5.0)


@pytest.fixture
def server(sim: Simulator) -> Iterator[SimulatorServer]:
    with sim.serve() as server:
        yield server


class Stack:
    """One client over the fallback -> breaker -> HTTP layers, with its clock and events."""

    def __init__(self, server: SimulatorServer, timeout: float = 5.0) -> None:
        self.clock = FakeClock()
        self.bus = EventBus()
        self.events: list[Event] = []
        self.bus.subscribe(self.events.append)
        self.breakers = Breakers(
            BreakerConfig(fail_max=FAIL_MAX, reset_timeout=RESET), clock=self.clock, events=self.bus
        )
        self.cache = FallbackCache(FallbackConfig(), clock=self.clock, events=self.bus)
        transport = FallbackLayer(
            BreakerLayer(HTTPLayer(httpx.HTTPTransport()), self.breakers), self.cache
        )
        self.client = httpx.Client(
            base_url=server.base_url + "/",
            headers={"Authorization": "Bearer sim-key"},
            transport=transport,
            timeout=timeout,
        )

    def call(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        """Send like the SDK client does: a non-2xx answer becomes its typed error."""
        response = self.client.request(method, url, **kwargs)
        if not response.is_success:
            raise build_status_error(response, method=method, path=response.request.url.path)
        response.json()  # it parsed: the fallback cache may keep it
        commit(response)
        return response

    def close(self) -> None:
        self.client.close()
        self.cache.close()


@pytest.fixture
def stack(server: SimulatorServer) -> Iterator[Stack]:
    stack = Stack(server)
    yield stack
    stack.close()


def walk_pages(stack: Stack, limit: int = 10) -> list[httpx.Response]:
    """Every page of /workorders, following nextCursor."""
    pages: list[httpx.Response] = []
    params: dict[str, Any] = {"limit": limit}
    while True:
        page = stack.call("GET", "workorders", params=params)
        pages.append(page)
        cursor = page.json()["nextCursor"]
        if not cursor:
            return pages
        params = {"limit": limit, "cursor": cursor}


def test_outage_fail_fast_probe_per_interval_heal_and_stale_answers(
    sim: Simulator, stack: Stack
) -> None:
    """The whole story: warm up, outage, breaker opens, fast answers, one probe per interval,
    heal, first probe closes; stale answers carry their age; unseen GETs and writes fail typed."""
    # Warm up: three pages of work orders and two records are seen while MaintainX is up.
    fresh_pages = walk_pages(stack)
    assert len(fresh_pages) == 3
    fresh_one = stack.call("GET", "workorders/1")
    fresh_asset = stack.call("GET", "assets/1")
    assert all(not meta_of(r).stale for r in [*fresh_pages, fresh_one, fresh_asset])
    seen_at = stack.clock.time()

    # Outage. The first failures reach the simulator (503) and are answered stale.
    sim.faults.outage()
    sim.reset_stats()
    stack.clock.advance(60.0)
    answer = stack.call("GET", "workorders/1")
    assert label(meta_of(answer)) == label(
        ResponseMeta(
            stale=True, age=60.0, reason="server_error", request_id=meta_of(fresh_one).request_id
        )
    )
    with pytest.raises(ServerError):
        stack.call("GET", "workorders/2")  # never seen: the real 503 reaches the caller
    with pytest.raises(ServerError):
        stack.call("POST", "workorders", json={"title": "pump leaks"})
    assert sim.stats.requests_total == FAIL_MAX
    scope = stack.breakers.for_request(answer.request)
    assert stack.breakers.states()[scope].state == "open"

    # Open: nothing reaches the simulator; every call is answered or refused at once (how
    # fast is measured by bench/bench_breaker_cache.py, not asserted here).
    def call(method: str, url: str, **kwargs: Any) -> httpx.Response | MaintainXError:
        try:
            return stack.call(method, url, **kwargs)
        except MaintainXError as exc:
            return exc

    for _ in range(20):
        stale = call("GET", "workorders/1")
        assert isinstance(stale, httpx.Response)
        assert meta_of(stale).reason == "circuit_open"
        unseen = call("GET", "workorders/3")
        assert isinstance(unseen, CircuitOpenError)
        assert unseen.retry_after == pytest.approx(RESET)
        write = call("PATCH", "workorders/1", json={"title": "x"})
        assert isinstance(write, CircuitOpenError)
    assert sim.stats.requests_total == FAIL_MAX

    # Every page seen before the outage is served stale, following the cached cursors.
    stale_pages = walk_pages(stack)
    assert [p.json() for p in stale_pages] == [p.json() for p in fresh_pages]
    assert all(meta_of(p).stale and meta_of(p).reason == "circuit_open" for p in stale_pages)
    assert all(meta_of(p).age == pytest.approx(stack.clock.time() - seen_at) for p in stale_pages)
    # Other endpoint families have their own breaker: /assets still reaches the simulator once.
    assert meta_of(stack.call("GET", "assets/1")).reason == "server_error"
    assert sim.stats.requests_total == FAIL_MAX + 1

    # While down: at most one probe per reset interval, even with 20 threads calling at once.
    def worker(barrier: threading.Barrier, results: list[object], lock: threading.Lock) -> None:
        barrier.wait()
        outcome = call("GET", "workorders/1")
        with lock:
            results.append(outcome)

    for interval in range(1, 4):
        stack.clock.advance(RESET)
        barrier = threading.Barrier(20)
        results: list[object] = []
        lock = threading.Lock()
        threads = [
            threading.Thread(target=worker, args=(barrier, results, lock)) for _ in range(20)
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join(10)
        assert len(results) == 20
        assert all(isinstance(r, httpx.Response) and meta_of(r).stale for r in results)
        assert sim.stats.requests_total == FAIL_MAX + 1 + interval
        for _ in range(10):
            assert isinstance(call("GET", "workorders/3"), CircuitOpenError)
        assert sim.stats.requests_total == FAIL_MAX + 1 + interval

    # Heal: the first call after the interval is the probe; it succeeds and closes the breaker.
    sim.faults.heal()
    stack.clock.advance(RESET)
    before = sim.stats.requests_total
    healed = stack.call("GET", "workorders/3")
    assert not meta_of(healed).stale
    assert stack.breakers.states()[scope].state == "closed"
    assert stack.call("POST", "workorders", json={"title": "pump leaks"}).status_code in (200, 201)
    assert not meta_of(stack.call("GET", "workorders/1")).stale
    assert sim.stats.requests_total == before + 3

    changes = [(e.old, e.new) for e in stack.events if isinstance(e, BreakerStateChanged)]
    assert changes[0] == ("closed", "open")
    assert changes[-2:] == [("open", "half-open"), ("half-open", "closed")]
    assert any(isinstance(e, FallbackServed) for e in stack.events)


def test_refused_connections_open_the_breaker_and_are_answered_stale(
    sim: Simulator, stack: Stack
) -> None:
    """With the server refusing connections: ConnectionError counts, stale answers say so."""
    stack.call("GET", "workorders/1")
    sim.faults.outage(mode="refuse")
    for _ in range(FAIL_MAX):
        assert meta_of(stack.call("GET", "workorders/1")).reason == "connection_error"
    with pytest.raises(CircuitOpenError):
        stack.call("GET", "workorders/2")
    assert meta_of(stack.call("GET", "workorders/1")).reason == "circuit_open"


def test_hanging_server_times_out_and_is_answered_stale(
    sim: Simulator, server: SimulatorServer
) -> None:
    """A server that never answers: the read timeout fires, the stale answer is served, and an
    unseen GET raises TimeoutError. Nothing hangs."""
    stack = Stack(server, timeout=0.2)
    try:
        stack.call("GET", "workorders/1")
        sim.faults.hang(2)
        assert meta_of(stack.call("GET", "workorders/1")).reason == "timeout"
        with pytest.raises(TimeoutError):
            stack.call("GET", "workorders/2")
    finally:
        stack.close()


def test_fallback_mode_against_the_simulator(sim: Simulator, stack: Stack) -> None:
    """Fallback mode answers seen GETs locally and refuses the rest; the simulator sees nothing."""
    stack.call("GET", "workorders/1")
    sim.reset_stats()
    stack.cache.enable_fallback_mode()
    assert meta_of(stack.call("GET", "workorders/1")).reason == "fallback_mode"
    with pytest.raises(MaintainXError, match="fallback mode"):
        stack.call("GET", "workorders/2")
    with pytest.raises(MaintainXError, match="fallback mode"):
        stack.call("POST", "workorders", json={"title": "x"})
    assert sim.stats.requests_total == 0


async def test_async_stack_outage_and_recovery(sim: Simulator, server: SimulatorServer) -> None:
    """The async twins over a real socket: open, one probe among 50 tasks, heal, close."""
    clock = FakeClock()
    breakers = Breakers(BreakerConfig(fail_max=FAIL_MAX, reset_timeout=RESET), clock=clock)
    cache = FallbackCache(clock=clock)
    transport = AsyncFallbackLayer(
        AsyncBreakerLayer(AsyncHTTPLayer(httpx.AsyncHTTPTransport()), breakers), cache
    )
    async with httpx.AsyncClient(
        base_url=server.base_url + "/",
        headers={"Authorization": "Bearer sim-key"},
        transport=transport,
        timeout=5.0,
    ) as client:
        first = await client.get("workorders/1")
        assert first.status_code == 200 and commit(first)
        sim.faults.outage()
        for _ in range(FAIL_MAX):
            assert meta_of(await client.get("workorders/1")).reason == "server_error"
        sim.reset_stats()
        with pytest.raises(CircuitOpenError):
            await client.get("workorders/2")
        clock.advance(RESET)

        async def one() -> httpx.Response | CircuitOpenError | ConnectionError:
            try:
                return await client.get("workorders/2")
            except (CircuitOpenError, ConnectionError) as exc:
                return exc

        results = await asyncio.gather(*(one() for _ in range(50)))
        assert sim.stats.requests_total == 1  # the single probe (answered 503)
        assert sum(isinstance(r, CircuitOpenError) for r in results) == 49
        sim.faults.heal()
        clock.advance(RESET)
        assert not meta_of(await client.get("workorders/2")).stale
        assert (await client.get("workorders/3")).status_code == 200
    cache.close()
