"""RB-002: High Error Rate (> 5 %), from the client's rolling statistics only (no probes).

The runbook's script groups recent errors by ``status:endpoint`` and looks for patterns; this
procedure reads the same distribution from :meth:`RollingStats.snapshot()
<maintainx_resilient._stats.RollingStats.snapshot>` (``ctx.stats``) and classifies it:

- ``RB002.ERROR_RATE``: the overall error rate over the window, at the thresholds of
  :func:`~maintainx_resilient.diagnostics.severity.classify_error_rate` (> 5 % SEV3, > 50 %
  SEV2, 100 % SEV1, judged over at least ``min_requests`` attempts).
- One finding per pattern present, each with the runbook's immediate action:
  ``RB002.AUTH_401`` (rotate API key), ``RB002.PERMISSION_403`` (check permissions),
  ``RB002.RATE_LIMIT_429`` (enable throttling), ``RB002.SERVER_5XX`` (enable circuit breaker:
  a MaintainX-side issue), ``RB002.TRANSPORT_ERRORS`` (connection errors and timeouts: see
  RB-001), ``RB002.CLIENT_4XX`` (other 4xx: the requests are wrong). A pattern's severity is
  the error-rate class of its own share of all attempts, and at least SEV4 (informational).

Counts are attempts: a retried call counts once per try. Everything but :func:`check` is
pure, so the classification is tested without a client.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._context import DiagnosticContext, Thresholds
from ._model import Check, DiagnosticResult, Finding, Mitigation, Severity
from .severity import classify_error_rate, result_status

__all__ = [
    "CODE_AUTH_401",
    "CODE_CLIENT_4XX",
    "CODE_ERROR_RATE",
    "CODE_PERMISSION_403",
    "CODE_RATE_LIMIT_429",
    "CODE_SERVER_5XX",
    "CODE_TRANSPORT_ERRORS",
    "RUNBOOK",
    "TITLE",
    "ErrorGroup",
    "check",
    "classify_errors",
    "group_errors",
    "parse_key",
]

RUNBOOK = "RB-002"
TITLE = "High Error Rate"

CODE_ERROR_RATE = "RB002.ERROR_RATE"
CODE_AUTH_401 = "RB002.AUTH_401"
CODE_PERMISSION_403 = "RB002.PERMISSION_403"
CODE_RATE_LIMIT_429 = "RB002.RATE_LIMIT_429"
CODE_SERVER_5XX = "RB002.SERVER_5XX"
CODE_TRANSPORT_ERRORS = "RB002.TRANSPORT_ERRORS"
CODE_CLIENT_4XX = "RB002.CLIENT_4XX"

#: How many ``status:endpoint`` keys a finding's evidence lists (most frequent first).
TOP_KEYS = 10

ROTATE_KEY = Mitigation("rotate_key", "Rotate API key", action="rotate_key")
CHECK_PERMISSIONS = Mitigation(
    "check_permissions",
    "Check permissions: the key's user role, and the x-organization-id sent with it",
)
ENABLE_THROTTLING = Mitigation(
    "enable_throttling",
    "Enable throttling (reduce the request rate below 100 requests / 60 s per user)",
    action="enable_throttling",
)
ENABLE_BREAKER = Mitigation(
    "isolate_breaker",
    "Enable circuit breaker: stop calling MaintainX while it fails (a MaintainX-side issue)",
    action="isolate_breaker",
)
CHECK_STATUS_PAGE = Mitigation(
    "check_status_page", "Check the MaintainX status page (https://status.getmaintainx.com)"
)
RUN_RB001 = Mitigation(
    "run_rb001", "Run RB-001 (API unreachable): DNS, TCP, TLS and the status page"
)
FIX_REQUESTS = Mitigation(
    "fix_requests", "Fix the requests: read the error bodies (missing x-organization-id, 404)"
)
CLEAR_ERROR_STATE = Mitigation(
    "reset_stats",
    "Fix the underlying issue, then clear error state and monitor for recurrence",
    action="reset_stats",
)


@dataclass(frozen=True)
class ErrorGroup:
    """The errors of one pattern: their keys (``"503:GET /workorders"``) and counts."""

    code: str
    count: int
    keys: Mapping[str, int]


def parse_key(key: str) -> tuple[int | str, str]:
    """``"503:GET /workorders"`` -> ``(503, "GET /workorders")``; an error kind stays a string."""
    head, _, endpoint = key.partition(":")
    outcome: int | str = int(head) if head.isdigit() else head
    return outcome, endpoint


def _pattern(outcome: int | str) -> str | None:
    if isinstance(outcome, str):
        return CODE_TRANSPORT_ERRORS
    if outcome == 401:
        return CODE_AUTH_401
    if outcome == 403:
        return CODE_PERMISSION_403
    if outcome == 429:
        return CODE_RATE_LIMIT_429
    if outcome >= 500:
        return CODE_SERVER_5XX
    if outcome >= 400:
        return CODE_CLIENT_4XX
    return None


def group_errors(distribution: Mapping[str, int]) -> dict[str, ErrorGroup]:
    """The error distribution (``status:endpoint`` -> count) grouped by pattern code."""
    grouped: dict[str, dict[str, int]] = {}
    for key, count in distribution.items():
        code = _pattern(parse_key(key)[0])
        if code is not None and count > 0:
            grouped.setdefault(code, {})[key] = count
    return {
        code: ErrorGroup(code, sum(keys.values()), _top(keys))
        for code, keys in sorted(grouped.items())
    }


def _top(keys: Mapping[str, int], n: int = TOP_KEYS) -> dict[str, int]:
    return dict(sorted(keys.items(), key=lambda kv: (-kv[1], kv[0]))[:n])


_PATTERNS: dict[str, tuple[str, tuple[Mitigation, ...]]] = {
    CODE_AUTH_401: ("401 Unauthorized: check API key validity", (ROTATE_KEY,)),
    CODE_PERMISSION_403: ("403 Forbidden: the key lacks permission", (CHECK_PERMISSIONS,)),
    CODE_RATE_LIMIT_429: ("429 Rate limited: reduce request rate", (ENABLE_THROTTLING,)),
    CODE_SERVER_5XX: (
        "5xx Server errors: MaintainX side issue",
        (ENABLE_BREAKER, CHECK_STATUS_PAGE),
    ),
    CODE_TRANSPORT_ERRORS: (
        "Connection errors and timeouts: no answer from MaintainX",
        (RUN_RB001, ENABLE_BREAKER),
    ),
    CODE_CLIENT_4XX: ("Other 4xx errors: requests MaintainX rejects", (FIX_REQUESTS,)),
}


def classify_errors(
    requests: int,
    errors: int,
    distribution: Mapping[str, int],
    thresholds: Thresholds | None = None,
    *,
    window: float | None = None,
) -> list[Finding]:
    """The findings for ``errors`` out of ``requests`` attempts with this distribution."""
    t = thresholds if thresholds is not None else Thresholds()
    findings: list[Finding] = []
    rate = errors / requests if requests else 0.0
    overall = classify_error_rate(rate, requests, t)
    if overall is not None:
        findings.append(
            Finding(
                code=CODE_ERROR_RATE,
                title=f"Error rate {rate:.1%} over {requests} requests (alert above "
                f"{t.error_rate_alert:.0%})",
                severity=overall,
                runbook=RUNBOOK,
                evidence={
                    "error_rate": round(rate, 4),
                    "requests": requests,
                    "errors": errors,
                    "window_seconds": window,
                    "threshold": t.error_rate_alert,
                    "distribution": _top(distribution),
                },
                mitigations=(CLEAR_ERROR_STATE,),
            )
        )
    for code, group in group_errors(distribution).items():
        title, mitigations = _PATTERNS[code]
        share = group.count / requests if requests else 0.0
        severity = classify_error_rate(share, requests, t) or Severity.SEV4
        evidence: dict[str, Any] = {
            "count": group.count,
            "share": round(share, 4),
            "distribution": dict(group.keys),
        }
        if code == CODE_SERVER_5XX:
            evidence["side"] = "maintainx"
        findings.append(
            Finding(
                code=code,
                title=title,
                severity=severity,
                runbook=RUNBOOK,
                evidence=evidence,
                mitigations=mitigations,
            )
        )
    return findings


async def check(ctx: DiagnosticContext) -> DiagnosticResult:
    """RB-002 from ``ctx.stats`` (a ``StatsSnapshot``); ``not_configured`` without one."""
    started = ctx.clock.monotonic()
    stats = ctx.stats
    if stats is None:
        return DiagnosticResult(
            runbook=RUNBOOK,
            title=TITLE,
            status="not_configured",
            detail="no request statistics: the client keeps none (RollingStats is off)",
        )
    requests = int(stats.requests)
    errors = int(stats.errors)
    distribution: Mapping[str, int] = stats.error_distribution
    window = float(stats.window)
    findings = classify_errors(requests, errors, distribution, ctx.thresholds, window=window)
    rate = errors / requests if requests else 0.0
    judged = requests >= ctx.thresholds.min_requests
    checks = (
        Check(
            name="Error rate",
            ok=(not any(f.code == CODE_ERROR_RATE for f in findings)) if judged else None,
            duration=0.0,
            detail=f"{errors}/{requests} attempts failed ({rate:.1%}) in the last {window:g} s"
            + ("" if judged else f"; fewer than {ctx.thresholds.min_requests}, not judged"),
        ),
        Check(
            name="Error patterns",
            ok=not distribution,
            duration=0.0,
            detail=", ".join(f"{k}: {v}" for k, v in list(distribution.items())[:TOP_KEYS])
            or "no errors",
        ),
    )
    if requests == 0:
        detail = f"no requests in the last {window:g} s"
    else:
        detail = f"{rate:.1%} of {requests} attempts failed in the last {window:g} s"
    return DiagnosticResult(
        runbook=RUNBOOK,
        title=TITLE,
        status=result_status(findings),
        checks=checks,
        findings=tuple(findings),
        duration=ctx.clock.monotonic() - started,
        detail=detail,
    )
