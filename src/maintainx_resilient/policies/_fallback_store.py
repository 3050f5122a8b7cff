"""SQLite persistence for the fallback cache, so a restarted service still has answers to
serve during an outage.

One table of plain values (status, JSON headers, body bytes, Unix time stored); never pickle,
so a tampered file can hold wrong answers but cannot run code. The file is created owner-only
(0600; SQLite gives its ``-wal``/``-shm`` files the same mode) because answers hold
organization data. Writes never happen on the caller's thread: :meth:`FallbackStore.put`
only records the change in a dict, and one writer thread commits the changes in batches (WAL,
``synchronous=NORMAL``), coalescing repeated writes of the same key. :meth:`invalidate`
deletes every row a predicate picks, rows other processes wrote included (a write made them
wrong). :meth:`flush` waits for the writer; :meth:`close` flushes and stops it. A write that
fails (full disk, damaged or read-only file) is logged once per kind of failure, saying what
to do, not on every write; the cache keeps serving from memory, and a write that succeeds
again is logged too.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import sqlite3
import threading
from collections.abc import Callable
from typing import Any, NamedTuple

from .._sqlite import connect_sqlite, secure_file, storage_error, storage_kind

__all__ = ["FALLBACK_SCHEMA_VERSION", "FallbackStore", "StoredAnswer"]

logger = logging.getLogger("maintainx_resilient")

#: Bumped when the table or the key format changes; a file with another version is emptied
#: (it is a cache). 2: keys are scoped by credential (version 1 rows were not).
FALLBACK_SCHEMA_VERSION = 2
_FLUSH_TIMEOUT = 10.0

_SCHEMA = """
CREATE TABLE IF NOT EXISTS answers (
    key       TEXT PRIMARY KEY,
    status    INTEGER NOT NULL,
    headers   TEXT NOT NULL,
    body      BLOB NOT NULL,
    stored_at REAL NOT NULL
)
"""


class StoredAnswer(NamedTuple):
    """A remembered answer: status, the headers worth keeping, the body, when (Unix time).
    A named tuple: one is made for every good GET answer, and a frozen dataclass costs
    three times as much to make."""

    status: int
    headers: tuple[tuple[str, str], ...]
    body: bytes
    stored_at: float


def _decode_headers(text: str) -> tuple[tuple[str, str], ...] | None:
    try:
        value: Any = json.loads(text)
    except ValueError:
        return None
    if not isinstance(value, list):
        return None
    pairs: list[tuple[str, str]] = []
    for item in value:
        if not (
            isinstance(item, list)
            and len(item) == 2
            and isinstance(item[0], str)
            and isinstance(item[1], str)
        ):
            return None
        pairs.append((item[0], item[1]))
    return tuple(pairs)


class FallbackStore:
    """The SQLite file behind a :class:`~maintainx_resilient.policies.fallback.FallbackCache`.

    Raises :class:`sqlite3.Error` or :class:`OSError` from the constructor when the file
    cannot be opened; the cache then runs in memory only.
    """

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        self._pending: dict[str, StoredAnswer | None] = {}
        self._sweeps: list[Callable[[str], bool]] = []
        self._clear = False
        self._busy = False
        self._closed = False
        self._thread: threading.Thread | None = None
        #: the kind of the last failed write (None while writes succeed): logged once
        self._failing: str | None = None
        self._db = self._connect()

    def _connect(self) -> sqlite3.Connection:
        secure_file(self.path)  # an existing file is tightened to owner-only too
        db = connect_sqlite(self.path, busy_timeout=5.0)  # sqlite3's default wait for a lock
        try:
            (version,) = db.execute("PRAGMA user_version").fetchone()
            if version != FALLBACK_SCHEMA_VERSION:
                db.execute("DROP TABLE IF EXISTS answers")
                db.execute(_SCHEMA)
                db.execute(f"PRAGMA user_version = {FALLBACK_SCHEMA_VERSION:d}")
        except BaseException:
            db.close()
            raise
        return db

    # -- reading (once, at start) ------------------------------------------------------------

    def load(self, oldest: float) -> list[tuple[str, StoredAnswer]]:
        """Every answer stored at or after ``oldest`` (Unix time), oldest first; older rows
        and unreadable rows are deleted."""
        with self._lock:
            rows = self._db.execute(
                "SELECT key, status, headers, body, stored_at FROM answers "
                "WHERE stored_at >= ? ORDER BY stored_at",
                (oldest,),
            ).fetchall()
            self._db.execute("DELETE FROM answers WHERE stored_at < ?", (oldest,))
        loaded: list[tuple[str, StoredAnswer]] = []
        bad: list[str] = []
        for key, status, headers_text, body, stored_at in rows:
            headers = _decode_headers(headers_text) if isinstance(headers_text, str) else None
            if (
                not isinstance(key, str)
                or not isinstance(status, int)
                or not isinstance(body, bytes)
                or not isinstance(stored_at, float)
                or headers is None
            ):
                if isinstance(key, str):
                    bad.append(key)
                continue
            loaded.append((key, StoredAnswer(status, headers, body, stored_at)))
        for key in bad:
            self.delete(key)
        return loaded

    # -- writing (cheap on the caller's thread, committed by the writer) ----------------------

    def put(self, key: str, answer: StoredAnswer) -> None:
        self._enqueue(key, answer)

    def delete(self, key: str) -> None:
        self._enqueue(key, None)

    def invalidate(self, stale: Callable[[str], bool]) -> None:
        """Delete every row whose key ``stale`` picks (and drop such pending writes)."""
        with self._lock:
            if self._closed:
                return
            for key, answer in self._pending.items():
                if answer is not None and stale(key):
                    self._pending[key] = None
            self._sweeps.append(stale)
            self._wake()

    def clear(self) -> None:
        with self._lock:
            if self._closed:
                return
            self._pending.clear()
            self._sweeps.clear()
            self._clear = True
            self._wake()

    def _enqueue(self, key: str, answer: StoredAnswer | None) -> None:
        with self._lock:
            if self._closed:
                return
            self._pending[key] = answer
            self._wake()

    def _wake(self) -> None:
        # Called with the lock held.
        if self._thread is None:
            self._thread = threading.Thread(
                target=self._run, name="maintainx-fallback-writer", daemon=True
            )
            self._thread.start()
        self._changed.notify_all()

    def _run(self) -> None:
        while True:
            with self._lock:
                while not (self._pending or self._sweeps or self._clear or self._closed):
                    self._changed.wait()
                if not (self._pending or self._sweeps or self._clear):
                    self._db.close()  # closed and nothing left to write
                    return
                batch, self._pending = self._pending, {}
                sweeps, self._sweeps = self._sweeps, []
                clear, self._clear = self._clear, False
                self._busy = True
            try:
                self._write(batch, clear=clear, sweeps=sweeps)
            except sqlite3.Error as exc:
                self._write_failed(exc)
            else:
                if self._failing is not None:
                    self._failing = None
                    logger.warning(
                        "maintainx_resilient fallback cache: %s writable again", self.path
                    )
            finally:
                with self._lock:
                    self._busy = False
                    self._changed.notify_all()

    def _write_failed(self, exc: sqlite3.Error) -> None:
        """Warn once per kind of failure (a full disk fails every write until space is
        freed); repeats go to debug."""
        kind = storage_kind(exc)
        if kind == self._failing:
            logger.debug("maintainx_resilient fallback cache: %s still failing: %s", self.path, exc)
            return
        self._failing = kind
        error = storage_error(
            exc, path=self.path, store="fallback cache", recover="restart: it is recreated empty"
        )
        logger.warning(
            "maintainx_resilient fallback cache: answers are kept in memory only until a write "
            "succeeds (further failures like this one are not logged): %s",
            error,
        )

    def _write(
        self,
        batch: dict[str, StoredAnswer | None],
        *,
        clear: bool,
        sweeps: list[Callable[[str], bool]],
    ) -> None:
        db = self._db
        db.execute("BEGIN")
        try:
            if clear:
                db.execute("DELETE FROM answers")
            if sweeps:  # before the batch: its writes came after the sweeps were asked for
                keys = [key for (key,) in db.execute("SELECT key FROM answers")]
                doomed = [(k,) for k in keys if isinstance(k, str) and any(s(k) for s in sweeps)]
                db.executemany("DELETE FROM answers WHERE key = ?", doomed)
            for key, answer in batch.items():
                if answer is None:
                    db.execute("DELETE FROM answers WHERE key = ?", (key,))
                else:
                    db.execute(
                        "INSERT OR REPLACE INTO answers (key, status, headers, body, stored_at) "
                        "VALUES (?, ?, ?, ?, ?)",
                        (
                            key,
                            answer.status,
                            json.dumps([list(pair) for pair in answer.headers]),
                            answer.body,
                            float(answer.stored_at),
                        ),
                    )
            db.execute("COMMIT")
        except BaseException:
            if db.in_transaction:  # SQLite may have rolled back already (a full disk)
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
            raise

    def flush(self, timeout: float = _FLUSH_TIMEOUT) -> bool:
        """Wait until every change so far is committed. False if it took over ``timeout``."""
        with self._lock:
            return self._changed.wait_for(
                lambda: (
                    not (self._pending or self._sweeps or self._clear or self._busy)
                    or self._thread is None
                ),
                timeout=timeout,
            )

    def close(self) -> None:
        """Write what is pending, stop the writer and close the file. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            thread = self._thread
            self._changed.notify_all()
        if thread is threading.current_thread():
            return  # a finalizer run by the collector on the writer: it closes the file itself
        if thread is not None:
            thread.join(_FLUSH_TIMEOUT)
            if thread.is_alive():
                logger.warning("maintainx_resilient fallback cache: %s still busy", self.path)
                return  # the writer still uses the connection; it closes it when done
        self._db.close()

    def __repr__(self) -> str:
        return f"FallbackStore({self.path!r})"
