"""Every command of the console script, as a user would type it against the test world,
with the exit status it must end with."""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass

from ..webhooks.conftest import require_redis
from .conftest import World

#: The fleet of the `fleet` commands below (its keys are deleted after the session).
CLI_FLEET = f"cli{os.getpid()}"


@dataclass(frozen=True)
class Command:
    name: str
    argv: Callable[[World], list[str]]
    code: int  # the exit status the command reports in the test world
    schema: str | None = None  # the --json document's schema, when it has one
    changes: bool = False  # writes to its data (run on a fresh copy each time)


def _fleet(*argv: str) -> Callable[[World], list[str]]:
    """A `fleet` command on the test Redis (the test skips when Redis is unreachable)."""

    def build(world: World) -> list[str]:
        return ["fleet", *argv, "--fleet", require_redis(), "--fleet-name", CLI_FLEET]

    return build


def _queue(world: World, fresh: bool) -> str:
    return world.fresh_queue() if fresh else f"sqlite://{world.queue}"


COMMANDS: tuple[Command, ...] = (
    Command("demo", lambda w: ["demo", "--fast", "--work-orders", "300"], 0),
    Command("health", lambda w: ["health"], 0, "health"),
    Command(
        "diagnose",
        lambda w: ["diagnose", "--no-status-page", "--deadline", "5"],
        0,
        "diagnose",
    ),
    Command("status", lambda w: ["status", "--url", w.status_url], 0, "status"),
    Command("report", lambda w: ["report", "--no-status-page", "--deadline", "5"], 0),
    # 3 dead letters: RB-003's SEV3 finding, exit status 1
    Command(
        "webhooks status",
        lambda w: ["webhooks", "status", "--queue", _queue(w, False)],
        1,
        "webhooks-status",
    ),
    Command(
        "webhooks dead-letters",
        lambda w: ["webhooks", "dead-letters", "--queue", _queue(w, False)],
        0,
        "webhooks-dead-letters",
    ),
    Command(
        "webhooks replay",
        lambda w: ["webhooks", "replay", "--all", "--queue", _queue(w, True)],
        0,
        "webhooks-replay",
        changes=True,
    ),
    Command("webhooks pause", lambda w: ["webhooks", "pause", "--queue", _queue(w, True)], 0),
    Command("webhooks resume", lambda w: ["webhooks", "resume", "--queue", _queue(w, True)], 0),
    Command(
        "webhooks verify",
        lambda w: ["webhooks", "verify", str(w.capture), "--secret-env", "MX_WEBHOOK_SECRET"],
        0,
        "webhooks-verify",
    ),
    Command(
        "sync full",
        lambda w: ["sync", "full", "--db", str(w.db), "--rate-limit", "0"],
        0,
        "sync-full",
    ),
    Command(
        "sync incremental",
        lambda w: ["sync", "incremental", "--db", str(w.db), "--rate-limit", "0"],
        0,
        "sync-incremental",
    ),
    Command(
        "sync reconcile",
        lambda w: ["sync", "reconcile", "--db", str(w.db), "--rate-limit", "0"],
        0,
        "sync-reconcile",
    ),
    Command(
        "sync repair",
        lambda w: ["sync", "repair", "--db", str(w.db), "--rate-limit", "0"],
        0,
        "sync-repair",
    ),
    Command("sync status", lambda w: ["sync", "status", "--db", str(w.db)], 0, "sync-status"),
    Command("fleet status", _fleet("status"), 0, "fleet-status"),
    Command("fleet fallback", _fleet("fallback", "off"), 0, "fleet-change"),
    Command("fleet throttle", _fleet("throttle", "off"), 0, "fleet-change"),
    Command("fleet breaker", _fleet("breaker", "close"), 0, "fleet-change"),
    Command("fleet timeline", _fleet("timeline"), 0, "fleet-timeline"),
)

BY_NAME = {c.name: c for c in COMMANDS}
