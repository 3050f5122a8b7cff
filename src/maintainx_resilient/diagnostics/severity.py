"""The runbook's incident classification, applied: severities, escalation and a change tracker.

- :func:`classify` gives the overall severity of a set of findings (the worst one; SEV1 is
  worst), :func:`classify_error_rate` turns an error rate into a severity at the runbook's
  thresholds (see :class:`~maintainx_resilient.diagnostics._context.Thresholds`).
- :func:`escalation_for` says who to call for SEV1 and SEV2 (the runbook's emergency contacts
  unless configuration gives others) and how fast (the severity's response time).
- :class:`SeverityTracker` remembers the current overall severity and calls a notification
  hook (a pager, a chat message) once each time it changes, never for a repeat.

Everything here is pure except the tracker, which reads an injected clock.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from .._clock import SYSTEM_CLOCK, Clock
from ._context import EscalationContact, Thresholds
from ._model import Finding, ResultStatus, Severity

__all__ = [
    "DEFAULT_CONTACTS",
    "ESCALATING",
    "Escalation",
    "SeverityChange",
    "SeverityTracker",
    "classify",
    "classify_error_rate",
    "escalation_for",
    "result_status",
]

logger = logging.getLogger("maintainx_resilient")

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


def result_status(findings: Iterable[Finding]) -> ResultStatus:
    """A procedure's status from its findings: ``"problem"`` when one is SEV1..SEV3, else
    ``"ok"`` (SEV4 findings alone are informational)."""
    return "problem" if any(f.severity <= Severity.SEV3 for f in findings) else "ok"


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
        self._hooks: tuple[SeverityHook, ...] = (notify,) if notify is not None else ()
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
        with self._lock:
            self._hooks = (*self._hooks, hook)

        def unsubscribe() -> None:
            with self._lock:
                self._hooks = tuple(h for h in self._hooks if h is not hook)

        return unsubscribe

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
            hooks = self._hooks
        for hook in hooks:
            try:
                hook(change)
            except Exception:
                logger.exception("maintainx_resilient severity hook %r failed", hook)
        return change

    def __repr__(self) -> str:
        current = self._current.name if self._current else None
        return f"SeverityTracker(current={current}, changes={len(self._changes)})"
