"""The embedded default store: one SQLite file.

Records are kept as their JSON text, as MaintainX sent them, in one table per
resource (``records_workOrders``...) keyed by the record id (SQLite's integer row key, the
fastest path there is) and indexed by ``updatedAt`` (integer microseconds). Each row also
holds its ``createdAt`` and the write sequence that the full sync's deletion detection reads
(once per full sync, so it is not indexed: every index costs every page its upkeep). Small
JSON documents (watermarks, checkpoints, reports) live in a ``state`` table.

The file is in WAL mode: any number of readers (other threads, other processes, a BI tool)
read a consistent snapshot while a sync writes; writers take turns. Each thread gets its own
connection. A commit is one SQLite transaction, so a crash or ``SIGKILL`` in the middle of a
page loses that page and nothing else (WAL with ``synchronous=NORMAL`` survives a killed
process; only a power loss can drop the very last commits).

The file (and so its ``-wal``/``-shm`` files) is owner-only (0600): it holds organization
data. A damaged file, a full disk or a read-only directory raise
:class:`~maintainx_resilient.StorageError` naming the file and what to do, never a raw
``sqlite3`` error.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import sqlite3
import threading
from collections.abc import Iterator, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import Any

from .._iso8601 import format_timestamp
from .._sqlite import StorageErrors, ThreadConnections, connect_sqlite, immediate, secure_file
from .errors import MassDeleteError
from .resources import canonical_name
from .store import Batch, CommitResult, Entry, LocalRecord, upsert_wins

__all__ = ["SQLiteStore"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS state (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
INSERT OR IGNORE INTO meta (key, value) VALUES ('schema', 1), ('sequence', 0);
"""
_TABLE = """
CREATE TABLE IF NOT EXISTS "{table}" (
    id         INTEGER PRIMARY KEY,
    updated_us INTEGER,
    created_us INTEGER,
    seq        INTEGER NOT NULL,
    data       TEXT    NOT NULL
);
CREATE INDEX IF NOT EXISTS "{table}_updated" ON "{table}" (updated_us);
"""
_UPSERT = (
    'INSERT INTO "{table}" (id, updated_us, created_us, data, seq) VALUES (?, ?, ?, ?, ?) '
    "ON CONFLICT (id) DO UPDATE SET updated_us = excluded.updated_us, "
    "created_us = excluded.created_us, seq = excluded.seq, data = excluded.data"
)
_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,62}")
_CHUNK = 500  # ids per "IN (...)" (SQLite allows 999 variables on old builds)
_CHECKPOINT_EVERY = 8  # commits (pages) between two background checkpoints
_PAGE_SIZE = 16384  # records of ~0.5-2 KB: fewer, fuller pages than the 4 KB default


def _chunks(values: Sequence[int]) -> Iterator[Sequence[int]]:
    for start in range(0, len(values), _CHUNK):
        yield values[start : start + _CHUNK]


def _data(
    conn: sqlite3.Connection,
    table: str,
    writes: Mapping[int, tuple[Any, ...]],
    record: LocalRecord,
    known: tuple[int | None, int],
) -> str:
    """The data stored for ``record``'s id (an earlier upsert of this batch's, not yet
    written, if any), read only when ``record``'s is shorter (``known``: the stored
    ``updatedAt`` and length): only a shorter text can be a shorter form of it, so ""
    (the form of nothing) otherwise."""
    if len(record.data) >= known[1]:
        return ""
    pending = writes.get(record.id)
    if pending is not None:
        return str(pending[3])
    row = conn.execute(f'SELECT data FROM "{table}" WHERE id = ?', (record.id,)).fetchone()  # noqa: S608
    return "" if row is None else str(row[0])


def _marks(count: int) -> str:
    return ",".join("?" * count)


def _table(resource: str) -> str:
    name = canonical_name(resource)
    if not _NAME.fullmatch(name):
        raise ValueError(f"resource names are letters, digits and _: got {resource!r}")
    return f"records_{name}"


class _Checkpointer:
    """Copies the WAL into the database file from a thread of its own (SQLite's advice for
    write-heavy work): the copy and its fsync then overlap the sync's network waits instead
    of stalling a commit. Passive: it never blocks readers or the writer. The writer's own
    auto-checkpoint stays on as the fallback."""

    def __init__(self, path: Path, timeout: float) -> None:
        self._path = path
        self._timeout = timeout
        self._wake = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="sqlite-checkpoint", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        self._wake.set()

    def _run(self) -> None:
        conn = connect_sqlite(str(self._path), busy_timeout=self._timeout)
        try:
            while True:
                self._wake.wait()
                self._wake.clear()
                if self._stopping:
                    return
                # busy or closing: the next poke (or the auto-checkpoint) catches up
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        finally:
            conn.close()

    def stop(self) -> None:
        self._stopping = True
        self._wake.set()
        self._thread.join(timeout=30)


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
        self.storage_errors = StorageErrors(
            str(self.path), store="sync store", recover="run a full sync to rebuild the copy"
        )
        self._timeout = timeout
        self._connections = ThreadConnections(
            str(self.path), owner=repr(self), busy_timeout=timeout, page_size=_PAGE_SIZE
        )
        self._lock = threading.Lock()
        self._tables: set[str] = set()
        self._checkpointer: _Checkpointer | None = None
        self._commits = 0
        try:
            with self.storage_errors():
                secure_file(str(self.path))
                self._conn().executescript(_SCHEMA)
        except BaseException:
            self.close()
            raise

    # -- connections ---------------------------------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        return self._connections.get()

    def _readable(self, resource: str) -> str | None:
        """The table of ``resource``, or None while nothing was ever stored for it."""
        table = _table(resource)
        if table in self._tables:
            return table
        found = (
            self._conn()
            .execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,))
            .fetchone()
        )
        if found is None:
            return None
        self._tables.add(table)
        return table

    def close(self) -> None:
        """Close every connection this store opened (in all threads)."""
        with self._lock:
            checkpointer, self._checkpointer = self._checkpointer, None
        if checkpointer is not None:
            checkpointer.stop()
        self._connections.close()

    def __enter__(self) -> SQLiteStore:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({str(self.path)!r})"

    # -- writes ----------------------------------------------------------------------------

    @StorageErrors.wrap
    def commit(self, resource: str, batch: Batch) -> CommitResult:
        table = _table(resource)
        with immediate(self._conn()) as conn:
            if table not in self._tables:
                for statement in _TABLE.format(table=table).split(";"):
                    if statement.strip():
                        conn.execute(statement)
            result = self._apply(conn, table, batch)
        self._tables.add(table)
        self._after_commit()
        return result

    def _after_commit(self) -> None:
        with self._lock:
            self._commits += 1
            if self._commits % _CHECKPOINT_EVERY or self._connections.closed:
                return
            if self._checkpointer is None:
                self._checkpointer = _Checkpointer(self.path, self._timeout)
            checkpointer = self._checkpointer
        checkpointer.poke()

    @staticmethod
    def _apply(conn: sqlite3.Connection, table: str, batch: Batch) -> CommitResult:
        (seq,) = conn.execute("SELECT value + 1 FROM meta WHERE key = 'sequence'").fetchone()
        conn.execute("UPDATE meta SET value = ? WHERE key = 'sequence'", (seq,))
        inserted = updated = unchanged = 0
        if batch.upserts:
            ids = list(dict.fromkeys(r.id for r in batch.upserts))
            stored: dict[int, tuple[int | None, int]] = {}  # id -> (updated_us, data length)
            for chunk in _chunks(ids):
                rows = conn.execute(
                    f'SELECT id, updated_us, length(data) FROM "{table}" '  # noqa: S608
                    f"WHERE id IN ({_marks(len(chunk))})",
                    chunk,
                )
                stored.update((i, (u, n)) for i, u, n in rows)
            writes: dict[int, tuple[Any, ...]] = {}
            touches: list[tuple[int, int]] = []
            fresh = not stored and len(ids) == len(batch.upserts)
            if fresh:  # all new and distinct (a first sync): nothing to compare
                writes = {r.id: (*r, seq) for r in batch.upserts}
                inserted = len(writes)
            read = partial(_data, conn, table, writes)
            for record in () if fresh else batch.upserts:
                known = stored.get(record.id)
                if known is None:
                    inserted += 1
                elif not upsert_wins(record, known[0], partial(read, record, known), batch):
                    unchanged += 1  # newer, or the fuller form: keep it, mark it seen
                    touches.append((seq, record.id))
                    continue
                elif record.updated_us == known[0]:
                    unchanged += 1
                else:
                    updated += 1
                stored[record.id] = (record.updated_us, len(record.data))
                writes[record.id] = (*record, seq)
            conn.executemany(_UPSERT.format(table=table), writes.values())
            conn.executemany(f'UPDATE "{table}" SET seq = ? WHERE id = ?', touches)  # noqa: S608
        deleted: list[int] = []
        doomed = list(dict.fromkeys(batch.deletes))
        for chunk in _chunks(doomed):
            present = conn.execute(
                f'SELECT id FROM "{table}" WHERE id IN ({_marks(len(chunk))})',  # noqa: S608
                chunk,
            ).fetchall()
            deleted.extend(row[0] for row in present)
        pruned: list[int] = []
        if batch.prune_before is not None:
            pruned = [
                row[0]
                for row in conn.execute(
                    f'SELECT id FROM "{table}" WHERE seq < ? ORDER BY id',  # noqa: S608
                    (batch.prune_before,),
                )
            ]
        explicit = set(deleted)
        deleted.extend(i for i in pruned if i not in explicit)
        limit = batch.max_deletes
        if limit is not None and len(deleted) > limit:
            (local,) = conn.execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()  # noqa: S608
            raise MassDeleteError(
                resource=table.removeprefix("records_"),
                would_delete=len(deleted),
                local_count=int(local),
                limit=limit,
            )
        for chunk in _chunks(doomed):
            conn.execute(f'DELETE FROM "{table}" WHERE id IN ({_marks(len(chunk))})', chunk)  # noqa: S608
        if batch.prune_before is not None:
            conn.execute(f'DELETE FROM "{table}" WHERE seq < ?', (batch.prune_before,))  # noqa: S608
        for key, value in batch.state.items():
            if value is None:
                conn.execute("DELETE FROM state WHERE key = ?", (key,))
            else:
                conn.execute(
                    "INSERT INTO state (key, value) VALUES (?, ?) "
                    "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
                    (key, json.dumps(value, separators=(",", ":"), sort_keys=True)),
                )
        return CommitResult(seq, inserted, updated, unchanged, tuple(deleted))

    # -- reads -----------------------------------------------------------------------------

    def _rows(self, resource: str, columns: str, where: str = "", args: Sequence[Any] = ()) -> Any:
        table = self._readable(resource)
        if table is None:
            return []
        return self._conn().execute(
            f'SELECT {columns} FROM "{table}" {where} ORDER BY id',  # noqa: S608
            args,
        )

    @StorageErrors.wrap
    def get(self, resource: str, id: int) -> LocalRecord | None:
        rows = self._rows(resource, "id, updated_us, created_us, data", "WHERE id = ?", (id,))
        for row in rows:
            return LocalRecord(*row)
        return None

    @StorageErrors.wrap
    def entries(self, resource: str) -> list[Entry]:
        return [Entry(*row) for row in self._rows(resource, "id, updated_us, created_us")]

    @StorageErrors.wrap
    def updated_at_by_id(self, resource: str) -> dict[int, str]:
        return {
            i: "" if u is None else format_timestamp(u)
            for i, u in self._rows(resource, "id, updated_us")
        }

    def records(self, resource: str) -> Iterator[LocalRecord]:
        """Every stored record of ``resource``, by id (streamed, for exports and reports)."""
        with self.storage_errors():
            for row in self._rows(resource, "id, updated_us, created_us, data"):
                yield LocalRecord(*row)

    @StorageErrors.wrap
    def count(self, resource: str) -> int:
        table = self._readable(resource)
        if table is None:
            return 0
        (n,) = self._conn().execute(f'SELECT COUNT(*) FROM "{table}"').fetchone()  # noqa: S608
        return int(n)

    @StorageErrors.wrap
    def sequence(self) -> int:
        (seq,) = self._conn().execute("SELECT value FROM meta WHERE key = 'sequence'").fetchone()
        return int(seq)

    @StorageErrors.wrap
    def state(self, key: str) -> Any:
        row = self._conn().execute("SELECT value FROM state WHERE key = ?", (key,)).fetchone()
        return None if row is None else json.loads(row[0])
