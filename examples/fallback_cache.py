"""The fallback cache: during an outage, reads seen before come back stale, with their age.

Runs against the bundled MaintainX simulator, in process: no API key, no network. The
client's clock is a FakeClock, so "an hour later" takes no time and retry backoffs are
instant. The cache is kept in a SQLite file, so a restarted client still has answers.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from maintainx_resilient import FallbackConfig, MaintainXClient, MaintainXError
from maintainx_resilient.testing import FakeClock, Simulator


def main() -> None:
    sim = Simulator(seed=6, work_orders=100)
    clock = FakeClock()
    with tempfile.TemporaryDirectory() as tmp:
        cache = FallbackConfig(path=Path(tmp) / "maintainx-cache.sqlite3")
        with MaintainXClient(
            api_key=Simulator.API_KEY, transport=sim.transport(), clock=clock, fallback=cache
        ) as client:
            page = client.work_orders.list(limit=20)
            wo = client.work_orders.get(page.items[0].id)
            print(
                f"read a page and #{wo.id} while MaintainX is up: stale={page.response_meta.stale}"
            )

            sim.faults.outage()  # 503 to everything
            clock.advance(3600)  # an hour later
            stale = client.work_orders.get(wo.id)
            meta = stale.response_meta
            assert meta is not None
            print(
                f"outage: GET #{wo.id} -> {stale.title!r}, stale={meta.stale}, "
                f"age {meta.age / 60:.0f} min, reason {meta.reason}"
            )
            again = client.work_orders.list(limit=20)
            print(f"outage: the page -> {len(again.items)} items, {again.response_meta.reason}")
            try:
                client.work_orders.get(99)  # never read before: nothing to fall back on
            except MaintainXError as exc:
                print(f"outage: GET #99 (never seen) -> {type(exc).__name__}")

            client.enable_fallback_mode()  # the runbook's mitigation: stop calling MaintainX
            before = sim.stats.requests_total
            served = client.work_orders.get(wo.id)
            assert served.response_meta is not None
            print(f"fallback mode: GET #{wo.id} -> reason {served.response_meta.reason}")
            try:
                client.work_orders.create(title="Replace filter")
            except MaintainXError as exc:
                print(f"fallback mode: create -> {type(exc).__name__}")
            print(f"fallback mode: {sim.stats.requests_total - before} requests sent")
            assert client.policies.fallback is not None
            s = client.policies.fallback.stats()
            print(f"cache: {s.entries} entries ({s.bytes} bytes), hits {s.hits}, misses {s.misses}")

        # A new process after a restart, MaintainX still down: answers come from the file.
        with MaintainXClient(
            api_key=Simulator.API_KEY, transport=sim.transport(), clock=clock, fallback=cache
        ) as restarted:
            loaded = restarted.work_orders.get(wo.id)
            meta = loaded.response_meta
            assert meta is not None
            print(
                f"restarted client: GET #{wo.id} -> stale={meta.stale}, age {meta.age / 60:.0f} "
                f"min, loaded from {Path(str(cache.path)).name}"
            )


if __name__ == "__main__":
    main()
