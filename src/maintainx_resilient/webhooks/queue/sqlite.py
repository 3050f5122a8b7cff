"""The embedded default queue: one SQLite file in WAL mode.

Several threads and processes on one host can share the file (the receiver in one process,
workers in others). Each thread gets its own connection; every write is one ``BEGIN
IMMEDIATE`` transaction, so claims never race.

Durability: the enqueue path commits with ``synchronous=FULL`` by default (the WAL is fsynced
before the receiver answers 2xx: an acknowledged event survives a crash of the process *and*
of the machine). ``synchronous="NORMAL"`` survives a crash of the process only, and is much
faster without group commit. Worker-side writes (claims, acks, retries) always use NORMAL:
losing one of them to a power cut only makes an event run again, which at-least-once
delivery allows anyway.

Tables (prefix ``mx_webhook_``): ``events`` (ready, in-flight and dead events with their
counters), ``seen`` (dedupe keys, kept ``dedupe_ttl`` seconds after the event arrived and as
long as the event is stored) and ``meta`` (the pause flag).

The file (and so its ``-wal``/``-shm`` files) is owner-only (0600): events hold organization
data. A damaged file, a full disk or a read-only directory raise
:class:`~maintainx_resilient.StorageError` naming the file and what to do.
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Sequence
from typing import Any, Literal

from ..._clock import SYSTEM_CLOCK, Clock
from ..._sqlite import StorageErrors, ThreadConnections, immediate, secure_file
from ..records import DeadLetter, Delivery, Envelope, QueueStats
from ._base import DEFAULT_DEDUPE_TTL, DEFAULT_LEASE

__all__ = ["SqliteQueue", "Synchronous"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS mx_webhook_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    key TEXT NOT NULL UNIQUE,
    route TEXT NOT NULL,
    event_type TEXT NOT NULL,
    subscription_id INTEGER,
    body BLOB NOT NULL,
    received_at REAL NOT NULL,
    state TEXT NOT NULL,
    available_at REAL NOT NULL,
    attempt INTEGER NOT NULL DEFAULT 1,
    deliveries INTEGER NOT NULL DEFAULT 0,
    owner TEXT,
    last_error TEXT,
    failed_at REAL
);
CREATE INDEX IF NOT EXISTS mx_webhook_events_due
    ON mx_webhook_events (state, available_at, id);
CREATE INDEX IF NOT EXISTS mx_webhook_events_owner ON mx_webhook_events (owner);
CREATE TABLE IF NOT EXISTS mx_webhook_seen (
    key TEXT PRIMARY KEY,
    seen_at REAL NOT NULL
) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS mx_webhook_seen_at ON mx_webhook_seen (seen_at);
CREATE TABLE IF NOT EXISTS mx_webhook_meta (
    name TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
"""

_COLUMNS = (
    "id, key, route, event_type, subscription_id, body, received_at, attempt, deliveries, "
    "last_error, failed_at"
)

Synchronous = Literal["FULL", "NORMAL", "EXTRA"]

#: Dedupe keys older than the TTL are purged at most this often (seconds).
_PURGE_EVERY = 600.0


def _envelope(row: Sequence[Any]) -> Envelope:
    return Envelope(
        key=row[1],
        route=row[2],
        event_type=row[3],
        subscription_id=row[4],
        body=bytes(row[5]),
        received_at=row[6],
    )


class SqliteQueue:
    """A :class:`~maintainx_resilient.webhooks.queue.WebhookQueue` in one SQLite file.

    ``path`` is created if missing (``":memory:"`` is refused: the point is durability).
    ``clock`` gives wall time (``clock.time()``) for leases, delays and ages: inject a
    :class:`~maintainx_resilient._clock.FakeClock` in tests.
    """

    backend = "sqlite"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        synchronous: Synchronous = "FULL",
        dedupe_ttl: float = DEFAULT_DEDUPE_TTL,
        busy_timeout: float = 30.0,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        self.path = os.fspath(path)
        if self.path in ("", ":memory:") or self.path.startswith("file::memory:"):
            raise ValueError("SqliteQueue needs a file path: an in-memory queue is not durable")
        if synchronous not in ("FULL", "NORMAL", "EXTRA"):
            raise ValueError("synchronous must be 'FULL', 'EXTRA' or 'NORMAL'")
        if dedupe_ttl <= 0:
            raise ValueError("dedupe_ttl must be > 0 seconds")
        self.synchronous: Synchronous = synchronous
        self.dedupe_ttl = dedupe_ttl
        self.clock = clock
        self._connections = ThreadConnections(
            self.path, owner="the queue", busy_timeout=busy_timeout
        )
        self._last_purge = float("-inf")
        self.storage_errors = StorageErrors(
            self.path,
            store="webhook queue",
            recover="start with a new file (the events not processed yet stay in the moved "
            "file; `sqlite3 FILE .recover` may save them)",
        )
        try:
            with self.storage_errors():
                parent = os.path.dirname(os.path.abspath(self.path))
                os.makedirs(parent, exist_ok=True)
                secure_file(self.path)
                self._connect(writer=False).executescript(_SCHEMA)
        except BaseException:
            self.close()
            raise

    # -- connections ------------------------------------------------------------------------

    def _connect(self, *, writer: bool) -> sqlite3.Connection:
        if writer:  # deliveries are stored with the durability asked for
            return self._connections.get("writer", synchronous=self.synchronous)
        return self._connections.get()

    def close(self) -> None:
        """Close every connection this object opened (in any thread)."""
        self._connections.close()

    def __enter__(self) -> SqliteQueue:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"SqliteQueue({self.path!r}, synchronous={self.synchronous})"

    # -- the receiver's side ----------------------------------------------------------------

    @StorageErrors.wrap
    def enqueue(self, envelopes: Sequence[Envelope]) -> list[bool]:
        if not envelopes:
            return []
        now = self.clock.time()
        conn = self._connect(writer=True)
        stored: list[bool] = []
        with immediate(conn):
            for env in envelopes:
                cursor = conn.execute(
                    "INSERT INTO mx_webhook_seen (key, seen_at) VALUES (?, ?) "
                    "ON CONFLICT (key) DO NOTHING",
                    (env.key, env.received_at),
                )
                if cursor.rowcount != 1:
                    stored.append(False)
                    continue
                conn.execute(
                    "INSERT INTO mx_webhook_events (key, route, event_type, subscription_id, "
                    "body, received_at, state, available_at) VALUES (?, ?, ?, ?, ?, ?, 'ready', ?)",
                    (
                        env.key,
                        env.route,
                        env.event_type,
                        env.subscription_id,
                        env.body,
                        env.received_at,
                        env.received_at,
                    ),
                )
                stored.append(True)
            if now - self._last_purge >= _PURGE_EVERY:
                self._last_purge = now
                conn.execute(
                    "DELETE FROM mx_webhook_seen WHERE seen_at < ? AND key NOT IN "
                    "(SELECT key FROM mx_webhook_events)",
                    (now - self.dedupe_ttl,),
                )
        return stored

    # -- the workers' side ------------------------------------------------------------------

    @StorageErrors.wrap
    def claim(self, consumer: str, limit: int, *, lease: float = DEFAULT_LEASE) -> list[Delivery]:
        if limit <= 0:
            return []
        now = self.clock.time()
        conn = self._connect(writer=False)
        with immediate(conn):
            if self._paused(conn):
                return []
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM mx_webhook_events "  # noqa: S608 - constant columns
                "WHERE state IN ('ready', 'inflight') AND available_at <= ? "
                "ORDER BY available_at, id LIMIT ?",
                (now, limit),
            ).fetchall()
            if not rows:
                return []
            conn.executemany(
                "UPDATE mx_webhook_events SET state = 'inflight', owner = ?, "
                "available_at = ?, deliveries = deliveries + 1 WHERE id = ?",
                [(consumer, now + lease, row[0]) for row in rows],
            )
        return [
            Delivery(
                id=str(row[0]),
                envelope=_envelope(row),
                attempt=row[7],
                deliveries=row[8] + 1,
                last_error=row[9],
            )
            for row in rows
        ]

    @StorageErrors.wrap
    def _finish(self, sql: str, params: tuple[Any, ...]) -> bool:
        conn = self._connect(writer=False)
        with immediate(conn):
            return conn.execute(sql, params).rowcount == 1

    def ack(self, delivery: Delivery) -> bool:
        return self._finish(
            "DELETE FROM mx_webhook_events WHERE id = ? AND key = ? AND state = 'inflight'",
            (int(delivery.id), delivery.key),
        )

    def retry(self, delivery: Delivery, *, delay: float, error: str) -> bool:
        return self._finish(
            "UPDATE mx_webhook_events SET state = 'ready', owner = NULL, available_at = ?, "
            "attempt = ?, last_error = ? WHERE id = ? AND key = ? AND state = 'inflight'",
            (
                self.clock.time() + max(0.0, delay),
                delivery.attempt + 1,
                error,
                int(delivery.id),
                delivery.key,
            ),
        )

    def dead_letter(self, delivery: Delivery, *, error: str) -> bool:
        return self._finish(
            "UPDATE mx_webhook_events SET state = 'dead', owner = NULL, last_error = ?, "
            "failed_at = ?, attempt = ? WHERE id = ? AND key = ? AND state = 'inflight'",
            (error, self.clock.time(), delivery.attempt, int(delivery.id), delivery.key),
        )

    @StorageErrors.wrap
    def recover(self, consumer: str, *, ids: Sequence[str] | None = None) -> int:
        sql = (
            "UPDATE mx_webhook_events SET state = 'ready', owner = NULL, available_at = ? "
            "WHERE state = 'inflight' AND owner = ?"
        )
        now = self.clock.time()
        conn = self._connect(writer=False)
        with immediate(conn):
            if ids is None:
                return conn.execute(sql, (now, consumer)).rowcount
            # one statement per id, as requeue and discard do: no bound on how many
            rows = [(now, consumer, int(i)) for i in ids if str(i).isdigit()]
            return conn.executemany(sql + " AND id = ?", rows).rowcount

    # -- dead letters -----------------------------------------------------------------------

    @StorageErrors.wrap
    def dead_letters(
        self,
        *,
        ids: Sequence[str] | None = None,
        older_than: float | None = None,
        newer_than: float | None = None,
        limit: int = 100,
    ) -> list[DeadLetter]:
        now = self.clock.time()
        where = ["state = 'dead'"]
        params: list[Any] = []
        if ids is not None:
            numeric = [int(i) for i in ids if str(i).isdigit()]
            if not numeric:
                return []
            where.append(f"id IN ({', '.join('?' * len(numeric))})")
            params.extend(numeric)
        if older_than is not None:
            where.append("failed_at <= ?")
            params.append(now - older_than)
        if newer_than is not None:
            where.append("failed_at >= ?")
            params.append(now - newer_than)
        params.append(limit)
        rows = (
            self._connect(writer=False)
            .execute(
                f"SELECT {_COLUMNS} FROM mx_webhook_events WHERE {' AND '.join(where)} "  # noqa: S608
                "ORDER BY failed_at, id LIMIT ?",
                params,
            )
            .fetchall()
        )
        return [
            DeadLetter(str(row[0]), _envelope(row), row[7], row[9] or "", row[10] or 0.0)
            for row in rows
        ]

    @StorageErrors.wrap
    def requeue(self, ids: Sequence[str]) -> int:
        numeric = [(self.clock.time(), int(i)) for i in ids if str(i).isdigit()]
        conn = self._connect(writer=False)
        with immediate(conn):
            cursor = conn.executemany(
                "UPDATE mx_webhook_events SET state = 'ready', available_at = ?, attempt = 1, "
                "deliveries = 0, failed_at = NULL WHERE id = ? AND state = 'dead'",
                numeric,
            )
            return cursor.rowcount

    @StorageErrors.wrap
    def discard(self, ids: Sequence[str]) -> int:
        numeric = [(int(i),) for i in ids if str(i).isdigit()]
        conn = self._connect(writer=False)
        with immediate(conn):
            cursor = conn.executemany(
                "DELETE FROM mx_webhook_events WHERE id = ? AND state = 'dead'", numeric
            )
            return cursor.rowcount

    # -- state ------------------------------------------------------------------------------

    @staticmethod
    def _paused(conn: sqlite3.Connection) -> bool:
        row = conn.execute("SELECT value FROM mx_webhook_meta WHERE name = 'paused'").fetchone()
        return row is not None and row[0] == "1"

    @StorageErrors.wrap
    def _set_paused(self, paused: bool) -> None:
        conn = self._connect(writer=False)
        with immediate(conn):
            conn.execute(
                "INSERT INTO mx_webhook_meta (name, value) VALUES ('paused', ?) "
                "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
                ("1" if paused else "0",),
            )

    def pause(self) -> None:
        self._set_paused(True)

    def resume(self) -> None:
        self._set_paused(False)

    @StorageErrors.wrap
    def is_paused(self) -> bool:
        return self._paused(self._connect(writer=False))

    @StorageErrors.wrap
    def stats(self) -> QueueStats:
        now = self.clock.time()
        conn = self._connect(writer=False)
        row = conn.execute(
            "SELECT "
            "COALESCE(SUM(state = 'ready' AND available_at <= :now), 0), "
            "COALESCE(SUM(state = 'inflight'), 0), "
            "COALESCE(SUM(state = 'ready' AND available_at > :now), 0), "
            "COALESCE(SUM(state = 'dead'), 0), "
            "MIN(CASE WHEN state != 'dead' THEN received_at END) "
            "FROM mx_webhook_events",
            {"now": now},
        ).fetchone()
        oldest = row[4]
        return QueueStats(
            ready=int(row[0]),
            in_flight=int(row[1]),
            delayed=int(row[2]),
            dead=int(row[3]),
            oldest_pending_age=None if oldest is None else max(0.0, now - oldest),
            paused=self._paused(conn),
        )

    def ping(self) -> bool:
        try:
            self._connect(writer=False).execute("SELECT 1").fetchone()
        except (sqlite3.Error, RuntimeError):
            return False
        return True
