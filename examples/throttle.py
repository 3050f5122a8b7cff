"""The throttle: 8 threads share one rate limit without hammering MaintainX into 429s.

The simulator enforces MaintainX's rate limit over a real socket, with the window shortened
from 100 requests / 60 s to 20 requests / 2 s so the example takes seconds; the client's
ThrottleConfig is told the same numbers. A bare httpx loop is shown first, for contrast.
The throttle spends the budget the simulator announces at once and queues the rest for
the window's reset.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import httpx

from maintainx_resilient import Event, MaintainXClient, ThrottleConfig, ThrottleWaited
from maintainx_resilient.testing import RateLimitConfig, Simulator

PER_USER, WINDOW, CALLS, THREADS = 20, 2.0, 50, 8


def main() -> None:
    sim = Simulator(
        seed=3,
        work_orders=200,
        rate_limit=RateLimitConfig(per_user=PER_USER, per_org=5 * PER_USER, window=WINDOW),
    )
    with sim.serve() as server:
        with httpx.Client(
            base_url=server.base_url + "/",
            headers={"Authorization": f"Bearer {Simulator.API_KEY}"},
        ) as bare:
            statuses = [bare.get("workorders", params={"limit": 1}).status_code for _ in range(30)]
        print(f"bare httpx, 30 requests at once: {statuses.count(429)} x 429")
        time.sleep(WINDOW)  # let the simulator's window reset
        sim.reset_stats()

        waits: list[float] = []

        def on_event(event: Event) -> None:
            if isinstance(event, ThrottleWaited):
                waits.append(event.wait)

        throttle = ThrottleConfig(per_user=PER_USER, per_org=5 * PER_USER, window=WINDOW)
        with MaintainXClient(
            api_key=Simulator.API_KEY,
            base_url=server.base_url,
            throttle=throttle,
            hooks=[on_event],
        ) as client:
            started = time.perf_counter()
            with ThreadPoolExecutor(THREADS) as pool:
                pages = list(pool.map(lambda _: client.work_orders.list(limit=5), range(CALLS)))
            elapsed = time.perf_counter() - started
            assert client.policies.throttle is not None
            key_scope = next(
                s for s in client.policies.throttle.snapshot().scopes if s.scope.startswith("key:")
            )

    print(
        f"client, {THREADS} threads x {CALLS} calls: {len(pages)} answered in {elapsed:.1f}s, "
        f"{sim.stats.rate_limited} x 429 from the server"
    )
    print(
        f"throttle: the announced budget spent at once, {len(waits)} waits for a window's "
        f"reset (longest {max(waits):.1f}s); {key_scope.granted} granted against "
        f"{PER_USER} per {WINDOW:.0f}s, one per window kept spare"
    )


if __name__ == "__main__":
    main()
