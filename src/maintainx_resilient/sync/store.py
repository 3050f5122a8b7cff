"""The local store: what the sync engine needs from wherever the local copy lives.

:class:`SyncStore` is the whole interface; :class:`~maintainx_resilient.sync.SQLiteStore`
is the embedded default and :class:`MemoryStore` a small reference implementation (handy in
tests, and a template for your own on Postgres, DynamoDB...).

Every write goes through :meth:`SyncStore.commit` with one :class:`Batch`, applied
atomically: a page of records and the checkpoint that says the page is done are stored
together, so an interrupted sync never skips a page and re-fetches at most the one in flight.

The contract of ``commit`` (both stores implement exactly this):

1. each commit gets the next *write sequence* number (1, 2, 3...);
2. ``upserts``: a record the store lacks is inserted; one it has is replaced unless the
   stored copy has a later ``updatedAt`` (the newer copy always wins, so a slow page can
   never undo a webhook-triggered fetch), or the same ``updatedAt`` and every field of the
   incoming copy with the same values, and more (see :func:`fuller_form`: a list page's
   shorter form of a record never replaces its single-record form of the same version);
   an id in ``expected`` whose stored copy still has that ``updatedAt`` is replaced whatever
   the order (``repair``: MaintainX's copy is the truth, even when its ``updatedAt`` went
   back); :func:`upsert_wins` is this rule, for a store of your own to call; either way the
   record is stamped with this commit's sequence (it was seen);
3. ``deletes`` are removed;
4. ``prune_before``: every record of the resource stamped before that sequence is removed
   (the full sync's deletion detection: what a complete pass did not see is gone);
5. ``state`` keys are set to their JSON values (None removes the key);
6. ``max_deletes``: when ``deletes`` and ``prune_before`` together would remove more than
   this many records, nothing of the batch is applied (no sequence number is used) and
   :class:`~maintainx_resilient.sync.MassDeleteError` is raised with the numbers. The engine
   sets it from its :class:`~maintainx_resilient.sync.DeleteGuard`; a store of your own must
   honour it, or a sudden empty answer from MaintainX empties your copy.

``state`` holds small JSON documents: watermarks, checkpoints, the last reports (see
:data:`STATE_KEYS`). Nothing in a store is pickled.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, runtime_checkable

from pydantic_core import to_json

from .._iso8601 import format_timestamp, to_timestamp
from .errors import MassDeleteError
from .resources import canonical_name

__all__ = [
    "STATE_KEYS",
    "Batch",
    "CommitResult",
    "Entry",
    "LocalRecord",
    "MemoryStore",
    "SyncStore",
    "fuller_form",
    "state_key",
    "upsert_wins",
]


#: What the engine keeps in ``state``, per resource (``<kind>:<resource>``).
STATE_KEYS = {
    "watermark": "largest updatedAt seen (microseconds) and when it was set",
    "checkpoint:full": "where an unfinished full sync stands (cursor, pages, run)",
    "last:full": "summary of the last finished full sync",
    "last:incremental": "summary of the last incremental run",
    "report:reconcile": "the last reconciliation report (what `repair` fixes)",
    "last:repair": "summary of the last repair",
    "blocked:full": "a full sync the delete guard refused (cleared by the next one through)",
    "blocked:repair": "a repair the delete guard refused",
    "blocked:incremental": "webhook-fed deletes the delete guard refused",
}


def state_key(kind: str, resource: str) -> str:
    """``state_key("watermark", "workOrders") == "watermark:workOrders"``."""
    return f"{kind}:{resource}"


class LocalRecord(NamedTuple):
    """One record as stored: its id, indexed timestamps, and its JSON as MaintainX sent it
    (compact: same fields in the same order, same values; unknown fields kept).

    ``updated_us``/``created_us`` are microseconds since the Unix epoch (None when the
    record has no such field). A named tuple: a full sync makes one per record, and tuples
    are the cheapest immutable value Python has.
    """

    id: int
    updated_us: int | None
    created_us: int | None
    data: str

    @classmethod
    def from_wire(cls, record: Mapping[str, Any], text: str | None = None) -> LocalRecord:
        """A record from an API answer (a JSON object with at least ``id``); ``text`` is its
        JSON, encoded here (compact, fields in the order received) unless given."""
        if text is None:
            text = to_json(record).decode()
        return cls(
            int(record["id"]),
            to_timestamp(record.get("updatedAt")),
            to_timestamp(record.get("createdAt")),
            text,
        )

    @property
    def updated_at(self) -> str | None:
        """``updatedAt`` in the API's format."""
        return None if self.updated_us is None else format_timestamp(self.updated_us)

    @property
    def created_at(self) -> str | None:
        return None if self.created_us is None else format_timestamp(self.created_us)

    def json(self) -> dict[str, Any]:
        """The record as a dict (parsed from ``data``)."""
        value: dict[str, Any] = json.loads(self.data)
        return value


class Entry(NamedTuple):
    """What reconciliation compares: an id and its timestamps (microseconds)."""

    id: int
    updated_us: int | None
    created_us: int | None


@dataclass(frozen=True)
class Batch:
    """One atomic write (see the module docstring for what each part does)."""

    upserts: Sequence[LocalRecord] = ()
    deletes: Collection[int] = ()
    prune_before: int | None = None
    state: Mapping[str, Any] = field(default_factory=dict)
    #: refuse the whole batch if it would remove more records than this (None: no limit)
    max_deletes: int | None = None
    #: ids whose stored copy an upsert replaces even when it is newer, provided it still
    #: has this ``updatedAt`` (microseconds; None: it has none), as when the batch was
    #: planned: what ``repair`` sends for a record whose ``updatedAt`` went back on
    #: MaintainX (a restore). A copy stored since then is judged by the usual rule.
    expected: Mapping[int, int | None] = field(default_factory=dict)


@dataclass(frozen=True)
class CommitResult:
    """What a commit did. ``unchanged`` counts upserts whose stored copy had the same or a
    later ``updatedAt``; ``deleted`` lists the ids that ``deletes`` and ``prune_before``
    actually removed."""

    sequence: int
    inserted: int = 0
    updated: int = 0
    unchanged: int = 0
    deleted: tuple[int, ...] = ()


@runtime_checkable
class SyncStore(Protocol):
    """Where the local copy lives. Implement these to use your own database.

    ``resource`` is the API's list key (``workOrders``). The bundled stores also accept the
    aliases :func:`~maintainx_resilient.sync.resources.resolve` knows (``workorders``, which
    RB-004 passes); a store of your own should do the same with
    :func:`~maintainx_resilient.sync.resources.canonical_name`.
    """

    def commit(self, resource: str, batch: Batch) -> CommitResult:
        """Apply ``batch`` to ``resource`` atomically (contract in the module docstring)."""
        ...

    def get(self, resource: str, id: int) -> LocalRecord | None:
        """One stored record, or None."""
        ...

    def entries(self, resource: str) -> list[Entry]:
        """Every stored record's id and timestamps, by id."""
        ...

    def updated_at_by_id(self, resource: str) -> Mapping[int, str]:
        """Every local id with its ``updatedAt`` in the API's format ("" when the record has
        none). RB-004 reads this."""
        ...

    def count(self, resource: str) -> int:
        """How many records of ``resource`` are stored."""
        ...

    def sequence(self) -> int:
        """The last commit's write sequence (0 for an empty store)."""
        ...

    def state(self, key: str) -> Any:
        """A ``state`` value (JSON), or None."""
        ...

    def close(self) -> None:
        """Release connections."""
        ...


def _iso(micros: int | None) -> str:
    return "" if micros is None else format_timestamp(micros)


def _newer_or_same(incoming: int | None, stored: int | None) -> bool:
    return incoming is None or stored is None or incoming >= stored


def upsert_wins(
    incoming: LocalRecord, stored_updated: int | None, stored_data: Callable[[], str], batch: Batch
) -> bool:
    """Whether ``incoming`` replaces the stored copy of its id (rule 2 of the contract), given
    that copy's ``updatedAt`` (microseconds) and a way to read its data (asked for only when
    both have the same ``updatedAt``)."""
    new = incoming.updated_us
    if not _newer_or_same(new, stored_updated):
        return incoming.id in batch.expected and batch.expected[incoming.id] == stored_updated
    return new is None or new != stored_updated or not fuller_form(stored_data(), incoming.data)


def fuller_form(stored: str, incoming: str) -> bool:
    """Whether ``stored`` (a record's JSON) holds every field of ``incoming`` with the same
    value, and more: the single-record form (``GET /workorders/{id}``, what webhook-fed
    fetches and ``repair`` store) of the version whose list-page form is ``incoming``. Only
    a shorter text can be such a form, so most comparisons end at the lengths."""
    if len(incoming) >= len(stored):
        return False
    try:
        short, full = json.loads(incoming), json.loads(stored)
    except (ValueError, RecursionError):  # not JSON, or nested past the parser: not a form
        return False
    if not isinstance(short, dict) or not isinstance(full, dict) or len(short) >= len(full):
        return False
    missing = object()
    return all(full.get(key, missing) == value for key, value in short.items())


def _check_deletes(
    resource: str, rows: Mapping[int, tuple[LocalRecord, int]], batch: Batch
) -> None:
    """Raise :class:`MassDeleteError` if ``batch`` would remove more than its
    ``max_deletes`` of ``rows`` (read before anything is applied)."""
    upserted = {r.id for r in batch.upserts}
    present = rows.keys() | upserted
    doomed = {i for i in batch.deletes if i in present}
    if batch.prune_before is not None:
        doomed.update(
            i for i, (_, s) in rows.items() if s < batch.prune_before and i not in upserted
        )
    limit = batch.max_deletes
    if limit is not None and len(doomed) > limit:
        raise MassDeleteError(
            resource=resource, would_delete=len(doomed), local_count=len(present), limit=limit
        )


class MemoryStore:
    """A :class:`SyncStore` in process memory (thread-safe). Lost when the process ends."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._rows: dict[str, dict[int, tuple[LocalRecord, int]]] = {}
        self._state: dict[str, str] = {}
        self._sequence = 0

    def commit(self, resource: str, batch: Batch) -> CommitResult:
        resource = canonical_name(resource)
        with self._lock:
            rows = self._rows.setdefault(resource, {})
            if batch.max_deletes is not None:
                _check_deletes(resource, rows, batch)
            self._sequence += 1
            seq = self._sequence
            inserted = updated = unchanged = 0
            for record in batch.upserts:
                current = rows.get(record.id)
                if current is None:
                    inserted += 1
                elif not upsert_wins(record, current[0].updated_us, current[0].data.__str__, batch):
                    unchanged += 1
                    record = current[0]  # newer, or the fuller form: keep it
                elif record.updated_us == current[0].updated_us:
                    unchanged += 1
                else:
                    updated += 1
                rows[record.id] = (record, seq)
            deleted = [i for i in dict.fromkeys(batch.deletes) if rows.pop(i, None) is not None]
            if batch.prune_before is not None:
                stale = [i for i, (_, s) in rows.items() if s < batch.prune_before]
                for i in stale:
                    del rows[i]
                deleted.extend(stale)
            for key, value in batch.state.items():
                if value is None:
                    self._state.pop(key, None)
                else:
                    self._state[key] = json.dumps(value)
            return CommitResult(seq, inserted, updated, unchanged, tuple(deleted))

    def get(self, resource: str, id: int) -> LocalRecord | None:
        resource = canonical_name(resource)
        with self._lock:
            row = self._rows.get(resource, {}).get(id)
            return row[0] if row else None

    def entries(self, resource: str) -> list[Entry]:
        resource = canonical_name(resource)
        with self._lock:
            rows = self._rows.get(resource, {})
            return [Entry(i, rows[i][0].updated_us, rows[i][0].created_us) for i in sorted(rows)]

    def updated_at_by_id(self, resource: str) -> dict[int, str]:
        resource = canonical_name(resource)
        return {e.id: _iso(e.updated_us) for e in self.entries(resource)}

    def count(self, resource: str) -> int:
        resource = canonical_name(resource)
        with self._lock:
            return len(self._rows.get(resource, {}))

    def sequence(self) -> int:
        with self._lock:
            return self._sequence

    def state(self, key: str) -> Any:
        with self._lock:
            raw = self._state.get(key)
        return None if raw is None else json.loads(raw)

    def close(self) -> None:
        return None

    def __repr__(self) -> str:
        return f"MemoryStore(sequence={self._sequence})"
