"""The runbook scenarios end to end: the real client against the simulator over a real
socket, ``client.diagnose()`` picking the right runbook, severity and mitigation, and the
CLI's ``diagnose --json`` validating against the shipped schema."""

from __future__ import annotations

import contextlib
import importlib
import json
import socket
from collections.abc import Iterator
from typing import Any

import pytest

from maintainx_resilient import (
    AsyncMaintainXClient,
    BreakerConfig,
    MaintainXClient,
    MaintainXError,
    ThrottleConfig,
)
from maintainx_resilient._clock import FakeClock
from maintainx_resilient.cli import main
from maintainx_resilient.diagnostics import DiagnosisReport, DiagnosticsConfig, Severity
from maintainx_resilient.diagnostics.render import json_schema
from maintainx_resilient.testing import RateLimitConfig, Simulator, SimulatorServer

pytestmark = pytest.mark.socket

QUIET = DiagnosticsConfig(status_page_url=None, deadline=5.0)


@pytest.fixture
def sim() -> Simulator:
    return Simulator(seed=9, work_orders=200, rate_limit=None)


@pytest.fixture
def server(sim: Simulator) -> Iterator[SimulatorServer]:
    with sim.serve() as served:
        yield served


def client_for(server: SimulatorServer, **kw: Any) -> MaintainXClient:
    kw.setdefault("api_key", Simulator.API_KEY)
    kw.setdefault("diagnostics", QUIET)
    kw.setdefault("throttle", None)
    return MaintainXClient(base_url=server.base_url, **kw)


def codes(report: DiagnosisReport) -> set[str]:
    return {f.code for f in report.findings}


def actions(report: DiagnosisReport, code: str) -> set[str | None]:
    return {m.action for f in report.findings if f.code == code for m in f.mitigations}


def swallow(call: Any) -> None:
    with contextlib.suppress(MaintainXError):
        call()


def test_healthy_has_nothing_above_sev4(server: SimulatorServer) -> None:
    """A healthy API: no finding worse than SEV4, health 'healthy'."""
    with client_for(server) as client:
        for i in range(1, 30):
            client.work_orders.get(i)
        report = client.diagnose()
        assert report.severity is None or report.severity == Severity.SEV4
        assert client.health().status == "healthy"


def test_full_outage_is_rb001_sev1_with_fallback_mitigation(
    sim: Simulator, server: SimulatorServer
) -> None:
    """Everything answering 503: RB-001 at SEV1, recommending fallback mode; unhealthy."""
    with client_for(server, clock=FakeClock()) as client:
        sim.faults.outage()
        report = client.diagnose()
        assert report.severity == Severity.SEV1
        rb001 = report.result("RB-001")
        assert rb001 is not None
        assert rb001.severity == Severity.SEV1
        assert "enable_fallback_mode" in {m.action for f in rb001.findings for m in f.mitigations}
        assert report.contacts  # SEV1 names who to call
        assert client.health().status == "unhealthy"


def test_majority_5xx_is_rb002_sev2(sim: Simulator, server: SimulatorServer) -> None:
    """More than half of recent requests failing with 5xx: RB-002 at SEV2, breaker advice."""
    with client_for(server, retry=None, breaker=None, fallback=None) as client:
        sim.faults.error_rate(0.7, status=500)
        for i in range(1, 60):
            swallow(lambda i=i: client.work_orders.get(i))
        sim.faults.heal()
        report = client.diagnose(only=["RB-002"])
        result = report.result("RB-002")
        assert result is not None
        assert result.severity == Severity.SEV2
        assert "RB002.SERVER_5XX" in codes(report)
        assert "isolate_breaker" in actions(report, "RB002.SERVER_5XX")


def test_429_storm_recommends_throttling(server: SimulatorServer) -> None:
    """A 429 storm (no throttle, tight server limit): RB-002 names 429 and enable_throttling."""
    limited = Simulator(seed=9, work_orders=50, rate_limit=RateLimitConfig(per_user=5, window=60))
    with limited.serve() as tight, client_for(tight, retry=None, fallback=None) as client:
        for i in range(1, 40):
            swallow(lambda i=i: client.work_orders.get(i))
        report = client.diagnose(only=["RB-002"])
    assert "RB002.RATE_LIMIT_429" in codes(report)
    assert "enable_throttling" in actions(report, "RB002.RATE_LIMIT_429")


def test_revoked_key_is_401_pattern_with_rotation(sim: Simulator, server: SimulatorServer) -> None:
    """A revoked static key: the 401 pattern with the key-rotation mitigation."""
    sim.add_key("short-lived-key")
    with client_for(server, api_key="short-lived-key", retry=None, fallback=None) as client:
        client.work_orders.get(1)
        sim.revoke_key("short-lived-key")
        for i in range(2, 20):
            swallow(lambda i=i: client.work_orders.get(i))
        report = client.diagnose()
    assert "RB002.AUTH_401" in codes(report)
    assert "rotate_key" in actions(report, "RB002.AUTH_401")
    assert "RB001.AUTH_FAILED" in codes(report)


def test_injected_latency_is_rb005_sev3(sim: Simulator, server: SimulatorServer) -> None:
    """Answers slower than the 1 s threshold: RB-005 at SEV3 (the threshold is lowered so the
    test does not wait a second per probe)."""
    from maintainx_resilient.diagnostics import Thresholds

    config = DiagnosticsConfig(
        status_page_url=None, deadline=5.0, thresholds=Thresholds(slow_latency=0.05)
    )
    with client_for(server, diagnostics=config) as client:
        sim.faults.latency(0.08)
        report = client.diagnose(only=["RB-005"])
    assert report.severity == Severity.SEV3
    assert "RB005.SLOW_ENDPOINT" in codes(report)


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize(
    ("base_url", "code"),
    [
        (f"http://127.0.0.1:{_closed_port()}/v1", "RB001.TCP_REFUSED"),
        ("http://nonexistent.invalid/v1", "RB001.DNS_FAILED"),
    ],
)
def test_unreachable_network_is_told_apart(base_url: str, code: str) -> None:
    """A refused port and an unresolvable host give different RB-001 findings, in time."""
    config = DiagnosticsConfig(status_page_url=None, deadline=3.0)
    with MaintainXClient(api_key="k", base_url=base_url, diagnostics=config) as client:
        report = client.diagnose(only=["RB-001"])
    assert code in codes(report)
    assert report.severity == Severity.SEV1
    assert report.duration <= 3.0 + 0.5


def test_mitigations_change_behaviour_and_are_recorded(
    sim: Simulator, server: SimulatorServer
) -> None:
    """Fallback mode stops outbound calls; throttling caps the rate; both are on the timeline."""
    clock = FakeClock()
    with client_for(
        server, clock=clock, throttle=ThrottleConfig(), breaker=BreakerConfig()
    ) as client:
        client.work_orders.get(1)
        client.enable_fallback_mode()
        before = sim.stats.requests_total
        client.work_orders.get(1)
        assert sim.stats.requests_total == before
        client.disable_fallback_mode()
        client.enable_throttling(30)  # 30 a minute: one every 2 s
        start = clock.monotonic()
        for i in range(2, 8):
            client.work_orders.get(i)
        assert clock.monotonic() - start >= 5 * 2.0 - 0.01
        timeline = [e.text for e in client.incident.timeline.entries()]
    assert any("enable_fallback_mode" in t for t in timeline)
    assert any("enable_throttling" in t for t in timeline)


def test_cli_diagnose_json_validates_against_the_schema(
    server: SimulatorServer, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`maintainx-resilient diagnose --json` prints JSON that the shipped schema accepts."""
    jsonschema: Any = importlib.import_module("jsonschema")
    monkeypatch.setenv("MAINTAINX_API_KEY", Simulator.API_KEY)
    monkeypatch.setenv("MAINTAINX_BASE_URL", server.base_url)
    code = main(["diagnose", "--json", "--no-status-page", "--deadline", "5"])
    data = json.loads(capsys.readouterr().out)
    jsonschema.validate(data, json_schema())
    assert code == 0
    assert Simulator.API_KEY not in json.dumps(data)


# ---- issue 12: 70 % of answers 5xx, the breaker open, through the real client -----------------

SEEDS = range(10)


def _judge_70(report: DiagnosisReport, seen: dict[str, int]) -> None:
    """What every seed must show: RB-002 counts what the application saw, and the overall
    severity is SEV1 only when nothing this diagnosis saw answered."""
    rb002 = report.result("RB-002")
    assert rb002 is not None
    assert rb002.status == "problem"  # was "ok" in 8 seeds of 20
    found = {f.code: f for f in rb002.findings}
    assert "RB002.BREAKER_OPEN" in found
    rate = found["RB002.ERROR_RATE"]
    refused = seen.get("CircuitOpenError", 0)
    assert rate.evidence["refused_by"] == {"CircuitOpenError": refused}
    assert rate.evidence["errors"] - rate.evidence["refused"] == rate.evidence["sent_errors"]
    assert found["RB002.FAILED_FAST"].evidence["count"] == refused
    basis = report.basis
    assert basis is not None
    if basis.live.answered:
        assert report.severity == Severity.SEV2
        assert basis.criterion.startswith("SEV2 Major degradation")
    else:
        assert report.severity == Severity.SEV1
        assert basis.live.probes_ok == 0
    assert report.to_dict()["severity_basis"]["live"]["probes_ok"] == basis.live.probes_ok


def test_seventy_percent_5xx_with_the_breaker_sync() -> None:
    """Issue 12's scenario over a socket, sync client with its default retry and breaker:
    40 calls at a 70 % 500 rate. RB-002 is never 'ok', its evidence counts the refused
    calls exactly as the application saw them, and a failed probe among successful ones
    gives SEV2 (major degradation), not SEV1."""
    downgraded = 0
    for seed in SEEDS:
        sim = Simulator(seed=seed, work_orders=50, rate_limit=None)
        with sim.serve() as served, client_for(served, clock=FakeClock()) as client:
            sim.faults.error_rate(0.7, status=500)
            seen: dict[str, int] = {}
            for i in range(1, 41):
                try:
                    client.work_orders.get(i)
                except MaintainXError as exc:
                    seen[type(exc).__name__] = seen.get(type(exc).__name__, 0) + 1
            assert seen.get("CircuitOpenError", 0) > 20
            report = client.diagnose()
        _judge_70(report, seen)
        assert report.basis is not None
        downgraded += "RB001.HTTP_5XX" in report.basis.downgraded
    assert downgraded >= 2  # the case: one probe's 500 among successes


async def test_seventy_percent_5xx_with_the_breaker_async() -> None:
    """The same scenario through the async client and its breaker."""
    for seed in SEEDS:
        sim = Simulator(seed=seed, work_orders=50, rate_limit=None)
        with sim.serve() as served:
            async with AsyncMaintainXClient(
                api_key=Simulator.API_KEY,
                base_url=served.base_url,
                diagnostics=QUIET,
                throttle=None,
                clock=FakeClock(),
            ) as client:
                sim.faults.error_rate(0.7, status=500)
                seen: dict[str, int] = {}
                for i in range(1, 41):
                    try:
                        await client.work_orders.get(i)
                    except MaintainXError as exc:
                        seen[type(exc).__name__] = seen.get(type(exc).__name__, 0) + 1
                report = await client.diagnose()
        _judge_70(report, seen)
