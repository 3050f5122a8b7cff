"""Paging 100,000 work orders: MaintainXClient vs a bare httpx.Client loop, same run.

The bare loop sends the same requests and calls ``response.json()``; the client also
validates every record into a ``WorkOrder`` model. Both talk to the simulator running in
another process over a real socket. Reported: wall and CPU time per round (median and least of
rounds, alternating), the ratios (target: client <= 1.3x bare, models included), and the client's
peak Python memory for 10% vs 100% of the records (flat means constant memory).

Each round pages ``--per-round`` records (default: all of them, the 100,000 the target is
about; shorter rounds measure less: the garbage collector's work grows with what a walk
promotes to the oldest generation, and the client builds models where bare httpx builds
dicts) with every contender back to back, in an order that rotates. The verdict
is the median of the rounds' *paired* ratios (a contender's time over bare httpx's in the
same round), which load drifting over seconds on this 2-core machine moves less than it
moves either time alone.

Usage: python bench/bench_client.py [--records N] [--per-round N] [--rounds R]
"""

from __future__ import annotations

import argparse
import time
import tracemalloc
from collections.abc import Callable

import httpx
from _paired import PICKS, paired, rotation, rounds_table

from maintainx_resilient import MaintainXClient, ThrottleConfig
from maintainx_resilient.testing import Simulator, simulator_process

KEY = Simulator.API_KEY


def bare_loop(base_url: str, limit: int | None = None) -> int:
    count = 0
    with httpx.Client(base_url=base_url + "/", headers={"Authorization": f"Bearer {KEY}"}) as http:
        cursor: str | None = None
        while True:
            params: dict[str, str | int] = {"limit": 200}
            if cursor:
                params["cursor"] = cursor
            body = http.get("workorders", params=params).json()
            count += len(body["workOrders"])
            cursor = body.get("nextCursor")
            if not cursor or (limit and count >= limit):
                return count


def client_loop(base_url: str, limit: int | None = None, **kwargs: object) -> int:
    count = 0
    with MaintainXClient(api_key=KEY, base_url=base_url, **kwargs) as client:  # type: ignore[arg-type]
        for _wo in client.work_orders.iter(limit=200):
            count += 1
            if limit and count >= limit:
                break
    return count


def measure(fn: Callable[[], int]) -> tuple[float, float, int]:
    wall, cpu = time.perf_counter(), time.process_time()
    n = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, n


def peak_memory(fn: Callable[[], int]) -> int:
    tracemalloc.start()
    fn()
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--records", type=int, default=100_000)
    parser.add_argument("--per-round", type=int, default=None, help="default: every record")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    print(f"starting the simulator with {args.records} work orders (in its own process)...")
    with simulator_process(work_orders=args.records) as url:
        runs: dict[str, list[tuple[float, float, int]]] = {
            "bare httpx + json()": [],
            "MaintainXClient (models, no policies)": [],
            "MaintainXClient (full pipeline)": [],
        }
        each = min(args.per_round or args.records, args.records)
        contenders: dict[str, Callable[[], int]] = {
            "bare httpx + json()": lambda: bare_loop(url, each),
            "MaintainXClient (models, no policies)": lambda: client_loop(
                url, each, throttle=None, retry=None, breaker=None, fallback=None
            ),
            # The throttle decides on every request but is given limits it never reaches:
            # this measures its cost, not MaintainX's rate limit (see bench_throttle.py).
            "MaintainXClient (full pipeline)": lambda: client_loop(
                url, each, throttle=ThrottleConfig(per_user=10**9, per_org=10**9)
            ),
        }
        for fn in contenders.values():  # warm up: connections, imports, schema builds
            fn()
        names = list(contenders)
        for round_ in range(args.rounds):
            for name in rotation(names, round_):
                runs[name].append(measure(contenders[name]))
        verdicts = []
        print(f"\n{each} records per round")
        for label, pick in PICKS:
            ratios = rounds_table(runs, "bare httpx + json()", label, pick, unit="s", scale=1.0)
            ratio = ratios["MaintainXClient (models, no policies)"]
            verdicts.append(f"{label} {ratio:.2f}x {'PASS' if ratio <= 1.3 else 'OVER TARGET'}")
        bare_runs = [r[0] for r in runs["bare httpx + json()"]]
        for name in names[1:]:
            ratio = paired([r[0] for r in runs[name]], bare_runs, f"{name} / bare")
            if name == "MaintainXClient (models, no policies)":
                verdict = "PASS" if ratio <= 1.3 else "OVER TARGET"
                verdicts.insert(0, f"paired {ratio:.2f}x {verdict}")
        quiet = {"throttle": None, "fallback": None}  # no pacing; no cache storing pages
        small = peak_memory(lambda: client_loop(url, args.records // 10, **quiet))
        large = peak_memory(lambda: client_loop(url, args.records, **quiet))
        print(
            f"\npeak memory while iterating: {small / 1e6:.1f} MB for {args.records // 10}"
            f" records, {large / 1e6:.1f} MB for {args.records} (ratio {large / small:.2f};"
            " flat = constant memory; the fallback cache is off here because it stores pages"
            " by design)"
        )
        print(f"verdict (client with models <= 1.3x bare, wall): {'; '.join(verdicts)}")


if __name__ == "__main__":
    main()
