"""A local copy of MaintainX work orders, kept in sync, checked and repaired.

Runs against the bundled simulator (no API key needed): a full sync into SQLite while the
simulator's data changes, an incremental run fed by the changes' webhooks, a reconciliation
that finds seeded drift, and the repair of exactly that drift.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from maintainx_resilient import MaintainXClient
from maintainx_resilient.sync import Batch, SQLiteStore, SyncEngine, WebhookFeed
from maintainx_resilient.testing import Simulator


def main() -> None:
    sim = Simulator(seed=4, work_orders=5000, rate_limit=None)
    feed = WebhookFeed()
    # Changes made behind the API's back, as users in the web app would; MaintainX would
    # deliver a webhook for each, which is what the feed receives here.
    mutator = sim.mutator(seed=1, on_change=lambda m: feed.put(m.webhook_payload(), m.event_type))
    with (
        tempfile.TemporaryDirectory() as tmp,
        sim.serve() as server,
        # The simulator has no rate limit: the client's throttle is not needed against it.
        MaintainXClient(
            api_key=Simulator.API_KEY, base_url=server.base_url, throttle=None
        ) as client,
        SQLiteStore(Path(tmp) / "maintainx.db") as store,
    ):
        engine = SyncEngine(client, store, feed=feed)
        full = engine.full("workOrders")
        print(f"full sync: {full.records} work orders in {full.pages} pages")

        mutator.run(50)  # creates, updates and deletes
        inc = engine.incremental("workOrders")
        print(
            f"incremental since {inc.since}: {inc.fetched} polled, "
            f"{inc.webhook_fetched} fetched for webhooks, {len(inc.webhook_deleted)} deleted"
        )
        print(f"reconcile after sync: clean={engine.reconcile('workOrders').clean}")

        store.commit("workOrders", Batch(deletes=[10, 11]))  # seed drift: lost locally
        sim.update_record("workOrders", 12, {"title": "edited in MaintainX"})  # stale locally
        report = engine.reconcile("workOrders")
        print(
            f"drift: missing {list(report.drift.missing_locally)}, "
            f"stale {list(report.drift.stale_ids)}, extra {list(report.drift.extra_locally)}"
        )
        sample = engine.reconcile("workOrders", sample=1000, seed=1)
        if sample.estimate is not None:
            low, high = sample.estimate.interval
            print(
                f"sampled estimate: {sample.estimate.drift_fraction:.2%} drift "
                f"(95% interval {low:.2%}..{high:.2%}) from {sample.estimate.sample_size} records"
            )
        repaired = engine.repair(report)
        print(f"repaired: {list(repaired.refreshed)} fetched again")
        assert engine.reconcile("workOrders").clean
        assert store.updated_at_by_id("workOrders") == {
            r["id"]: r["updatedAt"] for r in sim.records("workOrders")
        }
        print("the local copy equals MaintainX")


if __name__ == "__main__":
    main()
