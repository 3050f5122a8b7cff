"""``maintainx-resilient demo``: the client against the bundled simulator, no key needed."""

from __future__ import annotations

import argparse
import time
from typing import Any

from .._client import MaintainXClient
from ..testing import Simulator


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "demo",
        help="run the client against the bundled MaintainX simulator (no API key needed)",
    )
    parser.add_argument("--work-orders", type=int, default=3000, help="seeded work orders")
    parser.add_argument("--seed", type=int, default=1)
    parser.set_defaults(run=run)


def _say(text: str = "") -> None:
    print(text, flush=True)


def run(args: argparse.Namespace) -> int:
    sim = Simulator(seed=args.seed, work_orders=args.work_orders, rate_limit=None)
    with sim.serve() as server, MaintainXClient(
        api_key=Simulator.API_KEY, base_url=server.base_url
    ) as client:
        _say(f"MaintainX simulator listening on {server.base_url}")
        _say(f"client: {client!r}")
        _say()
        started = time.perf_counter()
        pages = 0
        count = 0
        for page in client.work_orders.iter(limit=200).pages():
            pages += 1
            count += len(page.items)
        elapsed = time.perf_counter() - started
        _say(f"paged {count} work orders in {pages} pages of up to 200 in {elapsed:.2f}s")
        open_high = sum(1 for _ in client.work_orders.iter(statuses=["OPEN"], priorities=["HIGH"]))
        _say(f"open high-priority work orders: {open_high}")

        new_id = client.work_orders.create(title="Demo: replace conveyor belt", priority="HIGH")
        _say(f"created work order {new_id}")
        updated = client.work_orders.update(new_id, description="Belt frayed on line 3")
        _say(f"updated: {updated.title!r} ({updated.status})")
        done = client.work_orders.set_status(new_id, "DONE")
        _say(f"status -> {done.status}")
        client.work_orders.delete(new_id)
        _say(f"deleted work order {new_id}")
    return 0
