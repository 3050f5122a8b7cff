"""Both bundled stores keep the same contract: atomic commits, the newer copy wins, write
sequences for deletion detection, JSON state; SQLite adds concurrent readers and files."""

from __future__ import annotations

import json
import sqlite3
import threading
from pathlib import Path

import pytest

from maintainx_resilient._iso8601 import parse_timestamp
from maintainx_resilient.diagnostics._context import SyncStoreSource
from maintainx_resilient.sync import (
    Batch,
    LocalRecord,
    MemoryStore,
    SQLiteStore,
    SyncStore,
)

T0 = "2025-01-01T00:00:00.000Z"
T1 = "2025-01-01T00:00:01.000Z"
T2 = "2025-01-01T00:00:02.000Z"


def rec(id: int, updated: str | None = T1, **extra: object) -> LocalRecord:
    body: dict[str, object] = {"id": id, "createdAt": T0, **extra}
    if updated is not None:
        body["updatedAt"] = updated
    return LocalRecord.from_wire(body)


def test_both_stores_are_sync_stores_and_rb004_sources(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "x.db") as sqlite_store:
        for made in (sqlite_store, MemoryStore()):
            assert isinstance(made, SyncStore)
            source: SyncStoreSource = made  # RB-004 reads the store through this protocol
            assert source.updated_at_by_id("workorders") == {}


def test_records_are_kept_as_received(store: SyncStore) -> None:
    wire = {"id": 1, "updatedAt": T1, "createdAt": T0, "title": "Pump ✓", "new": {"x": [1]}}
    store.commit("workOrders", Batch(upserts=[LocalRecord.from_wire(wire)]))
    got = store.get("workOrders", 1)
    assert got is not None and got.json() == wire
    assert (got.updated_at, got.created_at) == (T1, T0)
    assert store.get("workOrders", 2) is None
    assert store.updated_at_by_id("workOrders") == {1: T1}
    assert store.updated_at_by_id("workorders") == {1: T1}  # the name RB-004 passes


def test_the_newer_copy_wins_whatever_the_order(store: SyncStore) -> None:
    first = store.commit("workOrders", Batch(upserts=[rec(1, T2, title="new")]))
    assert (first.inserted, first.updated, first.unchanged) == (1, 0, 0)
    older = store.commit("workOrders", Batch(upserts=[rec(1, T1, title="old")]))
    assert (older.inserted, older.updated, older.unchanged) == (0, 0, 1)
    got = store.get("workOrders", 1)
    assert got is not None and got.json()["title"] == "new"
    same = store.commit("workOrders", Batch(upserts=[rec(1, T2, title="same time")]))
    assert same.unchanged == 1
    got = store.get("workOrders", 1)
    assert got is not None and got.json()["title"] == "same time"  # ties: incoming wins
    later = store.commit("workOrders", Batch(upserts=[rec(1, "2025-01-02T00:00:00.000Z")]))
    assert later.updated == 1


def test_a_record_without_updated_at_is_replaced(store: SyncStore) -> None:
    store.commit("workOrders", Batch(upserts=[rec(1, None, title="a")]))
    store.commit("workOrders", Batch(upserts=[rec(1, None, title="b")]))
    got = store.get("workOrders", 1)
    assert got is not None and got.json()["title"] == "b"
    assert store.updated_at_by_id("workOrders") == {1: ""}


def test_prune_removes_what_was_not_seen_since_a_sequence(store: SyncStore) -> None:
    store.commit("workOrders", Batch(upserts=[rec(i) for i in range(1, 6)]))
    start = store.sequence() + 1
    store.commit("workOrders", Batch(upserts=[rec(1), rec(3)]))
    store.commit("workOrders", Batch(upserts=[rec(5, T0)]))  # older copy: kept but seen
    result = store.commit("workOrders", Batch(upserts=[rec(6)], prune_before=start))
    assert result.deleted == (2, 4)
    assert sorted(store.updated_at_by_id("workOrders")) == [1, 3, 5, 6]
    assert store.count("workOrders") == 4


def test_deletes_report_only_what_was_there(store: SyncStore) -> None:
    store.commit("workOrders", Batch(upserts=[rec(1), rec(2)]))
    result = store.commit("workOrders", Batch(deletes=[2, 3, 2]))
    assert result.deleted == (2,)
    assert [e.id for e in store.entries("workOrders")] == [1]


def test_resources_are_separate(store: SyncStore) -> None:
    store.commit("workOrders", Batch(upserts=[rec(1)]))
    store.commit("assets", Batch(upserts=[rec(1, T2)]))
    result = store.commit("assets", Batch(prune_before=store.sequence() + 1))
    assert result.deleted == (1,)
    assert store.count("workOrders") == 1 and store.count("assets") == 0


def test_state_holds_json_documents(store: SyncStore) -> None:
    assert store.state("watermark:workOrders") is None
    store.commit("workOrders", Batch(state={"watermark:workOrders": {"us": 5, "at": T0}}))
    assert store.state("watermark:workOrders") == {"us": 5, "at": T0}
    store.commit("workOrders", Batch(state={"watermark:workOrders": None}))
    assert store.state("watermark:workOrders") is None


def test_sequences_count_commits(store: SyncStore) -> None:
    assert store.sequence() == 0
    assert store.commit("workOrders", Batch()).sequence == 1
    assert store.commit("workOrders", Batch()).sequence == 2
    assert store.sequence() == 2


def test_a_failed_commit_changes_nothing(sqlite_store: SQLiteStore) -> None:
    sqlite_store.commit("workOrders", Batch(upserts=[rec(1)]))
    bad = Batch(upserts=[rec(1, T2), rec(2)], deletes=[1], state={"k": {1, 2}})
    with pytest.raises(TypeError):
        sqlite_store.commit("workOrders", bad)  # a set is not JSON: fails after the writes
    assert sqlite_store.sequence() == 1
    assert sqlite_store.updated_at_by_id("workOrders") == {1: T1}
    assert sqlite_store.commit("workOrders", Batch()).sequence == 2  # usable afterwards


def test_the_file_survives_reopening(tmp_path: Path) -> None:
    with SQLiteStore(tmp_path / "x.db") as first:
        first.commit("workOrders", Batch(upserts=[rec(1)], state={"k": [1, "a"]}))
    with SQLiteStore(tmp_path / "x.db") as second:
        assert second.updated_at_by_id("workOrders") == {1: T1}
        assert second.state("k") == [1, "a"]
        assert second.sequence() == 1
        assert [r.id for r in second.records("workOrders")] == [1]


def test_readers_are_not_blocked_by_a_writer_and_see_only_commits(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    with SQLiteStore(path) as store:
        store.commit("workOrders", Batch(upserts=[rec(1)]))
        writer = sqlite3.connect(path, isolation_level=None)
        writer.execute("BEGIN IMMEDIATE")
        writer.execute(
            "INSERT INTO records_workOrders (id, updated_us, created_us, seq, data) "
            "VALUES (2, 0, 0, 9, '{}')"
        )
        seen: list[dict[int, str]] = []
        reader = threading.Thread(target=lambda: seen.append(store.updated_at_by_id("workOrders")))
        reader.start()
        reader.join(timeout=5)
        assert seen == [{1: T1}]  # read at once, without the uncommitted row
        writer.execute("COMMIT")
        writer.close()
        assert sorted(store.updated_at_by_id("workOrders")) == [1, 2]


def test_threads_writing_at_once_lose_nothing(sqlite_store: SQLiteStore) -> None:
    def write(base: int) -> None:
        for i in range(20):
            sqlite_store.commit("workOrders", Batch(upserts=[rec(base + i)]))

    threads = [threading.Thread(target=write, args=(n * 100,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sqlite_store.count("workOrders") == 80
    assert sqlite_store.sequence() == 80


def test_memory_is_refused_for_sqlite_and_closed_stores_say_so(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="MemoryStore"):
        SQLiteStore(":memory:")
    with SQLiteStore(tmp_path / "y.db") as other, pytest.raises(ValueError, match="letters"):
        other.commit('x"; DROP TABLE state; --', Batch())
    store = SQLiteStore(tmp_path / "x.db")
    store.close()
    with pytest.raises(RuntimeError, match="closed"):
        store.count("workOrders")
    assert "x.db" in repr(store)


def test_state_is_stored_as_json_text(sqlite_store: SQLiteStore) -> None:
    sqlite_store.commit("workOrders", Batch(state={"report": {"ids": [3, 1]}}))
    raw = sqlite3.connect(sqlite_store.path).execute("SELECT value FROM state").fetchone()[0]
    assert json.loads(raw) == {"ids": [3, 1]}  # never pickled


def test_indexed_timestamps_are_exact_microseconds(store: SyncStore) -> None:
    store.commit("workOrders", Batch(upserts=[rec(1, "2025-01-01T00:00:00.123456Z")]))
    (entry,) = store.entries("workOrders")
    assert entry.updated_us == parse_timestamp("2025-01-01T00:00:00.123456Z")
    assert entry.created_us == parse_timestamp(T0)


def test_many_commits_reach_the_file_with_background_checkpoints(tmp_path: Path) -> None:
    path = tmp_path / "x.db"
    with SQLiteStore(path) as store:
        for page in range(40):
            batch = [rec(page * 50 + i, T1, body="x" * 500) for i in range(50)]
            store.commit("workOrders", Batch(upserts=batch))
        assert store.count("workOrders") == 2000
    with SQLiteStore(path) as again:
        assert again.count("workOrders") == 2000  # everything reached the file


def test_the_same_id_twice_in_one_batch_keeps_the_newer(store: SyncStore) -> None:
    result = store.commit("workOrders", Batch(upserts=[rec(1, T2, v=2), rec(1, T1, v=1)]))
    assert (result.inserted, result.unchanged) == (1, 1)
    got = store.get("workOrders", 1)
    assert got is not None and got.json()["v"] == 2


def test_a_shorter_form_of_the_same_version_never_replaces_the_fuller_one(
    store: SyncStore,
) -> None:
    # A single-record GET (webhook-fed fetch, repair) stores more fields than a list page
    # shows; the next full sync's list form of the same version must not drop them.
    full = rec(1, T1, title="Pump", status="OPEN", procedure={"rows": [1, 2]}, assetId=7)
    store.commit("workOrders", Batch(upserts=[full]))
    short = rec(1, T1, title="Pump", status="OPEN")
    result = store.commit("workOrders", Batch(upserts=[short]))
    assert (result.inserted, result.updated, result.unchanged) == (0, 0, 1)
    got = store.get("workOrders", 1)
    assert got is not None and got.json() == full.json()
    start = store.sequence()
    pruned = store.commit("workOrders", Batch(prune_before=start))
    assert pruned.deleted == ()  # the kept copy was stamped seen by the list's commit


def test_a_shorter_copy_that_differs_or_is_newer_still_replaces(store: SyncStore) -> None:
    full = rec(1, T1, title="Pump", status="OPEN", assetId=7)
    store.commit("workOrders", Batch(upserts=[full]))
    changed = rec(1, T1, title="Pump (renamed)")  # same time, a value differs: not a form
    store.commit("workOrders", Batch(upserts=[changed]))
    got = store.get("workOrders", 1)
    assert got is not None and got.json() == changed.json()
    store.commit("workOrders", Batch(upserts=[full]))
    newer = rec(1, T2, title="Pump")  # a later version: its list form is the truth now
    assert store.commit("workOrders", Batch(upserts=[newer])).updated == 1
    got = store.get("workOrders", 1)
    assert got is not None and got.json() == newer.json()


def test_the_fuller_form_is_kept_when_both_come_in_one_batch(store: SyncStore) -> None:
    store.commit("workOrders", Batch(upserts=[rec(1, T0)]))
    full, short = rec(1, T1, title="Pump", assetId=7), rec(1, T1, title="Pump")
    store.commit("workOrders", Batch(upserts=[full, short]))
    got = store.get("workOrders", 1)
    assert got is not None and got.json() == full.json()


def test_expected_lets_an_older_copy_replace_the_one_planned_against(store: SyncStore) -> None:
    store.commit("workOrders", Batch(upserts=[rec(1, T2, title="local"), rec(2, T2)]))
    t2 = parse_timestamp(T2)
    restored = rec(1, T1, title="restored in MaintainX")
    result = store.commit("workOrders", Batch(upserts=[restored], expected={1: t2}))
    assert (result.updated, result.unchanged) == (1, 0)
    got = store.get("workOrders", 1)
    assert got is not None and got.json() == restored.json()
    # planned against another version: the usual rule (the newer stored copy is kept)
    kept = store.commit("workOrders", Batch(upserts=[rec(2, T1)], expected={2: t2 + 1}))
    assert kept.unchanged == 1
    assert store.updated_at_by_id("workOrders") == {1: T1, 2: T2}


@pytest.mark.parametrize(
    ("stored", "incoming", "fuller"),
    [
        ('{"id":1,"a":1,"b":2}', '{"id":1,"a":1}', True),
        ('{"id":1,"a":1,"b":2}', '{"id":1,"a":2}', False),  # a value differs
        ('{"id":1,"a":1,"b":2}', '{"id":1,"c":1}', False),  # a field the stored lacks
        ('{"id":1,"a":1}', '{"id":1,"a":1}', False),  # the same: not fuller
        ('{"id":1,"a":1,"b":2}', "[1]", False),
        ('{"id":1,"a":1,"b":2', '{"id":1}', False),  # unreadable stored text
        ('{"id":1,"a":' + "[" * 100_000 + "]" * 100_000 + "}", '{"id":1}', False),  # too deep
    ],
)
def test_fuller_form(stored: str, incoming: str, fuller: bool) -> None:
    from maintainx_resilient.sync.store import fuller_form

    assert fuller_form(stored, incoming) is fuller
