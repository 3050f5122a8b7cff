"""One worker process of the multi-process fleet tests (``python -m tests.fleet._fleet_worker
'<json settings>'``): builds a client, prints ``ready``, reads ``<start> <stop>`` (Unix times)
from stdin, runs ``threads`` threads of calls from start to stop (a later ``<stop>`` line on
stdin moves the stop), and prints one JSON line of what happened. It is the load generator,
so it waits on the real clock."""

from __future__ import annotations

import json
import sys
import threading
import time
from collections import Counter
from typing import Any

from maintainx_resilient import MaintainXClient, ThrottledError
from maintainx_resilient._events import Event, RequestCompleted
from maintainx_resilient.fleet import FleetConfig
from maintainx_resilient.policies.breaker import BreakerConfig
from maintainx_resilient.policies.retry import RetryConfig
from maintainx_resilient.policies.throttle import ThrottleConfig


def main() -> None:
    settings: dict[str, Any] = json.loads(sys.argv[1])
    attempts: list[tuple[float, int | None]] = []
    lock = threading.Lock()

    def hook(event: Event) -> None:
        if isinstance(event, RequestCompleted):
            with lock:
                attempts.append((event.wall, event.status))

    fleet = None
    if settings.get("fleet_url"):
        fleet = FleetConfig(
            url=settings["fleet_url"],
            name=settings["fleet_name"],
            retry_interval=settings.get("retry_interval", 1.0),
        )
    options: dict[str, Any] = {}
    if "breaker_reset" in settings:
        options["breaker"] = BreakerConfig(
            fail_max=settings.get("breaker_threshold", 3),
            reset_timeout=settings["breaker_reset"],
        )
    if "max_attempts" in settings:
        options["retry"] = RetryConfig(max_attempts=settings["max_attempts"])
    client = MaintainXClient(
        api_key=settings["api_key"],
        base_url=settings["base_url"],
        organization_id=settings.get("org_id"),
        throttle=ThrottleConfig(**settings["throttle"]),
        fleet=fleet,
        hooks=[hook],
        **options,
    )
    print("ready", flush=True)
    start, first_stop = (float(x) for x in sys.stdin.readline().split())
    stop = [first_stop]

    def read_stops() -> None:
        for line in sys.stdin:
            if line.strip():
                stop[0] = float(line)

    threading.Thread(target=read_stops, daemon=True).start()
    outcomes: Counter[str] = Counter()
    slowest = [0.0]
    stale = [0]

    def run() -> None:
        while True:
            now = time.time()
            if now >= stop[0]:
                return
            call = client.with_options(max_wait=max(0.0, stop[0] - now))
            began = time.monotonic()
            try:
                page = call.work_orders.list(limit=1)
                kind = "ok"
                if page.response_meta.stale:
                    stale[0] += 1
            except ThrottledError:
                kind = "throttled"  # the slot was after the end of the run
            except Exception as exc:  # every failure is one of ours: counted by type
                kind = type(exc).__name__
            took = time.monotonic() - began
            with lock:
                outcomes[kind] += 1
                slowest[0] = max(slowest[0], took)
            if settings.get("pause"):
                time.sleep(settings["pause"])

    time.sleep(max(0.0, start - time.time()))
    threads = [threading.Thread(target=run) for _ in range(settings.get("threads", 4))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    fleet_of = client.policies.fleet
    status = fleet_of.status() if fleet_of else None
    contended = fleet_of.throttle_store.contended if fleet_of else 0
    client.close()
    print(
        json.dumps(
            {
                "outcomes": dict(outcomes),
                "attempts": attempts,
                "slowest": slowest[0],
                "stale": stale[0],
                "link": status.link.state if status else None,
                "outages": status.link.outages if status else 0,
                "local_calls": status.link.local_calls if status else 0,
                "contended": contended,
            }
        ),
        flush=True,
    )


if __name__ == "__main__":
    main()
