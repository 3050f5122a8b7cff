"""The runner: concurrency, the deadline, errors, selection, escalation and run_sync."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from maintainx_resilient._clock import FakeClock
from maintainx_resilient.diagnostics._context import DiagnosticContext, EscalationContact
from maintainx_resilient.diagnostics._model import DiagnosticResult, Finding, Severity
from maintainx_resilient.diagnostics._runner import (
    Procedure,
    run_diagnostics,
    run_sync,
    select_procedures,
)
from maintainx_resilient.diagnostics.severity import DEFAULT_CONTACTS
from maintainx_resilient.telemetry import register_secret

from ..conftest import CANARY_KEY
from ._support import make_context


def returning(runbook: str, *severities: Severity) -> Procedure:
    async def check(ctx: DiagnosticContext) -> DiagnosticResult:
        findings = tuple(
            Finding(f"{runbook.replace('-', '')}.X{i}", "x", s, runbook)
            for i, s in enumerate(severities)
        )
        return DiagnosticResult(runbook, "t", "problem" if findings else "ok", findings=findings)

    return check


async def never_finishes(ctx: DiagnosticContext) -> DiagnosticResult:
    await asyncio.Event().wait()  # never set
    raise AssertionError("unreachable")


@pytest.fixture
def registered_canary() -> Iterator[str]:
    unregister = register_secret(CANARY_KEY)
    yield CANARY_KEY
    unregister()


async def test_procedures_run_concurrently() -> None:
    """Two procedures that each wait for the other can only finish if run at the same time."""
    a_started, b_started = asyncio.Event(), asyncio.Event()

    async def a(ctx: DiagnosticContext) -> DiagnosticResult:
        a_started.set()
        await b_started.wait()
        return DiagnosticResult("RB-001", "a", "ok")

    async def b(ctx: DiagnosticContext) -> DiagnosticResult:
        b_started.set()
        await a_started.wait()
        return DiagnosticResult("RB-002", "b", "ok")

    report = await run_diagnostics(make_context(deadline=5.0), {"RB-001": a, "RB-002": b})
    assert [r.status for r in report.results] == ["ok", "ok"]
    assert report.complete and report.severity is None


async def test_deadline_returns_in_time_with_timeout_status() -> None:
    """A procedure that never finishes is cut at the real deadline: status 'timeout'."""
    ctx = make_context(deadline=0.2)
    started = time.monotonic()
    report = await run_diagnostics(
        ctx, {"RB-001": never_finishes, "RB-002": returning("RB-002", Severity.SEV3)}
    )
    elapsed = time.monotonic() - started
    assert elapsed <= 0.2
    hung, fine = report.results
    assert hung.status == "timeout" and hung.runbook == "RB-001"
    assert hung.title == "MaintainX API Unreachable"
    assert "0.2 s deadline" in hung.detail
    assert fine.status == "problem"
    assert not report.complete
    assert report.severity is Severity.SEV3  # what did finish still counts


async def test_raising_procedure_is_an_error_without_traceback(registered_canary: str) -> None:
    """An exception becomes status 'error' with its type and a cleaned message."""

    async def boom(ctx: DiagnosticContext) -> DiagnosticResult:
        raise RuntimeError(f"redis said no to {registered_canary}")

    report = await run_diagnostics(make_context(), {"RB-003": boom})
    (result,) = report.results
    assert result.status == "error"
    assert result.detail.startswith("RuntimeError: redis said no to <redacted sha256:")
    assert registered_canary not in result.detail
    assert "Traceback" not in result.detail
    assert result.title == "Webhook Processing Failures"


async def test_non_result_is_an_error() -> None:
    """A procedure returning something else is reported as an error."""

    async def wrong(ctx: DiagnosticContext) -> DiagnosticResult:
        return "fine"  # type: ignore[return-value]

    report = await run_diagnostics(make_context(), {"RB-004": wrong})
    assert report.results[0].status == "error"
    assert "returned str" in report.results[0].detail


async def test_results_keep_registration_order_and_overall_severity() -> None:
    """Results follow the mapping order; the overall severity is the worst finding's."""
    report = await run_diagnostics(
        make_context(),
        {
            "RB-001": returning("RB-001"),
            "RB-002": returning("RB-002", Severity.SEV3, Severity.SEV4),
            "RB-005": returning("RB-005", Severity.SEV2),
        },
    )
    assert [r.runbook for r in report.results] == ["RB-001", "RB-002", "RB-005"]
    assert report.severity is Severity.SEV2
    assert [f.code for f in report.findings] == ["RB002.X0", "RB002.X1", "RB005.X0"]
    assert report.result("RB-005") is report.results[2]
    assert report.result("RB-003") is None


async def test_only_selects_procedures_loosely() -> None:
    """'rb002', 'RB-002' and 'rb-002' select the same procedure; unknown names fail."""
    procs = {"RB-001": returning("RB-001"), "RB-002": returning("RB-002")}
    report = await run_diagnostics(make_context(), procs, only=["rb002"])
    assert [r.runbook for r in report.results] == ["RB-002"]
    assert list(select_procedures(procs, ["RB-002", "rb-001"])) == ["RB-001", "RB-002"]
    with pytest.raises(ValueError, match=r"unknown diagnostic procedure 'RB-009' \(known: RB-001"):
        select_procedures(procs, ["RB-009"])


async def test_escalation_contacts_for_sev1_and_sev2_only() -> None:
    """SEV1/SEV2 reports carry contacts (configured, else the runbook's); SEV3 none."""
    sev1 = await run_diagnostics(make_context(), {"RB-001": returning("RB-001", Severity.SEV1)})
    assert sev1.contacts == DEFAULT_CONTACTS
    assert sev1.escalation is not None and sev1.escalation.response_time == "15 min"
    mine = (EscalationContact("Me", "me@example.com", "Manual"),)
    sev2 = await run_diagnostics(
        make_context(contacts=mine), {"RB-002": returning("RB-002", Severity.SEV2)}
    )
    assert sev2.contacts == mine
    sev3 = await run_diagnostics(make_context(), {"RB-002": returning("RB-002", Severity.SEV3)})
    assert sev3.escalation is None and sev3.contacts == ()


async def test_started_at_and_duration_come_from_the_context_clock() -> None:
    """started_at is the clock's wall time in ISO UTC; the duration is the clock's."""
    clock = FakeClock()

    async def slow(ctx: DiagnosticContext) -> DiagnosticResult:
        await ctx.clock.asleep(1.5)
        return DiagnosticResult("RB-005", "t", "ok")

    report = await run_diagnostics(make_context(clock), {"RB-005": slow})
    assert report.started_at == "2025-06-15T15:06:40.000Z"
    assert report.duration == 1.5


async def test_no_procedures_is_an_empty_report() -> None:
    """Nothing to run returns at once with no results."""
    report = await run_diagnostics(make_context(), {})
    assert report.results == () and report.severity is None and report.complete


def test_run_sync_without_a_loop() -> None:
    """From plain sync code run_sync runs the coroutine on a new loop."""
    report = run_sync(run_diagnostics(make_context(), {"RB-002": returning("RB-002")}))
    assert report.results[0].status == "ok"


async def test_run_sync_inside_a_running_loop() -> None:
    """Inside a running loop run_sync uses a worker thread instead of failing."""

    async def answer() -> int:
        await asyncio.sleep(0)
        return 42

    assert run_sync(answer()) == 42


def test_run_sync_propagates_exceptions() -> None:
    """The coroutine's exception reaches the caller unchanged."""

    async def fail() -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        run_sync(fail())
