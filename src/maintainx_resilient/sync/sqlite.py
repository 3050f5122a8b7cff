"""The embedded default store: one SQLite file.

Records are kept as their JSON text, exactly as MaintainX sent them, in one table indexed
by ``(resource, id)``, ``updatedAt`` and ``createdAt`` (integer microseconds) and by the
write sequence that the full sync's deletion detection reads. Small JSON documents
(watermarks, checkpoints, reports) live in a ``state`` table.

The file is in WAL mode: any number of readers (other threads, other processes, a BI tool)
read a consistent snapshot while a sync writes; writers take turns. Each thread gets its own
connection. A commit is one SQLite transaction, so a crash or ``SIGKILL`` in the middle of a
page loses that page and nothing else (WAL with ``synchronous=NORMAL`` survives a killed
process; only a power loss can drop the very last commits).
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from types import TracebackType
from typing import Any

from ._time import format_timestamp
from .resources import canonical_name
from .store import Batch, CommitResult, Entry, LocalRecord

__all__ = ["SQLiteStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS records (
    resource   TEXT    NOT NULL,
    id         INTEGER NOT NULL,
    updated_us INTEGER,
    created_us INTEGER,
    seq        INTEGER NOT NULL,
    data       TEXT    NOT NULL,
    PRIMARY KEY (resource, id)
);
CREATE INDEX IF NOT EXISTS records_updated ON records (resource, updated_us);
CREATE INDEX IF NOT EXISTS records_created ON records (resource, created_us);
CREATE INDEX IF NOT EXISTS records_seq ON records (resource, seq);
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', 1), ('sequence', 0);
"""

_UPSERT = (
    "INSERT INTO records (resource, id, updated_us, created_us, seq, data) "
    "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (resource, id) DO UPDATE SET "
    "updated_us = excluded.updated_us, created_us = excluded.created_us, "
    "seq = excluded.seq, data = excluded.data"
)
_CHUNK = 500  # ids per "IN (...)" (SQLite allows 999 variables on old builds)


def _chunks(values: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _marks(count: int) -> str:
    return ",".join("?" * count)


class SQLiteStore:
    """A :class:`~maintainx_resilient.sync.SyncStore` in one SQLite file (created if absent).

    >>> store = SQLiteStore("maintainx.db")  # doctest: +SKIP
    >>> store.count("workOrders")  # doctest: +SKIP
    20000
    """

    def __init__(self, path: str | os.PathLike[str], *, timeout: float = 30.0) -> None:
        if str(path) == ":memory:" or not str(path):
            raise ValueError(
                "SQLiteStore needs a file path (each thread opens its own connection); "
                "use maintainx_resilient.sync.MemoryStore for an in-memory store"
            )
        self.path = Path(path)
        self._timeout = timeout
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._closed = False
        conn = self._conn()
        conn.execute("PRAGMA journal_mode=WAL")
        conn.executescript(_SCHEMA)

    # -- connections ---------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is not None:
            return conn
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self!r} is closed")
            # Used only by the thread that opened it; close() may run in another thread.
            conn = sqlite3.connect(
                self.path, timeout=self._timeout, isolation_level=None, check_same_thread=False
            )
            conn.execute(f"PRAGMA busy_timeout = {int(self._timeout * 1000)}")
            conn.execute("PRAGMA synchronous = NORMAL")
            self._all.append(conn)
        self._local.conn = conn
        return conn

    def close(self) -> None:
        """Close every connection this store opened (in all threads)."""
        with self._lock:
            self._closed = True
            conns, self._all = self._all, []
        for conn in conns:
            conn.close()
        self._local = threading.local()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    # -- writes ----------------------------------------------------------------------------

    def commit(self, resource: str, batch: Batch) -> CommitResult:
        resource = canonical_name(resource)
        conn = self._conn()
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = self._apply(conn, resource, batch)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        return result

    @staticmethod
    def _apply(conn: sqlite3.Connection, resource: str, batch: Batch) -> CommitResult:
        (seq,) = conn.execute("SELECT value + 1 FROM meta WHERE key = 'sequence'").fetchone()
        conn.execute("UPDATE meta SET value = ? WHERE key = 'sequence'", (seq,))
        inserted = updated = unchanged = 0
        if batch.upserts:
            ids = list(dict.fromkeys(r.id for r in batch.upserts))
            stored: dict[int, int | None] = {}
            for chunk in _chunks(ids):
                rows = conn.execute(
                    f"SELECT id, updated_us FROM records WHERE resource = ? "  # noqa: S608
                    f"AND id IN ({_marks(len(chunk))})",
                    (resource, *chunk),
                )
                stored.update(rows)
            writes: dict[int, tuple[Any, ...]] = {}
            touches: list[tuple[int, str, int]] = []
            for record in batch.upserts:
                known = record.id in stored
                old = stored.get(record.id)
                new = record.updated_us
                if not known:
                    inserted += 1
                elif new is not None and old is not None and new < old:
                    unchanged += 1  # the stored copy is newer: keep it, mark it seen
                    touches.append((seq, resource, record.id))
                    continue
                elif new == old:
                    unchanged += 1
                else:
                    updated += 1
                stored[record.id] = new
                writes[record.id] = (resource, record.id, new, record.created_us, seq, record.data)
            conn.executemany(_UPSERT, writes.values())
            conn.executemany("UPDATE records SET seq = ? WHERE resource = ? AND id = ?", touches)
        deleted: list[int] = []
        doomed = list(dict.fromkeys(batch.deletes))
        for chunk in _chunks(doomed):
            present = conn.execute(
                f"SELECT id FROM records WHERE resource = ? AND id IN ({_marks(len(chunk))})",  # noqa: S608
                (resource, *chunk),
            ).fetchall()
            deleted.extend(row[0] for row in present)
            conn.execute(
                f"DELETE FROM records WHERE resource = ? AND id IN ({_marks(len(chunk))})",  # noqa: S608
                (resource, *chunk),
            )
        if batch.prune_before is not None:
            args = (resource, batch.prune_before)
            pruned = conn.execute(
                "SELECT id FROM records WHERE resource = ? AND seq < ? ORDER BY id", args
            ).fetchall()
            conn.execute("DELETE FROM records WHERE resource = ? AND seq < ?", args)
            deleted.extend(row[0] for row in pruned)
        for key, value in batch.state.items():
            if value is None:
                conn.execute("DELETE FROM state WHERE key = ?", (key,))
            else:
                conn.execute(
                    "INSERT INTO state (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (key, _dumps(value)),
                )
        return CommitResult(seq, inserted, updated, unchanged, tuple(deleted))

    # -- reads -----------------------------------------------------------------------------

    def get(self, resource: str, id: int) -> LocalRecord | None:
        resource = canonical_name(resource)
        row = (
            self._conn()
            .execute(
                "SELECT id, updated_us, created_us, data FROM records "
                "WHERE resource = ? AND id = ?",
                (resource, id),
            )
            .fetchone()
        )
        return None if row is None else LocalRecord(*row)

    def entries(self, resource: str) -> list[Entry]:
        resource = canonical_name(resource)
        rows = self._conn().execute(
            "SELECT id, updated_us, created_us FROM records WHERE resource = ? ORDER BY id",
            (resource,),
        )
        return [Entry(*row) for row in rows]

    def updated_at_by_id(self, resource: str) -> dict[int, str]:
        resource = canonical_name(resource)
        rows = self._conn().execute(
            "SELECT id, updated_us FROM records WHERE resource = ? ORDER BY id", (resource,)
        )
        return {i: "" if u is None else format_timestamp(u) for i, u in rows}

    def records(self, resource: str) -> Iterator[LocalRecord]:
        """Every stored record of ``resource``, by id (streamed, for exports and reports)."""
        resource = canonical_name(resource)
        rows = self._conn().execute(
            "SELECT id, updated_us, created_us, data FROM records WHERE resource = ? ORDER BY id",
            (resource,),
        )
        for row in rows:
            yield LocalRecord(*row)

    def count(self, resource: str) -> int:
        resource = canonical_name(resource)
        (n,) = (
            self._conn()
            .execute("SELECT COUNT(*) FROM records WHERE resource = ?", (resource,))
            .fetchone()
        )
        return int(n)

    def sequence(self) -> int:
        (seq,) = self._conn().execute("SELECT value FROM meta WHERE key = 'sequence'").fetchone()
        return int(seq)

    def state(self, key: str) -> Any:
        row = self._conn().execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return None if row is None else _loads(row[0])


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), sort_keys=True)


def _loads(text: str) -> Any:
    return json.loads(text)
