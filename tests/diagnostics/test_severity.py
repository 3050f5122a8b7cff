"""Severity classification, escalation contacts and the severity tracker."""

from __future__ import annotations

import logging

import pytest

from maintainx_resilient._clock import FakeClock
from maintainx_resilient.diagnostics._context import EscalationContact, Thresholds
from maintainx_resilient.diagnostics._model import (
    DiagnosticResult,
    Finding,
    Severity,
    result_status,
)
from maintainx_resilient.diagnostics.rb002_errors import classify_errors
from maintainx_resilient.diagnostics.severity import (
    DEFAULT_CONTACTS,
    LiveEvidence,
    SeverityChange,
    SeverityTracker,
    apply_criteria,
    classify,
    classify_error_rate,
    criterion,
    escalation_for,
)


def finding(severity: Severity, code: str = "RB002.ERROR_RATE") -> Finding:
    return Finding(code=code, title="t", severity=severity, runbook="RB-002")


def test_classify_no_findings_is_none() -> None:
    """No findings means no severity at all."""
    assert classify([]) is None


def test_classify_takes_the_worst() -> None:
    """The overall severity is the worst (lowest-numbered) finding's."""
    found = [finding(Severity.SEV4), finding(Severity.SEV2), finding(Severity.SEV3)]
    assert classify(found) is Severity.SEV2


@pytest.mark.parametrize(
    ("rate", "expected"),
    [
        (0.0, None),
        (0.05, None),  # the runbook says "> 5%": exactly 5 % is not a finding
        (0.0501, Severity.SEV3),
        (0.5, Severity.SEV3),  # "> 50%" for SEV2: exactly half is still SEV3
        (0.5001, Severity.SEV2),
        (0.999, Severity.SEV2),
        (1.0, Severity.SEV1),
    ],
)
def test_error_rate_boundaries(rate: float, expected: Severity | None) -> None:
    """Each default threshold boundary belongs to the milder class."""
    assert classify_error_rate(rate, 100) is expected


def test_error_rate_needs_min_requests() -> None:
    """Below min_requests nothing is judged; at min_requests it is."""
    assert classify_error_rate(1.0, 9) is None
    assert classify_error_rate(1.0, 10) is Severity.SEV1
    assert classify_error_rate(1.0, 0, Thresholds(min_requests=0)) is None


def test_error_rate_thresholds_are_configurable() -> None:
    """Custom thresholds move every boundary."""
    t = Thresholds(
        error_rate_alert=0.01, error_rate_major=0.2, error_rate_outage=0.9, min_requests=1
    )
    assert classify_error_rate(0.01, 5, t) is None
    assert classify_error_rate(0.02, 5, t) is Severity.SEV3
    assert classify_error_rate(0.21, 5, t) is Severity.SEV2
    assert classify_error_rate(0.9, 5, t) is Severity.SEV1


def test_result_status_ignores_sev4() -> None:
    """SEV4 findings alone leave a procedure 'ok'; SEV3 or worse is a 'problem'."""
    assert result_status([]) == "ok"
    assert result_status([finding(Severity.SEV4)]) == "ok"
    assert result_status([finding(Severity.SEV4), finding(Severity.SEV3)]) == "problem"


@pytest.mark.parametrize("severity", [None, Severity.SEV3, Severity.SEV4])
def test_no_escalation_below_sev2(severity: Severity | None) -> None:
    """Only SEV1 and SEV2 call people."""
    assert escalation_for(severity) is None


def test_escalation_defaults_to_runbook_contacts_with_response_times() -> None:
    """Without configured contacts the runbook's table applies, each with the response time."""
    sev1 = escalation_for(Severity.SEV1)
    sev2 = escalation_for(Severity.SEV2)
    assert sev1 is not None and sev2 is not None
    assert sev1.contacts == DEFAULT_CONTACTS
    assert [c.role for c in DEFAULT_CONTACTS] == [
        "On-call Engineer",
        "MaintainX Support",
        "Infrastructure",
    ]
    assert [c.contact for c in DEFAULT_CONTACTS] == [
        "PagerDuty",
        "support@getmaintainx.com",
        "#infra-oncall Slack",
    ]
    assert [c.escalation for c in DEFAULT_CONTACTS] == ["Automatic", "Manual", "Manual"]
    assert {c["response_time"] for c in sev1.to_dict()["contacts"]} == {"15 min"}
    assert {c["response_time"] for c in sev2.to_dict()["contacts"]} == {"30 min"}


def test_escalation_uses_configured_contacts() -> None:
    """Configured contacts replace the defaults."""
    mine = (EscalationContact("Plant manager", "+1 555 0100", "Manual"),)
    escalation = escalation_for(Severity.SEV2, mine)
    assert escalation is not None
    assert escalation.contacts == mine
    assert escalation.to_dict()["contacts"][0]["contact"] == "+1 555 0100"


def test_response_times_follow_the_runbook() -> None:
    """The response times are the runbook's table."""
    assert [s.response_time for s in Severity] == [
        "15 min",
        "30 min",
        "2 hours",
        "Next business day",
    ]


def test_tracker_notifies_once_per_change() -> None:
    """The hook fires on each change of overall severity and never for a repeat."""
    clock = FakeClock()
    seen: list[SeverityChange] = []
    tracker = SeverityTracker(seen.append, clock)
    assert tracker.update([]) is None  # None -> None is no change
    tracker.update([finding(Severity.SEV3)])
    tracker.update([finding(Severity.SEV3)])
    clock.advance(60)
    tracker.update([finding(Severity.SEV2), finding(Severity.SEV4, "RB005.LOW_CACHE_HIT")])
    tracker.update([finding(Severity.SEV2)])
    tracker.update([])
    tracker.update([])
    assert [(c.old, c.new) for c in seen] == [
        (None, Severity.SEV3),
        (Severity.SEV3, Severity.SEV2),
        (Severity.SEV2, None),
    ]
    assert seen[1].at == seen[0].at + 60
    assert seen[1].codes == ("RB002.ERROR_RATE",)
    assert seen[1].worsened and not seen[1].cleared
    assert seen[2].cleared and not seen[2].worsened
    assert tracker.current is None
    assert tracker.changes == tuple(seen)


def test_tracker_change_carries_escalation_for_sev1_and_sev2() -> None:
    """A change to SEV1/SEV2 carries the configured contacts; SEV3 carries none."""
    contacts = (EscalationContact("Me", "me@example.com"),)
    tracker = SeverityTracker(None, FakeClock(), contacts=contacts)
    sev3 = tracker.observe(Severity.SEV3)
    sev1 = tracker.observe(Severity.SEV1, ["RB001.DNS_FAILED"])
    assert sev3 is not None and sev3.escalation is None
    assert sev1 is not None and sev1.escalation is not None
    assert sev1.escalation.contacts == contacts
    assert sev1.to_dict()["escalation"]["response_time"] == "15 min"


def test_tracker_hook_failure_is_logged_not_raised(caplog: pytest.LogCaptureFixture) -> None:
    """A hook that raises does not stop the tracker or the other hooks."""
    seen: list[SeverityChange] = []

    def broken(change: SeverityChange) -> None:
        raise RuntimeError("pager down")

    tracker = SeverityTracker(broken, FakeClock())
    tracker.subscribe(seen.append)
    with caplog.at_level(logging.ERROR, logger="maintainx_resilient"):
        change = tracker.observe(Severity.SEV2)
    assert change is not None and seen == [change]
    assert "severity hook" in caplog.text


def test_tracker_unsubscribe() -> None:
    """An unsubscribed hook hears nothing more."""
    seen: list[SeverityChange] = []
    tracker = SeverityTracker(clock=FakeClock())
    stop = tracker.subscribe(seen.append)
    tracker.observe(Severity.SEV4)
    stop()
    tracker.observe(Severity.SEV1)
    assert len(seen) == 1


# ---- the runbook's criteria, applied to a whole diagnosis ------------------------------------


def rate_findings(errors: int, requests: int) -> tuple[Finding, ...]:
    """RB-002's error-rate proposal for ``errors`` 5xx answers out of ``requests``."""
    distribution = {"503:GET /workorders": errors} if errors else {}
    found = classify_errors(requests, errors, distribution)
    return tuple(f for f in found if f.code == "RB002.ERROR_RATE")


def result_of(*findings: Finding) -> DiagnosticResult:
    return DiagnosticResult("RB-00X", "t", result_status(findings), findings=findings)


HTTP_5XX = Finding("RB001.HTTP_5XX", "The API answers HTTP 500", Severity.SEV1, "RB-001")
SLOW = Finding("RB005.SLOW_ENDPOINT", "Slow live probes", Severity.SEV3, "RB-005")
LOW_CACHE = Finding("RB005.LOW_CACHE_HIT_RATE", "Low hit rate", Severity.SEV4, "RB-005")
NOTHING_ANSWERS = LiveEvidence(probes_ok=0, probes_failed=5, last_try_ok=False)
ONE_PROBE_OK = LiveEvidence(probes_ok=1, probes_failed=4, last_try_ok=False)


@pytest.mark.parametrize(
    ("case", "findings", "live", "expected", "downgraded"),
    [
        ("healthy", (), ONE_PROBE_OK, None, ()),
        ("only informational (SEV4)", (LOW_CACHE,), ONE_PROBE_OK, Severity.SEV4, ()),
        ("5 % errors is not above 5 %", rate_findings(5, 100), ONE_PROBE_OK, None, ()),
        ("6 % errors: SEV3", rate_findings(6, 100), ONE_PROBE_OK, Severity.SEV3, ()),
        ("50 % errors is not above 50 %", rate_findings(50, 100), ONE_PROBE_OK, Severity.SEV3, ()),
        ("51 % errors: SEV2", rate_findings(51, 100), ONE_PROBE_OK, Severity.SEV2, ()),
        ("99 % errors: SEV2", rate_findings(99, 100), NOTHING_ANSWERS, Severity.SEV2, ()),
        ("9 calls all failing: too few to judge", rate_findings(9, 9), NOTHING_ANSWERS, None, ()),
        (
            "100 % errors, nothing answers",
            rate_findings(10, 10),
            NOTHING_ANSWERS,
            Severity.SEV1,
            (),
        ),
        (
            "100 % errors but a probe succeeded",
            rate_findings(10, 10),
            ONE_PROBE_OK,
            Severity.SEV2,
            ("RB002.ERROR_RATE",),
        ),
        ("one probe 500, nothing answers", (HTTP_5XX,), NOTHING_ANSWERS, Severity.SEV1, ()),
        (
            "one probe 500 among successes (issue 12)",
            (HTTP_5XX,),
            LiveEvidence(probes_ok=3, probes_failed=2),
            Severity.SEV2,
            ("RB001.HTTP_5XX",),
        ),
        (
            "every probe failed but the client's last call succeeded",
            (HTTP_5XX,),
            LiveEvidence(probes_ok=0, probes_failed=5, last_try_ok=True),
            Severity.SEV2,
            ("RB001.HTTP_5XX",),
        ),
        (
            "a lone probe failing, nothing recorded",
            (HTTP_5XX,),
            LiveEvidence(0, 1),
            Severity.SEV1,
            (),
        ),
        ("elevated latency: SEV3", (SLOW, LOW_CACHE), ONE_PROBE_OK, Severity.SEV3, ()),
    ],
)
def test_severity_follows_the_runbook_table(
    case: str,
    findings: tuple[Finding, ...],
    live: LiveEvidence,
    expected: Severity | None,
    downgraded: tuple[str, ...],
) -> None:
    """The runbook's classification at each boundary: >5 % SEV3, >50 % SEV2, SEV1 only for a
    complete outage, i.e. when no probe and not the client's last call got an answer."""
    results, basis = apply_criteria([result_of(*findings)], live)
    assert basis.severity is expected, case
    assert basis.downgraded == downgraded
    assert basis.criterion == criterion(expected)
    worst = [f for f in results[0].findings if f.severity == expected]
    assert basis.codes == tuple(dict.fromkeys(f.code for f in worst))
    for f in results[0].findings:
        if f.code in downgraded:
            assert f.severity is Severity.SEV2
            assert f.evidence["severity_claimed"] == "SEV1"
            assert live.describe() in f.evidence["severity_rule"]


def test_the_basis_names_criterion_and_evidence() -> None:
    """The JSON form says which runbook row applies, which findings and what was seen."""
    _, basis = apply_criteria([result_of(HTTP_5XX, SLOW)], LiveEvidence(2, 3, False, 44, 12.0))
    data = basis.to_dict()
    assert data["severity"] == "SEV2"
    assert data["criterion"] == "SEV2 Major degradation (e.g. >50% errors)"
    assert data["codes"] == ["RB001.HTTP_5XX"] and data["downgraded"] == ["RB001.HTTP_5XX"]
    assert data["live"]["summary"] == (
        "2 of 5 probes succeeded; 44 calls failed since the client's last success (12 s ago)"
    )
    assert criterion(None) == "no finding"
