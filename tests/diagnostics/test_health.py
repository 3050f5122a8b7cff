"""The health check: the pure assessment, one probe against the simulator (healthy, outage,
bad key, slow), and the framework-agnostic HTTP answer."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import pytest

from maintainx_resilient import AsyncMaintainXClient, ClientClosedError, MaintainXClient
from maintainx_resilient._clock import FakeClock
from maintainx_resilient.diagnostics._context import DiagnosticContext, ProbeResult, Thresholds
from maintainx_resilient.diagnostics._network import httpx_probe
from maintainx_resilient.diagnostics.health import HealthReport, assess, health, health_endpoint
from maintainx_resilient.policies.breaker import Breakers, BreakerSnapshot
from maintainx_resilient.policies.fallback import FallbackCache
from maintainx_resilient.telemetry._stats import StatsSnapshot, StatsTotals
from maintainx_resilient.testing import Simulator

PATH = "/organizations?limit=1"


def ok_probe(status: int = 200) -> ProbeResult:
    return ProbeResult("GET", PATH, 0.05, status=status)


def failed_probe(error: str = "ConnectionError") -> ProbeResult:
    return ProbeResult("GET", PATH, 0.05, None, error)


def breaker(scope: str, state: Any) -> BreakerSnapshot:
    return BreakerSnapshot(scope=scope, state=state, failures=5, opened_at=None, retry_after=3.0)


def stats(requests: int, errors: int) -> StatsSnapshot:
    return StatsSnapshot(
        at=0.0,
        wall=0.0,
        window=300.0,
        requests=requests,
        errors=errors,
        error_rate=errors / requests if requests else 0.0,
        endpoints={},
        error_distribution={},
        totals=StatsTotals(),
    )


# ---- the pure assessment --------------------------------------------------------------------


def test_probe_ok_and_quiet_client_is_healthy() -> None:
    """A 2xx probe, closed breakers, no fallback mode, few errors: healthy, no reasons."""
    status, reasons = assess(
        ok_probe(),
        breakers={"/workorders": breaker("/workorders", "closed")},
        stats=stats(100, 2),
    )
    assert (status, reasons) == ("healthy", ())


@pytest.mark.parametrize(
    "probe",
    [failed_probe(), failed_probe("TimeoutError"), ok_probe(503), ok_probe(401), ok_probe(404)],
)
def test_failing_probe_is_unhealthy(probe: ProbeResult) -> None:
    """No answer, a 5xx, a rejected key or any other error status: unhealthy."""
    status, reasons = assess(probe)
    assert status == "unhealthy"
    assert reasons[0].startswith(f"GET {PATH}")


def test_rate_limited_probe_is_degraded() -> None:
    """A 429 shows the API is up: degraded, not unhealthy."""
    assert assess(ok_probe(429)) == ("degraded", (f"GET {PATH} is rate-limited (429)",))


@pytest.mark.parametrize("state", ["open", "half-open", "isolated"])
def test_a_breaker_not_closed_is_degraded(state: str) -> None:
    """One breaker open, half-open or held open by hand (others closed): degraded."""
    breakers = {
        "/workorders": breaker("/workorders", state),
        "/assets": breaker("/assets", "closed"),
    }
    status, reasons = assess(ok_probe(), breakers=breakers)
    assert status == "degraded"
    assert "circuit breaker /workorders" in reasons[0]


def test_every_breaker_open_without_a_cache_is_unhealthy() -> None:
    """Every breaker open and no fallback cache to answer instead: unhealthy."""
    breakers = {"/workorders": breaker("/workorders", "open")}
    assert assess(ok_probe(), breakers=breakers)[0] == "unhealthy"
    assert assess(ok_probe(), breakers=breakers, cache_enabled=True)[0] == "degraded"


def test_fallback_mode_is_degraded() -> None:
    """Fallback mode on (answers from the cache): degraded."""
    status, reasons = assess(ok_probe(), fallback_mode=True)
    assert status == "degraded"
    assert "fallback mode" in reasons[0]


def test_error_rate_above_the_alert_threshold_is_degraded() -> None:
    """A recent error rate above 5 % is degraded; exactly 5 % or too few requests is not."""
    assert assess(ok_probe(), stats=stats(100, 6))[0] == "degraded"
    assert assess(ok_probe(), stats=stats(100, 5))[0] == "healthy"
    assert assess(ok_probe(), stats=stats(5, 5))[0] == "healthy"
    tight = Thresholds(error_rate_alert=0.01)
    assert assess(ok_probe(), stats=stats(100, 2), thresholds=tight)[0] == "degraded"


def test_unhealthy_keeps_the_degraded_reasons_too() -> None:
    """An unhealthy verdict lists the probe failure first, then everything else seen."""
    status, reasons = assess(failed_probe(), fallback_mode=True)
    assert status == "unhealthy"
    assert len(reasons) == 2
    assert "fallback mode" in reasons[1]


# ---- the HTTP answer ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code"), [("healthy", 200), ("degraded", 200), ("unhealthy", 503)]
)
def test_health_endpoint_status_codes(status: Any, code: int) -> None:
    """200 for healthy and degraded, 503 for unhealthy; the body is the report as JSON."""
    report = HealthReport(status=status, reasons=("x",), checked_at=1_750_000_000.0, latency=0.0421)
    http_status, headers, body = health_endpoint(report)
    assert http_status == code
    assert ("content-type", "application/json") in headers
    assert ("cache-control", "no-store") in headers
    assert dict(headers)["content-length"] == str(len(body))
    data = json.loads(body)
    assert data["status"] == status
    assert data["reasons"] == ["x"]
    assert data["checked_at"] == "2025-06-15T15:06:40.000Z"
    assert data["latency_ms"] == 42.1


# ---- against the simulator ------------------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> Simulator:
    return Simulator(work_orders=5, assets=2, locations=2, users=2, async_sleep=clock.asleep)


@contextlib.asynccontextmanager
async def sim_context(
    sim: Simulator, clock: FakeClock, key: str = Simulator.API_KEY, **kwargs: Any
) -> AsyncIterator[DiagnosticContext]:
    async with httpx.AsyncClient(
        transport=sim.transport(),
        base_url="https://api.getmaintainx.com/v1",
        headers={"Authorization": f"Bearer {key}"},
    ) as client:
        yield DiagnosticContext(
            base_url="https://api.getmaintainx.com/v1",
            probe=httpx_probe(client, clock=clock),
            transport_kind="in_process",
            clock=clock,
            **kwargs,
        )


async def test_healthy_simulator(sim: Simulator, clock: FakeClock) -> None:
    """A healthy simulator: healthy, one request only, JSON body, 200."""
    async with sim_context(sim, clock) as ctx:
        report = await health(ctx)
    assert (report.status, report.reasons, report.probe_status) == ("healthy", (), 200)
    assert report.checked_at == clock.time()
    assert [(r.method, r.path) for r in sim.request_log] == [("GET", "/v1/organizations")]
    assert health_endpoint(report)[0] == 200


async def test_outage_is_unhealthy(sim: Simulator, clock: FakeClock) -> None:
    """``sim.faults.outage()``: unhealthy, HTTP 503 from the health endpoint."""
    sim.faults.outage()
    async with sim_context(sim, clock) as ctx:
        report = await health(ctx)
    assert report.status == "unhealthy"
    assert report.probe_status == 503
    assert health_endpoint(report)[0] == 503


async def test_refused_connection_is_unhealthy(sim: Simulator, clock: FakeClock) -> None:
    """A refused connection: unhealthy, with the error kind as the reason."""
    sim.faults.outage(mode="refuse")
    async with sim_context(sim, clock) as ctx:
        report = await health(ctx)
    assert report.status == "unhealthy"
    assert report.probe_error == "ConnectionError"


async def test_healed_simulator_is_healthy_again(sim: Simulator, clock: FakeClock) -> None:
    """After ``heal()`` the same context reports healthy again."""
    sim.faults.outage()
    async with sim_context(sim, clock) as ctx:
        assert (await health(ctx)).status == "unhealthy"
        sim.faults.heal()
        assert (await health(ctx)).status == "healthy"


async def test_bad_key_is_unhealthy(sim: Simulator, clock: FakeClock, canary_key: str) -> None:
    """A rejected key (401) is unhealthy and says so, without the key in the answer."""
    async with sim_context(sim, clock, key=canary_key) as ctx:
        report = await health(ctx)
    assert report.status == "unhealthy"
    assert "401" in report.reasons[0]
    assert canary_key.encode() not in health_endpoint(report)[2]
    assert canary_key not in repr(report)


async def test_latency_is_measured_on_the_clock(sim: Simulator, clock: FakeClock) -> None:
    """The report's latency is the probe's duration (1.5 s of injected, fake-clock latency)."""
    sim.faults.latency(1.5)
    async with sim_context(sim, clock) as ctx:
        report = await health(ctx)
    assert report.status == "healthy"
    assert report.latency == pytest.approx(1.5)


async def test_client_state_degrades(sim: Simulator, clock: FakeClock) -> None:
    """Real policy objects: a breaker held open and fallback mode on give degraded."""
    breakers = Breakers(clock=clock)
    breakers.isolate("/workorders")
    breakers.admit("/assets")
    cache = FallbackCache(clock=clock)
    cache.enable_fallback_mode()
    async with sim_context(sim, clock, breakers=breakers.states(), cache=cache.stats()) as ctx:
        report = await health(ctx)
    assert report.status == "degraded"
    assert report.reasons == (
        "circuit breaker /workorders is held open by hand",
        "fallback mode is on: answers come from the cache",
    )
    assert health_endpoint(report)[0] == 200


async def test_hanging_probe_is_unhealthy_within_the_timeout() -> None:
    """A probe that never answers is cut off at the timeout: unhealthy, never stuck."""

    async def hang(method: str, path: str, headers: Mapping[str, str]) -> ProbeResult:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    ctx = DiagnosticContext(base_url="https://api.getmaintainx.com/v1", probe=hang)
    report = await health(ctx, timeout=0.05)
    assert report.status == "unhealthy"
    assert report.probe_error == "TimeoutError"
    assert report.latency is not None
    assert report.latency < 5.0


def test_a_closed_client_is_not_diagnosed_as_a_maintainx_outage() -> None:
    """health() and diagnose() on a closed client raise ClientClosedError: its probes would
    fail for that alone (they used to report "unhealthy: GET /organizations got no answer",
    blaming MaintainX), and nothing is sent."""
    sim = Simulator(seed=2, work_orders=5)
    client = MaintainXClient(api_key=sim.API_KEY, transport=sim.transport())
    assert client.health().status == "healthy"
    client.close()
    before = sim.stats.requests_total
    with pytest.raises(ClientClosedError):
        client.health()
    with pytest.raises(ClientClosedError):
        client.diagnose(only=["RB-001"])
    assert sim.stats.requests_total == before

    async def closed_async() -> None:
        aclient = AsyncMaintainXClient(api_key=sim.API_KEY, transport=sim.transport())
        await aclient.aclose()
        with pytest.raises(ClientClosedError):
            await aclient.health()

    asyncio.run(closed_async())
