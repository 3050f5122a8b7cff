"""RB-002: High Error Rate (> 5 %), from the client's own state only (no probes).

The runbook's script groups recent errors by ``status:endpoint`` and looks for patterns; this
procedure reads the same distribution from :meth:`RollingStats.snapshot()
<maintainx_resilient.telemetry.RollingStats.snapshot>` (``ctx.stats``), and the circuit
breakers' states (``ctx.breakers``), and classifies them:

- ``RB002.ERROR_RATE``: the error rate of what the application saw over the window, at the
  thresholds of :func:`~maintainx_resilient.diagnostics.severity.classify_error_rate`
  (> 5 % SEV3, > 50 % SEV2, 100 % SEV1, judged over at least ``min_requests`` tries). A try
  is an attempt sent to MaintainX or a call the client refused without sending (an open
  breaker, a rate-limit wait too long, fallback mode with nothing cached): a refused call
  failed for the application as surely as a 503, so it counts, and the evidence says how
  many of the failures MaintainX answered and how many the client refused.
- One finding per pattern present, each with the runbook's immediate action:
  ``RB002.AUTH_401`` (rotate API key), ``RB002.PERMISSION_403`` (check permissions),
  ``RB002.RATE_LIMIT_429`` (enable throttling), ``RB002.SERVER_5XX`` (enable circuit breaker:
  a MaintainX-side issue), ``RB002.TRANSPORT_ERRORS`` (connection errors and timeouts: see
  RB-001), ``RB002.UNREADABLE_ANSWERS`` (answers that are not the API's JSON: an HTML page
  from a proxy or captive portal, truncated JSON, the wrong shape, a body too large: see
  RB-001), ``RB002.CLIENT_4XX`` (other 4xx: the requests are wrong), ``RB002.FAILED_FAST``
  (calls refused by the client itself, by kind). A pattern's severity is the error-rate
  class of its own share of all tries, and at least SEV4 (informational).
- ``RB002.BREAKER_OPEN`` (SEV2): a circuit breaker is open or half-open now, so every call
  to its scope fails fast. This is evidence by itself: the breaker opened because
  MaintainX's answers failed, and it refuses calls whatever the counts say.

A retried call counts once per try. Everything but :func:`check` is pure, so the
classification is tested without a client. The overall severity of a diagnosis is not the
sum of its findings: see :func:`~maintainx_resilient.diagnostics.severity.apply_criteria`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .._events import REFUSAL_KINDS
from ._context import DiagnosticContext, Thresholds
from ._model import (
    Check,
    DiagnosticResult,
    Finding,
    Mitigation,
    Severity,
    conclude,
    not_configured,
)
from .severity import classify_error_rate

__all__ = [
    "CODE_AUTH_401",
    "CODE_BREAKER_OPEN",
    "CODE_CLIENT_4XX",
    "CODE_ERROR_RATE",
    "CODE_FAILED_FAST",
    "CODE_PERMISSION_403",
    "CODE_RATE_LIMIT_429",
    "CODE_SERVER_5XX",
    "CODE_TRANSPORT_ERRORS",
    "CODE_UNREADABLE_ANSWERS",
    "RUNBOOK",
    "TITLE",
    "ErrorGroup",
    "check",
    "classify_breakers",
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
CODE_UNREADABLE_ANSWERS = "RB002.UNREADABLE_ANSWERS"
CODE_CLIENT_4XX = "RB002.CLIENT_4XX"
CODE_FAILED_FAST = "RB002.FAILED_FAST"
CODE_BREAKER_OPEN = "RB002.BREAKER_OPEN"

#: How many ``status:endpoint`` keys a finding's evidence lists (most frequent first).
TOP_KEYS = 10

_ROTATE_KEY = Mitigation("rotate_key", "Rotate API key", action="rotate_key")
_CHECK_PERMISSIONS = Mitigation(
    "check_permissions",
    "Check permissions: the key's user role, and the x-organization-id sent with it",
)
_ENABLE_THROTTLING = Mitigation(
    "enable_throttling",
    "Enable throttling (reduce the request rate below 100 requests / 60 s per user)",
    action="enable_throttling",
)
_ENABLE_BREAKER = Mitigation(
    "isolate_breaker",
    "Enable circuit breaker: stop calling MaintainX while it fails (a MaintainX-side issue)",
    action="isolate_breaker",
)
_CHECK_STATUS_PAGE = Mitigation(
    "check_status_page", "Check the MaintainX status page (https://status.getmaintainx.com)"
)
_RUN_RB001 = Mitigation(
    "run_rb001", "Run RB-001 (API unreachable): DNS, TCP, TLS and the status page"
)
_CHECK_PROXY = Mitigation(
    "check_proxy",
    "Check what answers in MaintainX's place: a proxy, captive portal or gateway "
    "(HTTPS_PROXY / NO_PROXY, egress settings); see RB-001",
)
_FIX_REQUESTS = Mitigation(
    "fix_requests", "Fix the requests: read the error bodies (missing x-organization-id, 404)"
)
_ENABLE_FALLBACK = Mitigation(
    "enable_fallback_mode",
    "Enable fallback mode: serve cached answers while calls fail",
    action="enable_fallback_mode",
)
_WAIT_FOR_PROBE = Mitigation(
    "wait_for_breaker_probe",
    "The breaker lets one probe through after its reset timeout and closes if it succeeds; "
    "close_breaker() forces it once MaintainX answers again",
    action="close_breaker",
)
_RAISE_MAX_WAIT = Mitigation(
    "raise_throttle_max_wait",
    "Calls gave up waiting for a rate-limit slot: send fewer at once, or let them wait longer "
    "(ThrottleConfig.max_wait)",
)
_DISABLE_FALLBACK_MODE = Mitigation(
    "disable_fallback_mode",
    "Fallback mode is on and the cache cannot answer: turn it off once MaintainX answers",
    action="disable_fallback_mode",
)
_CLEAR_ERROR_STATE = Mitigation(
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


#: Error kinds of answers that came but are not what the API promises (``ResponseError``s).
UNREADABLE_KINDS = frozenset({"DecodeError", "ResponseTooLargeError"})


def _pattern(outcome: int | str) -> str | None:
    if isinstance(outcome, str):
        if outcome in REFUSAL_KINDS:
            return CODE_FAILED_FAST
        if outcome in UNREADABLE_KINDS:
            return CODE_UNREADABLE_ANSWERS
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
    CODE_AUTH_401: ("401 Unauthorized: check API key validity", (_ROTATE_KEY,)),
    CODE_PERMISSION_403: ("403 Forbidden: the key lacks permission", (_CHECK_PERMISSIONS,)),
    CODE_RATE_LIMIT_429: ("429 Rate limited: reduce request rate", (_ENABLE_THROTTLING,)),
    CODE_SERVER_5XX: (
        "5xx Server errors: MaintainX side issue",
        (_ENABLE_BREAKER, _CHECK_STATUS_PAGE),
    ),
    CODE_TRANSPORT_ERRORS: (
        "Connection errors and timeouts: no answer from MaintainX",
        (_RUN_RB001, _ENABLE_BREAKER),
    ),
    CODE_UNREADABLE_ANSWERS: (
        "Answers that are not the API's JSON (HTML, truncated, wrong shape): a proxy or "
        "captive portal answers instead of MaintainX, or MaintainX is failing",
        (_RUN_RB001, _CHECK_PROXY, _ENABLE_FALLBACK),
    ),
    CODE_CLIENT_4XX: ("Other 4xx errors: requests MaintainX rejects", (_FIX_REQUESTS,)),
    CODE_FAILED_FAST: ("Calls failed fast: the client refused to send them", ()),
}

#: What to do about each kind of refused call.
_REFUSAL_ADVICE: dict[str, tuple[str, tuple[Mitigation, ...]]] = {
    "CircuitOpenError": ("circuit breaker open", (_RUN_RB001, _ENABLE_FALLBACK, _WAIT_FOR_PROBE)),
    "ThrottledError": ("rate-limit wait too long", (_RAISE_MAX_WAIT, _ENABLE_THROTTLING)),
    "FallbackModeError": ("fallback mode, nothing cached", (_DISABLE_FALLBACK_MODE,)),
}


def refusals(distribution: Mapping[str, int]) -> dict[str, int]:
    """Refused calls in ``distribution`` by kind (``{"CircuitOpenError": 39}``)."""
    kinds: dict[str, int] = {}
    for key, count in distribution.items():
        outcome = parse_key(key)[0]
        if isinstance(outcome, str) and outcome in REFUSAL_KINDS:
            kinds[outcome] = kinds.get(outcome, 0) + count
    return dict(sorted(kinds.items(), key=lambda kv: (-kv[1], kv[0])))


def _refusal_text(kinds: Mapping[str, int]) -> str:
    return ", ".join(
        f"{_REFUSAL_ADVICE.get(kind, (kind, ()))[0]} ({count})" for kind, count in kinds.items()
    )


def _split_text(errors: int, refused: int) -> str:
    """``"5 failed answers from MaintainX, 39 refused by the client"``."""
    sent = errors - refused
    if not refused:
        return f"{sent} failed at MaintainX or on the way"
    return f"{sent} failed at MaintainX or on the way, {refused} refused by the client"


def classify_errors(
    requests: int,
    errors: int,
    distribution: Mapping[str, int],
    thresholds: Thresholds | None = None,
    *,
    window: float | None = None,
) -> list[Finding]:
    """The findings for ``errors`` out of ``requests`` tries with this distribution.

    Refused calls are recognised in ``distribution`` by their kind (``CircuitOpenError:...``)
    and are part of ``requests`` and ``errors``.
    """
    t = thresholds if thresholds is not None else Thresholds()
    findings: list[Finding] = []
    rate = errors / requests if requests else 0.0
    refused_by = refusals(distribution)
    refused = sum(refused_by.values())
    overall = classify_error_rate(rate, requests, t)
    if overall is not None:
        findings.append(
            Finding(
                code=CODE_ERROR_RATE,
                title=f"Error rate {rate:.1%} over {requests} calls (alert above "
                f"{t.error_rate_alert:.0%}): {_split_text(errors, refused)}",
                severity=overall,
                runbook=RUNBOOK,
                evidence={
                    "error_rate": round(rate, 4),
                    "requests": requests,
                    "errors": errors,
                    "sent": requests - refused,
                    "sent_errors": errors - refused,
                    "refused": refused,
                    "refused_by": refused_by,
                    "window_seconds": window,
                    "threshold": t.error_rate_alert,
                    "distribution": _top(distribution),
                },
                mitigations=(_CLEAR_ERROR_STATE,),
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
        if code == CODE_FAILED_FAST:
            evidence["side"] = "client"
            evidence["refused_by"] = refused_by
            title = f"Calls failed fast, refused by the client: {_refusal_text(refused_by)}"
            mitigations = tuple(
                dict.fromkeys(m for kind in refused_by for m in _REFUSAL_ADVICE[kind][1])
            )
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


_OPEN = ("open", "half-open")


def classify_breakers(breakers: Mapping[str, Any] | None) -> list[Finding]:
    """``RB002.BREAKER_OPEN`` when a breaker (``BreakerSnapshot`` by scope) is open or
    half-open: every call to its scope fails fast now. A breaker held open by hand
    (``isolated``) is a decision, not evidence: RB-005 lists it."""
    opened = {s: b for s, b in sorted((breakers or {}).items()) if b.state in _OPEN}
    if not opened:
        return []
    evidence = {
        "breakers": {
            scope: {
                "state": b.state,
                "failures": b.failures,
                "retry_after_s": round(float(b.retry_after), 3),
            }
            for scope, b in opened.items()
        }
    }
    what = ", ".join(opened)
    return [
        Finding(
            code=CODE_BREAKER_OPEN,
            title=f"Circuit breaker open after repeated failures, calls fail fast: {what}",
            severity=Severity.SEV2,
            runbook=RUNBOOK,
            evidence=evidence,
            mitigations=(_RUN_RB001, _CHECK_STATUS_PAGE, _ENABLE_FALLBACK, _WAIT_FOR_PROBE),
        )
    ]


def _breaker_check(breakers: Mapping[str, Any] | None) -> Check:
    if breakers is None:
        return Check("Circuit breakers", None, 0.0, "circuit breakers off")
    opened = [f"{s}: {b.state}" for s, b in sorted(breakers.items()) if b.state in _OPEN]
    return Check("Circuit breakers", not opened, 0.0, ", ".join(opened) or "all closed")


async def check(ctx: DiagnosticContext) -> DiagnosticResult:
    """RB-002 from ``ctx.stats`` (a ``StatsSnapshot``) and ``ctx.breakers``;
    ``not_configured`` without statistics."""
    started = ctx.clock.monotonic()
    stats = ctx.stats
    if stats is None:
        detail = "no request statistics: the client keeps none (RollingStats is off)"
        return not_configured(RUNBOOK, TITLE, detail)
    requests = int(stats.requests)
    errors = int(stats.errors)
    distribution: Mapping[str, int] = stats.error_distribution
    window = float(stats.window)
    findings = classify_errors(requests, errors, distribution, ctx.thresholds, window=window)
    findings = classify_breakers(ctx.breakers) + findings
    refused = sum(refusals(distribution).values())
    rate = errors / requests if requests else 0.0
    judged = requests >= ctx.thresholds.min_requests
    split = f": {_split_text(errors, refused)}" if errors else ""
    checks = (
        Check(
            name="Error rate",
            ok=(not any(f.code == CODE_ERROR_RATE for f in findings)) if judged else None,
            duration=0.0,
            detail=f"{errors}/{requests} calls failed ({rate:.1%}) in the last {window:g} s"
            + split
            + ("" if judged else f"; fewer than {ctx.thresholds.min_requests}, not judged"),
        ),
        Check(
            name="Error patterns",
            ok=not distribution,
            duration=0.0,
            detail=", ".join(f"{k}: {v}" for k, v in list(distribution.items())[:TOP_KEYS])
            or "no errors",
        ),
        _breaker_check(ctx.breakers),
    )
    if requests == 0:
        detail = f"no requests in the last {window:g} s"
    else:
        detail = f"{rate:.1%} of {requests} calls failed in the last {window:g} s{split}"
    took = ctx.clock.monotonic() - started
    return conclude(RUNBOOK, TITLE, findings, checks=checks, duration=took, detail=detail)
