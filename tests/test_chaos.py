"""The chaos run: 2,600 mixed requests (lists, reads, creates, updates) from a client with
its default retry, breaker and fallback policies (the throttle off: pacing to the API's
rate limit would stretch the run to many minutes) against the simulator over a real
socket, with random 5xx answers, HTML proxy pages, connections dropped before and after the
server acted, and silent connections (timeouts). What it must show: 0 untyped exceptions,
0 duplicate POSTs, 0 hangs (no call past its deadline plus half a second).

Also a script, for the numbers: ``python -m tests.test_chaos [--requests N] [--seed S]``.
"""

from __future__ import annotations

import argparse
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import pytest

from maintainx_resilient import (
    BreakerConfig,
    MaintainXClient,
    MaintainXError,
    RetryConfig,
)
from maintainx_resilient.testing import Simulator

pytestmark = [pytest.mark.socket, pytest.mark.slow]

REQUESTS = 2600
DEADLINE = 1.0
#: fault -> probability, per request
FAULTS = {"5xx": 0.08, "html": 0.04, "drop": 0.03, "drop_after": 0.03, "hang": 0.01}


@dataclass
class ChaosCounts:
    requests: int = 0
    succeeded: int = 0
    typed_errors: Counter[str] = field(default_factory=Counter)
    untyped: list[str] = field(default_factory=list)
    hangs: list[float] = field(default_factory=list)
    faults: Counter[str] = field(default_factory=Counter)
    posts: int = 0
    duplicate_posts: int = 0
    slowest: float = 0.0
    elapsed: float = 0.0

    def summary(self) -> str:
        errors = ", ".join(f"{k} {v}" for k, v in sorted(self.typed_errors.items()))
        faults = ", ".join(f"{k} {v}" for k, v in sorted(self.faults.items()))
        return (
            f"{self.requests} requests in {self.elapsed:.1f} s (slowest {self.slowest:.2f} s): "
            f"{self.succeeded} succeeded; typed errors: {errors}; faults injected: {faults}; "
            f"{self.posts} POSTs, {self.duplicate_posts} duplicated; "
            f"{len(self.untyped)} untyped exceptions; {len(self.hangs)} hangs"
        )


def run_chaos(requests: int = REQUESTS, seed: int = 7) -> ChaosCounts:
    rng = random.Random(seed)
    sim = Simulator(seed=seed, work_orders=300, rate_limit=None, hang_seconds=2.0)
    counts = ChaosCounts()
    started = time.monotonic()
    with (
        sim.serve() as server,
        MaintainXClient(
            api_key=sim.API_KEY,
            base_url=server.base_url,
            timeout=0.25,
            deadline=DEADLINE,
            # Real time throughout, with short waits so 2,600 requests take seconds.
            retry=RetryConfig(initial_delay=0.005, max_delay=0.02),
            breaker=BreakerConfig(fail_max=5, reset_timeout=0.05),
            throttle=None,
        ) as client,
    ):
        ids = [wo.id for wo in client.work_orders.list(limit=100).items]
        for n in range(requests):
            fault = next((f for f, p in FAULTS.items() if rng.random() < p), None)
            if fault is not None:
                counts.faults[fault] += 1
                _inject(sim, fault, rng)
            call = rng.choice(("list", "get", "get", "create", "update"))
            counts.posts += call == "create"
            began = time.monotonic()
            try:
                _send(client, call, n, ids, rng)
                counts.succeeded += 1
            except MaintainXError as exc:
                counts.typed_errors[type(exc).__name__] += 1
            except Exception as exc:
                counts.untyped.append(f"{call}: {type(exc).__module__}.{type(exc).__name__}")
            took = time.monotonic() - began
            counts.slowest = max(counts.slowest, took)
            if took > DEADLINE + 0.5:
                counts.hangs.append(took)
            counts.requests += 1
            sim.faults.heal()
        titles = Counter(r["title"] for r in sim.records("workOrders"))
    counts.duplicate_posts = sum(c - 1 for t, c in titles.items() if t.startswith("chaos "))
    counts.elapsed = time.monotonic() - started
    return counts


def _inject(sim: Simulator, fault: str, rng: random.Random) -> None:
    if fault == "5xx":
        sim.faults.fail_next(1, status=rng.choice((500, 502, 503)))
    elif fault == "html":
        sim.faults.malformed(1, "html")
    elif fault == "drop":
        sim.faults.drop_connections(1)
    elif fault == "drop_after":
        sim.faults.drop_connections(1, after_processing=True)
    else:
        sim.faults.hang(1)


def _send(client: MaintainXClient, call: str, n: int, ids: list[int], rng: random.Random) -> Any:
    if call == "list":
        return client.work_orders.list(limit=20)
    if call == "get":
        return client.work_orders.get(rng.choice(ids))
    if call == "create":
        return client.work_orders.create(title=f"chaos {n}")
    return client.work_orders.update(rng.choice(ids), title=f"updated {n}")


def test_chaos_run_has_no_untyped_errors_no_duplicates_and_no_hangs() -> None:
    counts = run_chaos()
    print(counts.summary())
    assert counts.requests == REQUESTS
    assert counts.untyped == []
    assert counts.duplicate_posts == 0
    assert counts.hangs == []
    assert sum(counts.faults.values()) > REQUESTS * 0.1  # the chaos really happened
    assert counts.succeeded > REQUESTS * 0.5


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--requests", type=int, default=REQUESTS)
    parser.add_argument("--seed", type=int, default=7)
    cli = parser.parse_args()
    print(run_chaos(cli.requests, cli.seed).summary())
