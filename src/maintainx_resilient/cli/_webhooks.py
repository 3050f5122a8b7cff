"""``maintainx-resilient webhooks ...``: the webhook queue from the command line (RB-003).

- ``webhooks status``: endpoint health, queue depth, dead letters (failed), oldest pending
  event, paused or not, signature self-test with the configured secrets;
- ``webhooks replay``: move dead letters back to the queue (``--all``, ``--id``, or by age
  with ``--older-than`` / ``--newer-than``), with progress;
- ``webhooks verify CAPTURE``: check a captured request's signatures (JSON or raw HTTP);
- ``webhooks dead-letters``, ``webhooks pause``, ``webhooks resume``.

The queue is ``--queue URL`` or ``$MAINTAINX_WEBHOOK_QUEUE`` (``sqlite:///path/webhooks.db``,
``redis://host:6379/0?prefix=maintainx:webhook``). Secrets are never taken on the command
line (shell history): ``--secret-env NAME`` names an environment variable, ``--secret-file``
a file, ``--registry`` the subscription registry. Only fingerprints are printed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
from typing import Any

from rich.text import Text

from .._clock import SYSTEM_CLOCK
from .._console import emit, table
from .._secrets import Secret
from ..diagnostics._context import Thresholds
from ..diagnostics._text import render_result
from ..diagnostics.rb003_webhooks import DEFAULT_QUEUE_DEPTH_ALERT, assess_webhooks
from ..diagnostics.severity import classify
from ..webhooks.capture import parse_capture
from ..webhooks.queue import QUEUE_URL_ENV, WebhookQueue, open_queue, queue_file
from ..webhooks.verify import (
    BODY_SIGNATURE_HEADER,
    DEFAULT_TOLERANCE,
    URI_SIGNATURE_HEADER,
    RejectReason,
    SigningKeys,
    verify_delivery,
)
from ._common import UsageError, existing_file, parse_duration, severity_exit
from ._output import Output, document, iso
from ._progress import ProgressView, add_progress_flag, pick_mode

__all__ = ["register"]


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "webhooks", help="webhook queue: status, replay, verify a captured request (RB-003)"
    )
    sub = parser.add_subparsers(dest="webhooks_command", required=True, metavar="ACTION")

    def queue_arg(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--queue",
            default=os.environ.get(QUEUE_URL_ENV),
            help=f"queue URL (default: ${QUEUE_URL_ENV})",
        )

    status = sub.add_parser(
        "status", help="RB-003 on the queue: depth, failures, oldest pending, self-test"
    )
    queue_arg(status)
    status.add_argument("--registry", help="subscription registry file (for the self-test)")
    status.add_argument("--health-url", help="your public .../webhooks/maintainx/health URL")
    status.add_argument(
        "--depth-alert",
        type=int,
        default=DEFAULT_QUEUE_DEPTH_ALERT,
        metavar="N",
        help=f"pending deliveries above N are a backlog (default {DEFAULT_QUEUE_DEPTH_ALERT})",
    )
    status.add_argument(
        "--oldest-alert",
        type=parse_duration,
        default=Thresholds().webhook_oldest_pending,
        metavar="AGE",
        help="an oldest pending delivery older than AGE is a backlog (default 5m)",
    )
    status.add_argument("--json", action="store_true", help="one JSON document on stdout")
    status.set_defaults(run=run_queue_status)

    replay = sub.add_parser("replay", help="move dead letters back to the queue")
    queue_arg(replay)
    which = replay.add_argument_group("what to replay (at least one)")
    which.add_argument("--all", action="store_true", help="every dead letter")
    which.add_argument("--id", action="append", dest="ids", metavar="ID", help="repeatable")
    which.add_argument("--older-than", type=parse_duration, metavar="AGE", help="e.g. 1h")
    which.add_argument("--newer-than", type=parse_duration, metavar="AGE", help="e.g. 30m")
    replay.add_argument("--dry-run", action="store_true", help="only count")
    add_progress_flag(replay, "progress on stderr (auto: a bar when stderr is a terminal)")
    replay.add_argument("--json", action="store_true", help="one JSON document on stdout")
    replay.set_defaults(run=run_replay)

    dead = sub.add_parser("dead-letters", help="list dead letters (id, route, attempts, error)")
    queue_arg(dead)
    dead.add_argument("--limit", type=int, default=20)
    dead.add_argument("--json", action="store_true", help="one JSON document on stdout")
    dead.set_defaults(run=run_dead_letters)

    for name, helptext in (("pause", "stop workers taking events"), ("resume", "restart them")):
        p = sub.add_parser(name, help=helptext)
        queue_arg(p)
        p.set_defaults(run=run_switch)

    verify = sub.add_parser("verify", help="check the signatures of a captured request")
    verify.add_argument("capture", help="a file: JSON capture or raw HTTP request ('-': stdin)")
    verify.add_argument("--secret-env", action="append", default=[], metavar="VAR")
    verify.add_argument("--secret-file", action="append", default=[], metavar="PATH")
    verify.add_argument("--registry", help="subscription registry file")
    verify.add_argument("--route", help="route in the registry (default: from the URL)")
    verify.add_argument("--url", help="the full URL MaintainX called (for the URI signature)")
    verify.add_argument("--tolerance", type=parse_duration, default=DEFAULT_TOLERANCE)
    verify.add_argument("--at", type=float, help="judge the timestamp at this Unix time")
    verify.add_argument(
        "--uri-check", choices=("if_present", "require", "ignore"), default="if_present"
    )
    verify.add_argument("--json", action="store_true", help="one JSON document on stdout")
    verify.set_defaults(run=run_verify)


_QUEUE_HINT = (
    f"pass --queue sqlite:///path/webhooks.db (or redis://host:6379/0), or set {QUEUE_URL_ENV}"
)


def _queue(args: argparse.Namespace) -> contextlib.closing[WebhookQueue]:
    """The queue ``--queue`` names, closed at the end of a ``with``; an SQLite file must
    exist (nothing is created here)."""
    if not args.queue:
        raise UsageError("no webhook queue", _QUEUE_HINT)
    try:
        path = queue_file(args.queue)
    except ValueError as exc:
        raise UsageError(f"bad --queue URL: {exc}", _QUEUE_HINT) from None
    if path is not None:
        existing_file(
            path,
            "webhook queue",
            "check --queue: the receiver creates the file on its first delivery",
        )
    try:
        return contextlib.closing(open_queue(args.queue))
    except ValueError as exc:
        raise UsageError(f"bad --queue URL: {exc}", _QUEUE_HINT) from None


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.1f}s"
    if seconds < 7200:
        return f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.1f}h"


def run_queue_status(args: argparse.Namespace, output: Output) -> int:
    from ..webhooks.receiver import RouteSource, StaticRoutes, WebhookReceiver
    from ..webhooks.registry import SubscriptionRegistry

    if args.depth_alert < 0:
        raise UsageError(f"--depth-alert must be >= 0, got {args.depth_alert}")
    if args.registry:
        existing_file(args.registry, "subscription registry", "check --registry")
    with _queue(args) as queue:
        routes: RouteSource = (
            SubscriptionRegistry(args.registry) if args.registry else StaticRoutes(())
        )
        receiver = WebhookReceiver(queue, routes, health_url=args.health_url)
        health = receiver.webhook_health()
        receiver.close()
    thresholds = Thresholds(webhook_oldest_pending=args.oldest_alert)
    result = assess_webhooks(health, thresholds, queue_depth_alert=args.depth_alert)
    severity = classify(result.findings)
    if args.json:
        data = {k: v for k, v in health.items() if k != "oldest_pending_age"}
        oldest = health.get("oldest_pending_age")
        data["oldest_pending_age_s"] = None if oldest is None else round(float(oldest), 3)
        data["queue_depth_alert"] = args.depth_alert
        data["oldest_pending_alert_s"] = args.oldest_alert
        data["severity"] = severity.name if severity else None
        data["findings"] = [f.to_dict() for f in result.findings]
        output.json(document("webhooks status", data))
        return severity_exit(severity)
    state = health.get("paused")
    paused = "?" if state is None else "yes" if state else "no"
    output.print(f"queue: {health['backend']}  paused: {paused}  routes: {len(health['routes'])}")
    depth = health["queue_depth"]
    output.print(
        f"pending: {depth if depth is not None else '?'} (in flight {health['in_flight']}, "
        f"waiting for a retry {health['delayed']}); failed (dead letters): {health['failed']}; "
        f"oldest pending: {_age(health['oldest_pending_age'])}"
    )
    for error in health["errors"]:
        output.print(f"! {error}", style="magenta")
    output.print()
    render_result(output.out, result.to_dict())
    return severity_exit(severity)


def run_replay(args: argparse.Namespace, output: Output) -> int:
    from ..webhooks.replay import replay_dead_letters

    if not (args.all or args.ids or args.older_than is not None or args.newer_than is not None):
        raise UsageError(
            "say what to replay",
            "add --all, --id ID, --older-than AGE or --newer-than AGE (e.g. --older-than 1h)",
        )
    with _queue(args) as queue:
        view = ProgressView(output, pick_mode(args.progress, output), command="webhooks replay")
        try:
            result = replay_dead_letters(
                queue,
                all=args.all,
                ids=args.ids,
                older_than=args.older_than,
                newer_than=args.newer_than,
                dry_run=args.dry_run,
                progress=view.replay,
            )
        finally:
            view.finish()
    if args.json:
        data = {"matched": result.matched, "requeued": result.requeued, "dry_run": result.dry_run}
        output.json(document("webhooks replay", data))
    elif result.dry_run:
        output.print(f"{result.matched} dead letter(s) would be replayed")
    else:
        output.print(f"{result.requeued} of {result.matched} dead letter(s) back in the queue")
    return 0


def run_dead_letters(args: argparse.Namespace, output: Output) -> int:
    if args.limit < 0:
        raise UsageError(f"--limit must be >= 0, got {args.limit}")
    with _queue(args) as queue:
        letters = queue.dead_letters(limit=args.limit)
        now = SYSTEM_CLOCK.time()
    if args.json:
        rows = [
            {
                "id": letter.id,
                "key": letter.envelope.key,
                "route": letter.envelope.route,
                "event_type": letter.envelope.event_type,
                "subscription_id": letter.envelope.subscription_id,
                "received_at": iso(letter.envelope.received_at),
                "failed_at": iso(letter.failed_at),
                "attempts": letter.attempts,
                "error": letter.error,
            }
            for letter in letters
        ]
        output.json(document("webhooks dead-letters", {"limit": args.limit, "dead_letters": rows}))
        return 0
    if not letters:
        output.print("no dead letters")
        return 0
    table_rows: list[list[str | Text]] = [
        [
            letter.id,
            letter.envelope.route or "-",
            letter.envelope.event_type,
            str(letter.attempts),
            _age(now - letter.failed_at),
            letter.error[:200],
        ]
        for letter in letters
    ]
    emit(
        output.out,
        table(
            ["ID", "ROUTE", "EVENT", "TRIES", "FAILED", "ERROR"],
            table_rows,
            no_wrap=["TRIES", "FAILED"],
            ratios={"ID": 2, "ROUTE": 1, "EVENT": 2, "ERROR": 3},
        ),
    )
    return 0


#: What ``webhooks pause`` and ``webhooks resume`` print once the queue took the switch.
_SWITCHED = {
    "pause": "paused: workers take no events until 'webhooks resume' (deliveries are kept)",
    "resume": "resumed",
}


def run_switch(args: argparse.Namespace, output: Output) -> int:
    """``webhooks pause`` and ``webhooks resume``: call the queue's method of that name."""
    with _queue(args) as queue:
        getattr(queue, args.webhooks_command)()
    output.print(_SWITCHED[args.webhooks_command])
    return 0


def _secrets(args: argparse.Namespace, url: str) -> tuple[list[Secret], str | None, str | None]:
    """The secrets to try, the route they come from and the registered URL."""
    secrets: list[Secret] = []
    for name in args.secret_env:
        value = os.environ.get(name)
        if value is None:
            raise UsageError(
                f"environment variable {name} is not set", f"export {name}=<the webhook secret>"
            )
        secrets.append(Secret(value))
    for path in args.secret_file:
        existing_file(path, "secret file", "check --secret-file")
        with open(path, encoding="utf-8") as handle:
            secrets.append(Secret(handle.read().strip()))
    route_name: str | None = None
    registered_url: str | None = None
    if args.registry:
        from urllib.parse import urlsplit

        from ..webhooks.registry import SubscriptionRegistry

        existing_file(args.registry, "subscription registry", "check --registry")
        registry = SubscriptionRegistry(args.registry)
        route_name = args.route
        if route_name is None:
            path = urlsplit(url).path.rstrip("/")
            route_name = path.rsplit("/", 1)[-1] if "/" in path else ""
            if route_name == "maintainx":
                route_name = ""
        route = registry.route(route_name)
        if route is None:
            raise UsageError(
                f"route {route_name!r} is not in the registry {args.registry}",
                "pass --route NAME (see the registry's routes)",
            )
        secrets.extend(route.secrets)
        registered_url = route.url
    return secrets, route_name, registered_url


def run_verify(args: argparse.Namespace, output: Output) -> int:
    if args.capture == "-":
        raw = sys.stdin.buffer.read()
    else:
        found = existing_file(args.capture, "capture", "pass a captured request file, or -")
        raw = found.read_bytes()
    try:
        capture = parse_capture(raw)
    except ValueError as exc:
        raise UsageError(
            f"cannot read the capture: {exc}", "pass a JSON capture or a raw HTTP request"
        ) from None
    url = args.url or capture.url
    secrets, route_name, registered_url = _secrets(args, url)
    if not secrets:
        raise UsageError(
            "no secret to verify with",
            "pass --secret-env VAR, --secret-file PATH or --registry FILE",
        )
    keys = SigningKeys(secrets)
    now = args.at if args.at is not None else SYSTEM_CLOCK.time()
    uris = [u for u in (registered_url, url) if u]
    verdict = verify_delivery(
        capture.headers,
        capture.body,
        keys,
        now=now,
        uris=uris,
        tolerance=args.tolerance,
        uri_check=args.uri_check,
    )
    authentic_but_late = False
    if verdict.reason in (RejectReason.TOO_OLD, RejectReason.FROM_FUTURE):
        timeless = verify_delivery(
            capture.headers,
            capture.body,
            keys,
            now=verdict.timestamp or now,
            uris=uris,
            tolerance=args.tolerance,
            uri_check=args.uri_check,
        )
        authentic_but_late = timeless.ok
    report: dict[str, Any] = {
        "ok": verdict.ok,
        "reason": verdict.reason.value if verdict.reason else None,
        "detail": verdict.detail,
        "header": verdict.header,
        "secret_fingerprint": verdict.secret_fingerprint,
        "signed_at": iso(verdict.timestamp),
        "uri_checked": verdict.uri_checked,
        "signatures_valid_ignoring_time": verdict.ok or authentic_but_late,
        "route": route_name,
        "secrets_tried": list(keys.fingerprints),
        "url": url,
        "body_bytes": len(capture.body),
        "has_body_signature": BODY_SIGNATURE_HEADER in capture.headers,
        "has_uri_signature": URI_SIGNATURE_HEADER in capture.headers,
    }
    if args.json:
        output.json(document("webhooks verify", report))
    else:
        output.print(f"request: {capture.method} {url} ({len(capture.body)} bytes)")
        output.print(f"secrets tried: {', '.join(keys.fingerprints)}")
        if verdict.ok:
            uri = "and URI signature" if verdict.uri_checked else "signature (no URI check)"
            output.print(
                f"ACCEPTED: body {uri} valid, secret {verdict.secret_fingerprint}", style="green"
            )
        else:
            output.print(
                f"REJECTED: {report['reason']} ({verdict.header}: {verdict.detail})",
                style="bold red",
            )
            if authentic_but_late:
                output.print(
                    "the signatures themselves are valid: only the timestamp is out of range"
                )
    return 0 if verdict.ok else 1
