"""Instructions per GET, counted by valgrind's callgrind: a measure other work cannot move.

Wall and CPU time on a shared 2-core machine swing by 15 % or more from run to run, more than
the differences being looked for (``bench_pipeline.py`` has seen "policies off" at 0.85x of
bare httpx). callgrind counts the instructions the process executes, the same whatever else
runs. It measures our CPU, not the network or the server: what the client adds.

Each contender runs in its own process under callgrind twice, sending ``--small`` and then
``--large`` ``GET /workorders/{id}`` through an in-process transport that answers at once
with a fixed body and rate-limit headers; the difference over ``large - small`` is one GET,
with start-up and imports cancelled out. Contenders: bare ``httpx.Client`` +
``response.json()``; ``MaintainXClient`` with every policy off; the full default pipeline;
with ``--each``, the full pipeline without one policy at a time (what that policy costs).

Needs valgrind (says so and exits 0 without it). About 1 minute a contender.

Usage: python bench/bench_instructions.py [--small N] [--large N] [--each]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

POLICIES = ("throttle", "fallback", "breaker", "retry")
BODY = json.dumps({"workOrder": {"id": 1, "title": "Inspect pump", "status": "OPEN"}}).encode()
HEADERS = {
    "content-type": "application/json",
    "content-length": str(len(BODY)),
    "x-rate-limit-limit": "100000",
    "x-rate-limit-remaining": "90000",
    "x-rate-limit-reset": "50",
}


def workload(contender: str) -> Callable[[int], object]:
    """One GET of ``contender``, as a function of the work order id."""
    import httpx

    from maintainx_resilient import MaintainXClient, ThrottleConfig
    from maintainx_resilient.testing import Simulator

    class Instant(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            return httpx.Response(200, headers=HEADERS, content=BODY, request=request)

    key, base = Simulator.API_KEY, "https://api.example.test/v1"
    if contender == "bare":
        bare = httpx.Client(
            base_url=base + "/", transport=Instant(), headers={"Authorization": f"Bearer {key}"}
        )
        return lambda i: bare.get(f"workorders/{i}").json()
    # limits far above the request count: the throttle decides on every request, never waits
    options: dict[str, object] = {"throttle": ThrottleConfig(per_user=10**9, per_org=10**9)}
    if contender == "plain":
        options = dict.fromkeys(POLICIES)
    elif contender.startswith("no "):
        options[contender[3:]] = None
    client = MaintainXClient(api_key=key, base_url=base, transport=Instant(), **options)  # type: ignore[arg-type]
    return client.work_orders.get


def count(contender: str, requests: int) -> int:
    """Instructions of a whole process that sends ``requests`` GETs."""
    command = ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null"]
    command += [sys.executable, __file__, "--worker", contender, str(requests)]
    done = subprocess.run(command, capture_output=True, text=True, check=True)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise RuntimeError(f"no instruction count from callgrind:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def per_request(contender: str, small: int, large: int) -> float:
    return (count(contender, large) - count(contender, small)) / (large - small)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--small", type=int, default=200)
    parser.add_argument("--large", type=int, default=1200)
    parser.add_argument("--each", action="store_true", help="also each policy switched off")
    parser.add_argument("--worker", nargs=2, help=argparse.SUPPRESS)
    args, _ = parser.parse_known_args()  # nox passes every bench the same arguments
    if args.worker:
        contender, requests = args.worker[0], int(args.worker[1])
        get = workload(contender)
        for i in range(requests):
            get(i)
        return 0
    if shutil.which("valgrind") is None:
        print("valgrind is not installed: no instruction counts (apt install valgrind)")
        return 0
    contenders = ["bare", "plain", "full"] + ([f"no {p}" for p in POLICIES] if args.each else [])
    with ThreadPoolExecutor(2) as pool:  # the counts do not depend on what runs beside
        costs = dict(
            zip(
                contenders,
                pool.map(lambda c: per_request(c, args.small, args.large), contenders),
                strict=True,
            )
        )
    bare, full = costs["bare"], costs["full"]
    print(f"instructions per GET (callgrind, {args.large - args.small} GETs, in-process answer)")
    print(f"{'contender':24} {'instructions':>13} {'x bare':>7} {'added':>9}")
    for name, cost in costs.items():
        label = {"bare": "bare httpx + json()", "plain": "client, policies off"}.get(name, name)
        label = "client, full pipeline" if name == "full" else label
        print(f"{label:24} {cost:>13,.0f} {cost / bare:>7.2f} {cost - bare:>+9,.0f}")
    for policy in POLICIES:
        if f"no {policy}" in costs:
            print(f"  the {policy} costs {full - costs[f'no {policy}']:,.0f} instructions a GET")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
