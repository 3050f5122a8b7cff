"""RB-005 (performance degradation): the pure classification of every finding from real
snapshot types, and whole diagnoses against the simulator with injected latency (on a fake
clock: slow answers, no waiting)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Mapping
from typing import Any

import httpx
import pytest

from maintainx_resilient._clock import FakeClock
from maintainx_resilient._events import RequestCompleted
from maintainx_resilient.diagnostics import rb005_performance as rb005
from maintainx_resilient.diagnostics._context import DiagnosticContext, ProbeResult, Thresholds
from maintainx_resilient.diagnostics._model import Finding, Severity
from maintainx_resilient.diagnostics._network import httpx_probe
from maintainx_resilient.diagnostics.rb005_performance import classify_performance as classify
from maintainx_resilient.policies.breaker import Breakers, BreakerSnapshot
from maintainx_resilient.policies.fallback import CacheStats, FallbackCache
from maintainx_resilient.policies.throttle import Throttle
from maintainx_resilient.telemetry._stats import (
    EndpointStats,
    RollingStats,
    StatsSnapshot,
    StatsTotals,
)
from maintainx_resilient.testing import Simulator

# ---- building inputs ------------------------------------------------------------------------


def probe(
    path: str, seconds: float, status: int | None = 200, error: str | None = None
) -> ProbeResult:
    return ProbeResult("GET", f"{path}?limit=10", seconds, status, error)


def fast_probes() -> tuple[ProbeResult, ...]:
    return tuple(probe(e, 0.12) for e in rb005.ENDPOINTS)


def endpoint(key: str, p95: float, samples: int = 50, p50: float = 0.1) -> EndpointStats:
    method, route = key.split(" ", 1)
    return EndpointStats(
        endpoint=key,
        method=method,
        route=route,
        requests=samples,
        errors=0,
        error_rate=0.0,
        by_status={200: samples},
        by_error={},
        p50=p50,
        p95=p95,
        p99=p95 * 1.2,
        samples=samples,
    )


def snapshot(*endpoints: EndpointStats, totals: StatsTotals | None = None) -> StatsSnapshot:
    requests = sum(e.requests for e in endpoints)
    return StatsSnapshot(
        at=1000.0,
        wall=1_750_000_000.0,
        window=300.0,
        requests=requests,
        errors=0,
        error_rate=0.0,
        endpoints={e.endpoint: e for e in endpoints},
        error_distribution={},
        totals=totals or StatsTotals(),
    )


def cache(hits: int, misses: int) -> CacheStats:
    lookups = hits + misses
    return CacheStats(
        hits=hits,
        misses=misses,
        expired=0,
        stale_served=hits,
        fallback_mode_served=0,
        stored=10,
        entries=10,
        bytes=4096,
        hit_rate=hits / lookups if lookups else 0.0,
        fallback_mode=False,
    )


def breaker(scope: str, state: Any) -> BreakerSnapshot:
    return BreakerSnapshot(scope=scope, state=state, failures=5, opened_at=None, retry_after=12.0)


def inputs(**kwargs: Any) -> rb005.PerformanceInputs:
    kwargs.setdefault("probes", fast_probes())
    return rb005.PerformanceInputs(**kwargs)


def codes(findings: list[Finding]) -> list[str]:
    for f in findings:
        json.dumps(f.to_dict())  # evidence is JSON-serializable
    return [f.code for f in findings]


def only(findings: list[Finding], code: str) -> Finding:
    matching = [f for f in findings if f.code == code]
    assert len(matching) == 1, codes(findings)
    return matching[0]


# ---- pure classification --------------------------------------------------------------------


def test_healthy_inputs_have_no_finding() -> None:
    """Fast probes, fast recorded latency, a good cache, an idle pool: no finding."""
    findings = classify(
        inputs(
            stats=snapshot(endpoint("GET /workorders", p95=0.3)),
            cache=cache(hits=80, misses=20),
            pool={"active": 2, "idle": 8, "waiting": 0},
            throttle=Throttle().snapshot(),
            breakers={"/workorders": breaker("/workorders", "closed")},
        )
    )
    assert findings == []


def test_slow_probe_is_slow_endpoint_sev3() -> None:
    """A probe above ``slow_latency`` (the runbook's 1000 ms) is RB005.SLOW_ENDPOINT, SEV3."""
    probes = (probe("/workorders", 1.5), *fast_probes()[1:])
    finding = only(classify(inputs(probes=probes)), rb005.SLOW_ENDPOINT)
    assert finding.severity == Severity.SEV3
    assert list(finding.evidence["endpoints"]) == ["/workorders?limit=10"]
    assert finding.evidence["endpoints"]["/workorders?limit=10"]["duration_ms"] == 1500.0
    assert [m.code for m in finding.mitigations] == [
        "identify_slow_endpoints",
        "reduce_concurrent_requests",
        "enable_aggressive_caching",
    ]


def test_probe_timeout_counts_as_slow() -> None:
    """A probe cut off by the deadline is slow ([TIMEOUT]), not a failed probe."""
    probes = (probe("/assets", 9.0, None, "TimeoutError"), *fast_probes()[1:])
    findings = classify(inputs(probes=probes))
    assert codes(findings) == [rb005.SLOW_ENDPOINT]
    assert findings[0].evidence["endpoints"]["/assets?limit=10"]["timed_out"] is True
    assert rb005.probe_label(probes[0], 1.0) == "[TIMEOUT]"


def test_threshold_is_configurable() -> None:
    """``thresholds.slow_latency`` moves the [SLOW] boundary."""
    tight = Thresholds(slow_latency=0.1)
    assert codes(classify(inputs(thresholds=tight))) == [rb005.SLOW_ENDPOINT]
    assert rb005.probe_label(probe("/users", 0.12), 0.1) == "[SLOW]"
    assert rb005.probe_label(probe("/users", 0.12), 1.0) == "[OK]"


@pytest.mark.parametrize(("failed", "severity"), [(1, Severity.SEV3), (4, Severity.SEV2)])
def test_failed_probes(failed: int, severity: Severity) -> None:
    """Probes answering errors are RB005.PROBE_FAILED: SEV3 for some, SEV2 when all fail."""
    probes = tuple(probe(e, 0.1, 503 if i < failed else 200) for i, e in enumerate(rb005.ENDPOINTS))
    finding = only(classify(inputs(probes=probes)), rb005.PROBE_FAILED)
    assert finding.severity == severity
    assert len(finding.evidence["endpoints"]) == failed


def test_high_recorded_p95() -> None:
    """An endpoint whose recorded p95 exceeds ``slow_latency`` is RB005.HIGH_P95, SEV3."""
    stats = snapshot(endpoint("GET /workorders", p95=2.5), endpoint("GET /assets", p95=0.2))
    finding = only(classify(inputs(stats=stats)), rb005.HIGH_P95)
    assert finding.severity == Severity.SEV3
    assert finding.evidence["endpoints"] == {
        "GET /workorders": {"p50_ms": 100.0, "p95_ms": 2500.0, "p99_ms": 3000.0, "samples": 50}
    }


def test_few_samples_are_not_judged() -> None:
    """A p95 over fewer than ``min_requests`` samples is no finding."""
    stats = snapshot(endpoint("GET /workorders", p95=5.0, samples=3))
    assert classify(inputs(stats=stats)) == []


def test_low_cache_hit_rate_is_sev4() -> None:
    """A fallback cache hit rate below the threshold is RB005.LOW_CACHE_HIT_RATE, SEV4,
    "enable aggressive caching"."""
    finding = only(classify(inputs(cache=cache(hits=2, misses=18))), rb005.LOW_CACHE_HIT_RATE)
    assert finding.severity == Severity.SEV4
    assert finding.evidence["hit_rate"] == 0.1
    assert finding.mitigations[0].code == "enable_aggressive_caching"


def test_cache_with_few_lookups_is_not_judged() -> None:
    """A hit rate over fewer than ``min_requests`` lookups is no finding."""
    assert classify(inputs(cache=cache(hits=0, misses=3))) == []


@pytest.mark.parametrize(
    "pool",
    [
        {"active": 10, "idle": 0, "waiting": 4},
        {"active": 10, "idle": 0, "waiting": 0, "max": 10},
    ],
)
def test_pool_exhausted(pool: Mapping[str, int]) -> None:
    """Requests waiting for a connection, or every connection busy: RB005.POOL_EXHAUSTED."""
    finding = only(classify(inputs(pool=pool)), rb005.POOL_EXHAUSTED)
    assert finding.severity == Severity.SEV3
    assert finding.evidence["active"] == 10
    assert finding.mitigations[0].action == "enable_throttling"


def test_pool_with_spare_connections_is_fine() -> None:
    """Active connections with idle ones left and nobody waiting is no finding."""
    assert classify(inputs(pool={"active": 5, "idle": 5, "waiting": 0, "max": 10})) == []


def test_throttle_blocked_after_429_is_throttled() -> None:
    """A real throttle blocked by a 429 (Retry-After 10): RB005.THROTTLED with the scope's
    rate against its limit; mitigations reduce concurrency and queue requests."""
    clock = FakeClock()
    throttle = Throttle(clock=clock)
    sent = throttle.reserve(["key:abc", "org:default"], now=throttle.now())
    throttle.settle(sent, 429, {"retry-after": "10"}, now=throttle.now())
    finding = only(classify(inputs(throttle=throttle.snapshot())), rb005.THROTTLED)
    assert finding.severity == Severity.SEV3
    scope = finding.evidence["scopes"]["key:abc"]
    assert scope["blocked_for_s"] == pytest.approx(10.0)
    assert {"rate_per_minute", "limit_per_minute", "remaining", "backlog_s"} <= set(scope)
    assert [m.code for m in finding.mitigations] == [
        "reduce_concurrent_requests",
        "add_request_queuing",
    ]


def test_recorded_429s_and_long_waits_are_throttled() -> None:
    """429s in the stats window, or long throttle waits, are RB005.THROTTLED even with the
    client's throttle off."""
    totals = StatsTotals(throttle_waits=4, throttle_wait_seconds=12.0, rate_limited=3)
    finding = only(classify(inputs(stats=snapshot(totals=totals))), rb005.THROTTLED)
    assert finding.evidence["rate_limited"] == 3
    assert finding.evidence["average_wait_s"] == 3.0
    assert finding.evidence["throttle_enabled"] is False


def test_rate_limited_probe_is_throttled_not_failed() -> None:
    """A live probe answered 429 is a throttling finding, not a failed probe."""
    probes = (probe("/users", 0.1, 429), *fast_probes()[:3])
    assert codes(classify(inputs(probes=probes))) == [rb005.THROTTLED]


def test_short_pacing_is_not_throttled() -> None:
    """Throttle waits shorter than ``slow_latency`` on average are normal pacing."""
    totals = StatsTotals(throttle_waits=10, throttle_wait_seconds=2.0)
    assert classify(inputs(stats=snapshot(totals=totals))) == []


def test_open_breaker_is_sev2_isolated_is_sev4() -> None:
    """An open or half-open breaker is RB005.BREAKER_OPEN (SEV2); one held open by hand is
    RB005.BREAKER_ISOLATED (SEV4); findings come worst first."""
    breakers = {
        "/workorders": breaker("/workorders", "open"),
        "/assets": breaker("/assets", "half-open"),
        "/users": breaker("/users", "isolated"),
        "/parts": breaker("/parts", "closed"),
    }
    findings = classify(inputs(breakers=breakers, cache=cache(hits=1, misses=19)))
    assert codes(findings) == [
        rb005.BREAKER_OPEN,
        rb005.BREAKER_ISOLATED,
        rb005.LOW_CACHE_HIT_RATE,
    ]
    assert set(findings[0].evidence["breakers"]) == {"/workorders", "/assets"}
    assert findings[0].severity == Severity.SEV2
    assert findings[1].mitigations[0].action == "close_breaker"


def test_real_breaker_snapshots() -> None:
    """``Breakers.states()`` of a real breaker held open is read as isolated."""
    breakers = Breakers(clock=FakeClock())
    breakers.isolate("/workorders")
    findings = classify(inputs(breakers=breakers.states()))
    assert codes(findings) == [rb005.BREAKER_ISOLATED]


# ---- whole diagnoses against the simulator ----------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def sim(clock: FakeClock) -> Simulator:
    """A simulator whose latency faults advance the fake clock instead of sleeping."""
    return Simulator(
        work_orders=20, assets=5, locations=3, users=3, sleep=clock.sleep, async_sleep=clock.asleep
    )


@contextlib.asynccontextmanager
async def sim_context(
    sim: Simulator, clock: FakeClock, *, base_url: str | None = None, **kwargs: Any
) -> AsyncIterator[DiagnosticContext]:
    transport = None if base_url else sim.transport()
    url = base_url or "https://api.getmaintainx.com/v1"
    async with httpx.AsyncClient(
        transport=transport,
        base_url=url,
        timeout=10.0,
        headers={"Authorization": f"Bearer {Simulator.API_KEY}"},
    ) as client:
        yield DiagnosticContext(
            base_url=url,
            probe=httpx_probe(client, clock=clock),
            transport_kind="network" if base_url else "in_process",
            clock=clock,
            **kwargs,
        )


def client_state(clock: FakeClock) -> dict[str, Any]:
    """The snapshots of a freshly used client: real policy objects, fast recorded traffic."""
    stats = RollingStats(clock=clock)
    for _ in range(20):
        stats.record(
            RequestCompleted(
                at=clock.monotonic(),
                wall=clock.time(),
                method="GET",
                route="/workorders",
                status=200,
                error=None,
                duration=0.08,
            )
        )
    breakers = Breakers(clock=clock)
    breakers.admit("/workorders")
    return {
        "stats": stats.snapshot(),
        "cache": FallbackCache(clock=clock).stats(),
        "throttle": Throttle(clock=clock).snapshot(),
        "breakers": breakers.states(),
        "pool": {"active": 1, "idle": 3, "waiting": 0},
    }


async def test_healthy_simulator_has_nothing_above_sev4(sim: Simulator, clock: FakeClock) -> None:
    """A healthy simulator and a healthy client: no finding above SEV4, every probe [OK]."""
    async with sim_context(sim, clock, **client_state(clock)) as ctx:
        result = await rb005.check(ctx)
    json.dumps(result.to_dict())
    assert all(f.severity > Severity.SEV3 for f in result.findings)
    assert result.status == "ok"
    probes = [c for c in result.checks if c.name.startswith("GET ")]
    assert [c.name for c in probes] == [f"GET {e}?limit=10" for e in rb005.ENDPOINTS]
    assert all(c.ok and c.detail.startswith("[OK]") for c in probes)
    assert sorted(r.path for r in sim.request_log) == sorted(f"/v1{e}" for e in rb005.ENDPOINTS)


async def test_injected_latency_is_a_sev3_slow_endpoint(sim: Simulator, clock: FakeClock) -> None:
    """``sim.faults.latency(2.0)``: every live probe is [SLOW]; RB005.SLOW_ENDPOINT, SEV3."""
    sim.faults.latency(2.0)
    async with sim_context(sim, clock) as ctx:
        result = await rb005.check(ctx)
    assert result.severity == Severity.SEV3
    assert result.status == "problem"
    finding = next(f for f in result.findings if f.code == rb005.SLOW_ENDPOINT)
    assert len(finding.evidence["endpoints"]) == len(rb005.ENDPOINTS)
    assert all(v["duration_ms"] >= 2000 for v in finding.evidence["endpoints"].values())
    labels = [c.detail.split()[0] for c in result.checks if c.name.startswith("GET ")]
    assert labels == ["[SLOW]"] * 4


@pytest.mark.socket
async def test_injected_latency_over_a_real_socket(sim: Simulator, clock: FakeClock) -> None:
    """The same over the simulator's real HTTP server (latency on the fake clock)."""
    sim.faults.latency(1.5)
    with sim.serve() as server:
        async with sim_context(sim, clock, base_url=server.base_url) as ctx:
            result = await rb005.check(ctx)
    assert [f.code for f in result.findings] == [rb005.SLOW_ENDPOINT]
    assert result.severity == Severity.SEV3


async def test_outage_is_probe_failed(sim: Simulator, clock: FakeClock) -> None:
    """Every probe answering 503 is RB005.PROBE_FAILED (SEV2), pointing at RB-001/RB-002."""
    sim.faults.outage()
    async with sim_context(sim, clock) as ctx:
        result = await rb005.check(ctx)
    assert [f.code for f in result.findings] == [rb005.PROBE_FAILED]
    assert result.severity == Severity.SEV2


async def test_hanging_probes_are_cut_at_the_deadline(clock: FakeClock) -> None:
    """Probes that never answer are cancelled at the deadline and reported [TIMEOUT]."""

    async def hang(method: str, path: str, headers: Mapping[str, str]) -> ProbeResult:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    ctx = DiagnosticContext(
        base_url="https://api.getmaintainx.com/v1",
        probe=hang,
        transport_kind="in_process",
        deadline=0.2,
    )
    result = await rb005.check(ctx)
    assert result.duration <= 0.2
    assert [f.code for f in result.findings] == [rb005.SLOW_ENDPOINT]
    assert all(c.detail.startswith("[TIMEOUT]") for c in result.checks if c.name.startswith("GET "))


async def test_missing_sources_are_unknown_checks(sim: Simulator, clock: FakeClock) -> None:
    """Without stats, cache, pool, throttle or breakers the checks say so (ok None)."""
    async with sim_context(sim, clock) as ctx:
        result = await rb005.check(ctx)
    others = {c.name: c for c in result.checks if not c.name.startswith("GET ")}
    assert set(others) == {
        "Recorded latency",
        "Fallback cache",
        "Connection pool",
        "Throttle",
        "Circuit breakers",
    }
    assert all(c.ok is None for c in others.values())
