"""Throttle goodput against the simulator's rate limit, over a real socket.

MaintainX's limit shape (100 requests per window per user, 500 per organization) on a 2 s
window instead of 60 s. Goodput is successful requests per second divided by the limit
(100 / 2 s); the target is >= 0.95 with at most 1% of the requests answered 429. A baseline
without the throttle runs beside it. Run: ``python bench/bench_throttle.py`` (about 20 s).
"""

from __future__ import annotations

import asyncio
import threading
import time
from dataclasses import dataclass

import httpx

from maintainx_resilient.policies.throttle import (
    AsyncThrottleLayer,
    Throttle,
    ThrottleConfig,
    ThrottleLayer,
)
from maintainx_resilient.testing import RateLimitConfig, Simulator

PER_USER = 100
PER_ORG = 500
WINDOW = 2.0
WINDOWS = 3
TARGET_GOODPUT = 0.95
MAX_429_SHARE = 0.01
HEADERS = {"Authorization": "Bearer sim-key"}
PATH = "/workorders"
PARAMS = {"limit": 1}


@dataclass
class Result:
    name: str
    ok: int
    rejected: int
    elapsed: float

    @property
    def goodput(self) -> float:
        return self.ok / self.elapsed / (PER_USER / WINDOW)

    @property
    def share_429(self) -> float:
        sent = self.ok + self.rejected
        return self.rejected / sent if sent else 0.0

    def line(self) -> str:
        return (
            f"{self.name:<34} ok={self.ok:>5} 429={self.rejected:>5} "
            f"elapsed={self.elapsed:5.2f}s rate={self.ok / self.elapsed:6.2f}/s "
            f"goodput={self.goodput:5.3f} 429-share={self.share_429:6.2%}"
        )


def simulator(headers: bool) -> Simulator:
    limits = RateLimitConfig(per_user=PER_USER, per_org=PER_ORG, window=WINDOW, headers=headers)
    return Simulator(seed=3, work_orders=5, rate_limit=limits)


def throttle() -> Throttle:
    # The library's defaults (safety_margin=1, burst=2, adaptive) on the shortened window.
    return Throttle(ThrottleConfig(per_user=PER_USER, per_org=PER_ORG, window=WINDOW))


def baseline(threads: int = 8, windows: int = 2) -> Result:
    """No throttle: threads send as fast as they can for whole windows of the simulator
    (aligned on them, so the run holds exactly ``windows`` budgets)."""
    sim = simulator(headers=True)
    counts = {200: 0, 429: 0}
    lock = threading.Lock()
    with sim.serve() as server, httpx.Client(base_url=server.base_url, headers=HEADERS) as client:
        # The simulator's windows start at multiples of WINDOW on time.monotonic().
        time.sleep(WINDOW - time.monotonic() % WINDOW + 0.001)
        deadline = time.monotonic() + windows * WINDOW - 0.002

        def work() -> None:
            while time.monotonic() < deadline:
                status = client.get(PATH, params=PARAMS).status_code
                with lock:
                    counts[status] = counts.get(status, 0) + 1

        start = time.monotonic()
        pool = [threading.Thread(target=work) for _ in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        elapsed = time.monotonic() - start
    return Result(f"baseline, no throttle, {threads} threads", counts[200], counts[429], elapsed)


def threaded(headers: bool, threads: int = 8) -> Result:
    """The throttle shared by threads; every request retried until it succeeds."""
    sim = simulator(headers)
    work = PER_USER * WINDOWS
    per_thread = work // threads
    counts = {"ok": 0, "rejected": 0}
    lock = threading.Lock()
    transport = ThrottleLayer(httpx.HTTPTransport(), throttle())
    with (
        sim.serve() as server,
        httpx.Client(base_url=server.base_url, transport=transport, headers=HEADERS) as client,
    ):

        def run() -> None:
            for _ in range(per_thread):
                while client.get(PATH, params=PARAMS).status_code == 429:
                    with lock:
                        counts["rejected"] += 1
                with lock:
                    counts["ok"] += 1

        start = time.monotonic()
        pool = [threading.Thread(target=run) for _ in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        elapsed = time.monotonic() - start
    label = f"throttle, {threads} threads, {'headers' if headers else 'no headers'}"
    return Result(label, counts["ok"], counts["rejected"], elapsed)


async def tasks(headers: bool, n: int = 50) -> Result:
    """The throttle shared by asyncio tasks pulling from one queue of work."""
    sim = simulator(headers)
    queue: asyncio.Queue[int] = asyncio.Queue()
    for item in range(PER_USER * WINDOWS):
        queue.put_nowait(item)
    counts = {"ok": 0, "rejected": 0}
    transport = AsyncThrottleLayer(httpx.AsyncHTTPTransport(), throttle())
    with sim.serve() as server:
        async with httpx.AsyncClient(
            base_url=server.base_url, transport=transport, headers=HEADERS
        ) as client:

            async def run() -> None:
                while not queue.empty():
                    queue.get_nowait()
                    while (await client.get(PATH, params=PARAMS)).status_code == 429:
                        counts["rejected"] += 1
                    counts["ok"] += 1

            start = time.monotonic()
            await asyncio.gather(*(run() for _ in range(n)))
            elapsed = time.monotonic() - start
    label = f"throttle, {n} tasks, {'headers' if headers else 'no headers'}"
    return Result(label, counts["ok"], counts["rejected"], elapsed)


def main() -> int:
    print(
        f"limit {PER_USER} per {WINDOW:g} s per user ({PER_USER / WINDOW:g}/s), "
        f"{PER_ORG} per organization; {WINDOWS} windows of work per throttled run"
    )
    base = baseline()
    print(base.line())
    runs = [threaded(headers=True), asyncio.run(tasks(headers=False))]
    for run in runs:
        print(run.line())
    worst_goodput = min(r.goodput for r in runs)
    worst_share = max(r.share_429 for r in runs)
    passed = worst_goodput >= TARGET_GOODPUT and worst_share <= MAX_429_SHARE
    print(
        f"VERDICT: {'PASS' if passed else 'FAIL'}: throttled goodput {worst_goodput:.3f} of the "
        f"limit (target >= {TARGET_GOODPUT}), 429s {worst_share:.2%} (target <= "
        f"{MAX_429_SHARE:.0%}); without the throttle {base.share_429:.1%} of requests got 429"
    )
    return 0 if passed else 1


if __name__ == "__main__":
    raise SystemExit(main())
