"""The whole default pipeline against the simulator over real sockets: an outage with the
breaker and the fallback cache, key revocation under concurrency, POSTs never duplicated,
and no secret anywhere. Time is a FakeClock shared by every policy, so nothing waits."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from maintainx_resilient import (
    AsyncMaintainXClient,
    CircuitOpenError,
    FallbackModeError,
    MaintainXClient,
    MaintainXError,
    ServerError,
)
from maintainx_resilient._clock import FakeClock
from maintainx_resilient.policies.breaker import BreakerConfig
from maintainx_resilient.testing import Simulator, SimulatorServer

from .conftest import CANARY_KEY

pytestmark = pytest.mark.socket

RESET = 30.0


@pytest.fixture
def sim() -> Simulator:
    return Simulator(seed=5, work_orders=300, rate_limit=None)


@pytest.fixture
def server(sim: Simulator) -> Iterator[SimulatorServer]:
    with sim.serve() as served:
        yield served


_OPEN: list[MaintainXClient] = []


@pytest.fixture(autouse=True)
def _close_clients() -> Iterator[None]:
    yield
    while _OPEN:
        _OPEN.pop().close()


def make_client(
    sim: Simulator, server: SimulatorServer, clock: FakeClock, **kw: Any
) -> MaintainXClient:
    """A client with every default policy but the throttle, closed after the test."""
    kw.setdefault("breaker", BreakerConfig(fail_max=3, reset_timeout=RESET))
    kw.setdefault("api_key", sim.API_KEY)
    client = MaintainXClient(base_url=server.base_url, clock=clock, throttle=None, **kw)
    _OPEN.append(client)
    return client


def requests_seen(sim: Simulator) -> int:
    return sim.stats.requests_total


def test_outage_breaker_fallback_and_recovery(sim: Simulator, server: SimulatorServer) -> None:
    """Down: seen GETs come back stale with their age, unseen GETs and writes fail typed,
    the breaker sends nothing while open and one probe per reset interval; healed: the
    first probe closes the breaker and traffic resumes."""
    clock = FakeClock()
    client = make_client(sim, server, clock)
    first_page = client.work_orders.list(limit=50)
    seen = client.work_orders.get(first_page.items[0].id)
    assert first_page.response_meta.stale is False

    sim.faults.outage()
    clock.advance(120.0)
    # Retries and the breaker: calls fail (or fall back) until the breaker opens.
    stale = client.work_orders.get(seen.id)
    assert stale.response_meta is not None
    assert stale.response_meta.stale is True
    assert stale.response_meta.age == pytest.approx(120.0, abs=5.0)
    assert stale.title == seen.title
    for _ in range(5):
        client.work_orders.get(seen.id)
    states = client.policies.breakers.states()  # type: ignore[union-attr]
    assert any(s.state == "open" for s in states.values())

    # Open: nothing reaches MaintainX; cached pages still answer, labelled.
    before = requests_seen(sim)
    page = client.work_orders.list(limit=50)
    assert page.response_meta.stale is True
    assert [wo.id for wo in page.items] == [wo.id for wo in first_page.items]
    with pytest.raises(CircuitOpenError) as info:
        client.work_orders.get(999_999)  # never seen: no fallback
    assert 0 < info.value.retry_after <= RESET
    with pytest.raises(CircuitOpenError):
        client.work_orders.create(title="during the outage")
    assert requests_seen(sim) == before

    # One probe per reset interval while still down (20 concurrent callers, one probe).
    clock.advance(RESET + 1)
    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda _: _try(lambda: client.work_orders.get(seen.id)), range(20)))
    assert requests_seen(sim) - before == 1
    assert all(r in ("stale", "CircuitOpenError", "ServerError") for r in results)

    # Healed: the next probe closes the breaker and fresh answers flow again.
    sim.faults.heal()
    clock.advance(RESET + 1)
    fresh = client.work_orders.get(seen.id)
    assert fresh.response_meta is None or fresh.response_meta.stale is False
    states = client.policies.breakers.states()  # type: ignore[union-attr]
    assert all(s.state == "closed" for s in states.values())
    assert client.work_orders.create(title="after recovery") > 0


def _try(call: Any) -> str:
    try:
        result = call()
    except MaintainXError as exc:
        return type(exc).__name__
    meta = getattr(result, "response_meta", None)
    return "stale" if meta is not None and meta.stale else "fresh"


def test_fallback_mode_sends_nothing(sim: Simulator, server: SimulatorServer) -> None:
    """Fallback mode answers seen GETs locally, refuses unseen GETs and writes, sends nothing."""
    clock = FakeClock()
    client = make_client(sim, server, clock)
    wo = client.work_orders.list(limit=5).items[0]
    client.work_orders.get(wo.id)
    client.enable_fallback_mode()
    before = requests_seen(sim)
    served = client.work_orders.get(wo.id)
    assert served.response_meta is not None
    assert served.response_meta.reason == "fallback_mode"
    with pytest.raises(FallbackModeError):
        client.work_orders.get(wo.id + 1)
    with pytest.raises(FallbackModeError):
        client.work_orders.update(wo.id, title="no")
    assert requests_seen(sim) == before
    client.disable_fallback_mode()
    assert client.work_orders.get(wo.id + 1).id == wo.id + 1


async def test_async_outage_falls_back_and_fails_fast(
    sim: Simulator, server: SimulatorServer
) -> None:
    """The async client rides the same outage: stale answers, then fail fast."""
    clock = FakeClock()
    async with AsyncMaintainXClient(
        api_key=sim.API_KEY, base_url=server.base_url, clock=clock, throttle=None,
        breaker=BreakerConfig(fail_max=3, reset_timeout=RESET),
    ) as client:  # fmt: skip
        wo = (await client.work_orders.list(limit=3)).items[0]
        await client.work_orders.get(wo.id)
        sim.faults.outage()
        results = await asyncio.gather(
            *(client.work_orders.get(wo.id) for _ in range(10)), return_exceptions=True
        )
        assert all(
            not isinstance(r, BaseException) and r.response_meta and r.response_meta.stale
            for r in results
        )
        before = requests_seen(sim)
        with pytest.raises(CircuitOpenError):
            await client.work_orders.get(wo.id + 1)
        assert requests_seen(sim) == before


def test_revoked_key_twenty_threads_one_rotation(sim: Simulator, server: SimulatorServer) -> None:
    """Revoking the key mid-run with 20 concurrent callers: one rotate(), no failed call."""
    sim.add_key("key-one")
    sim.add_key("key-two")

    class Provider:
        calls = 0
        key = "key-one"

        def get(self) -> str:
            return self.key

        def rotate(self, failed: str) -> str:
            self.calls += 1
            self.key = "key-two"
            return self.key

    provider = Provider()
    client = make_client(sim, server, FakeClock(), api_key=provider)
    client.work_orders.list(limit=1)
    sim.revoke_key("key-one")
    start = threading.Barrier(20)

    def call(i: int) -> int:
        start.wait()
        return client.work_orders.get(i + 1).id

    with ThreadPoolExecutor(20) as pool:
        ids = list(pool.map(call, range(20)))
    assert ids == list(range(1, 21))
    assert provider.calls == 1


def test_posts_are_never_sent_twice(sim: Simulator, server: SimulatorServer) -> None:
    """Lost answers, 5xx and HTML errors on creates never make the client resend a POST."""
    client = make_client(sim, server, FakeClock(), breaker=None)
    before = sim.stats.created.get("workOrders", 0)
    attempts = 12
    sim.faults.drop_connections(4, after_processing=True, method="POST")
    sim.faults.fail_next(4, status=503, method="POST")
    sim.faults.malformed(2, kind="html", method="POST")
    outcomes = [_try(lambda: client.work_orders.create(title="once")) for _ in range(attempts)]
    created = sim.stats.created.get("workOrders", 0) - before
    posts = sim.stats.by_route.get(("POST", "/workorders"), 0)
    assert posts == attempts  # one request per call, never a resend
    assert created == outcomes.count("fresh") + 4  # dropped answers still created once
    assert outcomes.count("fresh") == 2


def test_post_marked_idempotent_is_retried(sim: Simulator, server: SimulatorServer) -> None:
    """A POST the caller marks idempotent is retried through a 503."""
    client = make_client(sim, server, FakeClock(), breaker=None)
    sim.faults.fail_next(1, status=503, method="POST")
    assert client.work_orders.create(title="retried", idempotent=True) > 0


def test_canary_key_appears_nowhere(
    sim: Simulator, server: SimulatorServer, caplog: pytest.LogCaptureFixture
) -> None:
    """A canary key through retries, a breaker opening and a fallback never shows up in
    logs, exception text, reprs, spans or metric attributes."""
    sim.add_key(CANARY_KEY)
    spans = InMemorySpanExporter()
    tracer_provider = TracerProvider()
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    caplog.set_level(logging.DEBUG, logger="maintainx_resilient")
    client = make_client(
        sim, server, FakeClock(), api_key=CANARY_KEY,
        breaker=BreakerConfig(fail_max=2, reset_timeout=RESET),
        tracer_provider=tracer_provider, meter_provider=meter_provider,
    )  # fmt: skip
    texts: list[str] = [repr(client), repr(client.config), repr(client.policies)]
    wo = client.work_orders.list(limit=2).items[0]
    client.work_orders.get(wo.id)
    sim.faults.outage()
    for wo_id in (wo.id, 10**6):
        for _ in range(3):
            try:
                texts.append(repr(client.work_orders.get(wo_id)))
            except MaintainXError as exc:
                texts += [str(exc), repr(exc), repr(vars(exc))]
    sim.revoke_key(CANARY_KEY)
    sim.faults.heal()
    try:
        client.work_orders.get(wo.id)
    except MaintainXError as exc:
        texts += [str(exc), repr(exc)]
    texts.append(caplog.text)
    for span in spans.get_finished_spans():
        texts.append(repr(dict(span.attributes or {})))
        texts += [repr(e.attributes) for e in span.events]
    data = reader.get_metrics_data()
    assert data is not None
    texts.append(data.to_json())
    assert spans.get_finished_spans()
    blob = "\n".join(texts)
    assert CANARY_KEY not in blob
    assert "Bearer mx-canary" not in blob


def test_server_errors_exhaust_retries_then_surface(
    sim: Simulator, server: SimulatorServer
) -> None:
    """A GET never seen before, answered 503 three times, raises ServerError with attempts."""
    client = make_client(sim, server, FakeClock(), breaker=None)
    sim.faults.fail_next(3, status=503, method="GET")
    with pytest.raises(ServerError) as info:
        client.work_orders.get(7)
    assert info.value.attempts == 3
