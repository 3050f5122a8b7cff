"""Health checks and diagnostics that mirror the MaintainX incident runbook (RB-001..RB-005).

Most users call ``client.health()``, ``client.diagnose()`` and ``client.incident_report()``
and configure them with :class:`DiagnosticsConfig`; the names below are for reading
results and for tuning thresholds and escalation contacts.
"""

from ._context import (
    DiagnosticContext,
    EscalationContact,
    ProbeResult,
    SyncControls,
    SyncStoreSource,
    Thresholds,
    WebhookControls,
    WebhookHealthSource,
)
from ._model import Check, DiagnosticResult, Finding, Mitigation, Severity
from ._runner import DiagnosisReport, run_diagnostics, run_sync
from .desk import PROCEDURES, DiagnosticsConfig, IncidentDesk
from .health import HealthReport, health_endpoint
from .render import exit_code, render_text, report_exit_code, to_json
from .report import render_incident_report
from .severity import SeverityChange, SeverityTracker
from .status_page import StatusPageReport, parse_status_page, render_status
from .timeline import IncidentTimeline

__all__ = [
    "PROCEDURES",
    "Check",
    "DiagnosisReport",
    "DiagnosticContext",
    "DiagnosticResult",
    "DiagnosticsConfig",
    "EscalationContact",
    "Finding",
    "HealthReport",
    "IncidentDesk",
    "IncidentTimeline",
    "Mitigation",
    "ProbeResult",
    "Severity",
    "SeverityChange",
    "SeverityTracker",
    "StatusPageReport",
    "SyncControls",
    "SyncStoreSource",
    "Thresholds",
    "WebhookControls",
    "WebhookHealthSource",
    "exit_code",
    "health_endpoint",
    "parse_status_page",
    "render_incident_report",
    "render_status",
    "render_text",
    "report_exit_code",
    "run_diagnostics",
    "run_sync",
    "to_json",
]
