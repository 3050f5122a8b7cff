"""What a diagnosis says: severities, findings, checks, results and the report.

Everything here is a frozen value with a stable JSON form (``to_dict``), so the CLI's
``--json`` output and the incident report are built from the same records. Codes are stable
identifiers (``RB001.DNS_FAILED``) that dashboards and runbooks can refer to.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "Check",
    "DiagnosticResult",
    "Finding",
    "Mitigation",
    "ResultStatus",
    "Severity",
    "conclude",
    "not_configured",
    "result_status",
]


class Severity(enum.IntEnum):
    """The runbook's incident classification. Lower is worse (SEV1 is a complete outage)."""

    SEV1 = 1
    SEV2 = 2
    SEV3 = 3
    SEV4 = 4

    @property
    def definition(self) -> str:
        return _DEFINITIONS[self][0]

    @property
    def response_time(self) -> str:
        """How fast someone must respond, from the runbook's table."""
        return _DEFINITIONS[self][1]

    @property
    def example(self) -> str:
        return _DEFINITIONS[self][2]

    @property
    def label(self) -> str:
        return self.name


_DEFINITIONS: dict[Severity, tuple[str, str, str]] = {
    Severity.SEV1: ("Complete outage", "15 min", "API unreachable"),
    Severity.SEV2: ("Major degradation", "30 min", ">50% errors"),
    Severity.SEV3: ("Minor degradation", "2 hours", "Elevated latency"),
    Severity.SEV4: ("Informational", "Next business day", "Low cache hit rate"),
}


@dataclass(frozen=True)
class Mitigation:
    """A recommended action; ``action`` names the client method that applies it, if any."""

    code: str
    description: str
    action: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"code": self.code, "description": self.description, "action": self.action}


@dataclass(frozen=True)
class Finding:
    """Something a diagnostic found, with its evidence and what to do about it."""

    code: str
    title: str
    severity: Severity
    runbook: str
    evidence: Mapping[str, Any] = field(default_factory=dict)
    mitigations: Sequence[Mitigation] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "title": self.title,
            "severity": self.severity.name,
            "runbook": self.runbook,
            "evidence": dict(self.evidence),
            "mitigations": [m.to_dict() for m in self.mitigations],
        }


@dataclass(frozen=True)
class Check:
    """One step of a procedure (e.g. "DNS resolution"), timed."""

    name: str
    ok: bool | None
    duration: float
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "ok": self.ok,
            "duration_ms": round(self.duration * 1000, 1),
            "detail": self.detail,
        }


ResultStatus = Literal["ok", "problem", "not_configured", "error", "timeout"]


@dataclass(frozen=True)
class DiagnosticResult:
    """The outcome of one runbook procedure."""

    runbook: str
    title: str
    status: ResultStatus
    checks: Sequence[Check] = ()
    findings: Sequence[Finding] = ()
    duration: float = 0.0
    detail: str = ""

    @property
    def severity(self) -> Severity | None:
        """The worst severity among the findings, or None when there are none."""
        return min((f.severity for f in self.findings), default=None)

    def to_dict(self) -> dict[str, Any]:
        sev = self.severity
        return {
            "runbook": self.runbook,
            "title": self.title,
            "status": self.status,
            "severity": sev.name if sev else None,
            "duration_ms": round(self.duration * 1000, 1),
            "detail": self.detail,
            "checks": [c.to_dict() for c in self.checks],
            "findings": [f.to_dict() for f in self.findings],
        }


def result_status(findings: Iterable[Finding]) -> ResultStatus:
    """A procedure's status from its findings: ``"problem"`` when one is SEV1..SEV3, else
    ``"ok"`` (SEV4 findings alone are informational)."""
    return "problem" if any(f.severity <= Severity.SEV3 for f in findings) else "ok"


def conclude(
    runbook: str,
    title: str,
    findings: Sequence[Finding],
    *,
    checks: Sequence[Check] = (),
    duration: float = 0.0,
    detail: str = "",
) -> DiagnosticResult:
    """The result of a procedure that ran: its status follows from its findings
    (:func:`result_status`). Every runbook procedure, and the CLI's status commands, end here.
    """
    return DiagnosticResult(
        runbook=runbook,
        title=title,
        status=result_status(findings),
        checks=tuple(checks),
        findings=tuple(findings),
        duration=duration,
        detail=detail,
    )


def not_configured(runbook: str, title: str, detail: str) -> DiagnosticResult:
    """The result of a procedure with nothing to look at (``detail`` says what is missing)."""
    return DiagnosticResult(runbook=runbook, title=title, status="not_configured", detail=detail)
