"""``maintainx-resilient fleet ...``: the fleet's mitigations from the command line.

- ``fleet status``: the link to the fleet's Redis, the live workers (host, pid, last beat)
  and the mitigations in force, with who set them and when;
- ``fleet fallback on|off``, ``fleet throttle <per_minute>|off``, ``fleet breaker
  isolate|close [--scope SCOPE]``: set or clear a mitigation for every worker (each applies
  it within about a second), with ``--reason`` for the timeline;
- ``fleet timeline``: the fleet's last changes, newest first.

The fleet is ``--fleet URL`` (before or after the command) or ``$MAINTAINX_FLEET``, named by
``--fleet-name`` or ``$MAINTAINX_FLEET_NAME``. These commands talk to Redis only: no API key
needed. Exit status 0 done, 1 when the fleet's Redis cannot be reached (nothing was set), 64
for a usage error (no fleet given, a bad rate or scope).
"""

from __future__ import annotations

import argparse
import dataclasses
import os
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from .._console import emit, table
from .._exceptions import ConfigurationError
from ..fleet._config import FleetConfig, resolve_fleet
from ..fleet._control import FleetControl
from ..fleet._fleet import Fleet
from ..fleet._mitigations import FleetMitigation, FleetWorker, check_scope
from ..telemetry._logging import get_logger, register_secret
from ._common import UsageError, add_fleet_flags, fleet_option
from ._output import Output, document, iso

__all__ = ["CLI_REDIS_TIMEOUT", "add_fleet_flags", "register"]

#: The command line is not in a request's path: it waits longer for a remote Redis.
CLI_REDIS_TIMEOUT = 2.0

_NO_FLEET_HINT = (
    "pass --fleet redis://host:6379/0 (before or after the command) or export "
    "MAINTAINX_FLEET=redis://host:6379/0; MAINTAINX_FLEET_NAME (or --fleet-name) names the "
    "fleet when it is not 'default'"
)


def _rate(text: str) -> float | None:
    if text.strip().lower() == "off":
        return None
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(
            f"expected requests per minute (> 0) or 'off', got {text!r} (e.g. 60)"
        )
    return value


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "fleet", help="the fleet's mitigations and workers (fleet mode on Redis)"
    )
    sub = parser.add_subparsers(dest="fleet_command", required=True, metavar="ACTION")

    def common(p: argparse.ArgumentParser, *, change: bool) -> None:
        add_fleet_flags(p, top=False)
        if change:
            p.add_argument("--reason", default="", help="why, for the timeline (e.g. INC-42)")
        p.add_argument("--json", action="store_true", help="one JSON document on stdout")

    status = sub.add_parser(
        "status", help="link, live workers and the mitigations in force (who set them, when)"
    )
    common(status, change=False)
    status.set_defaults(run=run_status)

    fallback = sub.add_parser("fallback", help="fallback mode for every worker: on or off")
    fallback.add_argument("state", choices=("on", "off"))
    common(fallback, change=True)
    fallback.set_defaults(run=run_fallback)

    throttle = sub.add_parser(
        "throttle", help="cap the fleet's requests per minute (shared by all workers), or off"
    )
    throttle.add_argument("rate", type=_rate, metavar="PER_MINUTE|off")
    common(throttle, change=True)
    throttle.set_defaults(run=run_throttle)

    breaker = sub.add_parser(
        "breaker", help="hold every worker's circuit breaker open, or close it by hand"
    )
    breaker.add_argument("action", choices=("isolate", "close"))
    breaker.add_argument(
        "--scope",
        help="one breaker scope, e.g. https://api.getmaintainx.com/v1/workorders "
        "(default: every scope)",
    )
    common(breaker, change=True)
    breaker.set_defaults(run=run_breaker)

    timeline = sub.add_parser("timeline", help="the fleet's last changes, newest first")
    timeline.add_argument("--limit", type=int, default=20, metavar="N", help="default 20")
    common(timeline, change=False)
    timeline.set_defaults(run=run_timeline)


# ---- the fleet of the command line ---------------------------------------------------------


def fleet_config(args: argparse.Namespace) -> FleetConfig:
    """The fleet the command acts on: ``--fleet``/``--fleet-name``, else the environment."""
    option = fleet_option(args)
    config = resolve_fleet(option, os.environ) if isinstance(option, str) else option
    if config is None:
        raise UsageError("no fleet", _NO_FLEET_HINT)
    return dataclasses.replace(config, timeout=CLI_REDIS_TIMEOUT)


@contextmanager
def _control(args: argparse.Namespace) -> Iterator[tuple[FleetControl, FleetConfig]]:
    config = fleet_config(args)
    get_logger()  # the library's logger has a handler: its warnings stay off the terminal
    # a key typed into --reason by mistake is masked before it reaches Redis
    key = os.environ.get("MAINTAINX_API_KEY", "").strip()
    forget = register_secret(key) if key else None
    fleet = Fleet(config)
    try:
        yield FleetControl(fleet), config
    finally:
        fleet.close()
        if forget is not None:
            forget()


def _head(config: FleetConfig) -> dict[str, Any]:
    return {"fleet": config.name, "location": config.location}


def _who(m: FleetMitigation) -> str:
    return f"{m.by.host} pid {m.by.pid}"


def _line(m: FleetMitigation) -> str:
    reason = f": {m.reason}" if m.reason else ""
    return f"{m.describe()} (by {_who(m)} at {iso(m.set_at)}{reason})"


def _print_mitigations(output: Output, mitigations: Sequence[FleetMitigation]) -> None:
    if not mitigations:
        output.print("no fleet-wide mitigation in force")
        return
    output.print(f"mitigations in force: {len(mitigations)}")
    for m in mitigations:
        output.print(f"- {_line(m)}")


def _print_workers(output: Output, workers: Sequence[FleetWorker], now: float) -> None:
    output.print(f"workers alive: {len(workers)}")
    if workers:
        rows = [
            [w.host, str(w.pid), f"{max(0.0, now - w.last_beat):.1f} s ago", w.worker]
            for w in workers
        ]
        emit(output.out, table(["HOST", "PID", "LAST BEAT", "WORKER"], rows))


# ---- the commands ----------------------------------------------------------------------------


def run_status(args: argparse.Namespace, output: Output) -> int:
    with _control(args) as (control, config):
        report = control.report()
    if args.json:
        data = report.to_dict()
        payload = {
            **_head(config),
            "state": data["state"],
            "checked_at": iso(report.checked_at),
            "workers_alive": report.workers_alive,
            "workers": data["workers"],
            "mitigations": data["mitigations"],
        }
        output.json(document("fleet status", payload))
        return 0
    output.print(f"fleet {config.name!r} at {config.location}: {report.link.state}")
    _print_workers(output, report.workers or (), report.checked_at)
    _print_mitigations(output, report.mitigations)
    return 0


def _changed(
    args: argparse.Namespace,
    output: Output,
    command: str,
    change: Callable[[FleetControl], FleetMitigation],
) -> int:
    with _control(args) as (control, config):
        try:
            entry = change(control)
        except ConfigurationError as exc:
            raise UsageError(str(exc), "see `maintainx-resilient fleet --help`") from None
        active = control.mitigations()
    if args.json:
        payload = {
            **_head(config),
            "change": entry.to_dict(),
            "mitigations": [m.to_dict() for m in active],
        }
        output.json(document(command, payload))
        return 0
    output.print(
        f"fleet {config.name!r}: {entry.describe()} (set at {iso(entry.set_at)}; every worker "
        "applies it within about a second)"
    )
    _print_mitigations(output, active)
    return 0


def run_fallback(args: argparse.Namespace, output: Output) -> int:
    reason = args.reason
    if args.state == "on":
        return _changed(
            args, output, "fleet fallback", lambda c: c.enable_fallback_mode(reason=reason)
        )
    return _changed(
        args, output, "fleet fallback", lambda c: c.disable_fallback_mode(reason=reason)
    )


def run_throttle(args: argparse.Namespace, output: Output) -> int:
    rate, reason = args.rate, args.reason
    if rate is None:
        return _changed(
            args, output, "fleet throttle", lambda c: c.disable_throttling(reason=reason)
        )
    return _changed(
        args, output, "fleet throttle", lambda c: c.enable_throttling(rate, reason=reason)
    )


_SCOPE_HINT = (
    "a scope is the API's base URL plus the endpoint family, as the breaker names it: "
    "--scope https://api.getmaintainx.com/v1/workorders (with your MAINTAINX_BASE_URL in "
    "place of https://api.getmaintainx.com/v1); leave --scope out for every scope"
)


def run_breaker(args: argparse.Namespace, output: Output) -> int:
    scope, reason = args.scope, args.reason
    try:
        check_scope(scope)  # before Redis: a typo is a usage error even when Redis is down
    except ConfigurationError as exc:
        raise UsageError(str(exc), _SCOPE_HINT) from None
    if args.action == "isolate":
        return _changed(
            args, output, "fleet breaker", lambda c: c.isolate_breaker(scope, reason=reason)
        )
    return _changed(args, output, "fleet breaker", lambda c: c.close_breaker(scope, reason=reason))


def run_timeline(args: argparse.Namespace, output: Output) -> int:
    if args.limit < 1:
        raise UsageError(f"--limit must be at least 1, got {args.limit}", "e.g. --limit 20")
    with _control(args) as (control, config):
        entries = control.timeline(min(args.limit, 200))
    if args.json:
        payload = {**_head(config), "entries": [e.to_dict() for e in entries]}
        output.json(document("fleet timeline", payload))
        return 0
    if not entries:
        output.print(f"fleet {config.name!r}: no change recorded")
        return 0
    output.print(f"fleet {config.name!r}: last {len(entries)} changes, newest first")
    for entry in entries:
        output.print(f"- {_line(entry.mitigation)}")
    return 0
