"""Showing a diagnosis: for people (a table per runbook), for machines (JSON), for shells.

- :func:`render_text`: the overall severity first (with its response time and, for SEV1/SEV2,
  who to call), then one block per runbook procedure: its status, a table of findings (code,
  severity, finding, mitigation) and its checks. Coloured when the stream is a terminal and
  ``NO_COLOR`` is not set (https://no-color.org), plain when piped.
- :func:`to_json`: ``DiagnosisReport.to_dict()`` as indented JSON; the field order is fixed
  and the form is documented by ``schema.json`` (:func:`json_schema`).
- :func:`exit_code`: the process exit status for a diagnosis, so scripts and cron jobs can
  branch on it:

  ====  ======================================================================
  code  meaning
  ====  ======================================================================
  0     no findings, or SEV4 (informational) only
  1     SEV3: minor degradation (respond within 2 hours)
  2     SEV2: major degradation (respond within 30 min)
  3     SEV1: complete outage (respond within 15 min)
  4     no SEV1..SEV3 finding, but the diagnosis is incomplete: a procedure
        timed out or failed, so a problem may have been missed
  ====  ======================================================================

  Worse is higher, so ``[ $? -ge 2 ]`` means "page someone". (argparse exits 2 on a usage
  error: the CLI should report its own usage errors with 64, ``EX_USAGE``.)

Both renderings are built from ``to_dict()``, so they show exactly the cleaned values (see
:func:`.report.sanitize`): never a key, only fingerprints.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from ._model import Severity
from ._runner import DiagnosisReport
from .report import Secrets

__all__ = [
    "EXIT_INCOMPLETE",
    "SCHEMA_PATH",
    "exit_code",
    "json_schema",
    "render_text",
    "report_exit_code",
    "to_json",
    "use_color",
]

#: Where the JSON schema of ``to_json``'s output lives (shipped inside the package).
SCHEMA_PATH = Path(__file__).with_name("schema.json")

#: The exit status of an incomplete diagnosis that found nothing worse than SEV4.
EXIT_INCOMPLETE = 4

_EXIT_BY_SEVERITY = {Severity.SEV1: 3, Severity.SEV2: 2, Severity.SEV3: 1, Severity.SEV4: 0}

_RESET = "\033[0m"
_STYLES = {
    "SEV1": "\033[1;97;41m",  # bold white on red
    "SEV2": "\033[1;31m",  # bold red
    "SEV3": "\033[33m",  # yellow
    "SEV4": "\033[36m",  # cyan
    "ok": "\033[32m",
    "problem": "\033[1;31m",
    "error": "\033[35m",
    "timeout": "\033[35m",
    "not_configured": "\033[2m",
    "dim": "\033[2m",
    "bold": "\033[1m",
    "FAIL": "\033[31m",
}


def exit_code(severity: Severity | None, *, complete: bool = True) -> int:
    """The exit status for an overall severity (see the module's table)."""
    code = _EXIT_BY_SEVERITY[severity] if severity is not None else 0
    if code == 0 and not complete:
        return EXIT_INCOMPLETE
    return code


def report_exit_code(report: DiagnosisReport) -> int:
    """:func:`exit_code` of a whole report (its severity and completeness)."""
    return exit_code(report.severity, complete=report.complete)


def use_color(stream: TextIO | None = None) -> bool:
    """True when ``stream`` (default stdout) is a terminal and ``NO_COLOR`` is unset/empty."""
    if os.environ.get("NO_COLOR"):
        return False
    target = stream if stream is not None else sys.stdout
    isatty = getattr(target, "isatty", None)
    try:
        return bool(isatty()) if callable(isatty) else False
    except (ValueError, OSError):  # a closed or detached stream
        return False


def json_schema() -> dict[str, Any]:
    """The JSON Schema (draft 2020-12) of :func:`to_json`'s output."""
    loaded: dict[str, Any] = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    return loaded


def to_json(report: DiagnosisReport, *, secrets: Secrets = (), indent: int | None = 2) -> str:
    """The report as JSON matching ``schema.json`` (fixed field order, UTF-8 text)."""
    return json.dumps(report.to_dict(secrets), indent=indent, ensure_ascii=False)


class _Painter:
    def __init__(self, enabled: bool) -> None:
        self.enabled = enabled

    def __call__(self, text: str, style: str | None) -> str:
        if not self.enabled or not style or style not in _STYLES:
            return text
        return f"{_STYLES[style]}{text}{_RESET}"


def _table(
    rows: Sequence[Sequence[str]],
    styles: Sequence[Sequence[str | None]],
    paint: _Painter,
    indent: str = "  ",
) -> list[str]:
    """Left-aligned columns; the last column is not padded. Styles apply after padding."""
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]) - 1)]
    lines = []
    for row, style in zip(rows, styles, strict=True):
        cells = [
            paint(cell.ljust(widths[i]) if i < len(widths) else cell, style[i])
            for i, cell in enumerate(row)
        ]
        lines.append((indent + "  ".join(cells)).rstrip())
    return lines


def _mitigation_text(m: dict[str, Any]) -> str:
    action = m.get("action")
    return f"{m['description']} [{action}]" if action else str(m["description"])


def _findings_block(result: dict[str, Any], paint: _Painter) -> list[str]:
    rows: list[list[str]] = [["CODE", "SEV", "FINDING", "MITIGATION"]]
    styles: list[list[str | None]] = [["bold", "bold", "bold", "bold"]]
    for finding in result["findings"]:
        mitigations = [_mitigation_text(m) for m in finding["mitigations"]] or ["-"]
        sev = finding["severity"]
        rows.append([finding["code"], sev, finding["title"], mitigations[0]])
        styles.append([None, sev, None, None])
        for more in mitigations[1:]:
            rows.append(["", "", "", more])
            styles.append([None, None, None, None])
    return _table(rows, styles, paint, indent="    ")


def _checks_block(result: dict[str, Any], paint: _Painter) -> list[str]:
    rows: list[list[str]] = []
    styles: list[list[str | None]] = []
    for check in result["checks"]:
        ok = check["ok"]
        mark, style = (
            ("[ok]", "ok") if ok is True else ("[FAIL]", "FAIL") if ok is False else ("[?]", "dim")
        )
        rows.append([mark, check["name"], check["detail"]])
        styles.append([style, None, "dim"])
    return _table(rows, styles, paint, indent="    ") if rows else []


def _headline(data: dict[str, Any], paint: _Painter) -> list[str]:
    sev = data["severity"]
    if sev is None:
        verdict = paint("no findings", "ok")
    else:
        badge = paint(f" {sev} ", sev) if paint.enabled else sev  # padded: a coloured badge
        verdict = f"{badge} {data['severity_definition']}"
        verdict += f": respond within {data['response_time']}"
    lines = [f"MaintainX diagnosis: {verdict}"]
    counts = ", ".join(f"{n} {k.replace('_', ' ')}" for k, n in data["summary"].items() if n)
    lines.append(
        f"Started {data['started_at']}, took {data['duration_ms']:g} ms "
        f"(deadline {data['deadline_ms'] / 1000:g} s). Procedures: {counts or 'none'}."
    )
    if not data["complete"]:
        lines.append(paint("Incomplete: a procedure timed out or failed (see below).", "error"))
    escalation = data["escalation"]
    if escalation:
        lines.append("")
        lines.append(
            paint(
                f"Escalate now ({escalation['severity']}, respond within "
                f"{escalation['response_time']}):",
                escalation["severity"],
            )
        )
        rows = [[c["role"], c["contact"], c["escalation"]] for c in escalation["contacts"]]
        lines.extend(_table(rows, [[None, None, "dim"]] * len(rows), paint))
    return lines


def render_text(
    report: DiagnosisReport,
    *,
    color: bool | None = None,
    stream: TextIO | None = None,
    secrets: Secrets = (),
) -> str:
    """The report for a person. ``color=None`` decides with :func:`use_color` (``stream``)."""
    paint = _Painter(use_color(stream) if color is None else color)
    data = report.to_dict(secrets)
    lines = _headline(data, paint)
    for result in data["results"]:
        lines.append("")
        status = result["status"]
        head = f"{result['runbook']} {result['title']}: " + paint(
            status.replace("_", " ").upper() if status != "not_configured" else "not configured",
            status,
        )
        if result["severity"]:
            head += " (" + paint(result["severity"], result["severity"]) + ")"
        if result["detail"]:
            head += f" - {result['detail']}"
        lines.append(paint(head, None))
        if result["findings"]:
            lines.extend(_findings_block(result, paint))
        lines.extend(_checks_block(result, paint))
    return "\n".join(lines) + "\n"
