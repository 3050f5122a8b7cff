"""Health checks and diagnostics that mirror the MaintainX incident runbook (RB-001..RB-005).

Most users call ``client.health()``, ``client.diagnose()`` and ``client.incident_report()``
and configure them with :class:`DiagnosticsConfig`; the names below are for reading
results and for tuning thresholds and escalation contacts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from .._lazy import lazy_names as _lazy_names

if TYPE_CHECKING:
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

#: Where each name lives, imported on first use (a client that never diagnoses itself does
#: not load the procedures).
_LAZY: dict[str, str] = {
    "Check": "._model",
    "DiagnosisReport": "._runner",
    "DiagnosticContext": "._context",
    "DiagnosticResult": "._model",
    "DiagnosticsConfig": ".desk",
    "EscalationContact": "._context",
    "Finding": "._model",
    "HealthReport": ".health",
    "IncidentDesk": ".desk",
    "IncidentTimeline": ".timeline",
    "Mitigation": "._model",
    "PROCEDURES": ".desk",
    "ProbeResult": "._context",
    "Severity": "._model",
    "SeverityChange": ".severity",
    "SeverityTracker": ".severity",
    "StatusPageReport": ".status_page",
    "SyncControls": "._context",
    "SyncStoreSource": "._context",
    "Thresholds": "._context",
    "WebhookControls": "._context",
    "WebhookHealthSource": "._context",
    "exit_code": ".render",
    "health_endpoint": ".health",
    "parse_status_page": ".status_page",
    "render_incident_report": ".report",
    "render_status": ".status_page",
    "render_text": ".render",
    "report_exit_code": ".render",
    "run_diagnostics": "._runner",
    "run_sync": "._runner",
    "to_json": ".render",
}

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


__getattr__, __dir__ = _lazy_names(__name__, _LAZY, __all__)
