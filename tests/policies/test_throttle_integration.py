"""The throttle over real sockets against the simulator.

- With the simulator's real 60 s windows (its defaults: 100 per user, headers on), a client
  spends the announced budget: sequential calls and a 20-way gather never wait, and a
  150-call script waits exactly once, for the reset, without a single 429 (the clock is a
  FakeClock shared by the client and the simulator, so the reset costs no real time).
- With the limit's shape on a 2 s window and the real clock, 8 threads or 50 tasks sharing
  one throttle finish their work at the limit's rate with at most a handful of 429s, with
  and without X-Rate-Limit-* headers.
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

from maintainx_resilient import (
    AsyncMaintainXClient,
    MaintainXClient,
    RateLimitError,
    ThrottledError,
    ThrottleWaited,
    ThrottleWarning,
)
from maintainx_resilient._clock import FakeClock
from maintainx_resilient._events import Event
from maintainx_resilient.policies.throttle import (
    AsyncThrottleLayer,
    Throttle,
    ThrottleConfig,
    ThrottleLayer,
)
from maintainx_resilient.testing import RateLimitConfig, Simulator

pytestmark = pytest.mark.socket

KEY = Simulator.API_KEY


def waits(events: list[Event]) -> list[ThrottleWaited]:
    return [e for e in events if isinstance(e, ThrottleWaited)]


# ---- MaintainX's own windows ---------------------------------------------------------------


def test_sequential_calls_on_the_default_simulator_never_wait() -> None:
    """20 sequential GETs through a default client: the simulator announces its budget,
    the throttle spends it, nothing waits and nothing is refused."""
    simulator = Simulator(seed=3, work_orders=30)
    seen: list[Event] = []
    with (
        simulator.serve() as server,
        MaintainXClient(
            api_key=KEY, base_url=server.base_url, hooks=[seen.append], breaker=None
        ) as client,
    ):
        ids = [wo.id for wo in client.work_orders.list(limit=20).items]
        for id_ in ids:
            assert client.work_orders.get(id_).id == id_
    assert waits(seen) == []
    assert simulator.stats.rate_limited == 0


async def test_a_twenty_way_gather_on_the_default_simulator_never_waits() -> None:
    simulator = Simulator(seed=3, work_orders=30)
    seen: list[Event] = []
    with simulator.serve() as server:
        async with AsyncMaintainXClient(
            api_key=KEY, base_url=server.base_url, hooks=[seen.append]
        ) as client:
            page = await client.work_orders.list(limit=20)
            got = await asyncio.gather(*(client.work_orders.get(wo.id) for wo in page.items))
    assert [wo.id for wo in got] == [wo.id for wo in page.items]
    assert waits(seen) == []
    assert simulator.stats.rate_limited == 0


@pytest.mark.parametrize("asynchronous", [False, True], ids=["sync", "async"])
async def test_a_long_script_waits_once_for_the_reset_and_gets_no_429(asynchronous: bool) -> None:
    """150 calls in 60 s windows of 100: the first 99 go at once (one is the margin), one
    wait for the reset, the rest at once; no 429. Time is a FakeClock shared with the
    simulator (its windows start at multiples of 60 s: the run starts 20 s into one)."""
    clock = FakeClock(start=1000.0)
    simulator = Simulator(seed=3, work_orders=5, clock=clock)
    seen: list[Event] = []
    with simulator.serve() as server:
        options = {"api_key": KEY, "base_url": server.base_url, "hooks": [seen.append]}
        if asynchronous:
            async with AsyncMaintainXClient(clock=clock, **options) as aclient:  # type: ignore[arg-type]
                for _ in range(150):
                    await aclient.organizations.list(limit=1)
        else:
            with MaintainXClient(clock=clock, **options) as client:  # type: ignore[arg-type]
                for _ in range(150):
                    client.organizations.list(limit=1)
    assert simulator.stats.rate_limited == 0
    waited = waits(seen)
    first_window_end = 1020.0  # the window [960, 1020) was partly gone when the run began
    assert len(waited) == 1
    assert waited[0].reason == "remaining"
    assert clock.monotonic() == pytest.approx(first_window_end, abs=0.5)


# ---- a short window, many callers, real time -----------------------------------------------

LIMIT = 20  # per user and window, as 100 per 60 s but faster
ORG_LIMIT = 100
WINDOW = 2.0  # whole-second resets need a window of two seconds or more to be read
WINDOWS = 2
HANDFUL = 3  # 429s tolerated (network jitter at a window's edge)
HEADERS = {"Authorization": f"Bearer {KEY}"}


def throttle_config() -> ThrottleConfig:
    return ThrottleConfig(per_user=LIMIT, per_org=ORG_LIMIT, window=WINDOW)


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


def check(done: int, rejected: int, elapsed: float, served: Served, work: int) -> None:
    ratio = done / elapsed / (LIMIT / WINDOW)
    print(f"done={done} 429s={rejected} elapsed={elapsed:.2f}s ratio={ratio:.3f}")
    assert done == work
    assert rejected <= HANDFUL
    assert served.simulator.stats.rate_limited == rejected
    # the work is two windows' budget (less the margin): it ends in the second window
    assert elapsed <= (WINDOWS + 0.25) * WINDOW


def test_eight_threads_share_the_limit(served: Served) -> None:
    throttle = Throttle(throttle_config())
    work = (LIMIT - 1) * WINDOWS
    tickets = iter(range(work))
    lock = threading.Lock()
    rejected = itertools.count()
    done = itertools.count()
    transport = ThrottleLayer(httpx.HTTPTransport(), throttle)
    with httpx.Client(base_url=served.base_url, transport=transport, headers=HEADERS) as client:

        def worker() -> None:
            while True:
                with lock:
                    if next(tickets, None) is None:
                        return
                while (status := client.get("/workorders", params={"limit": 1}).status_code) == 429:
                    next(rejected)
                assert status == 200
                next(done)

        threads = [threading.Thread(target=worker) for _ in range(8)]
        start = time.monotonic()
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        elapsed = time.monotonic() - start
    check(next(done), next(rejected), elapsed, served, work)


async def test_fifty_tasks_share_the_limit(served: Served) -> None:
    throttle = Throttle(throttle_config())
    work = (LIMIT - 1) * WINDOWS
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
    check(counts["done"], counts["rejected"], elapsed, served, work)


# ---- a poisoned answer through the client, and the mitigation ------------------------------


def test_a_poisoned_answer_is_warned_logged_and_cleared_by_the_mitigation(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A 429 with Retry-After 999999: the client warns (event, WARNING log, timeline), the
    next call is refused locally within max_block instead of for 11 days, and
    reset_throttle() lets it through at once, recorded on the incident timeline."""
    answers = iter([httpx.Response(429, headers={"Retry-After": "999999"}, json={"error": "x"})])

    def handler(request: httpx.Request) -> httpx.Response:
        return next(answers, None) or httpx.Response(200, json={"organizations": []})

    seen: list[Event] = []
    clock = FakeClock()
    with MaintainXClient(
        api_key="k", transport=httpx.MockTransport(handler), clock=clock, retry=None,
        hooks=[seen.append],
    ) as client:  # fmt: skip
        with (
            caplog.at_level("WARNING", logger="maintainx_resilient"),
            pytest.raises(RateLimitError),
        ):
            client.organizations.list(limit=1)
        assert [e.detail for e in seen if isinstance(e, ThrottleWarning)] == [
            "asked to wait 999999 s; waiting 120 s, then probing"
        ]
        assert "not taken at its word" in caplog.text
        with pytest.raises(ThrottledError) as refused:
            client.organizations.list(limit=1)
        assert refused.value.retry_after is not None and refused.value.retry_after <= 120.0
        client.reset_throttle()
        client.organizations.list(limit=1)
        texts = [entry.text for entry in client.incident.timeline.entries()]
    assert any("Rate limit of key:" in text for text in texts)
    assert any("reset_throttle" in text for text in texts)
