"""Against the simulator over a real socket, with 20,000 work orders changing in the
background (creates, updates, deletes) while the full sync pages: once the changes stop, one
incremental sync (fed by the simulator's webhooks for those changes) leaves the store equal
to MaintainX, ids and updatedAt, and reconcile reports no drift. Without webhooks, what a
poll cannot see (records deleted after the full sync read them) is exactly what reconcile
reports and repair fixes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from maintainx_resilient.sync import Progress, SQLiteStore, SyncEngine, WebhookFeed
from maintainx_resilient.testing import Simulator

from ._support import make_sim, remote_iso, served_client

pytestmark = [pytest.mark.socket, pytest.mark.slow]

HOOK = "https://hooks.example/maintainx/"
EVENTS = ("NEW_WORK_ORDER", "WORK_ORDER_CHANGE", "WORK_ORDER_DELETE")


@pytest.fixture(scope="module")
def big_sim() -> Simulator:
    return make_sim(20_000, seed=20)


@pytest.fixture
def served(big_sim: Simulator) -> Iterator[str]:
    with big_sim.serve() as server:
        yield server.base_url
    big_sim.webhooks.close()


def test_full_plus_one_incremental_is_an_exact_copy(
    big_sim: Simulator, served: str, tmp_path: Path
) -> None:
    sim = big_sim
    feed = WebhookFeed()
    overlapping: list[int] = []

    def deliver(url: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
        # the webhook receiver, in process: the subscription URL says the event type
        feed.put(json.loads(body), url.rsplit("/", 1)[-1].upper())
        return 200

    sim.webhooks.sender = deliver
    mutator = sim.mutator(rate=300, seed=7)

    def watch(progress: Progress) -> None:
        overlapping.append(len(mutator.mutations))

    with (
        served_client(served) as client,
        SQLiteStore(tmp_path / "copy.db") as store,
    ):
        for event_type in EVENTS:
            client.subscriptions.create(type=event_type, url=HOOK + event_type.lower())
        engine = SyncEngine(client, store, feed=feed, on_progress=watch)
        with mutator:
            full = engine.full()
        changes = mutator.counts()
        assert sim.webhooks.wait_idle(timeout=60)  # every webhook delivered
        incremental = engine.incremental()
        report = engine.reconcile()
        local = store.updated_at_by_id("workOrders")
    remote = remote_iso(sim)
    # the changes really ran while the full sync paged, all three kinds of them
    assert overlapping[0] < overlapping[-1]
    assert min(changes.values()) > 0, changes
    assert full.records >= 20_000 and full.pages >= 100
    assert incremental.webhook_fetched > 0 and incremental.webhook_deleted
    assert local == remote  # ids and updatedAt, exactly
    assert report.clean and report.remote_checked == len(remote)


def test_without_webhooks_reconcile_reports_exactly_what_polling_cannot_see(
    tmp_path: Path,
) -> None:
    sim = make_sim(5_000, seed=21)
    with (
        sim.serve() as server,
        served_client(server.base_url) as client,
        SQLiteStore(tmp_path / "copy.db") as store,
    ):
        engine = SyncEngine(client, store)
        mutator = sim.mutator(rate=300, seed=8)
        with mutator:
            engine.full()
        engine.incremental()
        remote = remote_iso(sim)
        local = store.updated_at_by_id("workOrders")
        deleted = {m.id for m in mutator.mutations if m.kind == "delete"}
        unseen = set(local) - set(remote)
        assert unseen and unseen <= deleted  # deleted after the full sync had read them
        assert {i: local[i] for i in remote} == remote  # everything else is exact
        report = engine.reconcile()
        assert set(report.drift.extra_locally) == unseen
        assert report.drift.missing_locally == () and report.drift.stale == ()
        repair = engine.repair(report)
        assert set(repair.deleted) == unseen
        assert store.updated_at_by_id("workOrders") == remote
        assert engine.reconcile().clean
