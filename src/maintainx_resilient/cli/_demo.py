"""``maintainx-resilient demo``: a scripted incident against the bundled simulator.

No API key and no network: the simulator runs on a local port. The stages are the ones an
on-call engineer meets: normal traffic, rate limiting, an outage ridden out on the fallback
cache, a revoked key, and recovery; at each stage the client's behaviour and its diagnosis
are shown, and the post-incident report comes last. The simulator's rate-limit window is
shortened (and the client told so) so the whole story takes seconds.

Every wait goes through one clock shared by the client and the simulator: the real one, or
with ``--fast`` a scripted one (:class:`~maintainx_resilient._clock.FakeClock`) on which
waiting takes no time, so the same story runs in about a second (its timings are then
simulated). Output goes through the CLI's console: colour on a terminal, plain when piped.
"""

from __future__ import annotations

import argparse
import itertools
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import httpx
from rich.rule import Rule

from .._client import MaintainXClient
from .._clock import SYSTEM_CLOCK, Clock, FakeClock
from .._console import emit
from .._events import Event, ThrottleWaited
from .._exceptions import MaintainXError
from ..diagnostics._text import render_diagnosis
from ..diagnostics.desk import DiagnosticsConfig
from ..policies.breaker import BreakerConfig
from ..policies.throttle import ThrottleConfig
from ..testing import RateLimitConfig, Simulator
from ._output import Output
from ._progress import ProgressView, add_progress_flag, pick_mode

LIMIT, WINDOW = 40, 4.0  # the simulator's per-key limit, shortened from 100 per 60 s
OLD_KEY, NEW_KEY = "demo-key-1", "demo-key-2"


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "demo",
        help="a scripted incident against the bundled MaintainX simulator (no API key needed)",
    )
    parser.add_argument("--work-orders", type=int, default=3000, help="seeded work orders")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--fast",
        action="store_true",
        help="run on a scripted clock: the same story in about a second (timings simulated)",
    )
    add_progress_flag(
        parser, "progress of the rate-limited burst on stderr (auto: a bar on a terminal)"
    )
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


class _Story:
    """What every stage needs: where to write, the clock, the client's event counts."""

    def __init__(self, output: Output, clock: Clock, counter: _Counter, progress: str) -> None:
        self.output = output
        self.clock = clock
        self.counter = counter
        self.progress = progress

    def say(self, text: str) -> None:
        self.output.print(text)

    def stage(self, number: int, title: str) -> None:
        self.output.print()
        emit(self.output.out, Rule(f"{number}. {title}", align="left", characters="="))

    def diagnose(self, client: MaintainXClient) -> None:
        report = client.diagnose(deadline=5.0)
        # The verdict and the findings; every check is in `maintainx-resilient diagnose`.
        render_diagnosis(self.output.out, report.to_dict(), checks=False, quiet_ok=True)

    def elapsed(self, since: float) -> float:
        return self.clock.monotonic() - since


def run(args: argparse.Namespace, output: Output) -> int:
    clock: Clock = FakeClock(wall_start=SYSTEM_CLOCK.time()) if args.fast else SYSTEM_CLOCK
    sim = Simulator(
        seed=args.seed,
        work_orders=args.work_orders,
        rate_limit=RateLimitConfig(per_user=LIMIT, per_org=5 * LIMIT, window=WINDOW),
        clock=clock,
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
            clock=clock,
        )
        with client:
            story = _Story(output, clock, counter, args.progress)
            story.say(f"MaintainX simulator on {server.base_url}; client {client!r}")
            if args.fast:
                story.say("(--fast: a scripted clock; the timings below are simulated)")
            _run_story(story, client, sim, server.base_url, rotator)
    return 0


def _burst(story: _Story, client: MaintainXClient, n: int) -> list[int]:
    """``n`` list calls from 8 threads, with a progress bar (rate and ETA) on stderr."""
    view = ProgressView(
        story.output,
        pick_mode(story.progress, story.output),
        command="demo",
        clock=story.clock.monotonic,
    )
    lock = threading.Lock()
    finished = [0]

    def one(_: int) -> int:
        got = client.work_orders.list(limit=5, cursor=None).items[0].id
        with lock:
            finished[0] += 1
            view.count("requests", finished[0], n, "requests")
        return got

    try:
        with ThreadPoolExecutor(8) as pool:
            return list(pool.map(one, range(n)))
    finally:
        view.finish()


def _run_story(
    story: _Story,
    client: MaintainXClient,
    sim: Simulator,
    base_url: str,
    rotator: _Rotator,
) -> None:
    counter = story.counter
    story.stage(1, "Normal traffic")
    started = story.clock.monotonic()
    first_pages = list(itertools.islice(client.work_orders.iter(limit=200).pages(), 3))
    seen = [client.work_orders.get(wo.id) for wo in first_pages[0].items[:5]]
    count = sum(len(p.items) for p in first_pages)
    story.say(
        f"read {count} work orders in 3 pages and 5 single GETs in {story.elapsed(started):.2f}s"
    )
    story.diagnose(client)

    story.stage(2, "Rate limiting: 8 threads want 90 requests at once")
    naive = _naive_burst(base_url, 30)
    story.say(f"a bare httpx loop sending 30 requests at once got {naive} x 429")
    sim.reset_stats()
    started = story.clock.monotonic()
    done = _burst(story, client, 90)
    elapsed = story.elapsed(started)
    events = counter.take()
    story.say(
        f"the client finished all {len(done)} in {elapsed:.1f}s: "
        f"{sim.stats.rate_limited} x 429 from the server, "
        f"{events.get('ThrottleWaited', 0)} waits for a slot ({counter.waited:.1f}s in all), "
        f"limit {LIMIT} per {WINDOW:.0f}s window"
    )

    story.stage(3, "Outage: MaintainX answers 503 to everything")
    sim.faults.outage()
    stale = client.work_orders.get(seen[0].id)
    meta = stale.response_meta
    assert meta is not None
    story.say(
        f"GET a work order seen before -> {stale.title!r}, stale={meta.stale}, "
        f"age {meta.age:.1f}s, reason {meta.reason}"
    )
    page = client.work_orders.iter(limit=200).pages()
    cached = next(iter(page))
    label = cached.response_meta.stale
    story.say(f"first page of work orders -> {len(cached.items)} items, stale={label}")
    for attempt in ("unseen GET", "create"):
        started = story.clock.monotonic()
        try:
            if attempt == "create":
                client.work_orders.create(title="during the outage")
            else:
                client.work_orders.get(10**7)
        except MaintainXError as exc:
            story.say(
                f"{attempt} -> {type(exc).__name__} in "
                f"{story.elapsed(started) * 1000:.1f} ms: {exc}"
            )
    story.diagnose(client)
    client.enable_fallback_mode()
    story.say("mitigation: fallback mode on (no calls to MaintainX; cached GETs still answer)")
    story.say(f"stale answers served so far: {counter.take().get('FallbackServed', 0)}")

    story.stage(4, "Recovery from the outage, then a revoked API key")
    sim.faults.heal()
    client.disable_fallback_mode()
    story.clock.sleep(2.1)  # the breaker's reset timeout: its next call is the probe
    fresh = client.work_orders.get(seen[0].id)
    label = fresh.response_meta.stale if fresh.response_meta else False
    story.say(f"MaintainX is back: GET -> fresh (stale={label}); breaker closed by the probe")
    sim.revoke_key(OLD_KEY)
    with ThreadPoolExecutor(10) as pool:
        ids = list(pool.map(lambda wo: client.work_orders.get(wo.id).id, seen * 2))
    rotated = counter.take().get("KeyRotated", 0)
    story.say(
        f"key {OLD_KEY!r} revoked while 10 callers were busy: {len(ids)} calls succeeded, "
        f"rotate() called {rotator.rotations} time(s), {rotated} key-rotated event(s)"
    )

    story.stage(5, "Verify recovery")
    client.reset_stats()
    for wo in seen:
        client.work_orders.get(wo.id)
    story.diagnose(client)
    client.incident.timeline.record_recovery("clean diagnosis, fresh answers, new key in use")

    story.stage(6, "Post-incident report")
    report = client.incident_report(
        title="MaintainX API outage and key revocation (demo)",
        summary="MaintainX answered 503 to every call; later the integration's API key was "
        "revoked. Reads were served from the fallback cache, writes failed fast, and the "
        "key was rotated without a failed call.",
        root_cause="Simulated: a full MaintainX outage, then a revoked key.",
        resolution="Fallback mode during the outage; automatic key rotation; breaker closed "
        "by the first successful probe.",
    )
    for line in report.splitlines():
        story.say(line)


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
