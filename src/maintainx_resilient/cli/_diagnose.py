"""``health``, ``diagnose``, ``status`` and ``report``: the runbook from the command line.

Configured from the client's environment variables. Exit codes:

- ``health``: 0 healthy, 1 degraded, 2 unhealthy;
- ``diagnose`` / ``report``: 0 no findings (or SEV4 only), 1 SEV3, 2 SEV2, 3 SEV1,
  4 when a procedure timed out or failed and nothing worse was found;
- ``status``: 0 operational, 1 degraded or maintenance, 2 downtime, 3 unknown;
- 64 for a usage or configuration error (bad flags, no API key).
"""

from __future__ import annotations

import argparse
import asyncio
import math
from typing import Any

import httpx
from rich.text import Text

from .._client import MaintainXClient
from .._console import emit, table
from ..diagnostics._context import DiagnosticContext
from ..diagnostics._text import STYLES, render_diagnosis
from ..diagnostics.desk import DEFAULT_STATUS_PAGE, RUNBOOKS, DiagnosticsConfig
from ..diagnostics.render import report_exit_code
from ..diagnostics.status_page import StatusPageReport, fetch_status
from ._common import UsageError, env_client
from ._output import Output, document

__all__ = ["HEALTH_EXIT", "STATUS_EXIT", "register"]

HEALTH_EXIT = {"healthy": 0, "degraded": 1, "unhealthy": 2}
STATUS_EXIT = {"operational": 0, "degraded": 1, "maintenance": 1, "downtime": 2, "unknown": 3}


def seconds(text: str) -> float:
    """An argparse type: positive, finite seconds (``nan``, ``inf``, 0 and less are usage
    errors, which this CLI exits with 64)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(
            f"expected positive, finite seconds, got {text!r} (e.g. --deadline 10)"
        )
    return value


def http_url(text: str) -> str:
    """An argparse type: an http(s) URL with a host (anything else is a usage error, 64)."""
    try:
        url = httpx.URL(text)
    except httpx.InvalidURL:
        url = None
    if url is None or url.scheme not in ("http", "https") or not url.host:
        raise argparse.ArgumentTypeError(
            f"expected an http(s) URL, got {text!r} (e.g. --url {DEFAULT_STATUS_PAGE})"
        )
    return text


def register(commands: Any) -> None:
    health = commands.add_parser("health", help="one cheap probe plus the client's state")
    health.add_argument("--json", action="store_true", help="one JSON document (schema: health)")
    health.add_argument(
        "--deadline", type=seconds, default=5.0, help="seconds, > 0 (default 5, at most 5)"
    )
    health.set_defaults(run=run_health)

    diagnose = commands.add_parser(
        "diagnose", help="run the incident runbook's procedures (RB-001..RB-005)"
    )
    diagnose.add_argument(
        "--runbook",
        action="append",
        metavar="RB-00N",
        help="only this procedure (repeatable), e.g. --runbook RB-001",
    )
    diagnose.add_argument("--json", action="store_true", help="one JSON document (see docs)")
    diagnose.add_argument(
        "--deadline", type=seconds, default=10.0, help="seconds, > 0 (default 10)"
    )
    diagnose.add_argument("--no-status-page", action="store_true", help="skip the status page")
    diagnose.set_defaults(run=run_diagnose)

    status = commands.add_parser("status", help="the MaintainX status page")
    status.add_argument("--url", type=http_url, default=DEFAULT_STATUS_PAGE)
    status.add_argument("--json", action="store_true", help="one JSON document (schema: status)")
    status.set_defaults(run=run_status_page)

    report = commands.add_parser(
        "report", help="diagnose, then print the post-incident report template filled in"
    )
    report.add_argument("--title", default="MaintainX integration incident")
    report.add_argument("--deadline", type=seconds, default=10.0, help="seconds, > 0 (default 10)")
    report.add_argument("--no-status-page", action="store_true", help="skip the status page")
    report.set_defaults(run=run_report)


def _client(args: argparse.Namespace) -> MaintainXClient:
    page = None if getattr(args, "no_status_page", False) else DEFAULT_STATUS_PAGE
    deadline = getattr(args, "deadline", 10.0)
    return env_client(diagnostics=DiagnosticsConfig(status_page_url=page, deadline=deadline))


def run_health(args: argparse.Namespace, output: Output) -> int:
    with _client(args) as client:
        report = client.health()
    if args.json:
        output.json(document("health", report.to_dict()))
    else:
        line = Text("MaintainX health: ", style="bold")
        line.append(report.status.upper(), style=STYLES.get(report.status, ""))
        if report.latency is not None:
            line.append(f" (probe {report.latency * 1000:.0f} ms)")
        output.print(line)
        for reason in report.reasons:
            output.print(f"- {reason}")
    return HEALTH_EXIT.get(report.status, 2)


def _check_runbooks(names: list[str] | None) -> None:
    known = {name.lower().replace("-", "") for name in RUNBOOKS}
    unknown = [rb for rb in names or () if rb.lower().replace("-", "") not in known]
    if unknown:
        raise UsageError(
            f"unknown runbook {', '.join(unknown)}",
            f"choose from {', '.join(RUNBOOKS)}, e.g. --runbook RB-002",
        )


def run_diagnose(args: argparse.Namespace, output: Output) -> int:
    _check_runbooks(args.runbook)
    with _client(args) as client:
        report = client.diagnose(only=args.runbook, deadline=args.deadline)
    data = report.to_dict()
    if args.json:
        head = {k: data.pop(k) for k in ("schema_version", "generator")}
        output.json({**head, "command": "diagnose", **data})
    else:
        render_diagnosis(output.out, data)
    return report_exit_code(report)


def _render_status(output: Output, report: StatusPageReport) -> None:
    state = report.state
    line = Text("MaintainX status: ", style="bold")
    style = {"operational": "green", "unknown": "magenta"}.get(state, "bold red")
    line.append(state.upper(), style=style)
    if report.url:
        line.append(f" ({report.url})", style="dim")
    output.print(line)
    if state == "unknown":
        output.print(f"{report.detail or 'no information'}")
        output.print("This does not mean MaintainX is down: check the page in a browser.")
        return
    if report.detail:
        output.print(report.detail)
    if report.components:
        rows: list[list[str | Text]] = [[c.name, c.state] for c in report.components]
        emit(output.out, table(["COMPONENT", "STATE"], rows))


def run_status_page(args: argparse.Namespace, output: Output) -> int:
    async def no_probe(method: str, path: str, headers: Any) -> Any:  # never called
        raise RuntimeError("the status command sends no API request")

    ctx = DiagnosticContext(base_url="", probe=no_probe, status_page_url=args.url)
    report = asyncio.run(fetch_status(ctx))
    if args.json:
        output.json(document("status", report.to_dict()))
    else:
        _render_status(output, report)
    return STATUS_EXIT.get(report.state, 3)


def run_report(args: argparse.Namespace, output: Output) -> int:
    with _client(args) as client:
        diagnosis = client.diagnose(deadline=args.deadline)
        text = client.incident_report(title=args.title)
    for line in text.splitlines():
        output.print(line)
    return report_exit_code(diagnosis)
