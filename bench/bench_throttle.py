"""What the throttle costs its users, against bare httpx in the same run, over real sockets.

1. **Latency while budget remains**: 20 sequential GETs against a fresh simulator with
   MaintainX's limits (100 per 60 s, headers on): bare httpx, httpx with the throttle layer,
   and the default ``MaintainXClient``. Target: the throttle <= 1.5x bare (median of rounds).
2. **A burst beyond the budget**: 150 requests from 8 threads at 100 per 60 s (the real
   window): the first 99 finish at once, the rest right after the reset; target <= 1% 429s
   and no failed operation.
3. **Goodput**: 8 threads and 50 tasks for three windows (100 per 10 s here, so the run
   takes half a minute), with and without X-Rate-Limit-* headers, beside a baseline without
   the throttle. Goodput = successful requests in the three windows / (3 x limit). Target
   >= 0.97 with <= 1% 429s.
4. **CPU per request in-process**: the throttle layer over a transport that answers at once,
   minus that transport alone (median of rounds). Target <= 20 us.

Run: ``python bench/bench_throttle.py`` (about two and a half minutes; ``--quick`` skips
part 2 and shortens part 3).
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import httpx

from maintainx_resilient import MaintainXClient
from maintainx_resilient._extensions import ROUTE_EXTENSION
from maintainx_resilient.policies.throttle import (
    AsyncThrottleLayer,
    Throttle,
    ThrottleConfig,
    ThrottleLayer,
)
from maintainx_resilient.testing import RateLimitConfig, Simulator

KEY = Simulator.API_KEY
HEADERS = {"Authorization": f"Bearer {KEY}"}
LIMIT = 100


# ---- 1. latency while budget remains -------------------------------------------------------


def sequential(rounds: int) -> bool:
    def timed(make: Callable[[str], Callable[[int], object]], ids: list[int]) -> float:
        simulator = Simulator(seed=3, work_orders=30)  # 100 per 60 s, headers on
        with simulator.serve() as server:
            call = make(server.base_url)
            for i in ids[:2]:  # warm-up: the connection
                call(i)
            start = time.perf_counter()
            for i in ids:
                call(i)
            elapsed = time.perf_counter() - start
        assert simulator.stats.rate_limited == 0
        return elapsed

    def bare(url: str) -> Callable[[int], object]:
        client = httpx.Client(base_url=url + "/", headers=HEADERS)
        return lambda i: client.get(f"workorders/{i}").json()

    def throttled(url: str) -> Callable[[int], object]:
        transport = ThrottleLayer(httpx.HTTPTransport(), Throttle())
        client = httpx.Client(base_url=url + "/", headers=HEADERS, transport=transport)
        return lambda i: client.get(f"workorders/{i}").json()

    def sdk(url: str) -> Callable[[int], object]:
        client = MaintainXClient(api_key=KEY, base_url=url)
        return lambda i: client.work_orders.get(i)

    ids = list(range(1, 21))
    contenders = {"bare httpx": bare, "httpx + throttle": throttled, "MaintainXClient": sdk}
    times: dict[str, list[float]] = {name: [] for name in contenders}
    for _ in range(rounds):
        for name, make in contenders.items():
            times[name].append(timed(make, ids))
    base = statistics.median(times["bare httpx"])
    print("1. 20 sequential GETs, 100 per 60 s announced (median of", rounds, "rounds)")
    for name, values in times.items():
        wall = statistics.median(values)
        print(f"   {name:18} {wall * 1000:7.1f} ms  {wall / base:5.2f}x")
    ratio = statistics.median(times["httpx + throttle"]) / base
    print(f"   verdict: throttle {ratio:.2f}x bare (target <= 1.5x)")
    return ratio <= 1.5


# ---- 2. a burst beyond the budget ----------------------------------------------------------


def burst() -> bool:
    simulator = Simulator(seed=3, work_orders=5)  # 100 per 60 s
    throttle = Throttle()
    finished: list[float] = []
    statuses: list[int] = []
    failures: list[BaseException] = []
    lock = threading.Lock()
    tickets = iter(range(150))
    with simulator.serve() as server, httpx.Client(
        base_url=server.base_url + "/",
        headers=HEADERS,
        transport=ThrottleLayer(httpx.HTTPTransport(), throttle),
    ) as client:  # fmt: skip
        start = time.monotonic()

        def worker() -> None:
            while True:
                with lock:
                    if next(tickets, None) is None:
                        return
                try:
                    status = client.get("workorders", params={"limit": 1}).status_code
                except Exception as exc:  # counted, not raised: the verdict says
                    with lock:
                        failures.append(exc)
                    continue
                with lock:
                    statuses.append(status)
                    finished.append(time.monotonic() - start)

        threads = [threading.Thread(target=worker) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    first_second = sum(1 for t in finished if t <= 1.0)
    rejected = statuses.count(429)
    later = sorted(t for t in finished if t > 1.0)
    reset_at = 60.0 - start % 60.0  # the simulator's windows start at multiples of 60 s
    print("2. 150 requests from 8 threads at 100 per 60 s")
    print(
        f"   {first_second} finished within 1 s; the other {len(later)} from "
        f"{later[0] if later else 0:.2f} s to {later[-1] if later else 0:.2f} s "
        f"(the window reset {reset_at:.2f} s after the start); 429s {rejected}, "
        f"failed operations {len(failures)}"
    )
    ok = rejected <= 1 and not failures and first_second >= 90
    print(f"   verdict: {'PASS' if ok else 'FAIL'} (target <= 1% 429s, 0 failed)")
    return ok


# ---- 3. goodput ----------------------------------------------------------------------------


@dataclass
class Goodput:
    name: str
    ok: int
    rejected: int
    windows: int

    @property
    def goodput(self) -> float:
        return self.ok / (self.windows * LIMIT)

    @property
    def share_429(self) -> float:
        sent = self.ok + self.rejected
        return self.rejected / sent if sent else 0.0

    def line(self) -> str:
        return (
            f"   {self.name:34} ok={self.ok:>4} 429={self.rejected:>4} "
            f"goodput={self.goodput:5.3f} 429-share={self.share_429:6.2%}"
        )


def served(window: float, headers: bool) -> Simulator:
    limits = RateLimitConfig(per_user=LIMIT, per_org=5 * LIMIT, window=window, headers=headers)
    return Simulator(seed=3, work_orders=5, rate_limit=limits)


def aligned(window: float) -> float:
    """Wait for the start of the simulator's next window; return its end after `windows`."""
    time.sleep(window - time.monotonic() % window + 0.001)
    return time.monotonic()


def threads_run(window: float, windows: int, headers: bool, throttled: bool) -> Goodput:
    simulator = served(window, headers)
    counts = {200: 0, 429: 0}
    lock = threading.Lock()
    config = ThrottleConfig(per_user=LIMIT, per_org=5 * LIMIT, window=window)
    transport: httpx.BaseTransport = httpx.HTTPTransport()
    if throttled:
        transport = ThrottleLayer(transport, Throttle(config))
    with simulator.serve() as server, httpx.Client(
        base_url=server.base_url + "/", headers=HEADERS, transport=transport
    ) as client:  # fmt: skip
        deadline = aligned(window) + windows * window

        def worker() -> None:
            while time.monotonic() < deadline:
                status = client.get("workorders", params={"limit": 1}).status_code
                if time.monotonic() < deadline:
                    with lock:
                        counts[status] = counts.get(status, 0) + 1

        pool = [threading.Thread(target=worker) for _ in range(8)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
    kind = "throttle" if throttled else "no throttle"
    label = f"{kind}, 8 threads, {'headers' if headers else 'no headers'}"
    return Goodput(label, counts[200], counts[429], windows)


async def tasks_run(window: float, windows: int, headers: bool) -> Goodput:
    simulator = served(window, headers)
    counts = {200: 0, 429: 0}
    config = ThrottleConfig(per_user=LIMIT, per_org=5 * LIMIT, window=window)
    transport = AsyncThrottleLayer(httpx.AsyncHTTPTransport(), Throttle(config))
    with simulator.serve() as server:
        async with httpx.AsyncClient(
            base_url=server.base_url + "/", headers=HEADERS, transport=transport
        ) as client:
            await asyncio.sleep(window - time.monotonic() % window + 0.001)
            deadline = time.monotonic() + windows * window

            async def worker() -> None:
                while time.monotonic() < deadline:
                    status = (await client.get("workorders", params={"limit": 1})).status_code
                    if time.monotonic() < deadline:
                        counts[status] = counts.get(status, 0) + 1

            await asyncio.gather(*(worker() for _ in range(50)))
    label = f"throttle, 50 tasks, {'headers' if headers else 'no headers'}"
    return Goodput(label, counts[200], counts[429], windows)


def goodput(window: float) -> bool:
    windows = 3
    print(f"3. goodput over {windows} windows of {window:g} s at {LIMIT} per window")
    print(threads_run(window, windows, headers=True, throttled=False).line())
    runs = [
        threads_run(window, windows, headers=True, throttled=True),
        threads_run(window, windows, headers=False, throttled=True),
        asyncio.run(tasks_run(window, windows, headers=True)),
        asyncio.run(tasks_run(window, windows, headers=False)),
    ]
    for run in runs:
        print(run.line())
    worst = min(r.goodput for r in runs)
    share = max(r.share_429 for r in runs)
    ok = worst >= 0.97 and share <= 0.01
    print(
        f"   verdict: {'PASS' if ok else 'FAIL'}: worst goodput {worst:.3f} (target >= 0.97), "
        f"worst 429 share {share:.2%} (target <= 1%)"
    )
    return ok


# ---- 4. CPU per request --------------------------------------------------------------------


def cpu_cost(rounds: int = 30, requests: int = 400) -> bool:
    answer = httpx.Response(
        200,
        headers={
            "X-Rate-Limit-Limit": "100000",
            "X-Rate-Limit-Remaining": "90000",
            "X-Rate-Limit-Reset": "50",
        },
    )

    class Instant(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            return answer

    # as the client sends it: every operation carries its route template
    request = httpx.Request(
        "GET",
        "https://api.example/v1/workorders",
        headers=HEADERS,
        extensions={ROUTE_EXTENSION: "/workorders"},
    )

    def per_request(transport: httpx.BaseTransport) -> float:
        # CPU time of this thread: what the throttle costs, not what other processes take
        start = time.thread_time()
        for _ in range(requests):
            transport.handle_request(request)
        return (time.thread_time() - start) / requests

    bare, layered = [], []
    config = ThrottleConfig(per_user=100_000)  # the organization's 500 stays far away
    for _ in range(rounds):
        bare.append(per_request(Instant()))
        layered.append(per_request(ThrottleLayer(Instant(), Throttle(config))))
    # the least of the rounds: other work on the machine only ever adds CPU time (timeit's rule)
    cost = (min(layered) - min(bare)) * 1e6
    print(f"4. throttle CPU per request in-process: {cost:.1f} us (target <= 20 us)")
    return cost <= 20.0


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="skip part 2, 2 s windows in 3")
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    verdicts = [sequential(args.rounds)]
    if not args.quick:
        verdicts.append(burst())
    verdicts.append(goodput(2.0 if args.quick else 10.0))
    verdicts.append(cpu_cost())
    print("VERDICT:", "PASS" if all(verdicts) else "FAIL (see above)")
    return 0 if all(verdicts) else 1


if __name__ == "__main__":
    raise SystemExit(main())
