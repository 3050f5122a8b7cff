"""Against the simulator over a real socket, with MaintainX's limit shape on a 1 s window,
8 threads or 50 tasks sharing one throttle finish all their work at the limit's rate
(within 10%) with at most a handful of 429s, with and without X-Rate-Limit-* headers.

The clock is the real one here: the simulator's windows are real time.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest

from maintainx_resilient.policies.throttle import (
    AsyncThrottleLayer,
    Throttle,
    ThrottleConfig,
    ThrottleLayer,
)
from maintainx_resilient.testing import RateLimitConfig, Simulator

pytestmark = pytest.mark.socket

LIMIT = 20  # per user and window, as 100 per 60 s but faster
ORG_LIMIT = 100
WINDOW = 1.0
WINDOWS = 3  # about three windows of work per test
HANDFUL = 3  # 429s tolerated (network jitter at a window's edge)
HEADERS = {"Authorization": "Bearer sim-key"}


def throttle_config() -> ThrottleConfig:
    # burst=1: at 20 requests a window every burst request costs 5% of the steady rate.
    return ThrottleConfig(per_user=LIMIT, per_org=ORG_LIMIT, window=WINDOW, burst=1)


@dataclass
class Served:
    simulator: Simulator
    base_url: str


@pytest.fixture(params=[True, False], ids=["headers", "no-headers"])
def served(request: pytest.FixtureRequest) -> Iterator[Served]:
    limits = RateLimitConfig(
        per_user=LIMIT, per_org=ORG_LIMIT, window=WINDOW, headers=bool(request.param)
    )
    simulator = Simulator(seed=7, work_orders=5, rate_limit=limits)
    with simulator.serve() as server:
        yield Served(simulator, server.base_url)


@dataclass
class Outcome:
    done: int
    rejected: int
    elapsed: float

    @property
    def rate(self) -> float:
        return self.done / self.elapsed


def check(outcome: Outcome, served: Served, work: int) -> None:
    ratio = outcome.rate / (LIMIT / WINDOW)
    print(
        f"done={outcome.done} 429s={outcome.rejected} elapsed={outcome.elapsed:.2f}s "
        f"rate={outcome.rate:.2f}/s ratio={ratio:.3f}"
    )
    assert outcome.done == work
    assert outcome.rejected <= HANDFUL
    assert served.simulator.stats.rate_limited == outcome.rejected
    assert 0.9 <= ratio <= 1.1


def test_eight_threads_share_the_limit(served: Served) -> None:
    throttle = Throttle(throttle_config())
    per_thread = LIMIT * WINDOWS // 8 + 1
    rejected = itertools.count()
    done = itertools.count()
    transport = ThrottleLayer(httpx.HTTPTransport(), throttle)
    with httpx.Client(base_url=served.base_url, transport=transport, headers=HEADERS) as client:

        def work() -> None:
            for _ in range(per_thread):
                while (status := client.get("/workorders", params={"limit": 1}).status_code) == 429:
                    next(rejected)
                assert status == 200
                next(done)

        threads = [threading.Thread(target=work) for _ in range(8)]
        start = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - start
    check(Outcome(next(done), next(rejected), elapsed), served, 8 * per_thread)


async def test_fifty_tasks_share_the_limit(served: Served) -> None:
    throttle = Throttle(throttle_config())
    work = LIMIT * WINDOWS
    queue: asyncio.Queue[int] = asyncio.Queue()
    for item in range(work):
        queue.put_nowait(item)
    counts = {"done": 0, "rejected": 0}
    transport = AsyncThrottleLayer(httpx.AsyncHTTPTransport(), throttle)
    async with httpx.AsyncClient(
        base_url=served.base_url, transport=transport, headers=HEADERS
    ) as client:

        async def worker() -> None:
            while not queue.empty():
                queue.get_nowait()
                while True:
                    response = await client.get("/workorders", params={"limit": 1})
                    if response.status_code != 429:
                        break
                    counts["rejected"] += 1
                assert response.status_code == 200
                counts["done"] += 1

        start = time.monotonic()
        await asyncio.gather(*(worker() for _ in range(50)))
        elapsed = time.monotonic() - start
    check(Outcome(counts["done"], counts["rejected"], elapsed), served, work)
