"""Incremental sync as the "Polling for Changes" guide says: updatedAt[gte] from the
watermark minus an overlap, the same filter on every page, the watermark advanced to the
largest updatedAt seen, deduplicated by id; webhook events trigger record fetches; and a
scheduled loop."""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any

import pytest

from maintainx_resilient import MaintainXClient
from maintainx_resilient._clock import FakeClock
from maintainx_resilient._iso8601 import format_timestamp, parse_timestamp
from maintainx_resilient.sync import (
    IncrementalResult,
    RecordRef,
    SyncEngine,
    SyncError,
    SyncStore,
    WebhookFeed,
)
from maintainx_resilient.sync._fetch import Fetcher, RawPage
from maintainx_resilient.sync.incremental import read_watermark, run_incremental
from maintainx_resilient.sync.resources import resolve
from maintainx_resilient.testing import Simulator

from ._support import RecordingTransport, client_for, local_view, remote_view

WO = resolve("workOrders")


def newest(sim: Simulator) -> str:
    return str(max(r["updatedAt"] for r in sim.records("workOrders")))


def test_changes_since_the_watermark_are_fetched(
    sim: Simulator, client: MaintainXClient, store: SyncStore
) -> None:
    engine = SyncEngine(client, store, overlap=0)
    engine.full()
    sim.update_record("workOrders", 10, {"title": "edited"})
    created = client.work_orders.create(title="new one")
    sim.delete_record("workOrders", 11)  # invisible to polling (see the webhook tests)
    result = engine.incremental()
    assert result.inserted == 1 and result.updated == 1
    assert result.watermark == newest(sim)
    assert read_watermark(store, "workOrders") == parse_timestamp(newest(sim))
    remote, local = remote_view(sim), local_view(store)
    assert {i: remote[i] for i in remote} == {i: local[i] for i in remote}
    assert created in local and local.keys() - remote.keys() == {11}


def test_every_page_carries_the_same_filter_and_the_overlap(
    sim: Simulator, store: SyncStore
) -> None:
    recording = RecordingTransport(sim.transport())
    with client_for(sim, recording) as client:
        engine = SyncEngine(client, store, page_size=50, overlap=90)
        engine.full()
        mark = read_watermark(store, "workOrders")
        assert mark is not None
        for i in range(1, 121):
            sim.update_record("workOrders", i, {"title": f"edit {i}"})
        recording.queries.clear()
        result = engine.incremental()
    since = format_timestamp(mark - 90_000_000)
    assert result.since == since
    assert result.pages == len(recording.queries) >= 3
    for query in recording.queries:
        assert ("updatedAt[gte]", since) in query
        assert ("sort", "updatedAt") in query
        assert ("limit", "50") in query
    assert local_view(store) == remote_view(sim)


class MovingTarget(Fetcher):
    """Between pages 1 and 2, a record already read is updated again (it moves ahead of
    the cursor in updatedAt order), and one not read yet is updated too."""

    def __init__(self, sim: Simulator, *args: Any) -> None:
        super().__init__(*args)
        self.sim = sim
        self.pages = 0

    def page(self, params: Any, cursor: str | None = None) -> RawPage:
        page = super().page(params, cursor)
        self.pages += 1
        if self.pages == 1 and page.records:
            self.sim.update_record("workOrders", page.records[0].id, {"title": "again"})
            self.sim.update_record("workOrders", 900, {"title": "meanwhile"})
        return page


def test_records_updated_while_paging_are_not_missed_and_are_deduplicated(
    sim: Simulator, client: MaintainXClient, store: SyncStore
) -> None:
    SyncEngine(client, store).full()
    for i in range(1, 301):
        sim.update_record("workOrders", i, {"title": f"batch {i}"})
    result = run_incremental(MovingTarget(sim, client, WO), store, page_size=100)
    assert result.fetched == result.unique + 1  # the record read twice is counted once
    assert local_view(store) == remote_view(sim)
    assert result.watermark == newest(sim)


def test_without_a_watermark_everything_is_read(
    sim: Simulator, client: MaintainXClient, store: SyncStore
) -> None:
    result = SyncEngine(client, store).incremental()
    assert result.since is None and result.unique == 1000
    assert local_view(store) == remote_view(sim)


def test_an_idle_run_moves_nothing(client: MaintainXClient, store: SyncStore) -> None:
    engine = SyncEngine(client, store)
    engine.full()
    first = engine.incremental()
    second = engine.incremental()
    assert second.watermark == first.watermark and second.inserted == second.updated == 0
    assert engine.status().polled_ago is not None


def test_locations_cannot_be_polled(client: MaintainXClient, store: SyncStore) -> None:
    with pytest.raises(SyncError, match="full sync"):
        SyncEngine(client, store).incremental("locations")


def test_webhook_events_fetch_their_records_and_deletions_reach_the_store(
    sim: Simulator, client: MaintainXClient, store: SyncStore
) -> None:
    feed = WebhookFeed()
    engine = SyncEngine(client, store, feed=feed)
    engine.full()
    sim.delete_record("workOrders", 20)
    sim.delete_record("workOrders", 21)
    assert feed.put({"workOrderId": 20, "orgId": 1}, "WORK_ORDER_DELETE")
    assert feed.put({"workOrderId": 21})
    assert feed.put(RecordRef("workOrders", 22))
    assert feed.put({"workOrderId": 22, "newStatus": "DONE"}, "WORK_ORDER_STATUS_CHANGE")
    assert not feed.put({"userId": 3}, "USER_LOGOUT")
    assert feed.pending() == 3 and feed.ignored == 1
    event = SimpleNamespace(raw={"assetId": 2}, event_type="ASSET_STATUS_CHANGE")
    assert feed.put(event)  # a parsed event of maintainx_resilient.webhooks
    assert feed.pending("assets") == 1
    result = engine.incremental()
    assert result.webhook_fetched == 3 and result.webhook_deleted == (20, 21)
    assert local_view(store) == remote_view(sim)
    assert feed.pending("workOrders") == 0 and feed.pending("assets") == 1


def test_webhook_fetches_that_fail_go_back_to_the_feed(
    sim: Simulator, client: MaintainXClient, store: SyncStore
) -> None:
    feed = WebhookFeed()
    engine = SyncEngine(client, store, feed=feed)
    engine.full()
    for i in (5, 6, 7):
        feed.put(RecordRef("workOrders", i))
    sim.faults.fail_next(1, status=500, path="/v1/workorders/6")
    with pytest.raises(Exception, match="500"):
        engine.incremental()
    assert feed.drain("workOrders") == [6, 7]


def test_a_webhook_feed_wakes_a_waiting_loop() -> None:
    feed = WebhookFeed(["workOrders"])
    assert feed.wait(0) is False
    feed.put(RecordRef("workOrders", 1))
    assert feed.wait(30) is True  # returns at once: something is pending
    assert not feed.put(RecordRef("parts", 1))  # not a resource this feed takes
    feed.requeue("workOrders", [9])
    assert feed.drain("workOrders") == [9, 1]


def test_the_scheduler_runs_every_interval_on_the_injected_clock(
    client: MaintainXClient, store: SyncStore
) -> None:
    clock = FakeClock()
    engine = SyncEngine(client, store, clock=clock)
    engine.full()
    results: list[IncrementalResult] = []
    scheduler = engine.scheduler(["workorders"], interval=300, on_result=results.append)
    assert scheduler.run(runs=3) == 3
    assert len(results) == 3 and scheduler.rounds == 3
    assert len(clock.sleeps) == 2 and all(0 < s <= 300 for s in clock.sleeps)


def test_the_scheduler_reports_errors_and_carries_on(
    sim: Simulator, client: MaintainXClient, store: SyncStore
) -> None:
    clock = FakeClock()
    engine = SyncEngine(client, store, clock=clock)
    errors: list[tuple[str, Exception]] = []
    scheduler = engine.scheduler(interval=60, on_error=lambda r, e: errors.append((r, e)))
    sim.faults.fail_next(1, status=503, path="/v1/workorders")
    assert scheduler.run(runs=2) == 2
    assert len(errors) == 1 and scheduler.errors == 1
    assert local_view(store) == remote_view(sim)
    with pytest.raises(ValueError, match="interval"):
        engine.scheduler(interval=0)


def test_stop_ends_the_loop(client: MaintainXClient, store: SyncStore) -> None:
    clock = FakeClock()
    engine = SyncEngine(client, store, clock=clock)
    scheduler = engine.scheduler(interval=10)
    scheduler.on_result = lambda _: scheduler.stop()
    assert scheduler.run() == 1


def test_the_most_recently_updated_records_for_rb004(
    sim: Simulator, client: MaintainXClient, store: SyncStore
) -> None:
    engine = SyncEngine(client, store)
    sim.update_record("workOrders", 42, {"title": "latest"})
    recent = engine.recently_updated("workorders", limit=5)
    assert len(recent) == 5 and next(iter(recent)) == 42
    assert recent[42] == newest(sim)
    with pytest.raises(ValueError, match="limit"):
        engine.recently_updated(limit=500)
