"""``maintainx-resilient demo``: a scripted incident against the bundled simulator.

No API key and no network: the simulator runs on a local port. The stages are the ones an
on-call engineer meets: normal traffic, rate limiting, an outage ridden out on the fallback
cache, a revoked key, and recovery; at each stage the client's behaviour and its diagnosis
are shown, and the post-incident report comes last. The simulator's rate-limit window is
shortened (and the client told so) so the whole story takes seconds.
"""

from __future__ import annotations

import argparse
import itertools
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx

from .._client import MaintainXClient
from .._events import Event, ThrottleWaited
from .._exceptions import MaintainXError
from ..diagnostics.desk import DiagnosticsConfig
from ..diagnostics.render import render_text
from ..policies.breaker import BreakerConfig
from ..policies.throttle import ThrottleConfig
from ..testing import RateLimitConfig, Simulator

LIMIT, WINDOW = 40, 4.0  # the simulator's per-key limit, shortened from 100 per 60 s
OLD_KEY, NEW_KEY = "demo-key-1", "demo-key-2"


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "demo",
        help="a scripted incident against the bundled MaintainX simulator (no API key needed)",
    )
    parser.add_argument("--work-orders", type=int, default=3000, help="seeded work orders")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--color", action="store_true", help="colour even when piped")
    parser.set_defaults(run=run)


class _Counter:
    """Counts the client's events by kind (the demo's view of what the client did)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.counts: dict[str, int] = {}
        self.waited = 0.0

    def __call__(self, event: Event) -> None:
        with self.lock:
            name = type(event).__name__
            self.counts[name] = self.counts.get(name, 0) + 1
            if isinstance(event, ThrottleWaited):
                self.waited += event.wait

    def take(self) -> dict[str, int]:
        with self.lock:
            counts, self.counts = self.counts, {}
            return counts


class _Rotator:
    """A key provider: the "secret manager" holds a second key for when the first is revoked."""

    def __init__(self) -> None:
        self.key = OLD_KEY
        self.rotations = 0

    def get(self) -> str:
        return self.key

    def rotate(self, failed: str) -> str:
        self.rotations += 1
        self.key = NEW_KEY
        return self.key


def _stage(number: int, title: str) -> None:
    print(f"\n=== {number}. {title} " + "=" * max(0, 60 - len(title)), flush=True)


def _diagnose(client: MaintainXClient, color: bool) -> None:
    report = client.diagnose(deadline=5.0)
    text = render_text(report, color=color)
    # The headline and the findings; the per-check lines are in `diagnose` itself.
    shown = [line for line in text.splitlines() if not line.lstrip().startswith(("[ok]", "[?]"))]
    print("\n".join(shown).rstrip())


def run(args: argparse.Namespace) -> int:
    sim = Simulator(
        seed=args.seed,
        work_orders=args.work_orders,
        rate_limit=RateLimitConfig(per_user=LIMIT, per_org=5 * LIMIT, window=WINDOW),
    )
    sim.add_key(OLD_KEY)
    sim.add_key(NEW_KEY)
    counter = _Counter()
    rotator = _Rotator()
    with sim.serve() as server:
        client = MaintainXClient(
            api_key=rotator,
            base_url=server.base_url,
            throttle=ThrottleConfig(per_user=LIMIT, per_org=5 * LIMIT, window=WINDOW),
            breaker=BreakerConfig(fail_max=3, reset_timeout=2.0),
            diagnostics=DiagnosticsConfig(status_page_url=None, deadline=5.0),
            hooks=[counter],
        )
        with client:
            print(f"MaintainX simulator on {server.base_url}; client {client!r}")
            _run_story(client, sim, server.base_url, counter, rotator, args.color)
    return 0


def _run_story(
    client: MaintainXClient,
    sim: Simulator,
    base_url: str,
    counter: _Counter,
    rotator: _Rotator,
    color: bool,
) -> None:
    _stage(1, "Normal traffic")
    started = time.perf_counter()
    first_pages = list(itertools.islice(client.work_orders.iter(limit=200).pages(), 3))
    seen = [client.work_orders.get(wo.id) for wo in first_pages[0].items[:5]]
    count = sum(len(p.items) for p in first_pages)
    print(
        f"read {count} work orders in 3 pages and 5 single GETs in "
        f"{time.perf_counter() - started:.2f}s"
    )
    _diagnose(client, color)

    _stage(2, "Rate limiting: 8 threads want 90 requests at once")
    naive = _naive_burst(base_url, 30)
    print(f"a bare httpx loop sending 30 requests at once got {naive} x 429")
    sim.reset_stats()
    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        done = list(
            pool.map(lambda i: client.work_orders.list(limit=5, cursor=None).items[0].id, range(90))
        )
    elapsed = time.perf_counter() - started
    events = counter.take()
    print(
        f"the client finished all {len(done)} in {elapsed:.1f}s: "
        f"{sim.stats.rate_limited} x 429 from the server, "
        f"{events.get('ThrottleWaited', 0)} waits for a slot ({counter.waited:.1f}s in all), "
        f"limit {LIMIT} per {WINDOW:.0f}s window"
    )

    _stage(3, "Outage: MaintainX answers 503 to everything")
    sim.faults.outage()
    stale = client.work_orders.get(seen[0].id)
    meta = stale.response_meta
    assert meta is not None
    print(
        f"GET a work order seen before -> {stale.title!r}, stale={meta.stale}, "
        f"age {meta.age:.1f}s, reason {meta.reason}"
    )
    page = client.work_orders.iter(limit=200).pages()
    cached = next(iter(page))
    print(f"first page of work orders -> {len(cached.items)} items, stale={cached.meta.stale}")
    for attempt in ("unseen GET", "create"):
        started = time.perf_counter()
        try:
            if attempt == "create":
                client.work_orders.create(title="during the outage")
            else:
                client.work_orders.get(10**7)
        except MaintainXError as exc:
            print(
                f"{attempt} -> {type(exc).__name__} in "
                f"{(time.perf_counter() - started) * 1000:.1f} ms: {exc}"
            )
    _diagnose(client, color)
    client.enable_fallback_mode()
    print("mitigation: fallback mode on (no calls to MaintainX; cached GETs still answer)")
    print(f"stale answers served so far: {counter.take().get('FallbackServed', 0)}")

    _stage(4, "Recovery from the outage, then a revoked API key")
    sim.faults.heal()
    client.disable_fallback_mode()
    time.sleep(2.1)  # the breaker's reset timeout: its next call is the probe
    fresh = client.work_orders.get(seen[0].id)
    label = fresh.response_meta.stale if fresh.response_meta else False
    print(f"MaintainX is back: GET -> fresh (stale={label}); breaker closed by the probe")
    sim.revoke_key(OLD_KEY)
    with ThreadPoolExecutor(10) as pool:
        ids = list(pool.map(lambda wo: client.work_orders.get(wo.id).id, seen * 2))
    rotated = counter.take().get("KeyRotated", 0)
    print(
        f"key {OLD_KEY!r} revoked while 10 callers were busy: {len(ids)} calls succeeded, "
        f"rotate() called {rotator.rotations} time(s), {rotated} key-rotated event(s)"
    )

    _stage(5, "Verify recovery")
    client.reset_stats()
    for wo in seen:
        client.work_orders.get(wo.id)
    _diagnose(client, color)
    client.incident.timeline.record_recovery("clean diagnosis, fresh answers, new key in use")

    _stage(6, "Post-incident report")
    print(
        client.incident_report(
            title="MaintainX API outage and key revocation (demo)",
            summary="MaintainX answered 503 to every call; later the integration's API key was "
            "revoked. Reads were served from the fallback cache, writes failed fast, and the "
            "key was rotated without a failed call.",
            root_cause="Simulated: a full MaintainX outage, then a revoked key.",
            resolution="Fallback mode during the outage; automatic key rotation; breaker closed "
            "by the first successful probe.",
        )
    )


def _naive_burst(base_url: str, n: int) -> int:
    """How many 429s a plain httpx loop gets for ``n`` requests in a row."""
    limited = 0
    with httpx.Client(
        base_url=base_url + "/", headers={"Authorization": f"Bearer {Simulator.API_KEY}"}
    ) as http:
        for _ in range(n):
            if http.get("workorders", params={"limit": 1}).status_code == 429:
                limited += 1
    return limited
