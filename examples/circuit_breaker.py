"""The circuit breaker: an outage opens it, calls fail fast, one probe, and it closes again.

Runs against the bundled MaintainX simulator, in process: no API key, no network. The
breaker's reset timeout is shortened from 30 s to 1 s so the example takes seconds.
"""

from __future__ import annotations

import time

from maintainx_resilient import (
    BreakerConfig,
    BreakerStateChanged,
    CircuitOpenError,
    Event,
    MaintainXClient,
    ServerError,
)
from maintainx_resilient.testing import Simulator

RESET = 1.0


def show_transition(event: Event) -> None:
    if isinstance(event, BreakerStateChanged):
        print(f"  breaker {event.scope}: {event.old} -> {event.new}")


def call(client: MaintainXClient, sim: Simulator) -> None:
    before, started = sim.stats.requests_total, time.perf_counter()
    try:
        client.work_orders.get(3)
        outcome = "200 OK"
    except (ServerError, CircuitOpenError) as exc:
        outcome = f"{type(exc).__name__}"
        if isinstance(exc, CircuitOpenError):
            outcome += f" (next probe in {exc.retry_after:.1f}s)"
    sent = sim.stats.requests_total - before
    ms = (time.perf_counter() - started) * 1000
    print(f"  GET /workorders/3 -> {outcome}, {sent} request(s) sent, {ms:.1f} ms")


def main() -> None:
    sim = Simulator(seed=5, work_orders=20, rate_limit=None)
    # One attempt per call (retry off) and no stale answers (fallback off), so each call
    # shows the breaker alone; the throttle is off because the simulator has no rate limit.
    with MaintainXClient(
        api_key=Simulator.API_KEY,
        transport=sim.transport(),
        breaker=BreakerConfig(fail_max=3, reset_timeout=RESET),
        retry=None,
        fallback=None,
        throttle=None,
        hooks=[show_transition],
    ) as client:
        print("MaintainX goes down (503 to everything):")
        sim.faults.outage()
        for _ in range(5):
            call(client, sim)

        print(f"after {RESET:g}s one probe is let through; MaintainX is still down:")
        time.sleep(RESET)
        call(client, sim)
        call(client, sim)

        print("MaintainX recovers; the next probe closes the breaker:")
        sim.faults.heal()
        time.sleep(RESET)
        call(client, sim)
        call(client, sim)
        assert client.policies.breakers is not None
        for scope, snap in client.policies.breakers.states().items():
            print(f"  {scope}: {snap.state}, {snap.failures} failures")


if __name__ == "__main__":
    main()
