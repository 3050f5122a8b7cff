"""RB-003: Webhook Processing Failures, from the webhook receiver's health.

The runbook checks the endpoint's health URL, the queue depth, the failed list and a
signature self-test. Here the receiver/queue reports the same through
:class:`~maintainx_resilient.diagnostics._context.WebhookHealthSource` (``ctx.webhooks``);
without one the result is ``not_configured``. :func:`classify_webhooks` is pure:

============================  ========  ==================================================
code                          severity  when
============================  ========  ==================================================
``RB003.ENDPOINT_UNHEALTHY``  SEV2      ``endpoint_ok`` is False: MaintainX cannot deliver
                                        (and may delete subscriptions that keep failing)
``RB003.SIGNATURE_FAILING``   SEV2      ``signature_self_test`` is False: every delivery
                                        would be rejected
``RB003.SECRET_MISMATCH``     SEV2      ``secret_matches_api`` is False: the receiver's
                                        secret is not MaintainX's (``GET /subscriptions/
                                        {id}/secret``), so deliveries fail verification
``RB003.WORKERS_CUT_OFF``     SEV2      ``worker_outages`` is not empty: workers cannot use
                                        the queue (Redis down or hanging, a damaged file),
                                        so accepted events are not processed
``RB003.FAILED_WEBHOOKS``     SEV3      ``failed`` > 0 deliveries failed processing
``RB003.BACKLOG``             SEV3      ``oldest_pending_age`` > ``webhook_oldest_pending``
                                        (300 s), or ``queue_depth`` > the queue-depth
                                        alert (:data:`DEFAULT_QUEUE_DEPTH_ALERT`)
``RB003.PAUSED``              SEV3      ``paused`` is True: nothing is being processed
============================  ========  ==================================================

A value the source does not report (missing or None) is "unknown": its check says so and no
finding is made. Optional keys beyond the protocol's, as the library's receiver reports them
(:func:`maintainx_resilient.webhooks.health.collect`): ``secret_matches_api`` and
``worker_outages`` (above) and ``errors`` (what the health collection itself could not read;
a check, not a finding).

The queue-depth alert can be set with ``ctx.extras["webhook_queue_depth_alert"]`` (an int).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Mapping
from typing import Any, TypeVar

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

__all__ = [
    "CODE_BACKLOG",
    "CODE_ENDPOINT_UNHEALTHY",
    "CODE_FAILED_WEBHOOKS",
    "CODE_PAUSED",
    "CODE_SECRET_MISMATCH",
    "CODE_SIGNATURE_FAILING",
    "CODE_WORKERS_CUT_OFF",
    "DEFAULT_QUEUE_DEPTH_ALERT",
    "QUEUE_DEPTH_EXTRA",
    "RUNBOOK",
    "TITLE",
    "assess_webhooks",
    "check",
    "classify_webhooks",
    "webhook_checks",
]

RUNBOOK = "RB-003"
TITLE = "Webhook Processing Failures"

CODE_ENDPOINT_UNHEALTHY = "RB003.ENDPOINT_UNHEALTHY"
CODE_SIGNATURE_FAILING = "RB003.SIGNATURE_FAILING"
CODE_SECRET_MISMATCH = "RB003.SECRET_MISMATCH"
CODE_FAILED_WEBHOOKS = "RB003.FAILED_WEBHOOKS"
CODE_BACKLOG = "RB003.BACKLOG"
CODE_PAUSED = "RB003.PAUSED"
CODE_WORKERS_CUT_OFF = "RB003.WORKERS_CUT_OFF"

#: Pending deliveries above this many are a backlog (``ctx.extras`` key below overrides).
DEFAULT_QUEUE_DEPTH_ALERT = 1000
QUEUE_DEPTH_EXTRA = "webhook_queue_depth_alert"

_CHECK_SECRET = Mitigation(
    "check_webhook_secret",
    "Check the webhook secret is correct (GET /subscriptions/{id}/secret) and that the "
    "receiver verifies the raw body bytes",
)
_VERIFY_ENDPOINT = Mitigation(
    "verify_webhook_endpoint",
    "Verify the webhook endpoint is accessible from the internet (HTTPS, answers within 10 s)",
)
_CHECK_BACKLOG = Mitigation(
    "check_webhook_backlog", "Check for queue backlog: are the workers running and keeping up?"
)
_PAUSE_PROCESSING = Mitigation(
    "pause_webhooks",
    "Temporarily pause webhook processing if overwhelmed (deliveries stay queued)",
    action="pause_webhooks",
)
_RESUME_PROCESSING = Mitigation(
    "resume_webhooks",
    "Resume webhook processing once the cause is fixed",
    action="resume_webhooks",
)
_CHECK_QUEUE_BACKEND = Mitigation(
    "check_queue_backend",
    "Check the queue backend: is Redis up and answering (redis-cli ping), is the SQLite file's "
    "disk full or the file damaged? Workers reconnect by themselves once it answers",
)
_FIX_HANDLER = Mitigation(
    "fix_webhook_handler", "Fix the webhook handler (see the failed deliveries' errors)"
)
_REPLAY_FAILED = Mitigation(
    "replay_failed_webhooks",
    "Replay failed webhooks, then verify event sync (RB-004)",
    action="replay_failed_webhooks",
)


_N = TypeVar("_N", int, float)


def _number(value: Any, kind: type[_N]) -> _N | None:
    """``value`` as ``kind`` (a health source may report numbers as strings); None when it
    is missing, a bool, or not a number."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        return kind(value)
    except (TypeError, ValueError):
        return None


def _bool(value: Any) -> bool | None:
    return value if isinstance(value, bool) else None


def _readings(
    health: Mapping[str, Any],
) -> tuple[int | None, int | None, float | None, bool | None, bool | None, bool | None]:
    """Queue depth, failed, oldest pending age, paused, endpoint ok, signature self-test ok:
    None where the source reports nothing usable."""
    return (
        _number(health.get("queue_depth"), int),
        _number(health.get("failed"), int),
        _number(health.get("oldest_pending_age"), float),
        _bool(health.get("paused")),
        _bool(health.get("endpoint_ok")),
        _bool(health.get("signature_self_test")),
    )


def _outages(health: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    value = health.get("worker_outages")
    if not isinstance(value, list | tuple):
        return []
    return [o for o in value if isinstance(o, Mapping)]


def classify_webhooks(
    health: Mapping[str, Any],
    thresholds: Thresholds | None = None,
    *,
    queue_depth_alert: int = DEFAULT_QUEUE_DEPTH_ALERT,
) -> list[Finding]:
    """The findings for one ``webhook_health()`` mapping (see the module's table)."""
    t = thresholds if thresholds is not None else Thresholds()
    depth, failed, oldest, paused, endpoint_ok, signature_ok = _readings(health)
    findings: list[Finding] = []

    def add(code: str, title: str, severity: Severity, *mitigations: Mitigation, **ev: Any) -> None:
        findings.append(Finding(code, title, severity, RUNBOOK, ev, mitigations))

    if endpoint_ok is False:
        add(
            CODE_ENDPOINT_UNHEALTHY,
            "Webhook endpoint unhealthy: MaintainX cannot deliver",
            Severity.SEV2,
            _VERIFY_ENDPOINT,
            endpoint_ok=False,
        )
    if signature_ok is False:
        add(
            CODE_SIGNATURE_FAILING,
            "Signature self-test failed: deliveries would be rejected",
            Severity.SEV2,
            _CHECK_SECRET,
            signature_self_test=False,
        )
    if _bool(health.get("secret_matches_api")) is False:
        add(
            CODE_SECRET_MISMATCH,
            "Webhook secret differs from MaintainX's: deliveries fail verification",
            Severity.SEV2,
            _CHECK_SECRET,
            secret_matches_api=False,
        )
    outages = _outages(health)
    if outages:
        longest = max((_number(o.get("down_for"), float) or 0.0) for o in outages)
        add(
            CODE_WORKERS_CUT_OFF,
            f"{len(outages)} webhook worker(s) cannot use the queue (for up to {longest:.0f} s): "
            "accepted events are not processed",
            Severity.SEV2,
            _CHECK_QUEUE_BACKEND,
            worker_outages=outages,
        )
    if failed is not None and failed > 0:
        add(
            CODE_FAILED_WEBHOOKS,
            f"{failed} webhook deliveries failed processing",
            Severity.SEV3,
            _FIX_HANDLER,
            _REPLAY_FAILED,
            failed=failed,
        )
    old = oldest is not None and oldest > t.webhook_oldest_pending
    deep = depth is not None and depth > queue_depth_alert
    if old or deep:
        parts = []
        if deep:
            parts.append(f"{depth} pending")
        if old and oldest is not None:
            parts.append(f"oldest waiting {oldest:.0f} s")
        add(
            CODE_BACKLOG,
            "Webhook queue backlog: " + ", ".join(parts),
            Severity.SEV3,
            _CHECK_BACKLOG,
            _PAUSE_PROCESSING,
            queue_depth=depth,
            oldest_pending_age=oldest,
            queue_depth_alert=queue_depth_alert,
            oldest_pending_alert=t.webhook_oldest_pending,
        )
    if paused is True:
        add(
            CODE_PAUSED,
            "Webhook processing is paused: deliveries are queued, not processed",
            Severity.SEV3,
            _RESUME_PROCESSING,
            paused=True,
            queue_depth=depth,
        )
    return findings


def webhook_checks(
    health: Mapping[str, Any],
    thresholds: Thresholds | None = None,
    *,
    queue_depth_alert: int = DEFAULT_QUEUE_DEPTH_ALERT,
) -> tuple[Check, ...]:
    """One check per runbook step; ``ok=None`` where the source reports nothing."""
    t = thresholds if thresholds is not None else Thresholds()
    depth, failed, oldest, paused, endpoint_ok, signature_ok = _readings(health)

    def row(name: str, value: object, ok: bool, detail: str) -> Check:
        if value is None:
            return Check(name=name, ok=None, duration=0.0, detail="not reported")
        return Check(name=name, ok=ok, duration=0.0, detail=detail)

    checks = [
        row(
            "Endpoint health",
            endpoint_ok,
            endpoint_ok is True,
            "healthy" if endpoint_ok else "unhealthy",
        ),
        row(
            "Queue depth",
            depth,
            depth is not None and depth <= queue_depth_alert,
            f"{depth} pending (alert above {queue_depth_alert})",
        ),
        row("Failed webhooks", failed, failed == 0, f"{failed} failed"),
        row(
            "Oldest pending",
            oldest,
            oldest is not None and oldest <= t.webhook_oldest_pending,
            f"{oldest:.1f} s (alert above {t.webhook_oldest_pending:g} s)"
            if oldest is not None
            else "",
        ),
        row("Processing", paused, paused is False, "paused" if paused else "running"),
        row(
            "Signature self-test",
            signature_ok,
            signature_ok is True,
            "passed" if signature_ok else "failed",
        ),
    ]
    # Optional keys: present only when the source reports them.
    matches = _bool(health.get("secret_matches_api"))
    if matches is not None:
        detail = "same as MaintainX's" if matches else "differs from MaintainX's"
        checks.append(Check("Secret matches MaintainX", matches, 0.0, detail))
    if "worker_outages" in health:
        outages = _outages(health)
        listed = ", ".join(f"{o.get('consumer')} ({o.get('error')})" for o in outages[:5])
        checks.append(
            Check("Workers reach the queue", not outages, 0.0, listed or "every worker does")
        )
    errors = health.get("errors")
    if isinstance(errors, list | tuple):
        listed = "; ".join(str(e) for e in errors[:5])
        checks.append(Check("Health collection", not errors, 0.0, listed or "complete"))
    return tuple(checks)


def assess_webhooks(
    health: Mapping[str, Any],
    thresholds: Thresholds | None = None,
    *,
    queue_depth_alert: int = DEFAULT_QUEUE_DEPTH_ALERT,
    duration: float = 0.0,
) -> DiagnosticResult:
    """RB-003's result for one ``webhook_health()`` mapping (pure): what :func:`check`
    returns, and what ``maintainx-resilient webhooks status`` prints."""
    findings = classify_webhooks(health, thresholds, queue_depth_alert=queue_depth_alert)
    checks = webhook_checks(health, thresholds, queue_depth_alert=queue_depth_alert)
    failing = [c.name for c in checks if c.ok is False]
    detail = ("failing: " + ", ".join(failing)) if failing else "webhook processing healthy"
    return conclude(RUNBOOK, TITLE, findings, checks=checks, duration=duration, detail=detail)


async def _read_health(ctx: DiagnosticContext) -> Mapping[str, Any]:
    source = ctx.webhooks
    assert source is not None
    # The source may block (Redis): read it in a worker thread so the deadline holds.
    health: Any = await asyncio.to_thread(source.webhook_health)
    if inspect.isawaitable(health):  # an async source is accepted too
        health = await health
    if not isinstance(health, Mapping):
        raise TypeError(f"webhook_health() returned {type(health).__name__}, not a mapping")
    return health


async def check(ctx: DiagnosticContext) -> DiagnosticResult:
    """RB-003 from ``ctx.webhooks``; ``not_configured`` when no webhook source is set."""
    started = ctx.clock.monotonic()
    if ctx.webhooks is None:
        detail = "no webhook receiver configured (DiagnosticContext.webhooks is None)"
        return not_configured(RUNBOOK, TITLE, detail)
    health = await _read_health(ctx)
    alert = _number(ctx.extras.get(QUEUE_DEPTH_EXTRA), int) or DEFAULT_QUEUE_DEPTH_ALERT
    took = ctx.clock.monotonic() - started
    return assess_webhooks(health, ctx.thresholds, queue_depth_alert=alert, duration=took)
