"""The incident desk: what a client keeps to diagnose itself and to write the report.

One :class:`IncidentDesk` per client holds the severity tracker, the incident timeline (it
listens to the client's events) and the diagnostics settings, and builds the
:class:`DiagnosticContext` each diagnosis reads. The client supplies only I/O: a probe that
goes through auth and HTTP, never through fallback, retry, breaker or throttle.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from .._clock import Clock
from .._deadline import validate_seconds
from .._events import EventBus
from .._exceptions import TimeoutError
from ._context import (
    DiagnosticContext,
    EscalationContact,
    Probe,
    ProbeResult,
    SyncStoreSource,
    Thresholds,
    WebhookHealthSource,
)
from ._model import Severity
from ._runner import DiagnosisReport, Procedure, run_diagnostics
from .health import HealthReport, health
from .rb001_unreachable import check as rb001
from .rb002_errors import check as rb002
from .rb003_webhooks import check as rb003
from .rb004_sync import check as rb004
from .rb005_performance import check as rb005
from .report import render_incident_report
from .severity import SeverityHook, SeverityTracker
from .timeline import IncidentTimeline

__all__ = ["PROCEDURES", "DiagnosticsConfig", "IncidentDesk", "pool_stats", "probe_result"]

#: Every runbook procedure, in the runbook's order.
PROCEDURES: Mapping[str, Procedure] = {
    "RB-001": rb001,
    "RB-002": rb002,
    "RB-003": rb003,
    "RB-004": rb004,
    "RB-005": rb005,
}

DEFAULT_STATUS_PAGE = "https://status.getmaintainx.com/en/index.json"
DEFAULT_DEADLINE = 10.0  # a diagnosis must answer in seconds, at 3 a.m., whatever is down


@dataclass(frozen=True)
class DiagnosticsConfig:
    """Diagnostics settings (client keyword ``diagnostics=``).

    ``contacts`` are the runbook's emergency contacts (its defaults when empty);
    ``on_severity_change`` is called when the overall severity changes (wire it to a pager or
    chat); ``status_page_url=None`` skips the status page (e.g. with no internet access).
    """

    thresholds: Thresholds = field(default_factory=Thresholds)
    contacts: tuple[EscalationContact, ...] = ()
    on_severity_change: SeverityHook | None = None
    status_page_url: str | None = DEFAULT_STATUS_PAGE
    deadline: float = DEFAULT_DEADLINE

    def __post_init__(self) -> None:
        validate_seconds(self.deadline, "DiagnosticsConfig.deadline")


class IncidentDesk:
    """Severity tracker, incident timeline and diagnostics settings of one client."""

    def __init__(self, config: DiagnosticsConfig, *, clock: Clock, events: EventBus) -> None:
        self.config = config
        self.clock = clock
        self.tracker = SeverityTracker(config.on_severity_change, clock, contacts=config.contacts)
        self.timeline = IncidentTimeline(clock, events=events, tracker=self.tracker)
        self.webhooks: WebhookHealthSource | None = None
        self.sync_store: SyncStoreSource | None = None
        self.extras: dict[str, Any] = {}

    def context(self, probe: Probe, *, deadline: float | None, **state: Any) -> DiagnosticContext:
        """A context for one diagnosis; ``state`` are the client's snapshots."""
        cfg = self.config
        return DiagnosticContext(
            probe=probe,
            thresholds=cfg.thresholds,
            contacts=cfg.contacts,
            status_page_url=cfg.status_page_url,
            webhooks=self.webhooks,
            sync_store=self.sync_store,
            clock=self.clock,
            deadline=cfg.deadline if deadline is None else validate_seconds(deadline, "deadline"),
            extras=dict(self.extras),
            **state,
        )

    async def diagnose(
        self, ctx: DiagnosticContext, only: Iterable[str] | None = None
    ) -> DiagnosisReport:
        report = await run_diagnostics(ctx, PROCEDURES, only=only)
        self.tracker.update(report.findings)
        self.timeline.record_diagnosis(report)
        return report

    async def health(self, ctx: DiagnosticContext) -> HealthReport:
        return await health(ctx)

    def record_mitigation(self, name: str, detail: str = "") -> None:
        self.timeline.record_mitigation(name, detail)

    def report(
        self,
        *,
        title: str,
        summary: str,
        root_cause: str,
        resolution: str,
        severity: Severity | None = None,
        secrets: Iterable[str] = (),
        **extra: Any,
    ) -> str:
        return render_incident_report(
            self.timeline,
            title=title,
            severity=severity,
            summary=summary,
            root_cause=root_cause,
            resolution=resolution,
            secrets=tuple(secrets),
            **extra,
        )


def probe_result(method: str, path: str, duration: float, outcome: Any) -> ProbeResult:
    """A probe's outcome (an ``httpx.Response`` or the library's exception) as a result.

    Request headers (the key) are never recorded; response headers are, minus cookies.
    """
    if isinstance(outcome, httpx.Response):
        kept = {k: v for k, v in outcome.headers.items() if k.lower() != "set-cookie"}
        detail = f"{outcome.status_code} {outcome.reason_phrase or ''}".strip()
        return ProbeResult(
            method, path, duration, status=outcome.status_code, detail=detail, headers=kept
        )
    kind = "TimeoutError" if isinstance(outcome, TimeoutError) else "ConnectionError"
    return ProbeResult(method, path, duration, None, kind, str(outcome))


def pool_stats(transport: object) -> dict[str, int] | None:
    """Active / idle / waiting connections of an httpx transport's pool, when it has one."""
    pool = getattr(transport, "_pool", None)
    connections = getattr(pool, "connections", None)
    if connections is None:
        return None
    idle = sum(1 for c in connections if c.is_idle())
    requests = getattr(pool, "_requests", [])
    active = len(connections) - idle
    return {
        "active": active,
        "idle": idle,
        "waiting": max(0, len(requests) - active),
        "max": int(getattr(pool, "_max_connections", 0) or 0),
    }
