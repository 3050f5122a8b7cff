"""Showing a diagnosis: for people (a table per runbook), for machines (JSON), for shells.

- :func:`render_text`: the overall severity first (with the runbook criterion it meets, its
  response time and, for SEV1/SEV2, who to call), then one block per runbook procedure: its
  status, a table of findings (code, severity, finding, mitigation) and its checks. Coloured
  when the stream is a terminal and ``NO_COLOR`` is not set (https://no-color.org), plain
  when piped. The rendering is the command line's (``diagnostics/_text.py``, on rich).
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


def render_text(
    report: DiagnosisReport,
    *,
    color: bool | None = None,
    stream: TextIO | None = None,
    secrets: Secrets = (),
    width: int | None = None,
) -> str:
    """The report for a person, ``width`` columns wide (default 100), as the CLI prints it.

    ``color=None`` decides with :func:`use_color` (``stream``). The rendering is the command
    line's (rich); it is imported only when this is called, so importing the library does
    not import rich.
    """
    from ._text import diagnosis_text

    enabled = use_color(stream) if color is None else color
    return diagnosis_text(report.to_dict(secrets), color=enabled, width=width)
