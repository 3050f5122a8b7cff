"""In-memory records: tables per resource, filters, sorting and cursor pagination.

A ``Table`` keeps the records of one resource in one organization, ordered by id, and caches
what is expensive to rebuild on every page: the sort order per field (until the next write) and
each record's JSON encoding per view (until that record changes).

Pagination is keyset by default: the cursor holds the sort key of the last record served, so
inserts and deletes between pages never duplicate or skip a record. ``offset`` pagination
reproduces what the API documents for parts, assets and purchase orders (records can move
between pages). A cursor also carries a fingerprint of the filters it was made for: using it
with other filters is a ``QueryError`` (HTTP 400), as is a cursor that does not decode.
"""

from __future__ import annotations

import base64
import binascii
import bisect
import hashlib
import json
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ._timeutil import normalize_iso

__all__ = [
    "FilterSpec",
    "OrgData",
    "QueryError",
    "Record",
    "RecordPage",
    "Table",
    "compile_filters",
    "paginate",
    "query_digest",
]

Record = dict[str, Any]
Predicate = Callable[[Record], bool]
SortKey = Any  # int for id order, (null_flag, value, id) for other fields

FilterKind = Literal[
    "in",
    "not_in",
    "any",
    "none",
    "eq",
    "contains",
    "gte",
    "lte",
    "label_or_id",
    "not_label_or_id",
    "flag",
]
ValueType = Literal["int", "str", "bool", "datetime"]


class QueryError(ValueError):
    """A query the API would answer with 400 (bad filter value, bad cursor, bad limit)."""


class Table:
    """The records of one resource in one organization."""

    def __init__(self, records: Iterable[Record] = ()) -> None:
        self._rows: dict[int, Record] = {}
        self._ids: list[int] = []
        self._json: dict[int, dict[str, bytes]] = {}
        self._orders: dict[str, list[SortKey]] = {}
        for record in records:
            self.put(record)

    def __len__(self) -> int:
        return len(self._rows)

    def __iter__(self) -> Iterator[Record]:
        rows = self._rows
        return (rows[i] for i in self._ids)

    def __contains__(self, record_id: object) -> bool:
        return record_id in self._rows

    def get(self, record_id: int) -> Record | None:
        """The stored record (the live dict: copy before handing it out), or None."""
        return self._rows.get(record_id)

    def put(self, record: Record) -> None:
        """Insert or replace a record (keyed by its ``id``); invalidates cached orders/JSON."""
        record_id = int(record["id"])
        if record_id not in self._rows:
            if self._ids and record_id < self._ids[-1]:
                bisect.insort(self._ids, record_id)
            else:
                self._ids.append(record_id)
        self._rows[record_id] = record
        self._forget(record_id)

    def delete(self, record_id: int) -> Record | None:
        """Remove a record; returns it, or None if it was not there."""
        record = self._rows.pop(record_id, None)
        if record is not None:
            index = bisect.bisect_left(self._ids, record_id)
            del self._ids[index]
            self._forget(record_id)
        return record

    def _forget(self, record_id: int) -> None:
        self._orders.clear()
        self._json.pop(record_id, None)

    def encoded(self, record: Record, view: str, render: Callable[[Record], bytes]) -> bytes:
        """``render(record)``, cached per (record, view) until the record changes."""
        views = self._json.setdefault(int(record["id"]), {})
        cached = views.get(view)
        if cached is None:
            cached = render(record)
            views[view] = cached
        return cached

    def order(self, field: str) -> list[SortKey]:
        """Every record's sort key for ``field``, ascending (ids for ``field == "id"``)."""
        if field == "id":
            return self._ids
        keys = self._orders.get(field)
        if keys is None:
            keys = sorted(sort_key(record, field) for record in self._rows.values())
            self._orders[field] = keys
        return keys


def sort_key(record: Record, field: str) -> SortKey:
    """The total-order key of a record: nulls after values (ascending), ties broken by id."""
    if field == "id":
        return int(record["id"])
    value = record.get(field)
    if value is None:
        return (1, "", int(record["id"]))
    return (0, value, int(record["id"]))


def _key_id(key: SortKey) -> int:
    return key if isinstance(key, int) else int(key[2])


@dataclass(frozen=True)
class FilterSpec:
    """One query filter of a list endpoint.

    ``kind``: ``in``/``not_in`` (scalar field in/not in values), ``any``/``none`` (list field
    intersects/disjoint), ``eq`` (single value), ``contains`` (case-insensitive substring),
    ``gte``/``lte`` (timestamps), ``label_or_id`` (values are labels or integer ids, matched
    against ``field`` (labels) or ``id_field`` (ids); ``not_label_or_id`` is its negation),
    ``flag`` (a boolean that, when true,
    keeps only records whose value is truthy). ``key`` computes a derived value.
    """

    param: str
    field: str
    kind: FilterKind = "in"
    value_type: ValueType = "int"
    choices: tuple[str, ...] | None = None
    id_field: str | None = None
    key: Callable[[Record], Any] | None = None

    @property
    def repeated(self) -> bool:
        return self.kind in ("in", "not_in", "any", "none", "label_or_id", "not_label_or_id")


def _convert(spec: FilterSpec, raw: str) -> Any:
    if spec.choices is not None and raw not in spec.choices:
        raise QueryError(f"Invalid value for {spec.param}: {raw!r}")
    try:
        if spec.value_type == "int":
            return int(raw)
        if spec.value_type == "bool":
            lowered = raw.lower()
            if lowered not in ("true", "false", "1", "0"):
                raise ValueError(raw)
            return lowered in ("true", "1")
        if spec.value_type == "datetime":
            return normalize_iso(raw)
    except ValueError:
        raise QueryError(f"Invalid value for {spec.param}: {raw!r}") from None
    return raw


def _compile_one(spec: FilterSpec, raws: Sequence[str]) -> Predicate:
    values = [_convert(spec, raw) for raw in raws]
    get: Callable[[Record], Any] = spec.key or (lambda record: record.get(spec.field))
    wanted = set(values)
    kind = spec.kind
    if kind == "in":
        return lambda record: get(record) in wanted
    if kind == "not_in":
        return lambda record: get(record) not in wanted
    if kind == "any":
        return lambda record: not wanted.isdisjoint(get(record) or ())
    if kind == "none":
        return lambda record: wanted.isdisjoint(get(record) or ())
    if kind in ("label_or_id", "not_label_or_id"):
        labels = {v for v in raws if not v.lstrip("-").isdigit()}
        ids = {int(v) for v in raws if v.lstrip("-").isdigit()}
        id_field = spec.id_field or "id"
        negate = kind == "not_label_or_id"
        return lambda record: (
            negate
            != (
                not labels.isdisjoint(record.get(spec.field) or ())
                or (not ids.isdisjoint(record.get(id_field) or ()))
            )
        )
    last = values[-1]
    if kind == "flag":
        return (lambda record: bool(get(record))) if last else (lambda record: True)
    if kind == "eq":
        return lambda record: get(record) == last
    if kind == "contains":
        needle = str(last).casefold()
        return lambda record: needle in str(get(record) or "").casefold()
    if kind == "gte":
        return lambda record: (value := get(record)) is not None and value >= last
    return lambda record: (value := get(record)) is not None and value <= last


def compile_filters(
    specs: Sequence[FilterSpec], query: Sequence[tuple[str, str]]
) -> tuple[list[Predicate], list[tuple[str, str]]]:
    """Predicates for the recognised filters in ``query``, and those filters in canonical form.

    Unknown parameters are ignored, like the API does. Raises ``QueryError`` for bad values.
    """
    by_param: dict[str, list[str]] = {}
    for name, value in query:
        by_param.setdefault(name, []).append(value)
    predicates: list[Predicate] = []
    canonical: list[tuple[str, str]] = []
    for spec in specs:
        raws = by_param.get(spec.param)
        if not raws:
            continue
        if not spec.repeated:
            raws = raws[-1:]
        predicates.append(_compile_one(spec, raws))
        canonical.extend((spec.param, raw) for raw in sorted(set(raws)))
    return predicates, canonical


def query_digest(parts: Iterable[tuple[str, str]]) -> str:
    """A short stable digest of a query's filters, stored in cursors."""
    text = json.dumps(sorted(parts), separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


@dataclass(frozen=True)
class RecordPage:
    """One page of a list: the records, and the cursor of the next page (None on the last)."""

    records: list[Record]
    next_cursor: str | None


def _encode_cursor(payload: dict[str, Any]) -> str:
    raw = json.dumps(payload, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _decode_cursor(cursor: str) -> dict[str, Any]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        payload = json.loads(raw)
    except (binascii.Error, ValueError):
        raise QueryError("Invalid cursor") from None
    if not isinstance(payload, dict):
        raise QueryError("Invalid cursor")
    return payload


def _merged_order(tables: Sequence[Table], field: str) -> list[SortKey]:
    if len(tables) == 1:
        return tables[0].order(field)
    return sorted(key for table in tables for key in table.order(field))


def paginate(
    tables: Sequence[Table],
    *,
    predicates: Sequence[Predicate],
    limit: int,
    cursor: str | None,
    sort: str = "id",
    descending: bool = False,
    filters_fingerprint: str,
    mode: Literal["keyset", "offset"] = "keyset",
) -> RecordPage:
    """One page of the records of ``tables`` matching every predicate, in sort order.

    ``tables`` is usually one table; several (multi-organization lists) are merged. Raises
    ``QueryError`` if the cursor is unreadable or was made for other filters or another order.
    """
    order = _merged_order(tables, sort)
    state = _decode_cursor(cursor) if cursor else None
    sort_spec = ("-" if descending else "") + sort
    if state is not None and (state.get("f") != filters_fingerprint or state.get("s") != sort_spec):
        raise QueryError("The cursor does not match the filters of this query")
    offset = 0
    if mode == "offset":
        offset = int(state.get("o", 0)) if state is not None else 0
        start, step = (len(order) - 1, -1) if descending else (0, 1)
    elif state is None:
        start, step = (len(order) - 1, -1) if descending else (0, 1)
    else:
        last = state.get("k")
        last_key: SortKey = last if isinstance(last, int) else tuple(last or ())
        if not isinstance(last, int) and len(last_key) != 3:
            raise QueryError("Invalid cursor")
        try:
            if descending:
                start, step = bisect.bisect_left(order, last_key) - 1, -1
            else:
                start, step = bisect.bisect_right(order, last_key), 1
        except TypeError:
            raise QueryError("Invalid cursor") from None
    lookup = _lookup(tables)
    found: list[Record] = []
    keys: list[SortKey] = []
    skipped = 0
    index = start
    while 0 <= index < len(order) and len(found) <= limit:
        key = order[index]
        index += step
        record = lookup(_key_id(key))
        if record is None or not all(predicate(record) for predicate in predicates):
            continue
        if skipped < offset:
            skipped += 1
            continue
        found.append(record)
        keys.append(key)
    if len(found) <= limit:
        return RecordPage(found, None)
    payload: dict[str, Any] = {"s": sort_spec, "f": filters_fingerprint}
    if mode == "offset":
        payload["o"] = offset + limit
    else:
        payload["k"] = keys[limit - 1]
    return RecordPage(found[:limit], _encode_cursor(payload))


def _lookup(tables: Sequence[Table]) -> Callable[[int], Record | None]:
    if len(tables) == 1:
        return tables[0].get

    def find(record_id: int) -> Record | None:
        for table in tables:
            record = table.get(record_id)
            if record is not None:
                return record
        return None

    return find


def sorted_records(tables: Sequence[Table]) -> list[Record]:
    """Every record of ``tables`` by id (for snapshots)."""
    merged: Mapping[int, Record] = {r["id"]: r for table in tables for r in table}
    return [merged[i] for i in sorted(merged)]


class OrgData:
    """One organization's data: a table per resource and its per-organization counters."""

    def __init__(self, org_id: int, name: str, table_names: Iterable[str]) -> None:
        self.id = org_id
        self.name = name
        self.tables: dict[str, Table] = {table: Table() for table in table_names}
        self.sequences: dict[str, int] = {}

    def table(self, name: str) -> Table:
        """The table of a collection (made empty on first use)."""
        table = self.tables.get(name)
        if table is None:
            table = self.tables[name] = Table()
        return table

    def lookup(self, name: str, record_id: int) -> Record | None:
        table = self.tables.get(name)
        return table.get(record_id) if table is not None else None

    def next_sequence(self, name: str) -> int:
        self.sequences[name] = self.sequences.get(name, 0) + 1
        return self.sequences[name]

    def as_json(self) -> Record:
        """The organization as ``GET /organizations`` lists it."""
        return {
            "id": self.id,
            "name": self.name,
            "timeZone": "America/Toronto",
            "imageUrl": None,
            "currency": "USD",
            "dateFormatLocale": "en-US",
        }
