"""``client.diagnose()`` fills in RB-004 from the sync engine: the store is the local side,
``SyncEngine.recently_updated`` the remote sample; drift shows as findings, and the sync
clears them."""

from __future__ import annotations

import asyncio

from maintainx_resilient import MaintainXClient
from maintainx_resilient.sync import Batch, SyncEngine, SyncStore
from maintainx_resilient.testing import Simulator


def rb004_codes(client: MaintainXClient) -> tuple[str, list[str]]:
    result = client.diagnose(only=["RB-004"]).result("RB-004")
    assert result is not None
    return result.status, sorted(f.code for f in result.findings)


def test_rb004_reads_the_store_and_the_engine_repairs_what_it_finds(
    sim: Simulator, client: MaintainXClient, store: SyncStore
) -> None:
    engine = SyncEngine(client, store)
    client.incident.attach_sync_store(store)
    client.incident.extras["fetch_work_orders"] = lambda limit: asyncio.to_thread(
        engine.recently_updated, "workOrders", limit
    )
    engine.full()
    assert rb004_codes(client) == ("ok", [])

    sim.update_record("workOrders", 5, {"title": "changed, not synced yet"})
    created = client.work_orders.create(title="new, not synced yet")
    status, codes = rb004_codes(client)
    assert status == "problem"
    assert codes == ["RB004.MISSING_LOCALLY", "RB004.STALE_RECORDS"]

    engine.incremental()  # the mitigation: the polling job catches up
    assert rb004_codes(client) == ("ok", [])

    store.commit("workOrders", Batch(deletes=[created]))
    assert rb004_codes(client)[1] == ["RB004.MISSING_LOCALLY"]
    engine.repair(engine.reconcile())  # the runbook's "run reconciliation"
    assert rb004_codes(client) == ("ok", [])
