"""Retries: 503s then success; the last real error with its attempts; a POST never resent.

Runs against the bundled MaintainX simulator, in process: no API key, no network. The
retry policy is the default one (3 attempts, 0.5 s x 2^n backoff with jitter).
"""

from __future__ import annotations

from maintainx_resilient import (
    Event,
    MaintainXClient,
    RetryScheduled,
    ServerError,
)
from maintainx_resilient.testing import Simulator


def show_retry(event: Event) -> None:
    if isinstance(event, RetryScheduled):
        print(
            f"  retry: {event.method} {event.route} attempt {event.attempt} failed "
            f"({event.reason}), next in {event.delay:.2f}s"
        )


def main() -> None:
    sim = Simulator(seed=4, work_orders=50, rate_limit=None)
    # Only the retry policy is on: the simulator has no rate limit (no throttle needed), the
    # fallback cache would answer a GET seen before stale instead of raising, and the
    # breaker would open after five failures in a row (see circuit_breaker.py).
    with MaintainXClient(
        api_key=Simulator.API_KEY,
        transport=sim.transport(),
        throttle=None,
        fallback=None,
        breaker=None,
        hooks=[show_retry],
    ) as client:
        print("two 503s, then MaintainX answers:")
        sim.faults.fail_next(2, status=503)
        wo = client.work_orders.get(7)
        print(f"  got #{wo.id} {wo.title!r} after {sim.stats.requests_total} attempts")

        print("MaintainX keeps failing:")
        sim.faults.fail_next(5, status=503, path="/workorders/8")
        try:
            client.work_orders.get(8)
        except ServerError as exc:
            print(
                f"  {type(exc).__name__} {exc.status_code}: attempts={exc.attempts}, "
                f"waited={exc.waited:.2f}s, message={exc.message!r}"
            )
        sim.faults.heal()

        print("a create (POST) that gets a 503:")
        sim.reset_stats()
        sim.faults.fail_next(1, status=503, method="POST")
        try:
            client.work_orders.create(title="Inspect boiler")
        except ServerError as exc:
            sent = sim.stats.route("POST", "/workorders")
            print(
                f"  {type(exc).__name__}: attempts={exc.attempts}, POSTs that reached "
                f"MaintainX: {sent} (no idempotency key: a resend could duplicate it)"
            )
        print("the same create marked idempotent=True (a duplicate would be harmless):")
        sim.reset_stats()
        sim.faults.fail_next(1, status=503, method="POST")
        new_id = client.work_orders.create(title="Inspect boiler", idempotent=True)
        sent = sim.stats.route("POST", "/workorders")
        print(f"  created #{new_id}; POSTs that reached MaintainX: {sent}")


if __name__ == "__main__":
    main()
