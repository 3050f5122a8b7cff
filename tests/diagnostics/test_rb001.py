"""RB-001 (API unreachable): the pure classification of every finding, the network primitives
over real loopback sockets, and whole diagnoses against closed ports, unresolvable names,
silent servers, non-TLS servers and the in-process simulator."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import httpx
import pytest

from maintainx_resilient.diagnostics import rb001_unreachable as rb001
from maintainx_resilient.diagnostics._context import DiagnosticContext, ProbeResult
from maintainx_resilient.diagnostics._model import Finding, Severity
from maintainx_resilient.diagnostics._network import (
    StepResult,
    Target,
    connect,
    httpx_probe,
    parse_target,
    resolve_host,
    skipped,
)
from maintainx_resilient.diagnostics.rb001_unreachable import classify_reachability as classify
from maintainx_resilient.diagnostics.status_page import StatusPageReport, parse_status_page
from maintainx_resilient.testing import Simulator

# ---- pure classification --------------------------------------------------------------------

DNS_OK = StepResult("DNS resolution", True, 0.002, None, "ok", ("10.0.0.1",))
TCP_OK = StepResult("TCP connect", True, 0.003, None, "connected")
TLS_OK = StepResult("TLS handshake", True, 0.004, None, "ok")
PROBE_PATH = rb001.PROBE_PATH


def page(state: str, **others: str) -> StatusPageReport:
    """A Better Stack report whose REST API component is ``state``."""
    included = [
        {"type": "status_page_resource", "attributes": {"public_name": name, "status": s}}
        for name, s in {"REST API": state, **others}.items()
    ]
    return parse_status_page(200, json.dumps({"included": included}).encode(), "text/html")


UNKNOWN = StatusPageReport(state="unknown", detail="no answer from the status page")


def answered(status: int) -> ProbeResult:
    return ProbeResult("GET", PROBE_PATH, 0.05, status=status, detail=str(status))


def no_answer(error: str = "ConnectionError") -> ProbeResult:
    return ProbeResult("GET", PROBE_PATH, 0.05, None, error, "failed")


def observations(
    probe: ProbeResult,
    status_page: StatusPageReport = UNKNOWN,
    *,
    dns: StepResult = DNS_OK,
    tcp: StepResult = TCP_OK,
    tls: StepResult = TLS_OK,
) -> rb001.Observations:
    return rb001.Observations(dns, tcp, tls, probe, status_page, "api.getmaintainx.com:443")


def only(findings: list[Finding]) -> Finding:
    assert len(findings) == 1, findings
    json.dumps(findings[0].to_dict())  # evidence is JSON-serializable
    return findings[0]


def actions(finding: Finding) -> list[str | None]:
    return [m.action for m in finding.mitigations]


def codes(finding: Finding) -> list[str]:
    return [m.code for m in finding.mitigations]


def test_reachable_api_has_no_finding() -> None:
    """A 2xx probe with an operational (or unknown) status page is no finding."""
    assert classify(observations(answered(200), page("operational"))) == []
    assert classify(observations(answered(200), UNKNOWN)) == []


def test_dns_failure_is_local_network_sev1() -> None:
    """DNS failure + no answer + page operational: RB001.DNS_FAILED, local network advice."""
    dns = StepResult("DNS resolution", False, 0.01, "dns_failed", "Name or service not known")
    finding = only(
        classify(
            observations(
                no_answer(),
                page("operational"),
                dns=dns,
                tcp=skipped("TCP connect", "DNS failed"),
                tls=skipped("TLS handshake", "DNS failed"),
            )
        )
    )
    assert (finding.code, finding.severity, finding.runbook) == (
        rb001.DNS_FAILED,
        Severity.SEV1,
        "RB-001",
    )
    assert codes(finding)[:2] == ["check_local_network", "escalate_network_team"]
    assert "firewall, DNS and proxy" in finding.mitigations[0].description
    assert finding.evidence["failed_step"] == "dns"


def test_dns_timeout_is_dns_failed() -> None:
    """A resolver that does not answer is a DNS failure too."""
    dns = StepResult("DNS resolution", False, 2.0, "timeout", "no answer from the resolver")
    finding = only(classify(observations(no_answer("TimeoutError"), UNKNOWN, dns=dns)))
    assert finding.code == rb001.DNS_FAILED


@pytest.mark.parametrize(
    ("error", "code"),
    [
        ("refused", rb001.TCP_REFUSED),
        ("timeout", rb001.TCP_TIMEOUT),
        ("unreachable", rb001.TCP_FAILED),
        ("error", rb001.TCP_FAILED),
    ],
)
def test_tcp_failures(error: str, code: str) -> None:
    """The TCP step's failure kind picks refused, timeout, or another connect failure."""
    tcp = StepResult("TCP connect", False, 0.01, error, "failed")  # type: ignore[arg-type]
    finding = only(classify(observations(no_answer(), page("operational"), tcp=tcp)))
    assert (finding.code, finding.severity) == (code, Severity.SEV1)
    assert "check_local_network" in codes(finding)
    assert finding.evidence["tcp"]["error"] == error


def test_tls_failure() -> None:
    """TCP connects but the handshake fails: RB001.TLS_FAILED with the TLS checks first."""
    tls = StepResult("TLS handshake", False, 0.01, "tls_failed", "certificate rejected")
    finding = only(classify(observations(no_answer(), page("operational"), tls=tls)))
    assert (finding.code, finding.severity) == (rb001.TLS_FAILED, Severity.SEV1)
    assert codes(finding)[0] == "check_tls"


def test_connected_but_no_answer_is_http_timeout() -> None:
    """Every network step works but the probe times out: RB001.HTTP_TIMEOUT."""
    finding = only(classify(observations(no_answer("TimeoutError"), UNKNOWN)))
    assert (finding.code, finding.severity) == (rb001.HTTP_TIMEOUT, Severity.SEV1)


def test_in_process_connection_error_is_connection_failed() -> None:
    """Skipped network steps and a probe connection error: RB001.CONNECTION_FAILED."""
    skip = skipped("x", "in-process transport")
    finding = only(classify(observations(no_answer(), UNKNOWN, dns=skip, tcp=skip, tls=skip)))
    assert (finding.code, finding.severity) == (rb001.CONNECTION_FAILED, Severity.SEV1)
    assert codes(finding)[0] == "check_proxy"


@pytest.mark.parametrize("state", ["operational", "unknown"])
def test_5xx_without_announced_outage_is_http_5xx(state: str) -> None:
    """A 5xx while the page says operational, or cannot be read, is RB001.HTTP_5XX (never an
    announced MaintainX outage)."""
    report = UNKNOWN if state == "unknown" else page(state)
    finding = only(classify(observations(answered(503), report)))
    assert (finding.code, finding.severity) == (rb001.HTTP_5XX, Severity.SEV1)
    assert actions(finding)[:2] == ["enable_fallback_mode", "isolate_breaker"]


@pytest.mark.parametrize("state", ["degraded", "downtime", "maintenance"])
@pytest.mark.parametrize("probe", [answered(503), no_answer(), no_answer("TimeoutError")])
def test_outage_announced_is_maintainx_outage(state: str, probe: ProbeResult) -> None:
    """Probe down (5xx or no answer) and the page says so: RB001.MAINTAINX_OUTAGE, SEV1,
    enable fallback mode first."""
    finding = only(classify(observations(probe, page(state))))
    assert (finding.code, finding.severity) == (rb001.MAINTAINX_OUTAGE, Severity.SEV1)
    assert finding.mitigations[0].action == "enable_fallback_mode"
    assert "cached responses" in finding.mitigations[0].description
    assert finding.evidence["status_page"]["api_state"] == state


def test_outage_wins_over_a_failed_local_step() -> None:
    """When the page announces downtime, a failed DNS lookup is evidence, not the verdict."""
    dns = StepResult("DNS resolution", False, 0.01, "dns_failed", "SERVFAIL")
    finding = only(classify(observations(no_answer(), page("downtime"), dns=dns)))
    assert finding.code == rb001.MAINTAINX_OUTAGE
    assert finding.evidence["dns"]["error"] == "dns_failed"


def test_unknown_page_is_never_an_outage() -> None:
    """Probe unreachable and the page unreadable: a local finding, never MAINTAINX_OUTAGE."""
    tcp = StepResult("TCP connect", False, 0.01, "refused", "refused")
    finding = only(classify(observations(no_answer(), UNKNOWN, tcp=tcp)))
    assert finding.code == rb001.TCP_REFUSED


def test_other_component_down_is_not_an_api_outage() -> None:
    """Only the REST API component decides: the Website being down is not MaintainX's API."""
    tcp = StepResult("TCP connect", False, 0.01, "timeout", "dropped")
    report = page("operational", Website="downtime")
    assert report.state == "downtime"
    finding = only(classify(observations(no_answer(), report, tcp=tcp)))
    assert finding.code == rb001.TCP_TIMEOUT


@pytest.mark.parametrize(
    ("status", "code", "severity", "action"),
    [
        (401, rb001.AUTH_FAILED, Severity.SEV1, "rotate_key"),
        (403, rb001.PERMISSION_DENIED, Severity.SEV2, None),
        (429, rb001.RATE_LIMITED, Severity.SEV3, "enable_throttling"),
        (400, rb001.HTTP_4XX, Severity.SEV2, None),
        (404, rb001.HTTP_4XX, Severity.SEV2, None),
    ],
)
def test_rejected_probe(status: int, code: str, severity: Severity, action: str | None) -> None:
    """A 4xx answer: the API is reachable; the code says what to fix (401 -> rotate key)."""
    finding = only(classify(observations(answered(status), page("downtime"))))
    assert (finding.code, finding.severity, finding.mitigations[0].action) == (
        code,
        severity,
        action,
    )
    assert finding.evidence["probe"]["status"] == status


@pytest.mark.parametrize("state", ["degraded", "downtime", "maintenance"])
def test_page_incident_while_api_answers_is_informational(state: str) -> None:
    """The API answers but the page reports trouble: RB001.STATUS_PAGE_INCIDENT, SEV4."""
    finding = only(classify(observations(answered(200), page(state))))
    assert (finding.code, finding.severity) == (rb001.STATUS_PAGE_INCIDENT, Severity.SEV4)


def test_probe_evidence_keeps_useful_headers_only() -> None:
    """The probe evidence names the server, content type and request id, nothing else."""
    probe = ProbeResult(
        "GET",
        PROBE_PATH,
        0.1,
        status=502,
        headers={"Content-Type": "text/html", "Server": "nginx", "Set-Cookie": "s=1"},
    )
    finding = only(classify(observations(probe, page("operational"))))
    assert finding.evidence["probe"]["content-type"] == "text/html"
    assert finding.evidence["probe"]["server"] == "nginx"
    assert "set-cookie" not in json.dumps(finding.evidence).lower()


# ---- network primitives ---------------------------------------------------------------------


def test_parse_target() -> None:
    """Ports default from the scheme; URLs without a host or with odd schemes are refused."""
    assert parse_target("https://api.getmaintainx.com/v1") == Target(
        "https", "api.getmaintainx.com", 443
    )
    assert parse_target("http://127.0.0.1:8080/v1") == Target("http", "127.0.0.1", 8080)
    assert parse_target("http://127.0.0.1/v1").tls is False
    with pytest.raises(ValueError, match="no host"):
        parse_target("https:///v1")
    with pytest.raises(ValueError, match="scheme"):
        parse_target("ftp://example.com/")


async def test_ip_literal_resolves_without_the_resolver() -> None:
    """An IP address base URL needs no DNS: it resolves to itself at once."""
    step = await resolve_host("127.0.0.1", 80, timeout=1.0)
    assert (step.ok, step.addresses) == (True, ("127.0.0.1",))
    assert (await resolve_host("[::1]", 80, timeout=1.0)).addresses == ("::1",)


async def test_unresolvable_name_fails_dns() -> None:
    """``nonexistent.invalid`` does not resolve_host (``.invalid`` is reserved for that)."""
    step = await resolve_host("nonexistent.invalid", 443, timeout=2.0)
    assert step.ok is False
    assert step.error in ("dns_failed", "timeout")
    assert "nonexistent.invalid" in step.detail


@pytest.fixture
def closed_port() -> int:
    """A loopback port nothing listens on (bound, then closed)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.fixture
def silent_listener() -> Iterator[int]:
    """A listening socket nobody accepts from: connections complete, nothing answers."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen(16)
        yield sock.getsockname()[1]


@pytest.fixture
def full_backlog() -> Iterator[int]:
    """A listener whose accept queue is full, so new connections are never completed (SYNs
    dropped, as behind a firewall). Skipped where the platform completes them anyway."""
    with socket.socket() as listener, contextlib.ExitStack() as stack:
        listener.bind(("127.0.0.1", 0))
        listener.listen(0)
        port: int = listener.getsockname()[1]
        for _ in range(2):
            filler = stack.enter_context(socket.socket())
            filler.settimeout(0.3)
            with contextlib.suppress(OSError):
                filler.connect(("127.0.0.1", port))
        probe = stack.enter_context(socket.socket())
        probe.settimeout(0.3)
        try:
            probe.connect(("127.0.0.1", port))
        except TimeoutError:
            yield port
            return
        except OSError as exc:  # pragma: no cover - platform dependent
            pytest.skip(f"a full accept queue refuses here ({exc})")
        pytest.skip("this platform completes connections beyond the accept queue")


@pytest.fixture
async def not_tls_server() -> AsyncIterator[int]:
    """A loopback server that answers plain HTTP to anything: a TLS client must fail."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(OSError):
            await reader.read(1)
            writer.write(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
            await writer.drain()
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()

    server = await asyncio.start_server(answer, "127.0.0.1", 0)
    try:
        yield server.sockets[0].getsockname()[1]
    finally:
        server.close()
        await server.wait_closed()


@pytest.mark.socket
async def test_connect_refused(closed_port: int) -> None:
    """A closed loopback port is ``refused``."""
    outcome = await connect(
        Target("http", "127.0.0.1", closed_port), ("127.0.0.1",), tcp_timeout=2, tls_timeout=2
    )
    assert (outcome.tcp.ok, outcome.tcp.error, outcome.tls) == (False, "refused", None)


@pytest.mark.socket
async def test_connect_timeout(full_backlog: int) -> None:
    """A connection that is never completed is a TCP ``timeout`` after the step's timeout."""
    outcome = await connect(
        Target("http", "127.0.0.1", full_backlog),
        ("127.0.0.1",),
        tcp_timeout=0.3,
        tls_timeout=0.3,
    )
    assert (outcome.tcp.ok, outcome.tcp.error) == (False, "timeout")
    assert 0.25 <= outcome.tcp.duration < 2.0


@pytest.mark.socket
async def test_tls_handshake_timeout(silent_listener: int) -> None:
    """A peer that accepts but never speaks TLS fails the handshake at its timeout."""
    outcome = await connect(
        Target("https", "127.0.0.1", silent_listener),
        ("127.0.0.1",),
        tcp_timeout=1.0,
        tls_timeout=0.3,
    )
    assert outcome.tcp.ok is True
    assert outcome.tls is not None
    assert (outcome.tls.ok, outcome.tls.error) == (False, "tls_failed")
    assert "within" in outcome.tls.detail


@pytest.mark.socket
async def test_tls_against_plain_http(not_tls_server: int) -> None:
    """A peer that answers plain HTTP fails the handshake at once."""
    outcome = await connect(
        Target("https", "127.0.0.1", not_tls_server),
        ("127.0.0.1",),
        tcp_timeout=1.0,
        tls_timeout=1.0,
    )
    assert outcome.tls is not None
    assert (outcome.tls.ok, outcome.tls.error) == (False, "tls_failed")
    assert outcome.tls.duration < 1.0


# ---- whole diagnoses over real loopback ---------------------------------------------------------

DEADLINE = 2.0
#: What the test runner may add around a diagnosis (scheduling on a busy machine).
SLACK = 1.0


async def operational_page(url: str) -> tuple[int | None, bytes, str]:
    body = {"included": [{"type": "status_page_resource", "attributes": {}}]}
    body["included"][0]["attributes"] = {"public_name": "REST API", "status": "operational"}
    return 200, json.dumps(body).encode(), "text/html"


async def downtime_page(url: str) -> tuple[int | None, bytes, str]:
    body = {"data": {"type": "status_page", "attributes": {"aggregate_state": "downtime"}}}
    return 200, json.dumps(body).encode(), "text/html"


@contextlib.asynccontextmanager
async def network_context(
    base_url: str, *, client_timeout: float | None = 1.0, **kwargs: Any
) -> AsyncIterator[DiagnosticContext]:
    """A context whose probe goes over a real ``httpx.AsyncClient`` to ``base_url``."""
    kwargs.setdefault("fetch_status_page", operational_page)
    kwargs.setdefault("deadline", DEADLINE)
    async with httpx.AsyncClient(
        base_url=base_url, timeout=client_timeout, headers={"Authorization": "Bearer k"}
    ) as client:
        yield DiagnosticContext(base_url=base_url, probe=httpx_probe(client), **kwargs)


async def diagnose(ctx: DiagnosticContext) -> tuple[Any, float]:
    started = time.monotonic()
    result = await rb001.check(ctx)
    json.dumps(result.to_dict())
    return result, time.monotonic() - started


def assert_within_deadline(result: Any, wall: float, deadline: float = DEADLINE) -> None:
    assert result.duration <= deadline
    assert wall < deadline + SLACK


def finding_codes(result: Any) -> list[str]:
    return [f.code for f in result.findings]


@pytest.mark.socket
async def test_closed_port_is_refused(closed_port: int) -> None:
    """A base URL on a closed loopback port: RB001.TCP_REFUSED, SEV1, within the deadline."""
    async with network_context(f"http://127.0.0.1:{closed_port}/v1") as ctx:
        result, wall = await diagnose(ctx)
    assert finding_codes(result) == [rb001.TCP_REFUSED]
    assert result.severity == Severity.SEV1
    assert result.status == "problem"
    by_name = {c.name: c for c in result.checks}
    assert by_name["DNS resolution"].ok is True
    assert by_name["TCP connect"].ok is False
    assert by_name["TLS handshake"].ok is None
    assert by_name["Status page"].ok is True
    assert_within_deadline(result, wall)


@pytest.mark.socket
async def test_unresolvable_host_is_dns_failure() -> None:
    """``http://nonexistent.invalid/v1``: RB001.DNS_FAILED with local-network mitigations."""
    async with network_context("http://nonexistent.invalid/v1") as ctx:
        result, wall = await diagnose(ctx)
    assert finding_codes(result) == [rb001.DNS_FAILED]
    finding = result.findings[0]
    assert finding.mitigations[0].code == "check_local_network"
    tcp = next(c for c in result.checks if c.name == "TCP connect")
    assert (tcp.ok, tcp.detail) == (None, "skipped: DNS failed")
    assert_within_deadline(result, wall)


@pytest.mark.socket
async def test_silent_server_is_a_timeout_bounded_by_the_deadline(silent_listener: int) -> None:
    """A socket that accepts but never answers, and a probe with no timeout of its own: the
    diagnosis cuts the probe off at its deadline and reports RB001.HTTP_TIMEOUT."""
    base = f"http://127.0.0.1:{silent_listener}/v1"
    async with network_context(base, client_timeout=None, deadline=1.0) as ctx:
        result, wall = await diagnose(ctx)
    assert finding_codes(result) == [rb001.HTTP_TIMEOUT]
    probe = next(c for c in result.checks if c.name.startswith("HTTPS probe"))
    assert probe.ok is False
    assert "TimeoutError" in probe.detail
    assert_within_deadline(result, wall, deadline=1.0)


@pytest.mark.socket
async def test_dropped_connection_is_tcp_timeout(full_backlog: int) -> None:
    """Connections never completed (SYNs dropped): RB001.TCP_TIMEOUT within the deadline."""
    async with network_context(f"http://127.0.0.1:{full_backlog}/v1") as ctx:
        result, wall = await diagnose(ctx)
    assert finding_codes(result) == [rb001.TCP_TIMEOUT]
    assert_within_deadline(result, wall)


@pytest.mark.socket
async def test_plain_http_on_https_is_tls_failure(not_tls_server: int) -> None:
    """An ``https`` base URL answered in plain HTTP: RB001.TLS_FAILED."""
    async with network_context(f"https://127.0.0.1:{not_tls_server}/v1") as ctx:
        result, wall = await diagnose(ctx)
    assert finding_codes(result) == [rb001.TLS_FAILED]
    assert_within_deadline(result, wall)


@pytest.mark.socket
async def test_hanging_status_page_does_not_hold_the_diagnosis(closed_port: int) -> None:
    """A status page that never answers is ``unknown``, and the diagnosis still ends in time
    with the local verdict (never an outage)."""

    async def hanging(url: str) -> tuple[int | None, bytes, str]:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    base = f"http://127.0.0.1:{closed_port}/v1"
    async with network_context(base, fetch_status_page=hanging) as ctx:
        result, wall = await diagnose(ctx)
    assert finding_codes(result) == [rb001.TCP_REFUSED]
    status = next(c for c in result.checks if c.name == "Status page")
    assert status.ok is None
    assert status.detail.startswith("unknown")
    assert_within_deadline(result, wall)


@pytest.mark.socket
async def test_simulator_over_a_real_socket_is_reachable() -> None:
    """The simulator served on loopback: every step passes and there is no finding."""
    sim = Simulator(work_orders=5, assets=2, locations=2, users=2)
    with sim.serve() as server:
        async with httpx.AsyncClient(
            base_url=server.base_url,
            timeout=2.0,
            headers={"Authorization": f"Bearer {Simulator.API_KEY}"},
        ) as client:
            ctx = DiagnosticContext(
                base_url=server.base_url,
                probe=httpx_probe(client),
                fetch_status_page=operational_page,
                deadline=DEADLINE,
            )
            result, wall = await diagnose(ctx)
    assert result.findings == ()
    assert result.status == "ok"
    assert [c.ok for c in result.checks] == [True, True, None, True, True]
    assert_within_deadline(result, wall)


# ---- whole diagnoses in process ---------------------------------------------------------------


def sim_context(
    sim: Simulator,
    client: httpx.AsyncClient,
    **kwargs: Any,
) -> DiagnosticContext:
    kwargs.setdefault("fetch_status_page", operational_page)
    return DiagnosticContext(
        base_url="https://api.getmaintainx.com/v1",
        probe=httpx_probe(client),
        transport_kind="in_process",
        **kwargs,
    )


@contextlib.asynccontextmanager
async def sim_client(
    sim: Simulator, key: str = Simulator.API_KEY
) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=sim.transport(),
        base_url="https://api.getmaintainx.com/v1",
        headers={"Authorization": f"Bearer {key}"},
    ) as client:
        yield client


@pytest.fixture
def sim() -> Simulator:
    return Simulator(work_orders=5, assets=2, locations=2, users=2)


async def test_in_process_skips_network_steps(sim: Simulator) -> None:
    """With an in-process transport DNS/TCP/TLS are skipped (ok None) and the probe passes."""
    async with sim_client(sim) as client:
        result = await rb001.check(sim_context(sim, client))
    assert result.findings == ()
    skipped_steps = [c for c in result.checks if c.ok is None]
    assert [c.name for c in skipped_steps] == ["DNS resolution", "TCP connect", "TLS handshake"]
    assert all(c.detail == "skipped: in-process transport" for c in skipped_steps)


async def test_in_process_without_a_fetcher_skips_the_real_status_page(sim: Simulator) -> None:
    """In process and no ``fetch_status_page``: the real status page is not fetched."""
    async with sim_client(sim) as client:
        ctx = sim_context(sim, client, fetch_status_page=None)
        result = await rb001.check(ctx)
    status = next(c for c in result.checks if c.name == "Status page")
    assert (status.ok, status.detail) == (None, "unknown: skipped: in-process transport")


async def test_simulated_outage_with_downtime_page_is_maintainx_outage(sim: Simulator) -> None:
    """Simulator outage (503) + the page says downtime: RB001.MAINTAINX_OUTAGE, SEV1, enable
    fallback mode."""
    sim.faults.outage()
    async with sim_client(sim) as client:
        result = await rb001.check(sim_context(sim, client, fetch_status_page=downtime_page))
    assert finding_codes(result) == [rb001.MAINTAINX_OUTAGE]
    assert result.severity == Severity.SEV1
    assert result.findings[0].mitigations[0].action == "enable_fallback_mode"


async def test_simulated_outage_with_unknown_page_is_http_5xx(sim: Simulator) -> None:
    """Simulator outage and an unreadable page: RB001.HTTP_5XX, not an announced outage."""

    async def garbage(url: str) -> tuple[int | None, bytes, str]:
        return 200, b"<html>maintenance window?</html>", "text/html"

    sim.faults.outage()
    async with sim_client(sim) as client:
        result = await rb001.check(sim_context(sim, client, fetch_status_page=garbage))
    assert finding_codes(result) == [rb001.HTTP_5XX]


async def test_refused_in_process_is_connection_failed(sim: Simulator) -> None:
    """A refusing simulator (no network steps to blame): RB001.CONNECTION_FAILED."""
    sim.faults.outage(mode="refuse")
    async with sim_client(sim) as client:
        result = await rb001.check(sim_context(sim, client))
    assert finding_codes(result) == [rb001.CONNECTION_FAILED]


async def test_bad_key_is_auth_failed(sim: Simulator, canary_key: str) -> None:
    """A key the API rejects (401): RB001.AUTH_FAILED with the rotate_key action; the key is
    nowhere in the result."""
    async with sim_client(sim, key=canary_key) as client:
        result = await rb001.check(sim_context(sim, client))
    assert finding_codes(result) == [rb001.AUTH_FAILED]
    assert result.findings[0].mitigations[0].action == "rotate_key"
    assert canary_key not in json.dumps(result.to_dict())
    assert canary_key not in repr(result)


async def test_probe_that_never_returns_is_cut_at_the_deadline() -> None:
    """A probe that hangs forever is cancelled within the deadline: RB001.HTTP_TIMEOUT."""

    async def hang(method: str, path: str, headers: Mapping[str, str]) -> ProbeResult:
        await asyncio.Event().wait()
        raise AssertionError("unreachable")

    ctx = DiagnosticContext(
        base_url="https://api.getmaintainx.com/v1",
        probe=hang,
        transport_kind="in_process",
        fetch_status_page=operational_page,
        deadline=0.3,
    )
    result, wall = await diagnose(ctx)
    assert finding_codes(result) == [rb001.HTTP_TIMEOUT]
    assert_within_deadline(result, wall, deadline=0.3)


async def test_probe_that_raises_is_an_observation() -> None:
    """A probe that raises does not crash the diagnosis: RB001.CONNECTION_FAILED."""

    async def broken(method: str, path: str, headers: Mapping[str, str]) -> ProbeResult:
        raise RuntimeError("boom")

    ctx = DiagnosticContext(
        base_url="https://api.getmaintainx.com/v1",
        probe=broken,
        transport_kind="in_process",
        status_page_url=None,
    )
    result = await rb001.check(ctx)
    assert finding_codes(result) == [rb001.CONNECTION_FAILED]
    assert result.findings[0].evidence["probe"]["error"] == "RuntimeError"


async def test_probe_path_is_the_cheap_organizations_probe(sim: Simulator) -> None:
    """RB-001 sends exactly one request, ``GET /v1/organizations?limit=1``."""
    async with sim_client(sim) as client:
        await rb001.check(sim_context(sim, client))
    log = sim.request_log
    assert [(r.method, r.path) for r in log] == [("GET", "/v1/organizations")]


async def test_probe_raising_our_timeout_keeps_its_own_detail() -> None:
    """Our TimeoutError is a built-in TimeoutError too (so asyncio's): a probe or status-page
    fetcher raising it is still reported with its own message, not as the diagnosis deadline.
    """
    from maintainx_resilient import TimeoutError as MXTimeoutError

    async def timing_out(method: str, path: str, headers: Mapping[str, str]) -> ProbeResult:
        raise MXTimeoutError("read timeout", method=method, path=path, phase="read")

    async def page_timing_out(url: str) -> tuple[int | None, bytes, str]:
        raise MXTimeoutError("connect timeout", method="GET", path="/en", phase="connect")

    ctx = DiagnosticContext(
        base_url="https://api.getmaintainx.com/v1",
        probe=timing_out,
        transport_kind="in_process",
        fetch_status_page=page_timing_out,
    )
    result = await rb001.check(ctx)
    evidence = result.findings[0].evidence
    assert evidence["probe"]["error"] == "TimeoutError"
    assert evidence["probe"]["detail"] == "GET /organizations?limit=1: read timeout"
    assert "diagnosis deadline" not in evidence["probe"]["detail"]
    assert evidence["status_page"]["detail"] == (
        "could not fetch the status page (TimeoutError: GET /en: connect timeout)"
    )
