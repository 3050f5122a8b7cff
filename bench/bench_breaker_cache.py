"""Benchmark: what the circuit breaker and the fallback cache cost, against a plain GET.

Runs the MaintainX simulator on a loopback socket and measures, in the same run:

- baseline: a plain GET to the simulator through the full fallback -> breaker -> HTTP stack
  (breaker closed, the answer parsed and committed to the cache, as the client does);
- fail fast: a GET refused by the open breaker (CircuitOpenError, nothing sent);
- stale: a GET answered stale from the cache because the breaker is open;
- fallback mode: a GET answered from the cache with fallback mode on (nothing sent);
- the layers alone: ``Breakers.admit`` on an open breaker, and the fallback-mode lookup
  called directly, without httpx.Client around them.

Prints p50/p99 in microseconds and each as a ratio of the baseline p50.

    python bench/bench_breaker_cache.py [--rounds 2000]
"""

from __future__ import annotations

import argparse
import gc
import statistics
import time
from collections.abc import Callable

import httpx

from maintainx_resilient._clock import FakeClock
from maintainx_resilient._exceptions import CircuitOpenError
from maintainx_resilient._http import HTTPLayer
from maintainx_resilient._meta import meta_of
from maintainx_resilient.policies.breaker import BreakerConfig, BreakerLayer, Breakers
from maintainx_resilient.policies.fallback import (
    FallbackCache,
    FallbackConfig,
    FallbackLayer,
    commit,
)
from maintainx_resilient.testing import Simulator


def measure(fn: Callable[[], object], rounds: int) -> list[float]:
    for _ in range(min(200, rounds)):  # warm up connections, caches, branch predictors
        fn()
    gc.collect()
    gc.freeze()  # a full collection of the heap is not what is measured here
    samples: list[float] = []
    try:
        for _ in range(rounds):
            start = time.perf_counter()
            fn()
            samples.append(time.perf_counter() - start)
    finally:
        gc.unfreeze()
    return samples


def pct(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))] * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2000)
    args = parser.parse_args()
    rounds: int = args.rounds

    sim = Simulator(seed=1, work_orders=200, rate_limit=None)
    clock = FakeClock()
    breakers = Breakers(BreakerConfig(fail_max=1, reset_timeout=3600.0), clock=clock)
    cache = FallbackCache(FallbackConfig(), clock=clock)
    transport = FallbackLayer(BreakerLayer(HTTPLayer(httpx.HTTPTransport()), breakers), cache)
    results: dict[str, list[float]] = {}
    with (
        sim.serve() as server,
        httpx.Client(
            base_url=server.base_url + "/",
            headers={"Authorization": f"Bearer {Simulator.API_KEY}"},
            transport=transport,
        ) as client,
    ):

        def plain_get() -> None:
            response = client.get("workorders/1")
            assert response.status_code == 200
            assert not meta_of(response).stale
            response.json()
            assert commit(response)  # parsed: kept, as the client's _finish does

        results["plain GET to the simulator (baseline)"] = measure(plain_get, rounds)
        page = client.get("workorders", params={"limit": 50})  # a page to serve stale later
        page.json()
        assert commit(page)

        scope = breakers.for_request(client.build_request("GET", "workorders/1"))
        breakers.isolate(scope)

        def fail_fast() -> None:
            try:
                client.get("workorders/999999")
            except CircuitOpenError:
                return
            raise AssertionError("expected CircuitOpenError")

        def stale_get() -> None:
            response = client.get("workorders", params={"limit": 50})
            assert meta_of(response).reason == "circuit_open"

        results["breaker open: fail fast (CircuitOpenError)"] = measure(fail_fast, rounds)
        results["breaker open: stale answer from cache"] = measure(stale_get, rounds)

        cache.enable_fallback_mode()

        def fallback_mode_get() -> None:
            response = client.get("workorders/1")
            assert meta_of(response).reason == "fallback_mode"

        results["fallback mode: GET served from cache"] = measure(fallback_mode_get, rounds)

        request = client.build_request("GET", "workorders/1")
        results["layer only: Breakers.admit (open)"] = measure(
            lambda: breakers.admit(scope), rounds
        )
        results["layer only: fallback-mode lookup"] = measure(
            lambda: cache.intercept(request), rounds
        )
        sent = sim.stats.requests_total
    cache.close()

    baseline = statistics.median(results["plain GET to the simulator (baseline)"]) * 1e6
    print(f"rounds: {rounds} per case; simulator requests served: {sent}")
    print(f"{'case':<46} {'p50 us':>9} {'p99 us':>9} {'p50 / baseline':>15}")
    for name, samples in results.items():
        p50, p99 = pct(samples, 0.50), pct(samples, 0.99)
        print(f"{name:<46} {p50:>9.1f} {p99:>9.1f} {p50 / baseline:>14.3f}x")


if __name__ == "__main__":
    main()
