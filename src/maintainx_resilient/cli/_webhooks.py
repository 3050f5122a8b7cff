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
import json
import os
import re
import sys
from typing import Any

from .._clock import SYSTEM_CLOCK
from .._secrets import Secret
from ..webhooks.capture import parse_capture
from ..webhooks.queue import QUEUE_URL_ENV, WebhookQueue, open_queue
from ..webhooks.records import ReplayProgress
from ..webhooks.verify import (
    BODY_SIGNATURE_HEADER,
    DEFAULT_TOLERANCE,
    URI_SIGNATURE_HEADER,
    RejectReason,
    SigningKeys,
    verify_delivery,
)

__all__ = ["parse_duration", "register"]

_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([smhdw]?)\s*$")
_UNITS = {"": 1.0, "s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0, "w": 604800.0}


def parse_duration(text: str) -> float:
    """Seconds of ``90``, ``90s``, ``15m``, ``2h``, ``1d``, ``1w``."""
    match = _DURATION.match(text)
    if match is None:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 90s, 15m, 2h, 1d)")
    return float(match.group(1)) * _UNITS[match.group(2)]


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

    status = sub.add_parser("status", help="queue depth, failures, oldest pending, self-test")
    queue_arg(status)
    status.add_argument("--registry", help="subscription registry file (for the self-test)")
    status.add_argument("--health-url", help="your public .../webhooks/maintainx/health URL")
    status.add_argument("--json", action="store_true", help="print JSON")
    status.set_defaults(run=run_status)

    replay = sub.add_parser("replay", help="move dead letters back to the queue")
    queue_arg(replay)
    which = replay.add_argument_group("what to replay (at least one)")
    which.add_argument("--all", action="store_true", help="every dead letter")
    which.add_argument("--id", action="append", dest="ids", metavar="ID", help="repeatable")
    which.add_argument("--older-than", type=parse_duration, metavar="AGE", help="e.g. 1h")
    which.add_argument("--newer-than", type=parse_duration, metavar="AGE", help="e.g. 30m")
    replay.add_argument("--dry-run", action="store_true", help="only count")
    replay.set_defaults(run=run_replay)

    dead = sub.add_parser("dead-letters", help="list dead letters (id, route, attempts, error)")
    queue_arg(dead)
    dead.add_argument("--limit", type=int, default=20)
    dead.add_argument("--json", action="store_true")
    dead.set_defaults(run=run_dead_letters)

    for name, helptext in (("pause", "stop workers taking events"), ("resume", "restart them")):
        p = sub.add_parser(name, help=helptext)
        queue_arg(p)
        p.set_defaults(run=run_pause if name == "pause" else run_resume)

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
    verify.add_argument("--json", action="store_true")
    verify.set_defaults(run=run_verify)


def _say(text: str = "") -> None:
    print(text, flush=True)


def _queue(args: argparse.Namespace) -> WebhookQueue | None:
    if not args.queue:
        print(f"no queue: pass --queue URL or set {QUEUE_URL_ENV}", file=sys.stderr)
        return None
    return open_queue(args.queue)


def _age(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    if seconds < 120:
        return f"{seconds:.1f}s"
    if seconds < 7200:
        return f"{seconds / 60:.1f}m"
    return f"{seconds / 3600:.1f}h"


def run_status(args: argparse.Namespace) -> int:
    from ..webhooks.receiver import RouteSource, StaticRoutes, WebhookReceiver
    from ..webhooks.registry import SubscriptionRegistry

    queue = _queue(args)
    if queue is None:
        return 2
    try:
        routes: RouteSource = (
            SubscriptionRegistry(args.registry) if args.registry else StaticRoutes(())
        )
        receiver = WebhookReceiver(queue, routes, health_url=args.health_url)
        health = receiver.webhook_health()
        receiver.close()
    finally:
        queue.close()
    if args.json:
        _say(json.dumps(health, indent=2, sort_keys=True, default=str))
    else:
        depth = health["queue_depth"]
        _say(f"queue: {health['backend']}  paused: {'yes' if health['paused'] else 'no'}")
        _say(
            f"depth: {depth if depth is not None else '?'} (in flight {health['in_flight']}, "
            f"waiting for a retry {health['delayed']})"
        )
        _say(f"failed (dead letters): {health['failed']}")
        _say(f"oldest pending: {_age(health['oldest_pending_age'])}")
        endpoint = "ok" if health["endpoint_ok"] else "FAILING"
        where = args.health_url or "queue reachable"
        _say(f"endpoint: {endpoint} ({where})")
        test = health["signature_self_test"]
        label = {True: "ok", False: "FAILED", None: "not run (no routes)"}[test]
        _say(f"signature self-test: {label} ({len(health['routes'])} route(s))")
        for error in health["errors"]:
            _say(f"  ! {error}")
    healthy = health["endpoint_ok"] and health["signature_self_test"] is not False
    return 0 if healthy else 1


def run_replay(args: argparse.Namespace) -> int:
    from ..webhooks.replay import replay_dead_letters

    if not (args.all or args.ids or args.older_than is not None or args.newer_than is not None):
        print(
            "say what to replay: --all, --id ID, --older-than AGE or --newer-than AGE",
            file=sys.stderr,
        )
        return 2
    queue = _queue(args)
    if queue is None:
        return 2

    def progress(step: ReplayProgress) -> None:
        if step.total:
            _say(f"replayed {step.done}/{step.total}")

    try:
        result = replay_dead_letters(
            queue,
            all=args.all,
            ids=args.ids,
            older_than=args.older_than,
            newer_than=args.newer_than,
            dry_run=args.dry_run,
            progress=progress,
        )
    finally:
        queue.close()
    if result.dry_run:
        _say(f"{result.matched} dead letter(s) would be replayed")
    else:
        _say(f"{result.requeued} of {result.matched} dead letter(s) back in the queue")
    return 0


def run_dead_letters(args: argparse.Namespace) -> int:
    queue = _queue(args)
    if queue is None:
        return 2
    try:
        letters = queue.dead_letters(limit=args.limit)
        now = SYSTEM_CLOCK.time()
    finally:
        queue.close()
    if args.json:
        _say(json.dumps([letter.to_dict() for letter in letters], indent=2))
        return 0
    if not letters:
        _say("no dead letters")
    for letter in letters:
        env = letter.envelope
        _say(
            f"{letter.id}  {env.route or '-'}  {env.event_type}  attempts={letter.attempts}  "
            f"failed {_age(now - letter.failed_at)} ago  {letter.error[:120]}"
        )
    return 0


def run_pause(args: argparse.Namespace) -> int:
    queue = _queue(args)
    if queue is None:
        return 2
    try:
        queue.pause()
    finally:
        queue.close()
    _say("paused: workers take no events until 'webhooks resume' (deliveries are still stored)")
    return 0


def run_resume(args: argparse.Namespace) -> int:
    queue = _queue(args)
    if queue is None:
        return 2
    try:
        queue.resume()
    finally:
        queue.close()
    _say("resumed")
    return 0


class _UsageError(ValueError):
    pass


def _secrets(args: argparse.Namespace, url: str) -> tuple[list[Secret], str | None, str | None]:
    """The secrets to try, the route they come from and the registered URL."""
    secrets: list[Secret] = []
    for name in args.secret_env:
        value = os.environ.get(name)
        if value is None:
            raise _UsageError(f"environment variable {name} is not set")
        secrets.append(Secret(value))
    for path in args.secret_file:
        with open(path, encoding="utf-8") as handle:
            secrets.append(Secret(handle.read().strip()))
    route_name: str | None = None
    registered_url: str | None = None
    if args.registry:
        from urllib.parse import urlsplit

        from ..webhooks.registry import SubscriptionRegistry

        registry = SubscriptionRegistry(args.registry)
        route_name = args.route
        if route_name is None:
            path = urlsplit(url).path.rstrip("/")
            route_name = path.rsplit("/", 1)[-1] if "/" in path else ""
            if route_name == "maintainx":
                route_name = ""
        route = registry.route(route_name)
        if route is None:
            raise _UsageError(f"route {route_name!r} is not in the registry {args.registry}")
        secrets.extend(route.secrets)
        registered_url = route.url
    return secrets, route_name, registered_url


def run_verify(args: argparse.Namespace) -> int:
    if args.capture == "-":
        raw = sys.stdin.buffer.read()
    else:
        with open(args.capture, "rb") as handle:
            raw = handle.read()
    try:
        capture = parse_capture(raw)
    except ValueError as exc:
        print(f"cannot read the capture: {exc}", file=sys.stderr)
        return 2
    url = args.url or capture.url
    try:
        secrets, route_name, registered_url = _secrets(args, url)
    except (_UsageError, OSError) as exc:
        print(exc, file=sys.stderr)
        return 2
    if not secrets:
        print(
            "no secret: pass --secret-env VAR, --secret-file PATH or --registry FILE",
            file=sys.stderr,
        )
        return 2
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
        "secret": verdict.secret_fingerprint,
        "signed_at": verdict.timestamp,
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
        _say(json.dumps(report, indent=2))
    else:
        _say(f"request: {capture.method} {url} ({len(capture.body)} bytes)")
        _say(f"secrets tried: {', '.join(keys.fingerprints)}")
        if verdict.ok:
            uri = "and URI signature" if verdict.uri_checked else "signature (no URI check)"
            _say(f"ACCEPTED: body {uri} valid, secret {verdict.secret_fingerprint}")
        else:
            _say(f"REJECTED: {report['reason']} ({verdict.header}: {verdict.detail})")
            if authentic_but_late:
                _say("  the signatures themselves are valid: only the timestamp is out of range")
    return 0 if verdict.ok else 1
