"""What fleet mode costs a request: latency with the fleet's state in loopback Redis, as a
ratio to local mode (the same client without ``fleet=``), same run.

Single ``GET /workorders/{id}`` requests (a new id each) to the simulator in its own process
over a real socket, one contender after the other in alternating rounds. The throttle's limits
are far above the request count, so it decides on every request but never waits. Reported:
p50 and p99 of the per-request wall time, and the ratios fleet / local.

Usage: python bench/bench_fleet.py [--requests N] [--rounds R] [--redis URL]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
import uuid
from collections.abc import Callable

from maintainx_resilient import MaintainXClient, ThrottleConfig
from maintainx_resilient.fleet import FleetConfig
from maintainx_resilient.testing import Simulator, simulator_process

KEY = Simulator.API_KEY


def timings(fn: Callable[[int], object], ids: range) -> list[float]:
    out = []
    for i in ids:
        began = time.perf_counter()
        fn(i)
        out.append(time.perf_counter() - began)
    return out


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument(
        "--redis",
        default=os.environ.get("MAINTAINX_TEST_REDIS_URL", "redis://127.0.0.1:6379/15"),
    )
    args = parser.parse_args()
    n = args.requests
    name = f"bench{uuid.uuid4().hex[:8]}"
    throttle = ThrottleConfig(per_user=10**9, per_org=10**9)
    with simulator_process(work_orders=n * (args.rounds + 1) + 200) as url:
        local = MaintainXClient(api_key=KEY, base_url=url, throttle=throttle, fleet=None)
        fleet = MaintainXClient(
            api_key=KEY,
            base_url=url,
            throttle=throttle,
            fleet=FleetConfig(url=args.redis, name=name),
        )
        contenders = {
            "local mode": lambda i: local.work_orders.get(i),
            "fleet mode": lambda i: fleet.work_orders.get(i),
        }
        samples: dict[str, list[float]] = {k: [] for k in contenders}
        for fn in contenders.values():  # warm up: connections, imports
            timings(fn, range(1, 51))
        for r in range(args.rounds):
            for label, fn in contenders.items():
                first = 100 + r * n
                samples[label] += timings(fn, range(first, first + n))
        status = fleet.policies.fleet.status() if fleet.policies.fleet else None
        local.close()
        fleet.close()
        if status is not None:
            import redis

            client = redis.Redis.from_url(args.redis)
            for key in client.scan_iter(f"mx:{{{name}}}:*"):
                client.delete(key)
            client.close()
    print(f"fleet mode cost per request ({n} x {args.rounds} GETs each, Redis {args.redis})")
    base = samples["local mode"]
    for label, values in samples.items():
        p50, p99 = percentile(values, 0.5), percentile(values, 0.99)
        print(
            f"  {label:11s} p50 {p50 * 1e3:6.3f} ms ({p50 / percentile(base, 0.5):.2f}x)  "
            f"p99 {p99 * 1e3:6.3f} ms ({p99 / percentile(base, 0.99):.2f}x)  "
            f"mean {statistics.fmean(values) * 1e3:6.3f} ms"
        )
    if status is not None:
        print(f"  fleet link: {status.link.state}, local calls {status.link.local_calls}")


if __name__ == "__main__":
    main()
