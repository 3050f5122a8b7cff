"""Fleet mode with real processes: 4 workers against the simulator over sockets, sharing a
real Redis. Each test runs a few seconds of real time (the workers are load generators)."""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from maintainx_resilient.testing import ApiKey, Simulator
from maintainx_resilient.testing._ratelimit import RateLimitConfig
from maintainx_resilient.testing._stats import SimStats
from tests.webhooks._private_redis import PrivateRedis

pytestmark = [pytest.mark.redis, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class Run:
    """What the workers of one run reported, together."""

    reports: list[dict[str, Any]]
    start: float
    stop: float
    outcomes: dict[str, int] = field(default_factory=dict)
    server: SimStats | None = None

    def __post_init__(self) -> None:
        for report in self.reports:
            for kind, n in report["outcomes"].items():
                self.outcomes[kind] = self.outcomes.get(kind, 0) + n

    def attempts(self) -> list[tuple[float, int | None]]:
        return sorted((float(a[0]), a[1]) for r in self.reports for a in r["attempts"])


def run_workers(
    settings: list[dict[str, Any]],
    duration: float,
    during: Callable[[float], float | None] | None = None,
) -> Run:
    """Start one process per settings dict, wait until all are ready, run them together for
    ``duration`` seconds (calling ``during(start)`` meanwhile; if it returns a time, the
    workers stop then instead), and collect their reports."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    env.pop("MAINTAINX_FLEET", None)
    procs = [
        subprocess.Popen(
            [sys.executable, "-m", "tests.fleet._fleet_worker", json.dumps(s)],
            cwd=ROOT,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        for s in settings
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None
            assert proc.stdout.readline().strip() == "ready"
        start = time.time() + 0.3
        stop = start + duration
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write(f"{start} {stop}\n")
            proc.stdin.flush()
        if during is not None and (moved := during(start)) is not None:
            stop = moved
            for proc in procs:
                assert proc.stdin is not None
                proc.stdin.write(f"{stop}\n")
                proc.stdin.flush()
        reports = []
        for proc in procs:
            out, _ = proc.communicate(timeout=max(0.0, stop - time.time()) + 60)
            reports.append(json.loads(out.strip().splitlines()[-1]))
        return Run(reports, start, stop)
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()


@pytest.fixture
def served() -> Iterator[Callable[[Simulator], str]]:
    servers = []

    def serve(sim: Simulator) -> str:
        server = sim.serve()
        servers.append(server)
        return str(server.base_url)

    yield serve
    for server in servers:
        server.stop()


def _worker(url: str, fleet: str | None, name: str, **extra: Any) -> dict[str, Any]:
    return {
        "base_url": url,
        "api_key": Simulator.API_KEY,
        "fleet_url": fleet,
        "fleet_name": name,
        "threads": 4,
        "throttle": {"per_user": LIMIT, "per_org": 500, "window": WINDOW},
        **extra,
    }


LIMIT = 40
WINDOW = 2.0
DURATION = 8.0


def _no_headers_run(served: Callable[[Simulator], str], fleet: str | None, name: str) -> Run:
    sim = Simulator(
        rate_limit=RateLimitConfig(per_user=LIMIT, per_org=500, window=WINDOW, headers=False)
    )
    url = served(sim)
    run = run_workers([_worker(url, fleet, name) for _ in range(4)], DURATION)
    run.server = sim.stats
    return run


def test_a_server_without_rate_limit_headers(
    served: Callable[[Simulator], str], redis_url: str, fleet_name: str
) -> None:
    """No X-Rate-Limit-* headers: 4 processes with fleet mode keep to the one budget (at most
    1% 429s, goodput at least 0.9 of the limit); the same run without fleet mode does not."""
    shared = _no_headers_run(served, redis_url, fleet_name)
    alone = _no_headers_run(served, None, fleet_name)
    capacity = LIMIT * DURATION / WINDOW

    def summary(run: Run) -> tuple[float, float]:
        stats = run.server
        assert stats is not None
        rate_limited = stats.by_status.get(429, 0)
        ok = stats.by_status.get(200, 0)
        return rate_limited / max(1, stats.requests_total), ok / capacity

    shared_429, shared_goodput = summary(shared)
    alone_429, alone_goodput = summary(alone)
    assert shared.server is not None
    seen = (
        f"fleet: 429 share {shared_429:.3f}, goodput {shared_goodput:.3f}, {shared.outcomes}, "
        f"{shared.server.by_status}, contended {[r['contended'] for r in shared.reports]}, "
        f"local {[r['local_calls'] for r in shared.reports]}; "
        f"alone: 429 share {alone_429:.3f}, goodput {alone_goodput:.3f}, {alone.outcomes}"
    )
    print(seen)
    assert shared_429 <= 0.01, seen
    assert shared_goodput >= 0.9, seen
    assert alone_429 > 0.1, seen  # four processes, four budgets: the server refuses many
    assert set(shared.outcomes) <= {"ok", "throttled"}, seen


def _poll(condition: Callable[[], bool], timeout: float = 30.0) -> None:
    """Wait (bounded) for the workers to get somewhere."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "the workers made no progress"
        time.sleep(0.01)


def test_two_keys_of_one_organization_share_its_limit(
    served: Callable[[Simulator], str], redis_url: str, fleet_name: str
) -> None:
    """Two keys (two users) of organization 1, two processes each: each key stays under its
    40 per window and together they stay under the organization's 50."""
    keys = {"key-a": ApiKey(1, (1,)), "key-b": ApiKey(2, (1,))}
    sim = Simulator(
        api_keys=keys, rate_limit=RateLimitConfig(per_user=LIMIT, per_org=50, window=WINDOW)
    )
    url = served(sim)
    throttle = {"per_user": LIMIT, "per_org": 50, "window": WINDOW}
    settings = [
        {**_worker(url, redis_url, fleet_name), "api_key": key, "org_id": 1, "throttle": throttle}
        for key in ("key-a", "key-a", "key-b", "key-b")
    ]
    run = run_workers(settings, DURATION)
    stats = sim.stats
    rate_limited = stats.by_status.get(429, 0) / max(1, stats.requests_total)
    windows = DURATION / WINDOW + 1  # the run overlaps at most this many server windows
    seen = f"two keys: {stats.by_status}, 429 share {rate_limited:.3f}, {run.outcomes}"
    print(seen)
    assert rate_limited <= 0.01, seen
    assert stats.by_status.get(200, 0) <= 50 * windows, seen
    assert stats.by_status.get(200, 0) >= 0.9 * 50 * DURATION / WINDOW, seen
    assert set(run.outcomes) <= {"ok", "throttled"}


def test_redis_killed_mid_run_fails_no_call(
    served: Callable[[Simulator], str], fleet_name: str
) -> None:
    """SIGKILL the fleet's Redis while 4 workers call, then restart it: every call succeeds,
    each worker went local once and rejoined."""
    sim = Simulator(rate_limit=RateLimitConfig(per_user=10_000, per_org=10_000, window=WINDOW))
    url = served(sim)
    server = PrivateRedis()
    server.start()
    throttle = {"per_user": 10_000, "per_org": 10_000, "window": WINDOW}

    def chaos(_: float) -> None:
        _poll(lambda: sim.stats.requests_total >= 200)
        server.kill()
        killed_at = sim.stats.requests_total
        _poll(lambda: sim.stats.requests_total >= killed_at + 400)  # calls go on without Redis
        server.start()

    try:
        run = run_workers(
            [
                {
                    **_worker(url, server.url, fleet_name, pause=0.002),
                    "throttle": throttle,
                    "retry_interval": 0.5,
                }
                for _ in range(4)
            ],
            duration=6.0,
            during=chaos,
        )
    finally:
        server.close()
    print(
        f"redis killed: {run.outcomes}, slowest {max(r['slowest'] for r in run.reports):.3f}s, "
        f"local calls {[r['local_calls'] for r in run.reports]}"
    )
    assert set(run.outcomes) == {"ok"}  # 0 failed operations
    assert all(r["outages"] >= 1 for r in run.reports)  # every worker saw Redis go
    assert all(r["local_calls"] > 0 for r in run.reports)
    assert all(r["link"] == "joined" for r in run.reports)  # and came back
    # a hang guard, not a speed test: no call waited on the dead Redis
    assert max(r["slowest"] for r in run.reports) < 2.0


def test_an_outage_gets_one_probe_per_reset_interval_across_the_fleet(
    served: Callable[[Simulator], str], redis_url: str, fleet_name: str
) -> None:
    """MaintainX answers 503 to everything: once the shared breaker opens, exactly one
    request per reset interval reaches the server, whichever of the 4 workers sends it."""
    sim = Simulator(rate_limit=None)
    sim.faults.outage()
    url = served(sim)
    reset = 1.0
    settings = [
        {
            **_worker(url, redis_url, fleet_name, pause=0.005),
            "breaker_reset": reset,
            "breaker_threshold": 3,
            "max_attempts": 1,
        }
        for _ in range(4)
    ]
    run = run_workers(settings, duration=5.5)
    sent = [t for t, status in run.attempts() if status is not None]
    assert sent, "no request reached the server"
    opened = sent[0]
    burst = [t for t in sent if t < opened + 0.5]  # in flight before the breaker opened
    probes = [t for t in sent if t >= opened + 0.5]
    gaps = [b - a for a, b in itertools.pairwise(probes)]
    seen = f"burst {len(burst)}, probes at {[round(t - opened, 2) for t in probes]}"
    print(seen, run.outcomes)
    assert len(probes) >= 3, seen  # about one per second of the 5 s outage
    assert all(gap >= 0.9 * reset for gap in gaps), seen  # never two in one interval
    assert set(run.outcomes) <= {"ServerError", "CircuitOpenError"}, run.outcomes
    assert run.outcomes.get("CircuitOpenError", 0) > 10 * len(probes)  # the rest failed fast


def test_a_worker_started_in_the_outage_serves_what_another_fetched(
    served: Callable[[Simulator], str], redis_url: str, fleet_name: str
) -> None:
    """Worker A fetches while MaintainX is up and exits; MaintainX goes down; worker B,
    a new process with an empty cache, serves A's answer, labelled stale."""
    sim = Simulator(rate_limit=None)
    url = served(sim)
    throttle = {"per_user": 10_000, "per_org": 10_000, "window": WINDOW}
    first = run_workers(
        [{**_worker(url, redis_url, fleet_name, pause=0.01), "throttle": throttle}], 1.0
    )
    assert first.outcomes.get("ok", 0) > 0 and first.reports[0]["stale"] == 0
    sim.faults.outage()
    later = run_workers(
        [{**_worker(url, redis_url, fleet_name, pause=0.01), "throttle": throttle}], 1.0
    )
    report = later.reports[0]
    print(later.outcomes, report["stale"])
    assert set(later.outcomes) == {"ok"}, later.outcomes  # every call answered
    assert report["stale"] == later.outcomes["ok"]  # and every answer labelled stale


def test_fallback_mode_from_the_cli_stops_every_worker_within_a_second(
    served: Callable[[Simulator], str], redis_url: str, fleet_name: str
) -> None:
    """4 workers call; an operator runs ``fleet fallback on``: from one second after the
    command returned, no worker sends a request, and every call is answered from the cache."""
    sim = Simulator(rate_limit=None)
    url = served(sim)
    throttle = {"per_user": 10_000, "per_org": 10_000, "window": WINDOW}
    switched: list[float] = []

    def operator(_: float) -> float:
        _poll(lambda: sim.stats.requests_total >= 100)
        command = [sys.executable, "-m", "maintainx_resilient.cli", "--fleet", redis_url]
        command += ["--fleet-name", fleet_name, "fleet", "fallback", "on", "--reason", "test"]
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAINTAINX_")}
        done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, done.stderr
        switched.append(time.time())
        return switched[0] + 2.5  # observe 2.5 s after the command, however long it took

    run = run_workers(
        [
            {**_worker(url, redis_url, fleet_name, pause=0.02), "throttle": throttle}
            for _ in range(4)
        ],
        duration=60.0,
        during=operator,
    )
    (at,) = switched
    sent = [t for t, status in run.attempts() if status is not None]
    after = [round(t - at, 3) for t in sent if t > at + 1.0]
    last = max(sent) - at
    print(f"fallback on: last request {last:.3f}s after the command, {run.outcomes}")
    assert after == [], after
    assert set(run.outcomes) == {"ok"}, run.outcomes  # answered from the cache meanwhile
    assert sum(r["stale"] for r in run.reports) > 0
