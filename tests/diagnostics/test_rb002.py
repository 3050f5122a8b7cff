"""RB-002 High Error Rate: the error distribution, its patterns and the error-rate severity."""

from __future__ import annotations

import pytest

from maintainx_resilient._clock import FakeClock
from maintainx_resilient._events import EventBus, RequestCompleted, RequestRefused
from maintainx_resilient.diagnostics import rb002_errors as rb002
from maintainx_resilient.diagnostics._context import Thresholds
from maintainx_resilient.diagnostics._model import Finding, Severity
from maintainx_resilient.policies.breaker import BreakerSnapshot
from maintainx_resilient.telemetry._stats import RollingStats

from ._support import make_context


def codes(findings: list[Finding]) -> dict[str, Severity]:
    return {f.code: f.severity for f in findings}


def test_parse_key() -> None:
    """A distribution key splits into a status (or error kind) and the endpoint."""
    assert rb002.parse_key("503:GET /workorders") == (503, "GET /workorders")
    assert rb002.parse_key("ConnectionError:GET /assets") == ("ConnectionError", "GET /assets")


def test_group_errors_by_pattern() -> None:
    """Each status class goes to its runbook pattern; 2xx/3xx are never errors."""
    groups = rb002.group_errors(
        {
            "401:GET /workorders": 2,
            "403:POST /workorders": 1,
            "429:GET /assets": 5,
            "500:GET /workorders": 1,
            "503:GET /workorders": 3,
            "TimeoutError:GET /parts": 4,
            "ConnectionError:GET /parts": 1,
            "404:GET /workorders/{id}": 6,
            "304:GET /users": 9,
        }
    )
    assert {c: g.count for c, g in groups.items()} == {
        rb002.CODE_AUTH_401: 2,
        rb002.CODE_PERMISSION_403: 1,
        rb002.CODE_RATE_LIMIT_429: 5,
        rb002.CODE_SERVER_5XX: 4,
        rb002.CODE_TRANSPORT_ERRORS: 5,
        rb002.CODE_CLIENT_4XX: 6,
    }
    assert list(groups[rb002.CODE_SERVER_5XX].keys) == [
        "503:GET /workorders",
        "500:GET /workorders",
    ]


def test_patterns_carry_the_runbook_actions() -> None:
    """401 -> rotate key, 403 -> check permissions, 429 -> throttling, 5xx -> breaker."""
    found = rb002.classify_errors(
        100,
        4,
        {
            "401:GET /a": 1,
            "403:GET /a": 1,
            "429:GET /a": 1,
            "502:GET /a": 1,
            "TimeoutError:GET /a": 0,
        },
    )
    by_code = {f.code: f for f in found}
    assert by_code[rb002.CODE_AUTH_401].mitigations[0].action == "rotate_key"
    assert by_code[rb002.CODE_AUTH_401].mitigations[0].description == "Rotate API key"
    assert (
        by_code[rb002.CODE_PERMISSION_403]
        .mitigations[0]
        .description.startswith("Check permissions")
    )
    assert by_code[rb002.CODE_RATE_LIMIT_429].mitigations[0].action == "enable_throttling"
    assert by_code[rb002.CODE_SERVER_5XX].mitigations[0].action == "isolate_breaker"
    assert by_code[rb002.CODE_SERVER_5XX].evidence["side"] == "maintainx"
    assert rb002.CODE_TRANSPORT_ERRORS not in by_code  # a zero count is no pattern
    assert rb002.CODE_ERROR_RATE not in by_code  # 4 % is below the alert


def test_transport_errors_point_to_rb001() -> None:
    """Connection errors and timeouts are their own pattern, pointing at RB-001."""
    found = rb002.classify_errors(10, 10, {"ConnectionError:GET /workorders": 10})
    by_code = {f.code: f for f in found}
    assert by_code[rb002.CODE_TRANSPORT_ERRORS].severity is Severity.SEV1
    assert [m.code for m in by_code[rb002.CODE_TRANSPORT_ERRORS].mitigations] == [
        "run_rb001",
        "isolate_breaker",
    ]


def test_error_rate_boundaries_in_findings() -> None:
    """5/100 is no finding, 6/100 SEV3, 50/100 SEV3, 51/100 SEV2, 100/100 SEV1."""

    def rate_severity(errors: int, requests: int = 100) -> Severity | None:
        found = codes(rb002.classify_errors(requests, errors, {"500:GET /a": errors}))
        return found.get(rb002.CODE_ERROR_RATE)

    assert rate_severity(5) is None
    assert rate_severity(6) is Severity.SEV3
    assert rate_severity(50) is Severity.SEV3
    assert rate_severity(51) is Severity.SEV2
    assert rate_severity(99) is Severity.SEV2
    assert rate_severity(100) is Severity.SEV1
    assert rate_severity(9, 9) is None  # too few requests to judge


def test_pattern_severity_is_its_share_at_least_sev4() -> None:
    """A pattern below the alert threshold is informational (SEV4); a large one is graded."""
    found = codes(rb002.classify_errors(100, 61, {"429:GET /a": 60, "401:GET /a": 1}))
    assert found[rb002.CODE_RATE_LIMIT_429] is Severity.SEV2
    assert found[rb002.CODE_AUTH_401] is Severity.SEV4
    assert found[rb002.CODE_ERROR_RATE] is Severity.SEV2


def test_thresholds_are_used() -> None:
    """A stricter alert threshold turns 2 % into a finding."""
    t = Thresholds(error_rate_alert=0.01)
    assert rb002.CODE_ERROR_RATE in codes(rb002.classify_errors(100, 2, {"500:GET /a": 2}, t))


async def test_check_without_stats_is_not_configured() -> None:
    """Without statistics the procedure says so instead of guessing."""
    result = await rb002.check(make_context())
    assert result.status == "not_configured"
    assert result.runbook == "RB-002"
    assert "RollingStats" in result.detail


def feed(
    bus: EventBus,
    clock: FakeClock,
    route: str,
    status: int | None,
    n: int,
    error: str | None = None,
) -> None:
    for _ in range(n):
        bus.emit(
            RequestCompleted(
                at=clock.monotonic(),
                wall=clock.time(),
                method="GET",
                route=route,
                status=status,
                error=error,
                duration=0.1,
            )
        )


async def test_check_reads_rolling_stats() -> None:
    """From a real RollingStats snapshot: 60 % of 5xx is SEV2 with the breaker mitigation."""
    clock = FakeClock()
    bus = EventBus()
    stats = RollingStats(clock=clock, events=bus)
    feed(bus, clock, "/workorders", 200, 40)
    feed(bus, clock, "/workorders", 503, 50)
    feed(bus, clock, "/assets", None, 10, error="ConnectionError")
    result = await rb002.check(make_context(clock, stats=stats.snapshot()))
    assert result.status == "problem"
    assert result.severity is Severity.SEV2
    found = {f.code: f for f in result.findings}
    rate = found[rb002.CODE_ERROR_RATE]
    assert rate.evidence["error_rate"] == 0.6
    assert rate.evidence["distribution"] == {
        "503:GET /workorders": 50,
        "ConnectionError:GET /assets": 10,
    }
    assert found[rb002.CODE_SERVER_5XX].severity is Severity.SEV3
    assert found[rb002.CODE_TRANSPORT_ERRORS].severity is Severity.SEV3
    assert [c.name for c in result.checks] == ["Error rate", "Error patterns", "Circuit breakers"]
    assert result.checks[0].ok is False


async def test_check_all_failing_is_sev1() -> None:
    """Every request failing (with enough of them) is a complete outage."""
    clock = FakeClock()
    bus = EventBus()
    stats = RollingStats(clock=clock, events=bus)
    feed(bus, clock, "/workorders", 401, 12)
    result = await rb002.check(make_context(clock, stats=stats.snapshot()))
    assert result.severity is Severity.SEV1
    assert {f.code for f in result.findings} == {rb002.CODE_ERROR_RATE, rb002.CODE_AUTH_401}


async def test_check_healthy_and_idle() -> None:
    """No errors is 'ok' without findings; no traffic says so and judges nothing."""
    clock = FakeClock()
    bus = EventBus()
    stats = RollingStats(clock=clock, events=bus)
    idle = await rb002.check(make_context(clock, stats=stats.snapshot()))
    assert idle.status == "ok" and not idle.findings and "no requests" in idle.detail
    assert idle.checks[0].ok is None
    feed(bus, clock, "/workorders", 200, 30)
    healthy = await rb002.check(make_context(clock, stats=stats.snapshot()))
    assert healthy.status == "ok" and not healthy.findings
    assert healthy.checks[0].ok is True and healthy.checks[1].ok is True


def refuse(bus: EventBus, clock: FakeClock, n: int, kind: str = "CircuitOpenError") -> None:
    for _ in range(n):
        bus.emit(RequestRefused(clock.monotonic(), clock.time(), "GET", "/workorders/{id}", kind))


def breaker(state: str, failures: int = 5) -> BreakerSnapshot:
    return BreakerSnapshot(
        scope="https://api.getmaintainx.com/v1/workorders",
        state=state,  # type: ignore[arg-type]
        failures=failures,
        opened_at=None,
        retry_after=12.5,
    )


async def test_refused_calls_are_failures_told_apart_from_server_answers() -> None:
    """The breaker scenario of issue 12: 5 attempts answered 500, then 35 calls refused by
    the open breaker. Before, RB-002 saw '5/5 attempts, fewer than 10, not judged' and said
    ok; now 40 of 40 calls failed, the evidence splits 5 sent from 35 refused, and the
    refusals are their own pattern with the breaker's advice."""
    clock = FakeClock()
    bus = EventBus()
    stats = RollingStats(clock=clock, events=bus)
    feed(bus, clock, "/workorders/{id}", 500, 5)
    refuse(bus, clock, 35)
    ctx = make_context(clock, stats=stats.snapshot(), breakers={"s": breaker("open")})
    result = await rb002.check(ctx)
    assert result.status == "problem"
    found = {f.code: f for f in result.findings}
    rate = found[rb002.CODE_ERROR_RATE]
    assert rate.severity is Severity.SEV1  # proposed; the report's criteria judge it
    assert {k: rate.evidence[k] for k in ("requests", "errors", "sent", "sent_errors")} == {
        "requests": 40,
        "errors": 40,
        "sent": 5,
        "sent_errors": 5,
    }
    assert rate.evidence["refused"] == 35
    assert rate.evidence["refused_by"] == {"CircuitOpenError": 35}
    assert "5 failed at MaintainX or on the way, 35 refused by the client" in rate.title
    fast = found[rb002.CODE_FAILED_FAST]
    assert fast.evidence["side"] == "client" and fast.evidence["count"] == 35
    assert "circuit breaker open (35)" in fast.title
    assert "enable_fallback_mode" in {m.action for m in fast.mitigations}
    assert found[rb002.CODE_SERVER_5XX].evidence["count"] == 5
    assert found[rb002.CODE_BREAKER_OPEN].severity is Severity.SEV2
    assert "35 refused by the client" in result.checks[0].detail


async def test_an_open_breaker_is_evidence_below_the_request_minimum() -> None:
    """Too few calls to judge a rate, but the breaker is open: still a SEV2 problem."""
    clock = FakeClock()
    bus = EventBus()
    stats = RollingStats(clock=clock, events=bus)
    feed(bus, clock, "/workorders", 503, 5)
    ctx = make_context(clock, stats=stats.snapshot(), breakers={"s": breaker("half-open")})
    result = await rb002.check(ctx)
    assert result.status == "problem" and result.severity is Severity.SEV2
    assert rb002.CODE_ERROR_RATE not in {f.code for f in result.findings}
    opened = next(f for f in result.findings if f.code == rb002.CODE_BREAKER_OPEN)
    assert opened.evidence["breakers"]["s"] == {
        "state": "half-open",
        "failures": 5,
        "retry_after_s": 12.5,
    }
    assert result.checks[2].ok is False


@pytest.mark.parametrize("state", ["closed", "isolated"])
def test_closed_or_hand_held_breakers_are_not_rb002_evidence(state: str) -> None:
    """Only open and half-open breakers refuse calls on their own; isolation is RB-005's."""
    assert rb002.classify_breakers({"s": breaker(state)}) == []
    assert rb002.classify_breakers(None) == []


def test_each_refusal_kind_gets_its_advice() -> None:
    """Throttle and fallback-mode refusals name what to change."""
    found = rb002.classify_errors(
        20,
        20,
        {"ThrottledError:GET /assets": 12, "FallbackModeError:POST /workorders": 8},
    )
    fast = next(f for f in found if f.code == rb002.CODE_FAILED_FAST)
    actions = [m.code for m in fast.mitigations]
    assert actions == ["raise_throttle_max_wait", "enable_throttling", "disable_fallback_mode"]
    assert fast.evidence["refused_by"] == {"ThrottledError": 12, "FallbackModeError": 8}


def test_unreadable_answers_are_their_own_pattern_not_transport_errors() -> None:
    """A 200 that is an HTML page (a proxy, a captive portal) is not "no answer from
    MaintainX": it has its own pattern, pointing at RB-001 and the proxy settings."""
    found = rb002.classify_errors(
        12,
        12,
        {"DecodeError:GET /workorders/{id}": 11, "ResponseTooLargeError:GET /assets": 1},
    )
    by_code = {f.code: f for f in found}
    assert rb002.CODE_TRANSPORT_ERRORS not in by_code
    group = by_code[rb002.CODE_UNREADABLE_ANSWERS]
    assert group.severity is Severity.SEV1
    assert group.evidence["count"] == 12
    assert [m.code for m in group.mitigations] == [
        "run_rb001",
        "check_proxy",
        "enable_fallback_mode",
    ]
    assert by_code[rb002.CODE_ERROR_RATE].evidence["errors"] == 12
