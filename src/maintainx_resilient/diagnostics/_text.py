"""A diagnosis for people, on a rich console: the verdict first, then a block per runbook.

Works from the JSON form (``DiagnosisReport.to_dict()``, already cleaned of secrets), so the
text shows exactly what ``--json`` shows. Used by :func:`.render.render_text` and by the
command line (``diagnose``, ``report``, ``webhooks status``, ``sync status``, the demo).
Imports rich: only ``render_text`` (when called) and the CLI import this module.
"""

from __future__ import annotations

import io
from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.text import Text

from .._console import emit, make_console, table

__all__ = ["STYLES", "diagnosis_text", "render_diagnosis", "render_result", "severity_badge"]

STYLES: Mapping[str, str] = {
    "SEV1": "bold white on red",
    "SEV2": "bold red",
    "SEV3": "yellow",
    "SEV4": "cyan",
    "ok": "green",
    "problem": "bold red",
    "error": "magenta",
    "timeout": "magenta",
    "not_configured": "dim",
    "FAIL": "red",
    "healthy": "green",
    "degraded": "yellow",
    "unhealthy": "bold red",
}


def severity_badge(severity: str | None, console: Console) -> Text:
    """``SEV2`` in its colour (padded into a badge when colour is on)."""
    if severity is None:
        return Text("no findings", style=STYLES["ok"])
    padded = f" {severity} " if console.color_system is not None else severity
    return Text(padded, style=STYLES.get(severity, ""))


def _mitigation(m: Mapping[str, Any]) -> str:
    action = m.get("action")
    return f"{m['description']} [{action}]" if action else str(m["description"])


#: From this width on, mitigations get a column of their own; below, they go under the finding.
WIDE = 120


def _findings(console: Console, findings: Sequence[Mapping[str, Any]]) -> None:
    wide = console.width >= WIDE
    rows: list[list[str | Text]] = []
    for f in findings:
        mitigations = [_mitigation(m) for m in f.get("mitigations", ())]
        sev = str(f["severity"])
        badge = Text(sev, style=STYLES.get(sev, ""))
        if wide:
            rows.append([f["code"], badge, f["title"], (mitigations or ["-"])[0]])
            rows.extend(["", "", "", more] for more in mitigations[1:])
        else:
            cell = Text(str(f["title"]))
            for m in mitigations:
                cell.append(f"\n- {m}", style="dim")
            rows.append([f["code"], badge, cell])
    if wide:
        columns = ["CODE", "SEV", "FINDING", "MITIGATION"]
        ratios = {"FINDING": 1, "MITIGATION": 1}
    else:
        columns, ratios = ["CODE", "SEV", "FINDING / MITIGATION"], {"FINDING / MITIGATION": 1}
    emit(console, table(columns, rows, no_wrap=["CODE", "SEV"], ratios=ratios))


def _checks(console: Console, checks: Sequence[Mapping[str, Any]]) -> None:
    rows: list[list[str | Text]] = []
    for check in checks:
        ok = check["ok"]
        mark = (
            Text("ok", style=STYLES["ok"])
            if ok is True
            else Text("FAIL", style=STYLES["FAIL"])
            if ok is False
            else Text("?", style="dim")
        )
        rows.append([mark, check["name"], Text(str(check["detail"]), style="dim")])
    if rows:
        emit(
            console,
            table(["", "CHECK", "DETAIL"], rows, no_wrap=[""], ratios={"CHECK": 1, "DETAIL": 2}),
        )


def render_result(console: Console, result: Mapping[str, Any], *, checks: bool = True) -> None:
    """One procedure: its status line, its findings, and (``checks``) what it looked at."""
    status = str(result["status"])
    head = Text(f"{result['runbook']} {result['title']}: ", style="bold")
    label = "not configured" if status == "not_configured" else status.replace("_", " ").upper()
    head.append(label, style=STYLES.get(status, ""))
    if result.get("severity"):
        head.append(" (")
        head.append(str(result["severity"]), style=STYLES.get(str(result["severity"]), ""))
        head.append(")")
    if result.get("detail"):
        head.append(f" - {result['detail']}")
    emit(console, head)
    if result.get("findings"):
        _findings(console, result["findings"])
    if checks:
        _checks(console, result.get("checks", ()))


def _headline(console: Console, data: Mapping[str, Any]) -> None:
    sev = data["severity"]
    line = Text("MaintainX diagnosis: ", style="bold")
    line.append_text(severity_badge(sev, console))
    if sev is not None:
        line.append(f" {data['severity_definition']}: respond within {data['response_time']}")
    emit(console, line)
    basis = data.get("severity_basis")
    if basis and sev is not None:
        why = Text(f"Why: {basis['criterion']}: {', '.join(basis['codes'])}.")
        if basis.get("downgraded"):
            why.append(
                f" Not a complete outage ({basis['live']['summary']}): "
                f"{', '.join(basis['downgraded'])} judged SEV2."
            )
        emit(console, why)
    counts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in data["summary"].items() if n)
    emit(
        console,
        f"Started {data['started_at']}, took {data['duration_ms']:g} ms "
        f"(deadline {data['deadline_ms'] / 1000:g} s). Procedures: {counts or 'none'}.",
    )
    if not data["complete"]:
        emit(
            console,
            Text("Incomplete: a procedure timed out or failed (see below).", style="magenta"),
        )
    escalation = data.get("escalation")
    if escalation:
        emit(console, "")
        emit(
            console,
            Text(
                f"Escalate now ({escalation['severity']}, respond within "
                f"{escalation['response_time']}):",
                style=STYLES.get(escalation["severity"], ""),
            ),
        )
        rows: list[list[str | Text]] = [
            [c["role"], c["contact"], Text(c["escalation"], style="dim")]
            for c in escalation["contacts"]
        ]
        emit(console, table(["ROLE", "CONTACT", "ESCALATION"], rows))


def render_diagnosis(
    console: Console, data: Mapping[str, Any], *, checks: bool = True, quiet_ok: bool = False
) -> None:
    """A whole diagnosis (``DiagnosisReport.to_dict()``). ``quiet_ok`` leaves out procedures
    that found nothing and were not configured (the demo's compact form)."""
    _headline(console, data)
    for result in data["results"]:
        if quiet_ok and result["status"] in ("ok", "not_configured") and not result["findings"]:
            continue
        emit(console, "")
        render_result(console, result, checks=checks)


def diagnosis_text(data: Mapping[str, Any], *, color: bool, width: int | None = None) -> str:
    """:func:`render_diagnosis` into a string (ANSI codes only when ``color``)."""
    buffer = io.StringIO()
    console = make_console(buffer, color, width=width or 100)
    render_diagnosis(console, data)
    return buffer.getvalue()
