"""The incident timeline (events, aggregation, impact) and the post-incident report."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest

from maintainx_resilient._clock import FakeClock
from maintainx_resilient._events import (
    BreakerStateChanged,
    EventBus,
    FallbackServed,
    KeyRotated,
    RequestCompleted,
    RetryScheduled,
)
from maintainx_resilient._secrets import fingerprint
from maintainx_resilient.diagnostics._model import DiagnosticResult, Finding, Severity
from maintainx_resilient.diagnostics._runner import DiagnosisReport
from maintainx_resilient.diagnostics.report import (
    _duration,
    render_incident_report,
    sanitize,
    sanitize_text,
)
from maintainx_resilient.diagnostics.severity import SeverityTracker
from maintainx_resilient.diagnostics.timeline import (
    KIND_ALERT,
    KIND_BREAKER_CLOSED,
    KIND_BREAKER_OPENED,
    KIND_FALLBACK,
    KIND_KEY_ROTATED,
    KIND_MITIGATION,
    KIND_RECOVERY,
    IncidentTimeline,
    work_order_id,
)
from maintainx_resilient.telemetry import register_secret

from ..conftest import CANARY_KEY

# FakeClock's wall clock starts at 2025-06-15T15:06:40Z.
START = 1_750_000_000.0


@pytest.fixture
def registered_canary() -> Iterator[str]:
    """The canary registered as the client registers its keys, for the test's duration."""
    unregister = register_secret(CANARY_KEY)
    yield CANARY_KEY
    unregister()


class Incident:
    def __init__(self) -> None:
        self.clock = FakeClock()
        self.bus = EventBus()
        self.tracker = SeverityTracker(clock=self.clock)
        self.timeline = IncidentTimeline(self.clock, events=self.bus, tracker=self.tracker)

    def emit_request(self, route: str, status: int | None, error: str | None = None) -> None:
        self.bus.emit(
            RequestCompleted(
                self.clock.monotonic(), self.clock.time(), "GET", route, status, error, 0.2
            )
        )

    def emit_fallback(self, route: str) -> None:
        self.bus.emit(
            FallbackServed(
                self.clock.monotonic(), self.clock.time(), "GET", route, 30.0, "CircuitOpenError"
            )
        )

    def emit_breaker(self, scope: str, old: str, new: str) -> None:
        self.bus.emit(
            BreakerStateChanged(self.clock.monotonic(), self.clock.time(), scope, old, new)
        )

    def minutes(self, n: float) -> None:
        self.clock.advance(n * 60)


def play_outage(incident: Incident) -> None:
    """A 90-minute MaintainX outage: alert, breaker, fallbacks, mitigation, recovery."""
    t = incident.timeline
    for _ in range(3):
        incident.emit_request("/workorders/42", 503)
    incident.emit_request("/workorders/{id}", 503)
    incident.emit_request("/workorders", None, "ConnectionError")
    incident.tracker.observe(Severity.SEV2, ["RB002.ERROR_RATE", "RB002.SERVER_5XX"])  # 15:06
    incident.minutes(2)
    incident.emit_breaker("api.getmaintainx.com", "closed", "open")  # 15:08
    incident.minutes(1)
    t.record_investigation("on-call paged")  # 15:09
    for _ in range(40):
        incident.emit_fallback("/workorders")
    incident.emit_fallback("/workorders/7")
    incident.minutes(20)
    incident.emit_fallback("/assets")  # 15:29, still the same run of fallbacks
    incident.minutes(1)
    t.record_root_cause("MaintainX REST API degraded (status page: downtime)")  # 15:30
    t.record_mitigation("enable fallback mode", "serving cached work orders")
    incident.bus.emit(
        KeyRotated(
            incident.clock.monotonic(),
            incident.clock.time(),
            fingerprint("old-key-123456"),
            fingerprint("new-key-123456"),
        )
    )
    incident.minutes(30)
    incident.emit_breaker("api.getmaintainx.com", "open", "half_open")  # 16:00
    incident.minutes(1)
    incident.emit_breaker("api.getmaintainx.com", "half_open", "closed")  # 16:01
    incident.tracker.observe(None)
    incident.minutes(35)
    t.record_recovery("diagnosis clean, status page operational")  # 16:36


def test_work_order_ids_from_paths() -> None:
    """Only concrete ids in work-order paths count; templates and lists don't."""
    assert work_order_id("/workorders/42") == 42
    assert work_order_id("/v1/workorders/42/status") == 42
    assert work_order_id("/workorders/{id}") is None
    assert work_order_id("/workorders") is None
    assert work_order_id("/assets/42") is None


def test_timeline_records_the_incident_in_order() -> None:
    """Alerts, breaker changes, fallbacks, rotations, mitigations and recovery, timed."""
    incident = Incident()
    play_outage(incident)
    entries = incident.timeline.entries()
    kinds = [e.kind for e in entries]
    assert kinds == [
        KIND_ALERT,
        KIND_BREAKER_OPENED,
        "investigation",
        KIND_FALLBACK,
        "root_cause",
        KIND_MITIGATION,
        KIND_KEY_ROTATED,
        KIND_BREAKER_CLOSED,
        "alert_cleared",
        KIND_RECOVERY,
    ]
    assert entries[0].wall == START
    assert (
        entries[0].text == "Alert fired: SEV2 major degradation (RB002.ERROR_RATE, "
        "RB002.SERVER_5XX)"
    )
    assert entries[1].wall == START + 120
    assert incident.timeline.worst_severity is Severity.SEV2


def test_fallbacks_are_aggregated_into_one_line() -> None:
    """A run of fallback answers is one line with a count and an end time."""
    incident = Incident()
    play_outage(incident)
    fallback = [e for e in incident.timeline.entries() if e.kind == KIND_FALLBACK]
    assert len(fallback) == 1
    assert fallback[0].count == 42
    assert fallback[0].wall == START + 180 and fallback[0].until == START + 180 + 1200
    assert "served 42 stale answers" in fallback[0].text
    assert "GET /workorders x40" in fallback[0].text


def test_fallback_runs_split_on_other_entries() -> None:
    """Fallbacks separated by another entry make two lines."""
    incident = Incident()
    incident.emit_fallback("/workorders")
    incident.timeline.record_note("customer called")
    incident.emit_fallback("/workorders")
    assert [e.kind for e in incident.timeline.entries()] == [KIND_FALLBACK, "note", KIND_FALLBACK]


def test_impact_counters() -> None:
    """Failed attempts, stale answers, distinct work orders and breaker downtime."""
    incident = Incident()
    play_outage(incident)
    impact = incident.timeline.impact()
    assert impact.failed_requests == 5
    assert impact.stale_answers == 42
    assert impact.work_order_ids == (7, 42)
    assert impact.work_orders_affected == 2
    assert impact.downtime_seconds == (1 + 20 + 1 + 30 + 1) * 60  # 15:08 -> 16:01
    assert impact.downtime_minutes == 53


def test_downtime_is_the_union_of_open_breakers_and_counts_until_now() -> None:
    """Two overlapping open breakers count once; a breaker still open counts up to now."""
    incident = Incident()
    incident.emit_breaker("a", "closed", "open")
    incident.minutes(1)
    incident.emit_breaker("b", "closed", "open")
    incident.minutes(1)
    incident.emit_breaker("a", "open", "closed")
    incident.minutes(1)
    incident.emit_breaker("b", "open", "closed")
    incident.minutes(10)
    assert incident.timeline.impact().downtime_seconds == 180
    incident.emit_breaker("a", "closed", "isolated")
    incident.minutes(2)
    assert incident.timeline.impact().downtime_seconds == 300


def test_successes_and_other_events_are_not_incident_lines() -> None:
    """2xx requests and retries change nothing; the timeline can be detached."""
    incident = Incident()
    incident.emit_request("/workorders/1", 200)
    incident.bus.emit(RetryScheduled(0.0, 0.0, "GET", "/workorders", 1, 0.5, "status 503"))
    assert incident.timeline.entries() == ()
    assert incident.timeline.impact().failed_requests == 0
    incident.timeline.close()
    incident.emit_request("/workorders/1", 500)
    assert incident.timeline.impact().failed_requests == 0


def test_incident_report_fills_every_template_section_with_real_times() -> None:
    """The post-incident template, every section, with the timeline's times and counts."""
    incident = Incident()
    play_outage(incident)
    text = render_incident_report(
        incident.timeline,
        title="MaintainX API outage",
        summary="MaintainX's REST API returned 503s for an hour.",
        root_cause="MaintainX-side outage.",
        resolution="Waited for MaintainX; served cached work orders meanwhile.",
        users_impacted=12,
        action_items=["Alert on the status page"],
    )
    assert text.startswith("## Incident Report: MaintainX API outage\n")
    assert "**Date:** 2025-06-15 (times in UTC)" in text
    assert "**Duration:** 15:06 - 16:36 (1 h 30 min)" in text
    assert "**Severity:** SEV2" in text  # the worst alert, by default
    assert "**Status:** Resolved" in text
    headings = re.findall(r"^### (.+)$", text, flags=re.MULTILINE)
    assert headings == ["Summary", "Timeline", "Root Cause", "Impact", "Resolution", "Action Items"]
    assert "- 15:06 - Alert fired: SEV2 major degradation" in text
    assert "- 15:08 - Circuit breaker opened: api.getmaintainx.com" in text
    assert "- 15:09 - Investigation started: on-call paged" in text
    assert "- 15:09 - Fallback: served 42 stale answers" in text and "(until 15:29)" in text
    assert "- 15:30 - Root cause identified: MaintainX REST API degraded" in text
    assert "- 15:30 - Mitigation applied: enable fallback mode (serving cached work orders)" in text
    assert "- 16:01 - Circuit breaker closed: api.getmaintainx.com" in text
    assert "- 16:36 - Resolution confirmed: diagnosis clean" in text
    assert "- 2 work orders affected" in text
    assert "- 53 min of downtime" in text
    assert "- 12 users impacted" in text
    assert "- 5 failed requests (attempts), 42 stale answers" in text
    assert (
        "- [ ] Alert on the status page\n- [ ] Prevent recurrence\n- [ ] Improve detection"
        "\n- [ ] Update runbooks\n" in text
    )


def test_incident_report_without_alert_or_recovery() -> None:
    """An explicit severity wins; no alert is said; the end is the last line."""
    incident = Incident()
    incident.timeline.record_mitigation("rotate_key")
    incident.minutes(15)
    incident.timeline.record_note("done")
    text = render_incident_report(
        incident.timeline,
        title="t",
        severity=Severity.SEV3,
        summary="s",
        root_cause="r",
        resolution="x",
        status="Monitoring",
    )
    assert "**Duration:** 15:06 - 15:21 (15 min)" in text
    assert "**Severity:** SEV3" in text and "**Status:** Monitoring" in text
    assert "no alert fired" in text
    assert "unknown number of users impacted" in text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (0, "0 s"),
        (0.2, "< 1 s"),
        (4.4, "4 s"),
        (59.6, "1 min"),
        (90, "1 min 30 s"),
        (900, "15 min"),
        (3599, "59 min 59 s"),
        (5400, "1 h 30 min"),
        (7199, "2 h"),
        (90061, "25 h 1 min"),
    ],
)
def test_report_durations_have_a_readable_resolution(seconds: float, text: str) -> None:
    """A few-seconds incident is "4 s", not "0 hours" / "0 minutes of downtime"."""
    assert _duration(seconds) == text


def test_a_short_incident_reports_its_seconds() -> None:
    """The demo's incident: a breaker open for a few seconds (was "(0 hours)" and "0 minutes
    of downtime")."""
    incident = Incident()
    incident.emit_breaker("api.getmaintainx.com", "closed", "open")
    incident.clock.advance(4)
    incident.emit_breaker("api.getmaintainx.com", "open", "closed")
    text = render_incident_report(
        incident.timeline, title="t", summary="s", root_cause="r", resolution="x"
    )
    assert "**Duration:** 15:06 - 15:06 (4 s)" in text
    assert "- 4 s of downtime (circuit breakers open)" in text


def test_canary_never_reaches_the_incident_report(registered_canary: str) -> None:
    """A key put into events and texts by a careless caller shows only as a fingerprint."""
    incident = Incident()
    incident.bus.emit(KeyRotated(0.0, 0.0, registered_canary, "sha256:00000000"))
    incident.bus.emit(
        FallbackServed(0.0, 0.0, "GET", f"/workorders?key={registered_canary}", 1.0, "x")
    )
    incident.timeline.record_mitigation("rotate_key", f"old key was {registered_canary}")
    incident.timeline.record_note(f"Authorization: Bearer {registered_canary}")
    text = render_incident_report(
        incident.timeline,
        title=f"key {registered_canary}",
        summary=registered_canary,
        root_cause=registered_canary,
        resolution=registered_canary,
        action_items=[registered_canary],
    )
    assert registered_canary not in text
    assert fingerprint(registered_canary) in text


def test_sanitize_masks_unregistered_secrets_by_key_name_and_bearer() -> None:
    """Without registration, credential-like keys, bearer tokens and given secrets are masked."""
    evidence = {
        "api_key": CANARY_KEY,
        "nested": [{"Authorization": f"Bearer {CANARY_KEY}"}],
        "header": f"bearer {CANARY_KEY}",
        "webhook_secret": CANARY_KEY,
        "token": "sha256:1a2b3c4d",  # already a fingerprint: kept
        "ratio": float("nan"),
        "severity": Severity.SEV1,
        "ids": {3, 1},
    }
    clean = sanitize(evidence)
    assert CANARY_KEY not in repr(clean)
    assert clean["token"] == "sha256:1a2b3c4d"
    assert clean["ratio"] is None and clean["severity"] == "SEV1" and clean["ids"] == [1, 3]
    assert (
        sanitize_text(f"x {CANARY_KEY} y", [CANARY_KEY])
        == f"x <redacted {fingerprint(CANARY_KEY)}> y"
    )
    assert sanitize_text("short abc", ["abc"]) == "short abc"  # too short to mask safely


def test_diagnosis_lines_and_json_form() -> None:
    """A diagnosis run is a timeline line; the timeline has a JSON form with its impact."""
    incident = Incident()
    finding = Finding("RB002.ERROR_RATE", "t", Severity.SEV3, "RB-002")
    report = DiagnosisReport(
        results=(DiagnosticResult("RB-002", "t", "problem", findings=(finding,)),),
        severity=Severity.SEV3,
        started_at="2025-06-15T15:06:40.000Z",
        duration=0.1,
        deadline=10.0,
    )
    incident.timeline.record_diagnosis(report)
    incident.minutes(5)
    incident.emit_request("/workorders/9", 500)
    data = incident.timeline.to_dict()
    assert data["entries"] == [
        {
            "kind": "diagnosis",
            "at": "2025-06-15T15:06:40.000Z",
            "until": None,
            "count": 1,
            "text": "Diagnosis: SEV3 (RB002.ERROR_RATE)",
        }
    ]
    assert data["impact"] == {
        "failed_requests": 1,
        "stale_answers": 0,
        "work_orders_affected": 1,
        "downtime_minutes": 0.0,
    }
    assert data["started_at"] == data["ended_at"] == "2025-06-15T15:06:40.000Z"
