"""Benchmark: what sharing the fallback cache through Redis (fleet mode) costs a GET.

Runs the MaintainX simulator on a loopback socket and a client in fleet mode on a loopback
Redis, and measures, in the same run (blocks of rounds alternating so drift hits both):

- a GET of one record and of a 100-record list page, with the shared cache off
  (``cache_max_bytes=0``: the baseline), on (the answer queued for the writer thread), and
  on with the write made on the caller's thread instead (what the queue saves);
- what the caller would pay if the write were on its path: one write of such an answer
  (encode + the Lua script) timed directly;
- a lookup in Redis (read + checks), what a worker pays when it serves an answer another
  fetched.

Prints p50/p99 in microseconds and the added p50 per GET.

    python bench/bench_fleet_cache.py [--rounds 1000] [--redis redis://127.0.0.1:6379/15]
"""

from __future__ import annotations

import argparse
import gc
import time
import uuid
from collections.abc import Callable
from functools import partial

import httpx
import redis

from maintainx_resilient import MaintainXClient
from maintainx_resilient.fleet import FleetConfig, RedisFallbackStore
from maintainx_resilient.policies._fallback_keys import cache_key
from maintainx_resilient.policies._fallback_store import StoredAnswer
from maintainx_resilient.testing import Simulator


def measure(fn: Callable[[], object], rounds: int) -> list[float]:
    samples: list[float] = []
    gc.collect()
    gc.freeze()
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
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--redis", default="redis://127.0.0.1:6379/15")
    args = parser.parse_args()
    rounds: int = args.rounds
    name = f"bench-fcache-{uuid.uuid4().hex[:8]}"
    sim = Simulator(seed=1, work_orders=400, rate_limit=None)
    ids = [int(r["id"]) for r in sim.records("workorders")][:200]
    results: dict[str, list[float]] = {}
    with sim.serve() as server:
        clients = {
            label: MaintainXClient(
                api_key=Simulator.API_KEY,
                base_url=server.base_url,
                throttle=None,
                fleet=FleetConfig(url=args.redis, name=name, cache_max_bytes=cap),
            )
            for label, cap in (("off", 0), ("on", 64 << 20), ("on, written inline", 64 << 20))
        }
        inline = clients["on, written inline"].policies.fallback._shared  # type: ignore[union-attr]
        assert isinstance(inline, RedisFallbackStore)

        def put_inline(key: str, answer: StoredAnswer) -> None:
            inline._write([(key, answer)])  # what put() would cost without the queue

        inline.put = put_inline  # type: ignore[method-assign]
        for client in clients.values():  # warm up connections and the simulator
            for n in ids[:50]:
                client.work_orders.get(n)
            client.work_orders.list(limit=100)
        blocks = 5
        for _ in range(blocks):
            for label, client in clients.items():
                turn = iter(range(1 << 30))

                def record(c: MaintainXClient = client, t: object = turn) -> None:
                    c.work_orders.get(ids[next(t) % len(ids)])  # type: ignore[call-overload]

                def page(c: MaintainXClient = client) -> None:
                    c.work_orders.list(limit=100)

                results.setdefault(f"GET record, shared cache {label}", []).extend(
                    measure(record, rounds // blocks)
                )
                results.setdefault(f"GET page of 100, shared cache {label}", []).extend(
                    measure(page, rounds // blocks)
                )
                cache = client.policies.fallback
                assert cache is not None
                cache.flush()
        shared = clients["on"].policies.fallback._shared  # type: ignore[union-attr]
        assert isinstance(shared, RedisFallbackStore)
        written = shared.stats()
        for label in ("record", "page of 100"):
            path = f"workorders/{ids[0]}" if label == "record" else "workorders?limit=100"
            body = httpx.get(
                f"{server.base_url}/{path}",
                headers={"Authorization": f"Bearer {Simulator.API_KEY}"},
            ).content
            request = httpx.Request("GET", f"{server.base_url}/{path}")
            key = cache_key(request, "bench-credential")
            answer = StoredAnswer(200, (("content-type", "application/json"),), body, time.time())
            results[f"write on the caller's path, {label} ({len(body)} B)"] = measure(
                partial(shared._write, [(key, answer)]), rounds
            )
            results[f"lookup in Redis, {label}"] = measure(partial(shared.get, key), rounds)
        for client in clients.values():
            client.close()
    plain = redis.Redis.from_url(args.redis)
    doomed = list(plain.scan_iter(match=f"mx:{{{name}}}:*", count=1000))
    if doomed:
        plain.delete(*doomed)
    plain.close()

    print(f"rounds: {rounds} per case; shared cache writes: {written}")
    print(f"{'case':<56} {'p50 us':>9} {'p99 us':>9}")
    for case, samples in results.items():
        print(f"{case:<56} {pct(samples, 0.5):>9.1f} {pct(samples, 0.99):>9.1f}")
    for kind in ("record", "page of 100"):
        off = pct(results[f"GET {kind}, shared cache off"], 0.5)
        for label in ("on", "on, written inline"):
            on = pct(results[f"GET {kind}, shared cache {label}"], 0.5)
            print(f"added p50 per GET ({kind}, {label}): {on - off:+.1f} us ({on / off:.3f}x)")


if __name__ == "__main__":
    main()
