"""Expanders: what an ``expand=`` query value adds to a record's view.

An expander takes the stored record, a lookup into the same organization and the set of
requested expansions, and returns the fields to add (copied fields, embedded summaries of
referenced records, constant empty lists for data the simulator does not model).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ._store import Record

__all__ = [
    "Expander",
    "Lookup",
    "asset_summary",
    "constant",
    "embedded",
    "include",
    "location_summary",
    "related",
    "work_order_assignees",
    "work_order_parts",
]

#: ``lookup(resource_name, id)`` finds a record of the same organization.
Lookup = Callable[[str, int], "Record | None"]
#: ``expander(record, lookup, expands)`` returns the fields an ``expand=`` value adds.
Expander = Callable[[Record, Lookup, frozenset[str]], dict[str, Any]]


def include(*fields: str, omit_none: bool = False) -> Expander:
    """An expander that copies stored fields."""

    def expand(record: Record, lookup: Lookup, expands: frozenset[str]) -> dict[str, Any]:
        return {n: record.get(n) for n in fields if not (omit_none and record.get(n) is None)}

    return expand


def constant(name: str, value: Any) -> Expander:
    """An expander that adds a constant value (e.g. an empty list of time entries)."""

    def expand(record: Record, lookup: Lookup, expands: frozenset[str]) -> dict[str, Any]:
        return {name: list(value) if isinstance(value, list) else value}

    return expand


def asset_summary(asset: Record, with_extra: bool = False) -> dict[str, Any]:
    summary = {
        k: asset.get(k)
        for k in (
            "id",
            "name",
            "description",
            "parentId",
            "criticalityId",
            "locationId",
            "serialNumber",
            "createdAt",
            "updatedAt",
            "creatorId",
        )
    }
    if with_extra:
        summary["assetExtraFields"] = dict(asset.get("extraFields") or {})
    return summary


def location_summary(location: Record, with_extra: bool = False) -> dict[str, Any]:
    summary = {
        k: location.get(k)
        for k in ("id", "name", "description", "address", "parentId", "createdAt", "updatedAt")
    }
    if with_extra:
        summary["locationExtraFields"] = dict(location.get("extraFields") or {})
    return summary


def related(
    name: str,
    resource: str,
    id_field: str,
    summary: Callable[[Record, bool], dict[str, Any]],
    extra_expand: str = "",
    omit_none: bool = False,
) -> Expander:
    """An expander that embeds the summary of a referenced record (or null)."""

    def expand(record: Record, lookup: Lookup, expands: frozenset[str]) -> dict[str, Any]:
        ref = record.get(id_field)
        target = lookup(resource, int(ref)) if ref is not None else None
        if target is None:
            return {} if omit_none else {name: None}
        return {name: summary(target, extra_expand in expands)}

    return expand


def work_order_assignees(record: Record, lookup: Lookup, expands: frozenset[str]) -> dict[str, Any]:
    users = [{"type": "USER", "id": i} for i in record.get("assigneeIds") or ()]
    teams = [{"type": "TEAM", "id": i} for i in record.get("teamIds") or ()]
    return {"assignees": users + teams}


def work_order_parts(record: Record, lookup: Lookup, expands: frozenset[str]) -> dict[str, Any]:
    parts = []
    for used in record.get("_parts") or ():
        part = lookup("parts", int(used["partId"]))
        if part is None:
            continue
        entry = {
            "id": part["id"],
            "name": part["name"],
            "description": part.get("description"),
            "area": part.get("area"),
            "unitCost": part.get("unitCost"),
            "availableQuantity": part.get("availableQuantity", 0),
            "minimumQuantity": part.get("minimumQuantity", 0),
            "barcode": part.get("barcode"),
            "quantityUsed": used["quantityUsed"],
            "copyOnRecurring": used.get("copyOnRecurring", "Default"),
            "locationId": used.get("locationId"),
        }
        if "part_extra_fields" in expands:
            entry["partExtraFields"] = dict(part.get("extraFields") or {})
        parts.append(entry)
    return {"parts": parts}


def embedded(name: str, resource: str, id_field: str, fields: tuple[str, ...]) -> Expander:
    """An expander that embeds a referenced record's view (left out when there is none)."""

    def expand(record: Record, lookup: Lookup, expands: frozenset[str]) -> dict[str, Any]:
        ref = record.get(id_field)
        target = lookup(resource, int(ref)) if ref is not None else None
        if target is None:
            return {}
        return {name: {k: target[k] for k in fields if k in target}}

    return expand
