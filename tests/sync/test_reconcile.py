"""Reconciliation reports seeded drift exactly (missing locally, extra locally, stale, with
ids); a sample gives an estimate labelled with its size; repair fixes what a report lists and
nothing else."""

from __future__ import annotations

import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maintainx_resilient import MaintainXClient
from maintainx_resilient.sync import (
    Batch,
    Drift,
    LocalRecord,
    ReconcileReport,
    SyncEngine,
    SyncError,
    SyncStore,
    compare,
)
from maintainx_resilient.sync._fetch import RawPage
from maintainx_resilient.sync.reconcile import covered, in_windows, wilson_interval, window_starts
from maintainx_resilient.sync.store import Entry
from maintainx_resilient.testing import Simulator

from ._support import local_view, remote_view

MISSING = (4, 250, 777)  # deleted locally
EXTRA = (5_000_001, 5_000_002)  # in the store, never in MaintainX
STALE = (10, 600)  # the store holds an older version


def seed_drift(store: SyncStore, sim: Simulator) -> None:
    """Deleted locally, extra locally and stale records, all known exactly."""
    store.commit("workOrders", Batch(deletes=MISSING))
    extras = [
        LocalRecord.from_wire(
            {
                "id": i,
                "updatedAt": "2024-06-01T00:00:00.000Z",
                "createdAt": "2024-06-01T00:00:00.000Z",
            }
        )
        for i in EXTRA
    ]
    store.commit("workOrders", Batch(upserts=extras))
    for i in STALE:
        sim.update_record("workOrders", i, {"title": "changed in MaintainX"})


def test_seeded_drift_is_reported_exactly_and_repair_fixes_it(
    sim: Simulator, client: MaintainXClient, store: SyncStore
) -> None:
    engine = SyncEngine(client, store)
    engine.full()
    assert engine.reconcile().clean
    seed_drift(store, sim)
    report = engine.reconcile()
    assert report.mode == "full" and report.estimate is None
    assert report.drift.missing_locally == MISSING
    assert report.drift.extra_locally == EXTRA
    assert report.drift.stale_ids == STALE
    remote = {r["id"]: r["updatedAt"] for r in sim.records("workOrders")}
    assert [s.remote for s in report.drift.stale] == [remote[i] for i in STALE]
    assert (report.remote_checked, report.local_checked) == (1000, 999)
    assert report.requests == 5
    result = engine.repair()  # the report saved by reconcile
    assert result.refreshed == MISSING + STALE
    assert result.deleted == EXTRA and result.kept == () and result.gone == ()
    assert result.requests == len(MISSING) + len(STALE) + len(EXTRA)
    assert local_view(store) == remote_view(sim)
    assert engine.reconcile().clean


def test_repair_touches_only_what_the_report_lists(
    sim: Simulator, client: MaintainXClient, store: SyncStore
) -> None:
    engine = SyncEngine(client, store)
    engine.full()
    seed_drift(store, sim)
    report = engine.reconcile()
    sim.update_record("workOrders", 900, {"title": "not in the report"})
    sim.delete_record("workOrders", 250)  # listed as missing, gone by repair time
    client.work_orders.create(title="extra listed? no: a new record")
    sim.update_record("workOrders", 7, {"title": "x"})
    result = engine.repair(report)
    assert result.gone == (250,) and 250 not in result.refreshed
    after = engine.reconcile()
    assert after.drift.stale_ids == (7, 900)
    assert len(after.drift.missing_locally) == 1  # the new record: not listed, not fetched


def test_repair_follows_maintainx_when_a_restore_moved_updated_at_back(
    sim: Simulator, client: MaintainXClient, store: SyncStore
) -> None:
    engine = SyncEngine(client, store)
    engine.full()
    before = sim.records("workOrders")[9]  # id 10
    sim.update_record("workOrders", 10, {"title": "edited"})
    engine.full()  # the store holds the edit
    # MaintainX restores the record: its updatedAt goes back to the old version's
    sim.update_record(
        "workOrders", 10, {"title": before["title"], "updatedAt": before["updatedAt"]}
    )
    report = engine.reconcile()
    assert report.drift.stale_ids == (10,)
    assert engine.repair(report).refreshed == (10,)
    stored = store.get("workOrders", 10)
    assert stored is not None and stored.json()["title"] == before["title"]
    assert engine.reconcile().clean  # not the same drift for ever


def test_a_repaired_record_keeps_its_full_form_through_the_next_full_sync(
    sim: Simulator, client: MaintainXClient, store: SyncStore
) -> None:
    engine = SyncEngine(client, store)
    engine.full()
    listed = store.get("workOrders", 4)
    assert listed is not None
    store.commit("workOrders", Batch(deletes=(4,)))
    engine.repair(engine.reconcile())  # fetched alone: the single-record form
    single = store.get("workOrders", 4)
    assert single is not None and set(single.json()) > set(listed.json())
    engine.full()
    again = store.get("workOrders", 4)
    assert again is not None and again.json() == single.json()  # the same version: kept
    sim.update_record("workOrders", 4, {"title": "changed"})
    engine.full()
    changed = store.get("workOrders", 4)
    assert changed is not None and changed.json()["title"] == "changed"  # a newer version wins


def test_an_extra_record_maintainx_does_have_is_kept(
    sim: Simulator, client: MaintainXClient, store: SyncStore
) -> None:
    engine = SyncEngine(client, store)
    engine.full()
    report = ReconcileReport("workOrders", "full", 0.0, 0, 0, Drift(extra_locally=(8,)), None)
    result = engine.repair(report)
    assert result.kept == (8,) and result.deleted == ()
    assert 8 in local_view(store)
    unverified = engine.repair(report, verify_extras=False)
    assert unverified.deleted == (8,) and unverified.requests == 0


def test_a_report_for_another_resource_is_refused(
    client: MaintainXClient, store: SyncStore
) -> None:
    engine = SyncEngine(client, store)
    with pytest.raises(ValueError, match="no reconciliation report"):
        engine.repair()
    report = ReconcileReport("assets", "full", 0.0, 0, 0)
    from maintainx_resilient.sync._fetch import Fetcher
    from maintainx_resilient.sync.reconcile import run_repair
    from maintainx_resilient.sync.resources import resolve

    with pytest.raises(SyncError, match="assets"):
        run_repair(Fetcher(client, resolve("workOrders")), store, report)


def test_a_sample_estimates_drift_and_says_how_big_it_was(
    sim: Simulator, client: MaintainXClient, store: SyncStore
) -> None:
    engine = SyncEngine(client, store)
    engine.full()
    clean = engine.reconcile(sample=400, seed=1)
    assert clean.mode == "sample" and clean.clean and clean.estimate is not None
    assert 300 <= clean.estimate.sample_size <= 400 and clean.estimate.windows == 2
    assert clean.requests == 2 + 2  # oldest, newest, one page per window
    assert clean.estimate.interval[0] == 0.0 < clean.estimate.interval[1] < 0.02
    # one record in ten made stale: the estimate must see it
    for i in range(1, 1001, 10):
        sim.update_record("workOrders", i, {"title": "drift"})
    drifted = engine.reconcile(sample=600, seed=2)
    est = drifted.estimate
    assert est is not None and est.sample_size >= 400
    assert set(drifted.drift.stale_ids) <= set(range(1, 1001, 10))
    assert est.interval[0] <= 0.1 <= est.interval[1]
    assert 50 <= est.stale <= 150  # about 100 of 1000
    assert not drifted.clean and drifted.drift.missing_locally == ()


def test_a_sample_finds_all_three_kinds_inside_its_windows(
    sim: Simulator, client: MaintainXClient, store: SyncStore
) -> None:
    engine = SyncEngine(client, store)
    engine.full()
    seed_drift(store, sim)
    whole = engine.reconcile(sample=1000, seed=3)  # windows that cover nearly everything
    drift = whole.drift
    assert set(drift.missing_locally) <= set(MISSING)
    assert set(drift.stale_ids) <= set(STALE)
    assert set(drift.extra_locally) <= set(EXTRA)
    assert drift.total >= 3
    with pytest.raises(ValueError, match="positive"):
        engine.reconcile(sample=0)


def test_reports_survive_json(sim: Simulator, client: MaintainXClient, store: SyncStore) -> None:
    engine = SyncEngine(client, store)
    engine.full()
    seed_drift(store, sim)
    for report in (engine.reconcile(), engine.reconcile(sample=300, seed=4)):
        assert ReconcileReport.from_dict(report.to_dict()) == report
    assert engine.last_report() == ReconcileReport.from_dict(engine.last_report().to_dict())  # type: ignore[union-attr]
    with pytest.raises(SyncError, match="not a reconciliation report"):
        ReconcileReport.from_dict({"mode": "full"})
    status = engine.status()
    assert status.last_reconcile is not None and status.last_reconcile["mode"] == "sample"


def test_locations_reconcile_in_full_even_when_a_sample_is_asked(
    sim: Simulator, client: MaintainXClient, store: SyncStore
) -> None:
    engine = SyncEngine(client, store)
    engine.full("locations")
    report = engine.reconcile("locations", sample=2)
    assert report.mode == "full" and report.clean


# -- the pure parts --------------------------------------------------------------------------

maps = st.dictionaries(st.integers(1, 60), st.one_of(st.none(), st.integers(0, 5)), max_size=40)


@given(maps, maps)
def test_drift_partitions_the_ids(
    remote: dict[int, int | None], local: dict[int, int | None]
) -> None:
    drift = compare(remote, local)
    assert set(drift.missing_locally) == remote.keys() - local.keys()
    assert set(drift.extra_locally) == local.keys() - remote.keys()
    assert {s.id for s in drift.stale} == {
        i for i in remote.keys() & local.keys() if remote[i] != local[i]
    }
    assert compare(remote, remote).total == 0
    assert list(drift.missing_locally) == sorted(drift.missing_locally)


@given(st.integers(0, 500), st.integers(1, 500))
def test_the_wilson_interval_holds_the_observed_fraction(hits: int, n: int) -> None:
    hits = min(hits, n)
    low, high = wilson_interval(hits, n)
    assert 0.0 <= low <= hits / n <= high <= 1.0
    assert wilson_interval(0, 0) == (0.0, 1.0)


@given(st.integers(0, 10**9), st.integers(0, 10**7), st.integers(1, 50), st.integers(0, 99))
def test_window_starts_are_one_per_stratum(low: int, width: int, count: int, seed: int) -> None:
    high = low + width
    starts = window_starts(random.Random(seed), low, high, count)
    assert starts == sorted(set(starts))
    assert all(s % 1000 == 0 and low <= s <= high for s in starts)
    span_ms = high // 1000 - -(-low // 1000) + 1
    assert len(starts) == (min(count, span_ms) if span_ms > 0 else 0)


def test_window_starts_in_a_degenerate_range() -> None:
    assert window_starts(random.Random(1), 5_000, 5_000, 3) == [5_000]
    assert window_starts(random.Random(1), 6_000, 5_000, 3) == []


def rec(id: int, created: int) -> LocalRecord:
    return LocalRecord(id, created, created, "{}")


def test_a_full_page_covers_up_to_its_last_creation_time_exclusive() -> None:
    page = RawPage([rec(1, 10), rec(2, 20), rec(3, 30), rec(4, 30)], "more")
    end, records = covered(5, page)
    assert end == 30 and [r.id for r in records] == [1, 2]
    end, records = covered(5, RawPage([rec(1, 10), rec(2, 20)], None))
    assert end is None and [r.id for r in records] == [1, 2]
    entries = [Entry(i, i, c) for i, c in [(1, 10), (2, 20), (3, 30), (9, 4), (8, None)]]
    assert in_windows(entries, [(5, 30)]) == {1: 1, 2: 2}
    assert in_windows(entries, [(25, None), (0, 5)]) == {3: 3, 9: 9}
