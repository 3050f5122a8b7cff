"""Rendering: JSON that matches schema.json, the human table, colour rules, exit codes."""

from __future__ import annotations

import importlib
import io
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from maintainx_resilient._clock import FakeClock
from maintainx_resilient._events import EventBus, RequestCompleted
from maintainx_resilient.diagnostics import rb002_errors, rb003_webhooks, rb004_sync
from maintainx_resilient.diagnostics._context import DiagnosticContext
from maintainx_resilient.diagnostics._model import (
    Check,
    DiagnosticResult,
    Finding,
    Mitigation,
    Severity,
)
from maintainx_resilient.diagnostics._runner import DiagnosisReport, Procedure, run_diagnostics
from maintainx_resilient.diagnostics.render import (
    EXIT_INCOMPLETE,
    exit_code,
    json_schema,
    render_text,
    report_exit_code,
    to_json,
    use_color,
)
from maintainx_resilient.telemetry import register_secret
from maintainx_resilient.telemetry._stats import RollingStats

from ..conftest import CANARY_KEY
from ._support import make_context

ESC = "\033["

#: jsonschema ships no type hints (types-jsonschema is not a test dependency).
jsonschema: Any = importlib.import_module("jsonschema")


@pytest.fixture
def registered_canary() -> Iterator[str]:
    unregister = register_secret(CANARY_KEY)
    yield CANARY_KEY
    unregister()


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def careless(canary: str) -> Procedure:
    """A procedure whose author put the key everywhere."""

    async def check(ctx: DiagnosticContext) -> DiagnosticResult:
        finding = Finding(
            code="RB001.AUTH_FAILED",
            title=f"401 with key {canary}",
            severity=Severity.SEV1,
            runbook="RB-001",
            evidence={
                "api_key": canary,
                "request": {"headers": {"Authorization": f"Bearer {canary}"}},
                "note": f"the key {canary} was refused",
            },
            mitigations=(Mitigation("rotate_key", f"Rotate {canary}", "rotate_key"),),
        )
        return DiagnosticResult(
            "RB-001",
            "MaintainX API Unreachable",
            "problem",
            checks=(Check("HTTPS endpoint", False, 0.2, f"sent {canary}"),),
            findings=(finding,),
            detail=f"key {canary}",
        )

    return check


async def full_report(clock: FakeClock | None = None) -> DiagnosisReport:
    """A report with every status: problem, ok, not configured, error and timeout."""
    clock = clock or FakeClock()
    bus = EventBus()
    stats = RollingStats(clock=clock, events=bus)
    for status in [200] * 30 + [503] * 50 + [429] * 20:
        bus.emit(
            RequestCompleted(
                clock.monotonic(), clock.time(), "GET", "/workorders", status, None, 0.1
            )
        )

    async def ok(ctx: DiagnosticContext) -> DiagnosticResult:
        return DiagnosticResult(
            "RB-005",
            "Performance Degradation",
            "ok",
            checks=(Check("GET /workorders", True, 0.12, "[OK] 120ms"),),
        )

    async def boom(ctx: DiagnosticContext) -> DiagnosticResult:
        raise OSError("disk full")

    async def hang(ctx: DiagnosticContext) -> DiagnosticResult:
        await ctx.extras["never"].wait()
        raise AssertionError

    ctx = make_context(clock, stats=stats.snapshot(), deadline=0.3)
    ctx.extras["never"] = __import__("asyncio").Event()
    return await run_diagnostics(
        ctx,
        {
            "RB-001": hang,
            "RB-002": rb002_errors.check,
            "RB-003": rb003_webhooks.check,
            "RB-004": rb004_sync.check,
            "RB-005": ok,
            "RB-006": boom,
        },
    )


def validate(data: dict[str, Any]) -> None:
    schema = json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.Draft202012Validator(schema).validate(data)


async def test_json_validates_against_the_schema() -> None:
    """to_json's output (every status, findings, escalation) is valid against schema.json."""
    report = await full_report()
    data = json.loads(to_json(report))
    validate(data)
    assert data["severity"] == "SEV2"
    assert data["summary"] == {"ok": 1, "problem": 1, "not_configured": 2, "error": 1, "timeout": 1}
    assert data["escalation"]["response_time"] == "30 min"
    assert [r["status"] for r in data["results"]] == [
        "timeout",
        "problem",
        "not_configured",
        "not_configured",
        "ok",
        "error",
    ]
    assert data["started_at"] == "2025-06-15T15:06:40.000Z"


async def test_json_of_a_clean_report_validates() -> None:
    """A report with no findings (null severity, no escalation) is valid too."""
    report = await run_diagnostics(make_context(), {"RB-003": rb003_webhooks.check})
    data = json.loads(to_json(report))
    validate(data)
    assert data["severity"] is None and data["escalation"] is None and data["complete"]


def test_schema_documents_every_field() -> None:
    """Every property in the schema has a description (the schema is the documentation)."""
    schema = json_schema()
    missing: list[str] = []

    def walk(node: Any, path: str) -> None:
        if isinstance(node, dict):
            for name, sub in node.get("properties", {}).items():
                if "description" not in sub:
                    missing.append(f"{path}.{name}")
                walk(sub, f"{path}.{name}")
            for key in ("items", "$defs"):
                if key in node:
                    walk(node[key], f"{path}.{key}")
            if all(isinstance(v, dict) for v in node.values()) and path.endswith("$defs"):
                for name, sub in node.items():
                    walk(sub, f"{path}.{name}")

    walk(schema, "$")
    assert missing == []


async def test_json_is_stable() -> None:
    """The same report always serialises to the same text, in the schema's field order."""
    clock = FakeClock()
    report = await run_diagnostics(make_context(clock), {"RB-003": rb003_webhooks.check})
    text = to_json(report)
    assert text == to_json(report)
    assert list(json.loads(text)) == list(json_schema()["required"])


@pytest.mark.parametrize(
    ("severity", "complete", "code"),
    [
        (None, True, 0),
        (Severity.SEV4, True, 0),
        (Severity.SEV3, True, 1),
        (Severity.SEV2, True, 2),
        (Severity.SEV1, True, 3),
        (None, False, EXIT_INCOMPLETE),
        (Severity.SEV4, False, EXIT_INCOMPLETE),
        (Severity.SEV3, False, 1),
        (Severity.SEV1, False, 3),
    ],
)
def test_exit_codes(severity: Severity | None, complete: bool, code: int) -> None:
    """0 healthy/SEV4, 1 SEV3, 2 SEV2, 3 SEV1, 4 incomplete with nothing worse than SEV4."""
    assert exit_code(severity, complete=complete) == code


async def test_report_exit_code() -> None:
    """A whole report maps through its severity."""
    assert report_exit_code(await full_report()) == 2


async def test_text_puts_severity_first_and_a_table_per_runbook() -> None:
    """Plain text: the verdict and why first, contacts, then per runbook a findings table
    (mitigations in a column of their own when the width allows)."""
    text = render_text(await full_report(), color=False, width=130)
    lines = text.splitlines()
    assert lines[0] == "MaintainX diagnosis: SEV2 Major degradation: respond within 30 min"
    assert lines[1] == "Why: SEV2 Major degradation (e.g. >50% errors): RB002.ERROR_RATE."
    assert "Escalate now (SEV2, respond within 30 min):" in text
    assert "On-call Engineer   PagerDuty" in text
    assert "Incomplete: a procedure timed out or failed" in text
    assert ESC not in text
    header = next(line for line in lines if line.strip().startswith("CODE"))
    assert header.split() == ["CODE", "SEV", "FINDING", "MITIGATION"]
    row = next(line for line in lines if line.strip().startswith("RB002.RATE_LIMIT_429"))
    assert "SEV3" in row and "Enable throttling" in row
    assert "RB-001 MaintainX API Unreachable: TIMEOUT" in text
    assert "RB-003 Webhook Processing Failures: not configured" in text
    assert "RB-006 RB-006: ERROR - OSError: disk full" in text
    assert re.search(r"^ok +GET /workorders +\[OK\] 120ms$", text, re.MULTILINE)
    assert all(line == line.rstrip() for line in lines)  # plain text ends no line in spaces


async def test_text_fits_80_columns_with_mitigations_under_findings() -> None:
    """At 80 columns no line is longer, words are not split, and each mitigation is a line
    of its own under its finding."""
    text = render_text(await full_report(), color=False, width=80)
    lines = text.splitlines()
    assert max(len(line) for line in lines) <= 80
    header = next(line for line in lines if line.strip().startswith("CODE"))
    assert header.split() == ["CODE", "SEV", "FINDING", "/", "MITIGATION"]
    at = next(i for i, line in enumerate(lines) if line.startswith("RB002.RATE_LIMIT_429"))
    assert "SEV3  429 Rate limited: reduce request rate" in lines[at]
    assert lines[at + 1].strip().startswith("- Enable throttling")
    words = set(re.findall(r"[A-Za-z]{4,}", render_text(await full_report(), width=400)))
    assert set(re.findall(r"[A-Za-z]{4,}", text)) <= words  # no word cut in two


async def test_text_colour_follows_tty_and_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    """Colour on a TTY, none when piped, none when NO_COLOR is set."""
    report = await full_report()
    monkeypatch.delenv("NO_COLOR", raising=False)
    assert use_color(Tty()) and not use_color(io.StringIO())
    assert ESC in render_text(report, stream=Tty())
    assert ESC not in render_text(report, stream=io.StringIO())
    monkeypatch.setenv("NO_COLOR", "1")
    assert not use_color(Tty())
    assert ESC not in render_text(report, stream=Tty())
    assert ESC in render_text(report, color=True)  # an explicit choice wins


async def test_clean_text() -> None:
    """A clean report says so on its first line."""
    report = await run_diagnostics(make_context(), {"RB-003": rb003_webhooks.check})
    assert render_text(report, color=False).startswith("MaintainX diagnosis: no findings\n")


async def test_canary_never_in_text_or_json(registered_canary: str) -> None:
    """A key a careless procedure put in titles, evidence, checks and details never shows."""
    report = await run_diagnostics(make_context(), {"RB-001": careless(registered_canary)})
    text = render_text(report, color=False)
    data = to_json(report)
    assert registered_canary not in text and registered_canary not in data
    assert "<redacted sha256:" in text and "<redacted sha256:" in data
    validate(json.loads(data))


async def test_canary_masked_without_registration_by_key_name_or_secrets_argument() -> None:
    """Unregistered: credential keys and bearer tokens are masked; secrets= masks the rest."""
    report = await run_diagnostics(make_context(), {"RB-001": careless(CANARY_KEY)})
    evidence = report.to_dict()["results"][0]["findings"][0]["evidence"]
    assert CANARY_KEY not in json.dumps(evidence["api_key"])
    assert CANARY_KEY not in json.dumps(evidence["request"])
    assert CANARY_KEY not in to_json(report, secrets=[CANARY_KEY])
    assert CANARY_KEY not in render_text(report, color=False, secrets=[CANARY_KEY])
