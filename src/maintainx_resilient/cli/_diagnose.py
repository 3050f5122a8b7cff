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
import json
import math
import sys
from typing import Any

from .._client import MaintainXClient
from ..diagnostics._context import DiagnosticContext
from ..diagnostics.desk import DEFAULT_STATUS_PAGE, PROCEDURES, DiagnosticsConfig
from ..diagnostics.render import render_text, report_exit_code, to_json
from ..diagnostics.status_page import fetch_status, render_status

USAGE_ERROR = 64
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
            f"expected positive, finite seconds, got {text!r} (HINT: e.g. --deadline 10)"
        )
    return value


def register(commands: Any) -> None:
    health = commands.add_parser("health", help="one cheap probe plus the client's state")
    health.add_argument("--json", action="store_true", help="machine-readable output")
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
    diagnose.add_argument("--json", action="store_true", help="JSON (see docs/cli.md)")
    diagnose.add_argument(
        "--deadline", type=seconds, default=10.0, help="seconds, > 0 (default 10)"
    )
    diagnose.add_argument("--no-status-page", action="store_true", help="skip the status page")
    diagnose.set_defaults(run=run_diagnose)

    status = commands.add_parser("status", help="the MaintainX status page")
    status.add_argument("--url", default=DEFAULT_STATUS_PAGE)
    status.add_argument("--json", action="store_true")
    status.set_defaults(run=run_status)

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
    return MaintainXClient(diagnostics=DiagnosticsConfig(status_page_url=page, deadline=deadline))


def run_health(args: argparse.Namespace) -> int:
    with _client(args) as client:
        report = client.health()
    if args.json:
        print(json.dumps(report.to_dict(), indent=2))
    else:
        print(f"MaintainX health: {report.status.upper()}")
        for reason in report.reasons:
            print(f"  - {reason}")
    return HEALTH_EXIT.get(report.status, 2)


def run_diagnose(args: argparse.Namespace) -> int:
    known = {name.lower().replace("-", "") for name in PROCEDURES}
    unknown = [rb for rb in args.runbook or () if rb.lower().replace("-", "") not in known]
    if unknown:
        print(
            f"maintainx-resilient: unknown runbook {', '.join(unknown)}; "
            f"choose from {', '.join(PROCEDURES)}",
            file=sys.stderr,
        )
        return USAGE_ERROR
    with _client(args) as client:
        report = client.diagnose(only=args.runbook, deadline=args.deadline)
    if args.json:
        print(to_json(report))
    else:
        print(render_text(report, stream=sys.stdout))
    return report_exit_code(report)


def run_status(args: argparse.Namespace) -> int:
    async def no_probe(method: str, path: str, headers: Any) -> Any:  # never called
        raise RuntimeError("the status command sends no API request")

    ctx = DiagnosticContext(base_url="", probe=no_probe, status_page_url=args.url)
    report = asyncio.run(fetch_status(ctx))
    print(json.dumps(report.to_dict(), indent=2) if args.json else render_status(report))
    return STATUS_EXIT.get(report.state, 3)


def run_report(args: argparse.Namespace) -> int:
    with _client(args) as client:
        diagnosis = client.diagnose(deadline=args.deadline)
        print(client.incident_report(title=args.title))
    return report_exit_code(diagnosis)
