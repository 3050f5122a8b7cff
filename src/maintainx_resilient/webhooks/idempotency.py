"""Apply each event once, even though workers deliver it at least once.

A worker that dies after a handler committed its effect but before the queue heard ``ack``
runs the event again. The cure is to record the event's ``dedupe_key`` **in the same
transaction** as its effect: the second run finds the key and does nothing.

:class:`SqliteLedger` does that for effects stored in SQLite::

    ledger = SqliteLedger("app.db")

    def on_status(event: WorkOrderStatusChange) -> None:
        ledger.apply_once(event.dedupe_key, lambda db: db.execute(
            "UPDATE work_orders SET status = ? WHERE id = ?",
            (event.new_status, event.work_order_id)))

For other stores, do the same with their transactions (``INSERT ... ON CONFLICT DO NOTHING``
of the key, then the effect only if the insert took).
"""

from __future__ import annotations

import os
import sqlite3
from collections.abc import Callable
from typing import Any

from .._clock import SYSTEM_CLOCK, Clock
from .._sqlite import ThreadConnections, immediate

__all__ = ["SqliteLedger"]


class SqliteLedger:
    """A table of applied dedupe keys next to the application's own tables.

    ``apply_once(key, effect)`` runs ``effect(connection)`` and records ``key`` in one
    ``BEGIN IMMEDIATE`` transaction, unless ``key`` is already recorded. Thread-safe (one
    connection per thread) and safe across processes sharing the file.
    """

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        table: str = "mx_webhook_applied",
        synchronous: str = "FULL",
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        if not table.replace("_", "").isalnum():
            raise ValueError("table must be an identifier")
        if synchronous.upper() not in ("FULL", "NORMAL", "EXTRA"):
            raise ValueError("synchronous must be FULL, EXTRA or NORMAL")
        self.path = os.fspath(path)
        self.table = table
        self.clock = clock
        self._synchronous = synchronous.upper()
        self._connections = ThreadConnections(self.path, owner=f"SqliteLedger({self.path!r})")
        self.connection().execute(
            f"CREATE TABLE IF NOT EXISTS {table} (key TEXT PRIMARY KEY, applied_at REAL NOT NULL)"
        )

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (autocommit mode; WAL)."""
        return self._connections.get(synchronous=self._synchronous)

    def apply_once(self, key: str, effect: Callable[[sqlite3.Connection], Any]) -> bool:
        """Run ``effect`` and record ``key`` atomically; False (and no effect) if ``key`` was
        applied before. An exception in ``effect`` rolls both back and propagates."""
        with immediate(self.connection()) as conn:
            inserted = conn.execute(
                f"INSERT INTO {self.table} (key, applied_at) VALUES (?, ?) "  # noqa: S608 - validated identifier
                "ON CONFLICT (key) DO NOTHING",
                (key, self.clock.time()),
            ).rowcount
            if inserted != 1:  # applied before: nothing was written, nothing to do
                return False
            effect(conn)
        return True

    def applied(self, key: str) -> bool:
        row = (
            self.connection()
            .execute(f"SELECT 1 FROM {self.table} WHERE key = ?", (key,))  # noqa: S608
            .fetchone()
        )
        return row is not None

    def count(self) -> int:
        row = self.connection().execute(f"SELECT COUNT(*) FROM {self.table}").fetchone()  # noqa: S608
        return int(row[0])

    def close(self) -> None:
        self._connections.close()

    def __enter__(self) -> SqliteLedger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
