"""Views of records: projecting a stored record onto an answer's schema, and ``expand=``.

Most expansions follow from the spec: ``expand=extra_fields`` adds the stored ``extraFields``
(an absent array comes back empty: ``times``, ``expenditures``), and ``expand=asset`` embeds the
record that ``assetId`` points to, projected onto the schema of the ``asset`` property (with
``asset_extra_fields`` adding its ``assetExtraFields``). The joins the spec cannot describe (a
work order's ``assignees`` and ``parts``, a procedure template's ``rows``) are code here.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from ._store import Record

__all__ = [
    "Expander",
    "Fields",
    "Lookup",
    "include",
    "procedure_rows",
    "related",
    "render",
    "work_order_assignees",
    "work_order_parts",
]

#: ``lookup(resource_name, id)`` finds a record of the same organization.
Lookup = Callable[[str, int], "Record | None"]
#: ``expander(record, lookup, expands)`` returns the fields an ``expand=`` value adds.
Expander = Callable[[Record, Lookup, frozenset[str]], dict[str, Any]]
#: A view's fields in order, each with whether it may be null (else a null is left out).
Fields = Sequence[tuple[str, bool]]


def render(record: Record, fields: Fields) -> dict[str, Any]:
    """Project a stored record onto a view's fields (nulls left out where not allowed)."""
    return {
        name: record[name]
        for name, nullable in fields
        if name in record and (nullable or record[name] is not None)
    }


def include(name: str, is_array: bool, nullable: bool) -> Expander:
    """An expander that adds a stored field (an absent array as ``[]``)."""

    def expand(record: Record, lookup: Lookup, expands: frozenset[str]) -> dict[str, Any]:
        value = record.get(name)
        if value is None and is_array:
            value = []
        return {} if value is None and not nullable else {name: value}

    return expand


def related(
    name: str,
    id_field: str,
    resource: str,
    fields: Fields,
    nullable: bool,
    extras: Mapping[str, str],
) -> Expander:
    """An expander that embeds the record ``id_field`` points to, projected onto ``fields``;
    ``extras`` maps an expand value (``asset_extra_fields``) to the property it fills with the
    target's ``extraFields`` (``assetExtraFields``)."""

    def expand(record: Record, lookup: Lookup, expands: frozenset[str]) -> dict[str, Any]:
        ref = record.get(id_field)
        target = lookup(resource, int(ref)) if isinstance(ref, (int, float)) else None
        if target is None:
            return {name: None} if nullable else {}
        view = render(target, fields)
        for wanted, prop in extras.items():
            if wanted in expands:
                view[prop] = dict(target.get("extraFields") or {})
        return {name: view}

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


def procedure_rows(name: str) -> Expander:
    """A procedure template's rows (kept as records of their own), under ``name``."""
    row_fields = ("id", "label", "type", "description", "choices", "meterId", "isDateAndTime")
    more = ("attachmentId", "attachments", "urls")

    def expand(record: Record, lookup: Lookup, expands: frozenset[str]) -> dict[str, Any]:
        rows = (lookup("proceduretemplaterows", int(i)) for i in record.get("_rowIds") or ())
        return {name: [{k: r[k] for k in (*row_fields, *more) if k in r} for r in rows if r]}

    return expand
