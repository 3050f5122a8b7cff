"""The runbook's incident classification, applied: severities, escalation and a change tracker.

- :func:`classify` gives the worst severity of a set of findings (SEV1 is worst),
  :func:`classify_error_rate` turns an error rate into a severity at the runbook's
  thresholds (see :class:`~maintainx_resilient.diagnostics._context.Thresholds`).
- :func:`apply_criteria` gives a diagnosis its overall severity by the runbook's table, with
  the evidence named (:class:`SeverityBasis`). Each procedure proposes severities for what it
  saw; SEV1 ("complete outage", "API unreachable") is kept only when nothing contradicts it.
  One failed probe, or an error rate of 100 % made of calls the breaker refused, is not a
  complete outage while another probe of the same diagnosis got a 2xx or the client's last
  call succeeded (:class:`LiveEvidence`): such a finding becomes SEV2, "major degradation",
  and says why in its evidence (``severity_claimed``, ``severity_rule``).
- :func:`escalation_for` says who to call for SEV1 and SEV2 (the runbook's emergency contacts
  unless configuration gives others) and how fast (the severity's response time).
- :class:`SeverityTracker` remembers the current overall severity and calls a notification
  hook (a pager, a chat message) once each time it changes, never for a repeat.

Everything here is pure except the tracker, which reads an injected clock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

from .._clock import SYSTEM_CLOCK, Clock
from .._events import Hooks
from ._context import EscalationContact, Thresholds
from ._model import DiagnosticResult, Finding, Severity

__all__ = [
    "DEFAULT_CONTACTS",
    "ESCALATING",
    "Escalation",
    "LiveEvidence",
    "SeverityBasis",
    "SeverityChange",
    "SeverityTracker",
    "apply_criteria",
    "classify",
    "classify_error_rate",
    "criterion",
    "escalation_for",
]


#: The runbook's "Emergency Contacts" table, used when configuration names none.
DEFAULT_CONTACTS: tuple[EscalationContact, ...] = (
    EscalationContact("On-call Engineer", "PagerDuty", "Automatic"),
    EscalationContact("MaintainX Support", "support@getmaintainx.com", "Manual"),
    EscalationContact("Infrastructure", "#infra-oncall Slack", "Manual"),
)

#: Severities that call people: a complete outage or a major degradation.
ESCALATING: frozenset[Severity] = frozenset({Severity.SEV1, Severity.SEV2})


def classify(findings: Iterable[Finding]) -> Severity | None:
    """The overall severity: the worst (lowest-numbered) finding's, or None without findings."""
    return min((f.severity for f in findings), default=None)


def classify_error_rate(
    error_rate: float, requests: int, thresholds: Thresholds | None = None
) -> Severity | None:
    """The severity of an error rate measured over ``requests`` attempts.

    Below ``thresholds.min_requests`` attempts nothing is judged (None). Then:
    ``error_rate >= error_rate_outage`` (every request failing) is SEV1,
    ``> error_rate_major`` (more than half) SEV2, ``> error_rate_alert`` (the runbook's
    ">5%") SEV3, anything else None. The boundaries themselves belong to the milder class:
    exactly 5 % is no finding, exactly 50 % is SEV3.
    """
    t = thresholds if thresholds is not None else Thresholds()
    if requests < t.min_requests or requests <= 0:
        return None
    if error_rate >= t.error_rate_outage:
        return Severity.SEV1
    if error_rate > t.error_rate_major:
        return Severity.SEV2
    if error_rate > t.error_rate_alert:
        return Severity.SEV3
    return None


@dataclass(frozen=True)
class LiveEvidence:
    """What a diagnosis saw of MaintainX answering, the test of a "complete outage".

    ``probes_ok``/``probes_failed`` count the probes this diagnosis sent (RB-001's, RB-005's):
    a 2xx is ok, anything else (an error status, no answer, the deadline) failed.
    ``last_try_ok`` is whether the client's most recent call succeeded (None: none recorded),
    ``failures_since_success`` how many tries failed since its last success.
    """

    probes_ok: int = 0
    probes_failed: int = 0
    last_try_ok: bool | None = None
    failures_since_success: int = 0
    last_success_age: float | None = None

    @property
    def answered(self) -> bool:
        """True when MaintainX answered something successfully just now."""
        return self.probes_ok > 0 or self.last_try_ok is True

    def describe(self) -> str:
        """``"2 of 5 probes succeeded; 44 calls failed since the client's last success"``."""
        probes = self.probes_ok + self.probes_failed
        parts = [f"{self.probes_ok} of {probes} probes succeeded"] if probes else []
        if self.last_try_ok is True:
            parts.append("the client's last call succeeded")
        elif self.failures_since_success:
            since = (
                f" ({self.last_success_age:.0f} s ago)"
                if self.last_success_age is not None
                else " (none recorded)"
            )
            parts.append(
                f"{self.failures_since_success} calls failed since the client's last success"
                + since
            )
        return "; ".join(parts) or "no probe sent and no call recorded"

    def to_dict(self) -> dict[str, Any]:
        return {
            "probes_ok": self.probes_ok,
            "probes_failed": self.probes_failed,
            "last_try_ok": self.last_try_ok,
            "failures_since_success": self.failures_since_success,
            "last_success_age_s": None
            if self.last_success_age is None
            else round(self.last_success_age, 3),
        }

    @classmethod
    def of(cls, probes_ok: int, probes_failed: int, stats: Any) -> LiveEvidence:
        """From probe counts and a ``StatsSnapshot`` (or None)."""
        return cls(
            probes_ok=probes_ok,
            probes_failed=probes_failed,
            last_try_ok=getattr(stats, "last_try_ok", None),
            failures_since_success=int(getattr(stats, "failures_since_success", 0) or 0),
            last_success_age=getattr(stats, "last_success_age", None),
        )


@dataclass(frozen=True)
class SeverityBasis:
    """Why a diagnosis has its overall severity: the runbook's criterion and the evidence.

    ``codes`` and ``reasons`` are the codes and titles of the findings at that severity;
    ``downgraded`` the codes that claimed SEV1 and were judged SEV2 because ``live`` shows
    MaintainX answering.
    """

    severity: Severity | None
    criterion: str
    codes: tuple[str, ...] = ()
    reasons: tuple[str, ...] = ()
    downgraded: tuple[str, ...] = ()
    live: LiveEvidence = field(default_factory=LiveEvidence)

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity.name if self.severity else None,
            "criterion": self.criterion,
            "codes": list(self.codes),
            "reasons": list(self.reasons),
            "downgraded": list(self.downgraded),
            "live": {**self.live.to_dict(), "summary": self.live.describe()},
        }


def criterion(severity: Severity | None) -> str:
    """The runbook's table row: ``"SEV2 Major degradation (e.g. >50% errors)"``."""
    if severity is None:
        return "no finding"
    return f"{severity.name} {severity.definition} (e.g. {severity.example})"


def apply_criteria(
    results: Sequence[DiagnosticResult], live: LiveEvidence
) -> tuple[tuple[DiagnosticResult, ...], SeverityBasis]:
    """The results with the runbook's criteria applied, and the basis of the verdict.

    SEV1 is a complete outage. A finding that claims it stands when ``live`` shows nothing
    answering; otherwise it becomes SEV2 (major degradation: MaintainX answers some calls),
    with ``severity_claimed`` and ``severity_rule`` in its evidence. Every other severity is
    the procedure's own. The overall severity is then the worst finding's.
    """
    downgraded: list[str] = []
    judged: list[DiagnosticResult] = []
    rule = f"SEV1 needs a complete outage, but {live.describe()}"
    for result in results:
        findings = list(result.findings)
        changed = False
        if live.answered:
            for i, f in enumerate(findings):
                if f.severity == Severity.SEV1:
                    evidence = {
                        **f.evidence,
                        "severity_claimed": Severity.SEV1.name,
                        "severity_rule": rule,
                    }
                    findings[i] = replace(f, severity=Severity.SEV2, evidence=evidence)
                    downgraded.append(f.code)
                    changed = True
        judged.append(replace(result, findings=tuple(findings)) if changed else result)
    worst = classify(f for r in judged for f in r.findings)
    top = [f for r in judged for f in r.findings if f.severity == worst]
    basis = SeverityBasis(
        severity=worst,
        criterion=criterion(worst),
        codes=tuple(dict.fromkeys(f.code for f in top)),
        reasons=tuple(dict.fromkeys(f.title for f in top)),
        downgraded=tuple(dict.fromkeys(downgraded)),
        live=live,
    )
    return tuple(judged), basis


@dataclass(frozen=True)
class Escalation:
    """Who to call for a SEV1/SEV2 and how fast: every contact shares the response time."""

    severity: Severity
    contacts: tuple[EscalationContact, ...]

    @property
    def response_time(self) -> str:
        return self.severity.response_time

    def to_dict(self) -> dict[str, Any]:
        return {
            "severity": self.severity.name,
            "response_time": self.response_time,
            "contacts": [
                {
                    "role": c.role,
                    "contact": c.contact,
                    "escalation": c.escalation,
                    "response_time": self.response_time,
                }
                for c in self.contacts
            ],
        }


def escalation_for(
    severity: Severity | None, contacts: Iterable[EscalationContact] = ()
) -> Escalation | None:
    """The escalation for ``severity`` when it is SEV1 or SEV2, else None.

    ``contacts`` come from configuration (``DiagnosticContext.contacts``); when there are
    none, the runbook's :data:`DEFAULT_CONTACTS` apply.
    """
    if severity is None or severity not in ESCALATING:
        return None
    chosen = tuple(contacts) or DEFAULT_CONTACTS
    return Escalation(severity=severity, contacts=chosen)


@dataclass(frozen=True)
class SeverityChange:
    """The overall severity moved from ``old`` to ``new`` (None: no finding) at ``at``/``wall``.

    ``codes`` are the finding codes at the new severity; ``escalation`` is set when the new
    severity calls people (SEV1/SEV2).
    """

    old: Severity | None
    new: Severity | None
    at: float
    wall: float
    codes: tuple[str, ...] = ()
    escalation: Escalation | None = None

    @property
    def worsened(self) -> bool:
        """True when the new severity is worse than the old one (or the first finding)."""
        if self.new is None:
            return False
        return self.old is None or self.new < self.old

    @property
    def cleared(self) -> bool:
        """True when no finding remains."""
        return self.new is None

    def to_dict(self) -> dict[str, Any]:
        return {
            "old": self.old.name if self.old else None,
            "new": self.new.name if self.new else None,
            "at": self.at,
            "wall": self.wall,
            "codes": list(self.codes),
            "escalation": self.escalation.to_dict() if self.escalation else None,
        }


SeverityHook = Callable[[SeverityChange], None]


class SeverityTracker:
    """Remembers the current overall severity and tells hooks when it changes.

    Feed it every diagnosis (:meth:`update` with the findings, or :meth:`observe` with a
    severity); ``notify`` (and every hook added with :meth:`subscribe`) is called once per
    change, on the calling thread, after the tracker's lock is released. A hook that raises
    is logged and ignored, as on the event bus. ``contacts`` are the configured escalation
    contacts that SEV1/SEV2 changes carry (the runbook's defaults when empty).
    """

    def __init__(
        self,
        notify: SeverityHook | None = None,
        clock: Clock = SYSTEM_CLOCK,
        *,
        contacts: Iterable[EscalationContact] = (),
    ) -> None:
        self._clock = clock
        self._contacts = tuple(contacts)
        self._lock = threading.Lock()
        self._current: Severity | None = None
        self._hooks: Hooks[SeverityChange] = Hooks("severity")
        if notify is not None:
            self._hooks.subscribe(notify)
        self._changes: list[SeverityChange] = []

    @property
    def current(self) -> Severity | None:
        return self._current

    @property
    def changes(self) -> tuple[SeverityChange, ...]:
        """Every change so far, oldest first."""
        with self._lock:
            return tuple(self._changes)

    def subscribe(self, hook: SeverityHook) -> Callable[[], None]:
        """Add a hook (e.g. an incident timeline's); returns a function that removes it."""
        return self._hooks.subscribe(hook)

    def update(self, findings: Iterable[Finding]) -> SeverityChange | None:
        """Take the overall severity of ``findings``; returns the change, if there was one."""
        listed = list(findings)
        severity = classify(listed)
        codes = tuple(sorted({f.code for f in listed if f.severity == severity}))
        return self.observe(severity, codes)

    def observe(
        self, severity: Severity | None, codes: Iterable[str] = ()
    ) -> SeverityChange | None:
        """Take ``severity`` as the current one; returns the change, if there was one."""
        with self._lock:
            if severity == self._current:
                return None
            change = SeverityChange(
                old=self._current,
                new=severity,
                at=self._clock.monotonic(),
                wall=self._clock.time(),
                codes=tuple(codes),
                escalation=escalation_for(severity, self._contacts),
            )
            self._current = severity
            self._changes.append(change)
        self._hooks.emit(change)
        return change

    def __repr__(self) -> str:
        current = self._current.name if self._current else None
        return f"SeverityTracker(current={current}, changes={len(self._changes)})"
