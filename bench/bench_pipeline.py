"""Per-request overhead of the resilience pipeline, against a bare httpx.Client, same run.

Single ``GET /workorders/{id}`` requests (a cache miss each: a new id every time) to the
simulator running in its own process over a real socket. Contenders:

- bare ``httpx.Client`` + ``response.json()``;
- ``MaintainXClient`` with every policy off (models only);
- ``MaintainXClient`` with the full default pipeline (fallback cache, retry, breaker, auth,
  throttle, telemetry). The throttle is given limits far above the request count, so it
  decides on every request but never waits: its cost is measured, not the rate limit.

Reported: client-process CPU and wall time per request (median and least of rounds, alternating
contenders) and the ratios against bare httpx (target for the full pipeline: <= 1.15x). The
verdict uses *paired* ratios: each round, every contender runs one block back to back (in an
order that rotates), and the round's ratio is the full pipeline's time over bare httpx's in
that round. Load from other work on this 2-core machine changes over seconds, so it moves both
halves of a pair alike and cancels out of the ratio; the median of many short rounds is the
figure least moved by it (the spread between rounds is printed beside it).

Usage: python bench/bench_pipeline.py [--requests N] [--rounds R]
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable

import httpx
from _paired import PICKS, paired, rotation, rounds_table

from maintainx_resilient import MaintainXClient, ThrottleConfig
from maintainx_resilient.testing import Simulator, simulator_process

KEY = Simulator.API_KEY


def measure(fn: Callable[[int], object], ids: range) -> tuple[float, float]:
    wall, cpu = time.perf_counter(), time.process_time()
    for i in ids:
        fn(i)
    n = len(ids)
    return (time.perf_counter() - wall) / n, (time.process_time() - cpu) / n


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=200, help="GETs per round")
    parser.add_argument("--rounds", type=int, default=50)
    args = parser.parse_args()
    n = args.requests
    with simulator_process(work_orders=n * (args.rounds + 1) + 200) as url:
        bare = httpx.Client(base_url=url + "/", headers={"Authorization": f"Bearer {KEY}"})
        plain = MaintainXClient(
            api_key=KEY, base_url=url, throttle=None, retry=None, breaker=None, fallback=None
        )
        full = MaintainXClient(
            api_key=KEY, base_url=url, throttle=ThrottleConfig(per_user=10**9, per_org=10**9)
        )
        contenders: dict[str, Callable[[int], object]] = {
            "bare httpx + json()": lambda i: bare.get(f"workorders/{i}").json(),
            "client, policies off": lambda i: plain.work_orders.get(i),
            "client, full pipeline": lambda i: full.work_orders.get(i),
        }
        results: dict[str, list[tuple[float, float]]] = {k: [] for k in contenders}
        for fn in contenders.values():  # warm-up: connections, imports, validators
            measure(fn, range(1, 200))
        start, names = 1, list(contenders)
        for round_ in range(args.rounds):
            for name in rotation(names, round_):
                results[name].append(measure(contenders[name], range(start, start + n)))
            start += n
        print(f"{n} GETs per round, {args.rounds} rounds; simulator in its own process")
        verdicts = []
        for label, pick in PICKS:
            ratios = rounds_table(results, "bare httpx + json()", label, pick, unit="us", scale=1e6)
            ratio = ratios["client, full pipeline"]
            verdicts.append(f"{label} {ratio:.2f}x {'PASS' if ratio <= 1.15 else 'OVER TARGET'}")
        print()
        ratio = paired(
            [r[0] for r in results["client, full pipeline"]],
            [r[0] for r in results["bare httpx + json()"]],
            "full pipeline / bare",
        )
        verdicts.insert(0, f"paired {ratio:.2f}x {'PASS' if ratio <= 1.15 else 'OVER TARGET'}")
        verdict = "; ".join(verdicts)
        print(f"\nverdict (full pipeline wall <= 1.15x bare on a cache miss): {verdict}")
        for closable in (bare, plain, full):
            closable.close()


if __name__ == "__main__":
    main()
