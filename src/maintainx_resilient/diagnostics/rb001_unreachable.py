"""RB-001: MaintainX API unreachable.

The runbook's diagnostic script, step by step, each step timed and bounded by the diagnosis
deadline (a diagnosis must never hang on the thing it diagnoses):

1. DNS resolution of the API host (``nslookup``);
2. TCP connect to it (``nc -zv host 443``), then the TLS handshake for ``https``;
3. the authenticated HTTPS probe, ``GET /organizations?limit=1`` (the runbook uses
   ``/users?limit=1``; ``/organizations?limit=1`` is the API's cheap probe) through the
   client's auth and HTTP layers only; a 2xx must be the API's JSON (an HTML login page
   from a proxy or captive portal is a failed probe: ``RB001.NOT_API_ANSWER``);
4. the MaintainX status page (Better Stack ``/en/index.json``; Atlassian understood too).

The network chain (1, 2), the probe (3) and the status page (4) run concurrently: they are
independent, and concurrency leaves each a larger share of the deadline. With an in-process
transport (the simulator, a mock) steps 1 and 2 are skipped, and so is the status page
unless the context brings its own ``fetch_status_page``.

:func:`classify_reachability` turns what was observed into findings, without I/O: the probe decides
whether there is a problem; the status page decides whether it is MaintainX's outage (probe
down and the page says degraded/downtime/maintenance) or a local one (the page says
operational, or cannot be read: "unknown" is never taken as "down"); the first failed network
step says what is wrong locally.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from .._deprecated import renamed
from .._exceptions import MaintainXError
from ._context import DiagnosticContext, ProbeResult
from ._model import Check, DiagnosticResult, Finding, Mitigation, Severity, conclude
from ._network import Budget, StepResult, Target, connect, parse_target, resolve_host, skipped
from .status_page import DEFAULT_STATUS_TIMEOUT, StatusPageReport, fetch_status

__all__ = [
    "AUTH_FAILED",
    "CONNECTION_FAILED",
    "DNS_FAILED",
    "HTTP_4XX",
    "HTTP_5XX",
    "HTTP_TIMEOUT",
    "MAINTAINX_OUTAGE",
    "NOT_API_ANSWER",
    "PERMISSION_DENIED",
    "PROBE_PATH",
    "RATE_LIMITED",
    "RUNBOOK",
    "STATUS_PAGE_INCIDENT",
    "TCP_FAILED",
    "TCP_REFUSED",
    "TCP_TIMEOUT",
    "TITLE",
    "TLS_FAILED",
    "Observations",
    "bounded_probe",
    "check",
    "classify_reachability",
    "observe_reachability",
]

RUNBOOK = "RB-001"
TITLE = "MaintainX API Unreachable"
#: The cheap authenticated probe (API-FACTS); the runbook's script uses ``/users?limit=1``.
PROBE_PATH = "/organizations?limit=1"

DNS_FAILED = "RB001.DNS_FAILED"
TCP_REFUSED = "RB001.TCP_REFUSED"
TCP_TIMEOUT = "RB001.TCP_TIMEOUT"
TCP_FAILED = "RB001.TCP_FAILED"
TLS_FAILED = "RB001.TLS_FAILED"
HTTP_TIMEOUT = "RB001.HTTP_TIMEOUT"
CONNECTION_FAILED = "RB001.CONNECTION_FAILED"
HTTP_5XX = "RB001.HTTP_5XX"
AUTH_FAILED = "RB001.AUTH_FAILED"
PERMISSION_DENIED = "RB001.PERMISSION_DENIED"
RATE_LIMITED = "RB001.RATE_LIMITED"
HTTP_4XX = "RB001.HTTP_4XX"
MAINTAINX_OUTAGE = "RB001.MAINTAINX_OUTAGE"
NOT_API_ANSWER = "RB001.NOT_API_ANSWER"
STATUS_PAGE_INCIDENT = "RB001.STATUS_PAGE_INCIDENT"

# Shares of the deadline. The network chain runs its steps one after the other (each gets a
# third); the probe and the status page run beside it.
_DNS_SHARE = _TCP_SHARE = _TLS_SHARE = 0.32
_PROBE_SHARE = 0.95
_STATUS_SHARE = 0.5

# ---- the runbook's mitigations ----------------------------------------------------------------

_STATUS_PAGE = Mitigation(
    "check_status_page", "Check the MaintainX status page: https://status.getmaintainx.com"
)
_FALLBACK = Mitigation(
    "enable_fallback_mode",
    "Enable fallback mode: serve cached responses while MaintainX cannot be reached",
    "enable_fallback_mode",
)
_LOCAL_NETWORK = Mitigation(
    "check_local_network", "Local network: check firewall, DNS and proxy settings on this host"
)
_ESCALATE_NETWORK = Mitigation(
    "escalate_network_team", "Escalate to the network team (Infrastructure: #infra-oncall)"
)
_WAIT_RESTORATION = Mitigation(
    "wait_for_restoration",
    "Wait for MaintainX restoration, verify connectivity, then monitor the data sync catch-up",
)
_SUPPORT = Mitigation(
    "contact_maintainx_support", "Contact MaintainX support: support@getmaintainx.com"
)
_BREAKER = Mitigation(
    "isolate_breaker",
    "Stop sending to a failing API: hold the circuit breaker open until it recovers",
    "isolate_breaker",
)
_ROTATE_KEY = Mitigation(
    "rotate_key",
    "Rotate the API key (MaintainX: Settings > Integrations > API Keys)",
    "rotate_key",
)
_CHECK_PERMISSIONS = Mitigation(
    "check_permissions", "Check the permissions of the API key's user and organization"
)
_THROTTLE = Mitigation(
    "enable_throttling", "Reduce the request rate: enable throttling", "enable_throttling"
)
_CHECK_CONFIG = Mitigation(
    "check_configuration",
    "Check the base URL and, for multi-organization keys, the x-organization-id header",
)
_TLS_CHECKS = Mitigation(
    "check_tls",
    "Check for a TLS-intercepting proxy, the system clock and the CA bundle of this host",
)
_PROXY = Mitigation(
    "check_proxy",
    "Check the client's proxy settings (HTTPS_PROXY / NO_PROXY) and any egress gateway",
)

_LOCAL = (_LOCAL_NETWORK, _ESCALATE_NETWORK, _FALLBACK)


@dataclass(frozen=True)
class Observations:
    """Everything RB-001 saw, the input of :func:`classify_reachability`."""

    dns: StepResult
    tcp: StepResult
    tls: StepResult
    probe: ProbeResult
    status_page: StatusPageReport
    target: str = ""
    transport_kind: str = "network"


# ---- pure decisions --------------------------------------------------------------------------


def _is_timeout(error: str | None) -> bool:
    return error is not None and "timeout" in error.lower()


def _probe_evidence(probe: ProbeResult) -> dict[str, Any]:
    evidence: dict[str, Any] = {
        "method": probe.method,
        "path": probe.path,
        "status": probe.status,
        "error": probe.error,
        "detail": probe.detail,
        "duration_ms": round(probe.duration * 1000, 1),
    }
    lowered = {k.lower(): v for k, v in probe.headers.items()}
    for name in ("content-type", "server", "x-request-id"):
        if name in lowered:
            evidence[name] = lowered[name]
    return evidence


def _step_evidence(step: StepResult) -> dict[str, Any]:
    return {
        "ok": step.ok,
        "error": step.error,
        "detail": step.detail,
        "duration_ms": round(step.duration * 1000, 1),
    }


def _evidence(obs: Observations, **extra: Any) -> dict[str, Any]:
    page = obs.status_page
    evidence: dict[str, Any] = {
        "target": obs.target,
        "transport_kind": obs.transport_kind,
        "probe": _probe_evidence(obs.probe),
        "dns": _step_evidence(obs.dns),
        "tcp": _step_evidence(obs.tcp),
        "tls": _step_evidence(obs.tls),
        "status_page": {"state": page.state, "api_state": page.api_state, "detail": page.detail},
    }
    evidence.update(extra)
    return evidence


def _finding(
    code: str,
    title: str,
    severity: Severity,
    obs: Observations,
    mitigations: Sequence[Mitigation],
    **extra: Any,
) -> Finding:
    return Finding(
        code=code,
        title=title,
        severity=severity,
        runbook=RUNBOOK,
        evidence=_evidence(obs, **extra),
        mitigations=tuple(mitigations),
    )


def classify_reachability(obs: Observations) -> list[Finding]:
    """What RB-001 concludes from its observations (no I/O)."""
    probe = obs.probe
    page_state = obs.status_page.api_state
    if probe.ok:
        if page_state in ("degraded", "downtime", "maintenance"):
            title = f"MaintainX status page reports {page_state}, but the API answers"
            return [_finding(STATUS_PAGE_INCIDENT, title, Severity.SEV4, obs, (_STATUS_PAGE,))]
        return []
    status = probe.status
    if status is not None and status < 300:  # a 2xx that is not the API's JSON
        return [_not_api_answer(status, obs)]
    if status is not None and status < 500:
        return [_rejected(status, obs)]
    if page_state in ("degraded", "downtime", "maintenance"):
        what = "planned maintenance" if page_state == "maintenance" else "an outage"
        title = f"MaintainX {what}: the API is unreachable and the status page says {page_state}"
        mitigations: tuple[Mitigation, ...] = (_FALLBACK, _WAIT_RESTORATION, _STATUS_PAGE, _BREAKER)
        return [_finding(MAINTAINX_OUTAGE, title, Severity.SEV1, obs, mitigations)]
    if status is not None:
        title = (
            f"The API answers HTTP {status} while the status page says {page_state}: "
            "MaintainX or a proxy in between is failing"
        )
        mitigations = (_FALLBACK, _BREAKER, _STATUS_PAGE, _PROXY, _SUPPORT)
        return [_finding(HTTP_5XX, title, Severity.SEV1, obs, mitigations)]
    return [_unreachable(obs)]


def _not_api_answer(status: int, obs: Observations) -> Finding:
    """The probe got a 2xx, but its body is not the API's JSON: every call fails to read it."""
    probe = obs.probe
    lowered = {k.lower(): v for k, v in probe.headers.items()}
    kind = str(lowered.get("content-type", "no content type")).split(";")[0].strip()
    if "html" in kind.lower() or "HTML page" in probe.detail:
        title = (
            f"Something between you and MaintainX answers HTML instead of the API "
            f"(HTTP {status}, {kind}): a proxy, captive portal or login page"
        )
        mitigations: tuple[Mitigation, ...] = (_PROXY, _LOCAL_NETWORK, _ESCALATE_NETWORK, _FALLBACK)
    else:
        title = (
            f"The API answers HTTP {status} with a body that is not its JSON ({kind}): "
            "a proxy in between or MaintainX is failing"
        )
        mitigations = (_PROXY, _FALLBACK, _STATUS_PAGE, _SUPPORT)
    return _finding(NOT_API_ANSWER, title, Severity.SEV1, obs, mitigations, failed_step="http")


def _rejected(status: int, obs: Observations) -> Finding:
    """The API answered, but refused the probe (4xx)."""
    if status == 401:
        title = "The API rejects the API key (401): every call fails"
        return _finding(AUTH_FAILED, title, Severity.SEV1, obs, (_ROTATE_KEY,))
    if status == 403:
        title = "The API key may not read organizations (403)"
        return _finding(PERMISSION_DENIED, title, Severity.SEV2, obs, (_CHECK_PERMISSIONS,))
    if status == 429:
        title = "The API is reachable but rate-limits this key (429)"
        return _finding(RATE_LIMITED, title, Severity.SEV3, obs, (_THROTTLE,))
    title = f"The API rejects the probe with HTTP {status}: check the configuration"
    return _finding(HTTP_4XX, title, Severity.SEV2, obs, (_CHECK_CONFIG,))


def _unreachable(obs: Observations) -> Finding:
    """No answer and no outage announced: find the first local step that failed."""
    dns, tcp, tls = obs.dns, obs.tcp, obs.tls
    sev = Severity.SEV1
    if dns.ok is False:
        title = f"DNS resolution of the API host failed ({dns.error}): local network or DNS"
        return _finding(DNS_FAILED, title, sev, obs, _LOCAL, failed_step="dns")
    if tcp.ok is False:
        if tcp.error == "refused":
            title = f"TCP connection to {obs.target} refused: nothing listens or a firewall rejects"
            return _finding(TCP_REFUSED, title, sev, obs, _LOCAL, failed_step="tcp")
        if tcp.error == "timeout":
            title = f"TCP connection to {obs.target} timed out: packets dropped on the way"
            return _finding(TCP_TIMEOUT, title, sev, obs, _LOCAL, failed_step="tcp")
        title = f"TCP connection to {obs.target} failed ({tcp.error}): no route to the API"
        return _finding(TCP_FAILED, title, sev, obs, _LOCAL, failed_step="tcp")
    if tls.ok is False:
        title = f"TLS handshake with {obs.target} failed: interception proxy or certificates"
        mitigations: tuple[Mitigation, ...] = (
            _TLS_CHECKS,
            _LOCAL_NETWORK,
            _ESCALATE_NETWORK,
            _FALLBACK,
        )
        return _finding(TLS_FAILED, title, sev, obs, mitigations, failed_step="tls")
    if _is_timeout(obs.probe.error):
        title = "The API accepts connections but does not answer the probe in time"
        mitigations = (*_LOCAL, _STATUS_PAGE, _SUPPORT)
        return _finding(HTTP_TIMEOUT, title, sev, obs, mitigations, failed_step="http")
    title = f"The client cannot connect to the API ({obs.probe.error or 'no answer'})"
    mitigations = (_PROXY, *_LOCAL)
    return _finding(CONNECTION_FAILED, title, sev, obs, mitigations, failed_step="http")


# ---- I/O -------------------------------------------------------------------------------------


async def _network_chain(
    target: Target | None, ctx: DiagnosticContext, budget: Budget, why_not: str
) -> tuple[StepResult, StepResult, StepResult]:
    names = ("DNS resolution", "TCP connect", "TLS handshake")
    if target is None:
        return skipped(names[0], why_not), skipped(names[1], why_not), skipped(names[2], why_not)
    clock = ctx.clock
    dns = await resolve_host(target.host, target.port, timeout=budget.step(_DNS_SHARE), clock=clock)
    if not dns.ok:
        return dns, skipped(names[1], "DNS failed"), skipped(names[2], "DNS failed")
    outcome = await connect(
        target,
        dns.addresses,
        tcp_timeout=budget.step(_TCP_SHARE),
        tls_timeout=budget.step(_TLS_SHARE),
        clock=clock,
    )
    if outcome.tls is not None:
        tls = outcome.tls
    elif not target.tls:
        tls = skipped(names[2], f"{target.scheme} base URL")
    else:
        tls = skipped(names[2], "TCP failed")
    return dns, outcome.tcp, tls


async def bounded_probe(
    ctx: DiagnosticContext, method: str, path: str, timeout: float
) -> ProbeResult:
    """``ctx.probe`` bounded by ``timeout``; a timeout or an exception becomes a result."""
    start = ctx.clock.monotonic()
    try:
        return await asyncio.wait_for(ctx.probe(method, path, {}), timeout=timeout)
    except MaintainXError as exc:  # the probe's own error (our TimeoutError is a built-in one)
        failure: BaseException = exc
    except asyncio.TimeoutError:
        detail = f"no answer within {timeout:.2f} s (the diagnosis deadline)"
        return ProbeResult(
            method, path, ctx.clock.monotonic() - start, None, "TimeoutError", detail
        )
    except Exception as exc:  # a failing probe is an observation, not a crash
        failure = exc
    error = type(failure).__name__
    return ProbeResult(method, path, ctx.clock.monotonic() - start, None, error, str(failure))


def _probe_check(probe: ProbeResult) -> Check:
    if probe.status is not None:
        detail = probe.detail or f"HTTP {probe.status}"
    else:
        detail = f"{probe.error or 'error'}: {probe.detail}".rstrip(": ")
    return Check(f"HTTPS probe {probe.method} {probe.path}", probe.ok, probe.duration, detail)


def _status_check(report: StatusPageReport) -> Check:
    if report.state == "unknown":
        return Check("Status page", None, report.duration, f"unknown: {report.detail}")
    ok = report.api_state == "operational"
    names = ", ".join(f"{c.name}: {c.state}" for c in report.components)
    detail = f"{report.state}" + (f" ({names})" if names else "")
    return Check("Status page", ok, report.duration, detail)


async def _status_page(ctx: DiagnosticContext, timeout: float) -> StatusPageReport:
    """The real status page; not fetched for an in-process transport (a simulator or mock)
    unless the context brings its own fetcher."""
    if ctx.transport_kind == "in_process" and ctx.fetch_status_page is None:
        return StatusPageReport(state="unknown", detail="skipped: in-process transport")
    return await fetch_status(ctx, timeout=timeout)


async def observe_reachability(ctx: DiagnosticContext) -> Observations:
    """Run the runbook's steps (concurrently, within ``ctx.deadline``) and collect them."""
    budget = Budget(ctx.deadline)
    status_timeout = min(DEFAULT_STATUS_TIMEOUT, budget.step(_STATUS_SHARE))
    status_task = asyncio.ensure_future(_status_page(ctx, status_timeout))
    try:
        target: Target | None = None
        why_not = "in-process transport"
        if ctx.transport_kind != "in_process":
            try:
                target = parse_target(ctx.base_url)
            except ValueError as exc:
                why_not = str(exc)
        chain = asyncio.ensure_future(_network_chain(target, ctx, budget, why_not))
        try:
            probe = await bounded_probe(ctx, "GET", PROBE_PATH, budget.step(_PROBE_SHARE))
            dns, tcp, tls = await chain
        finally:
            chain.cancel()
        page = await status_task
    finally:
        status_task.cancel()
    return Observations(
        dns=dns,
        tcp=tcp,
        tls=tls,
        probe=probe,
        status_page=page,
        target=str(target) if target is not None else "",
        transport_kind=ctx.transport_kind,
    )


async def check(ctx: DiagnosticContext) -> DiagnosticResult:
    """RB-001: is the MaintainX API reachable from here, and if not, why?"""
    start = ctx.clock.monotonic()
    obs = await observe_reachability(ctx)
    findings = classify_reachability(obs)
    checks = (
        obs.dns.to_check(),
        obs.tcp.to_check(),
        obs.tls.to_check(),
        _probe_check(obs.probe),
        _status_check(obs.status_page),
    )
    detail = findings[0].title if findings else "the API answers the authenticated probe"
    took = ctx.clock.monotonic() - start
    return conclude(RUNBOOK, TITLE, findings, checks=checks, duration=took, detail=detail)


#: Renamed public names, still answered (with a DeprecationWarning).
_RENAMED = {"classify": "classify_reachability", "observe": "observe_reachability"}


def __getattr__(name: str) -> Any:
    return renamed(__name__, name, _RENAMED, globals())
