"""The delete guard: when MaintainX suddenly answers empty lists and 404s (a permission
change), no run empties the local copy. Full sync, repair and webhook-fed deletes stop before
deleting with ``MassDeleteError``, RB-004 reports the refusal (SEV2), and an explicit
``confirm_deletes`` lets the next run through."""

from __future__ import annotations

import asyncio
import json

import httpx
import pytest

from maintainx_resilient import ConfigurationError, MaintainXClient
from maintainx_resilient._clock import FakeClock
from maintainx_resilient.diagnostics import Severity
from maintainx_resilient.sync import (
    Batch,
    DeleteGuard,
    MassDeleteError,
    RecordRef,
    SyncEngine,
    SyncStore,
    WebhookFeed,
)
from maintainx_resilient.sync.guard import blocked_deletes, blocked_key, deletion_limit
from maintainx_resilient.sync.store import LocalRecord, state_key

from ._support import client_for, local_view, make_sim, remote_view


class PermissionLoss(httpx.BaseTransport):
    """What MaintainX answers once the key's user lost access to work orders (or the key
    of another user is configured): empty lists and 404s. Off until ``active``."""

    def __init__(self, inner: httpx.BaseTransport) -> None:
        self.inner = inner
        self.active = False
        self.requests = 0

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        path = request.url.path.rstrip("/")
        if not self.active or not path.startswith("/v1/workorders"):
            return self.inner.handle_request(request)
        if path == "/v1/workorders":
            return httpx.Response(200, json={"workOrders": [], "nextCursor": None})
        return httpx.Response(404, json={"error": "Not found"})


def rec(i: int) -> LocalRecord:
    return LocalRecord(i, 1_000_000 + i, 1_000_000, json.dumps({"id": i}))


# -- the pure part --------------------------------------------------------------------------


def test_the_guard_allows_exactly_its_share_and_no_more() -> None:
    guard = DeleteGuard()
    assert guard.limit(1000) == 100  # 100 of 1000 may go, 101 may not
    assert DeleteGuard(max_fraction=0.29).limit(100) == 29  # no floating-point off-by-one
    assert guard.limit(5) == 0  # 1 of 5 is 20%: confirm it
    assert DeleteGuard(allow=3).limit(5) == 3
    assert DeleteGuard(max_fraction=1.0).limit(7) == 7


def test_a_confirmation_lifts_or_raises_the_limit() -> None:
    guard = DeleteGuard()
    assert deletion_limit(guard, 1000, False) == 100
    assert deletion_limit(guard, 1000, True) is None
    assert deletion_limit(guard, 1000, 500) == 500
    assert deletion_limit(guard, 1000, 5) == 100  # never below the guard's own limit
    assert deletion_limit(None, 1000, False) is None


@pytest.mark.parametrize("bad", [{"max_fraction": -0.1}, {"max_fraction": 1.5}, {"allow": -1}])
def test_a_bad_guard_is_refused_at_construction(bad: dict[str, float]) -> None:
    with pytest.raises(ConfigurationError):
        DeleteGuard(**bad)  # type: ignore[arg-type]


# -- the store contract -----------------------------------------------------------------------


def test_a_batch_over_its_delete_limit_is_refused_whole(store: SyncStore) -> None:
    store.commit("workOrders", Batch(upserts=[rec(i) for i in range(1, 11)]))
    seq = store.sequence()
    refused = Batch(
        upserts=[rec(99)], deletes=[1, 2], prune_before=seq + 1, state={"k": 1}, max_deletes=1
    )
    with pytest.raises(MassDeleteError) as caught:
        store.commit("workOrders", refused)
    assert (caught.value.would_delete, caught.value.limit) == (10, 1)
    assert store.count("workOrders") == 10 and store.get("workOrders", 99) is None
    assert store.sequence() == seq and store.state("k") is None  # nothing applied
    done = store.commit("workOrders", Batch(deletes=[1, 2, 77], max_deletes=2))
    assert done.deleted == (1, 2)  # ids absent anyway do not count


# -- full sync --------------------------------------------------------------------------------


def test_a_full_sync_refuses_to_follow_maintainx_answering_empty(store: SyncStore) -> None:
    sim = make_sim(1000)
    lost = PermissionLoss(sim.transport())
    with client_for(sim, lost) as client:
        engine = SyncEngine(client, store)
        engine.full()
        lost.active = True
        with pytest.raises(MassDeleteError) as caught:
            engine.full()
        assert (caught.value.would_delete, caught.value.local_count) == (1000, 1000)
        assert caught.value.operation == "full" and "confirm_deletes=True" in str(caught.value)
        assert local_view(store) == remote_view(sim)  # all 1000 kept
        [blocked] = blocked_deletes(store)
        assert blocked["operation"] == "full" and blocked["would_delete"] == 1000
        assert engine.status().deletes_blocked == (blocked,)
        with pytest.raises(MassDeleteError):  # the next scheduled run refuses again
            engine.full()

        result = engine.full(confirm_deletes=True)  # the operator confirms
        assert len(result.deleted) == 1000 and store.count("workOrders") == 0
        assert blocked_deletes(store) == [] and engine.status().deletes_blocked == ()


def test_a_refused_full_sync_keeps_its_checkpoint_and_the_confirmed_run_reads_one_page(
    store: SyncStore,
) -> None:
    sim = make_sim(1000)
    with client_for(sim) as client:
        engine = SyncEngine(client, store)
        engine.full()
        for i in range(801, 1001):  # 20% of the copy, gone or hidden
            sim.delete_record("workOrders", i)
        with pytest.raises(MassDeleteError) as caught:
            engine.full()
        assert caught.value.would_delete == 200 and store.count("workOrders") == 1000
        checkpoint = store.state(state_key("checkpoint:full", "workOrders"))
        assert checkpoint["pages"] == 3  # the last page's transaction was refused whole
        result = engine.full(confirm_deletes=200)
        assert result.requests == 1 and result.resumed_from_page == 3
        assert result.deleted == tuple(range(801, 1001))
        assert local_view(store) == remote_view(sim)


def test_a_full_sync_within_the_guard_deletes_without_asking(store: SyncStore) -> None:
    sim = make_sim(1000)
    with client_for(sim) as client:
        engine = SyncEngine(client, store)
        engine.full()
        for i in range(1, 101):  # exactly 10%
            sim.delete_record("workOrders", i)
        assert len(engine.full().deleted) == 100


def test_no_guard_means_no_limit(store: SyncStore) -> None:
    sim = make_sim(200)
    lost = PermissionLoss(sim.transport())
    with client_for(sim, lost) as client:
        engine = SyncEngine(client, store, delete_guard=None)
        engine.full()
        lost.active = True
        assert len(engine.full().deleted) == 200


# -- reconcile and repair ---------------------------------------------------------------------


def test_a_repair_of_a_report_listing_everything_extra_is_refused_before_any_request(
    store: SyncStore,
) -> None:
    sim = make_sim(100)
    lost = PermissionLoss(sim.transport())
    with client_for(sim, lost) as client:
        engine = SyncEngine(client, store)
        engine.full()
        lost.active = True
        report = engine.reconcile()
        assert len(report.drift.extra_locally) == 100
        before = lost.requests
        with pytest.raises(MassDeleteError) as caught:
            engine.repair(report)
        assert lost.requests == before  # not one GET spent
        assert caught.value.operation == "repair" and store.count("workOrders") == 100
        assert [b["operation"] for b in blocked_deletes(store)] == ["repair"]
        result = engine.repair(report, confirm_deletes=True)
        assert len(result.deleted) == 100 and blocked_deletes(store) == []


def test_a_repair_whose_gets_all_come_back_404_deletes_nothing(store: SyncStore) -> None:
    sim = make_sim(100)
    lost = PermissionLoss(sim.transport())
    with client_for(sim, lost) as client:
        engine = SyncEngine(client, store)
        engine.full()
        for i in range(1, 51):
            sim.update_record("workOrders", i, {"title": f"changed {i}"})
        report = engine.reconcile()
        assert len(report.drift.stale) == 50
        lost.active = True  # the key loses access between reconcile and repair
        with pytest.raises(MassDeleteError) as caught:
            engine.repair(report)
        assert caught.value.would_delete == 50
        assert store.count("workOrders") == 100


# -- webhook-fed deletes ----------------------------------------------------------------------


def test_webhook_named_records_that_all_404_are_not_deleted(store: SyncStore) -> None:
    sim = make_sim(100)
    lost = PermissionLoss(sim.transport())
    feed = WebhookFeed()
    with client_for(sim, lost) as client:
        engine = SyncEngine(client, store, feed=feed)
        engine.full()
        for i in range(1, 21):
            feed.put(RecordRef("workOrders", i))
        lost.active = True
        with pytest.raises(MassDeleteError) as caught:
            engine.incremental()
        assert caught.value.operation == "incremental" and caught.value.would_delete == 20
        assert store.count("workOrders") == 100
        assert feed.drain("workOrders") == list(range(1, 21))  # back in the feed


def test_a_scheduler_pauses_for_its_interval_after_a_refused_round(store: SyncStore) -> None:
    sim = make_sim(100)
    lost = PermissionLoss(sim.transport())
    feed = WebhookFeed()
    clock = FakeClock()
    errors: list[Exception] = []
    with client_for(sim, lost) as client:
        engine = SyncEngine(client, store, feed=feed, clock=clock)
        engine.full()
        for i in range(1, 21):
            feed.put(RecordRef("workOrders", i))
        lost.active = True
        scheduler = engine.scheduler(interval=300, on_error=lambda _, exc: errors.append(exc))
        started = clock.monotonic()
        assert scheduler.run(runs=2) == 2
    assert len(errors) == 2 and all(isinstance(e, MassDeleteError) for e in errors)
    # the ids put back did not end the wait early: the rounds are an interval apart
    assert clock.monotonic() - started >= 300


# -- RB-004 -----------------------------------------------------------------------------------


def rb004(client: MaintainXClient) -> tuple[str, list[tuple[str, Severity]]]:
    result = client.diagnose(only=["RB-004"]).result("RB-004")
    assert result is not None
    return result.status, sorted((f.code, f.severity) for f in result.findings)


def test_rb004_reports_a_refused_sync_as_sev2_and_an_empty_answer(store: SyncStore) -> None:
    sim = make_sim(300)
    lost = PermissionLoss(sim.transport())
    with client_for(sim, lost) as client:
        engine = SyncEngine(client, store)
        engine.full()
        lost.active = True
        with pytest.raises(MassDeleteError):
            engine.full()
        client.incident.attach_sync_store(store)  # RB-004 without a remote sample: the store alone
        status, findings = rb004(client)
        assert status == "problem"
        assert findings == [("RB004.DELETES_REFUSED", Severity.SEV2)]
        client.incident.extras["fetch_work_orders"] = lambda limit: asyncio.to_thread(
            engine.recently_updated, "workOrders", limit
        )
        assert rb004(client)[1] == [
            ("RB004.DELETES_REFUSED", Severity.SEV2),
            ("RB004.REMOTE_EMPTY", Severity.SEV2),
        ]
        lost.active = False  # access restored: the next run gets through and clears it
        engine.full()
        assert rb004(client) == ("ok", [])


def test_the_refusal_is_recorded_under_its_operation(store: SyncStore) -> None:
    sim = make_sim(50)
    lost = PermissionLoss(sim.transport())
    with client_for(sim, lost) as client:
        engine = SyncEngine(client, store)
        engine.full()
        lost.active = True
        with pytest.raises(MassDeleteError):
            engine.full()
    saved = store.state(blocked_key("full", "workOrders"))
    assert saved["limit"] == 5 and saved["local"] == 50 and saved["max_fraction"] == 0.1
