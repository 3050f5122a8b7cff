"""``maintainx-resilient simulate``: serve the MaintainX simulator until interrupted.

For trying the client by hand and for benchmarks that run the server in its own process.
The first line printed is ``listening <base_url>``.
"""

from __future__ import annotations

import argparse
import signal
import threading
from typing import Any

from ..testing import RateLimitConfig, Simulator
from ._output import Output


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "simulate", help="serve the bundled MaintainX simulator on a local port"
    )
    parser.add_argument("--port", type=int, default=0, help="port (0 = any free port)")
    parser.add_argument("--work-orders", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--rate-limit",
        type=int,
        default=100,
        metavar="N",
        help="requests per window per key (0 disables rate limiting)",
    )
    parser.add_argument("--window", type=float, default=60.0, help="rate-limit window, seconds")
    parser.set_defaults(run=run)


def run(args: argparse.Namespace, output: Output) -> int:
    limit = (
        RateLimitConfig(per_user=args.rate_limit, per_org=args.rate_limit * 5, window=args.window)
        if args.rate_limit > 0
        else None
    )
    sim = Simulator(seed=args.seed, work_orders=args.work_orders, rate_limit=limit)
    stop = threading.Event()
    # Ctrl-C and SIGTERM are the normal way to stop: both end the wait, then a clean exit 0.
    previous = {
        sig: signal.signal(sig, lambda *_: stop.set()) for sig in (signal.SIGINT, signal.SIGTERM)
    }
    try:
        with sim.serve(port=args.port) as server:
            output.print(f"listening {server.base_url}")
            output.print(f"API key: {Simulator.API_KEY}")
            while not stop.wait(0.5):
                pass
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
    return 0
