"""Subscription filters (the ``filters`` of ``POST /subscriptions``), applied to deliveries.

A subscription with filters receives an event only when every filter it sets matches, as the
spec describes them (an empty or absent list matches everything):

- ``oneOfStatuses``: the new status (of a work order, purchase order or work request; a
  work order's CANCELED/SKIPPED are matched as such, not as the payload's ``DONE``);
- ``vendors``: the purchase order's vendor;
- ``oneOfPartStatuses``: a work order's new part status (the spec lists them in lower case);
- ``oneOfCategories``: one of the categories added to a work order, by name or id;
- ``oneOfAssetStatusTypes``/``oneOfCustomAssetStatusesIds``: an asset's new status;
- ``oneOfStates``: a meter trigger's new state; ``command``: the slash command;
- ``oneOfProperties``/``oneOfPartProperties``/``oneOfPurchaseOrderProperties``: one of the
  listed properties changed (``DUE_DATE`` is ``dueDate``, ``ASSET`` is ``assetId``,
  ``ASSIGNEES`` is ``assigneeIds``...). Only changes made through the simulator say what
  changed: an event given to ``SimulatorWebhooks.emit`` passes these.

A filter this module does not know lets the event through (the API grows).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["passes"]

_PROPERTY_FILTERS = frozenset(
    {"oneOfProperties", "oneOfPartProperties", "oneOfPurchaseOrderProperties"}
)
RecordView = Mapping[str, Any]


def passes(
    filters: Any, payload: RecordView, old: RecordView | None, new: RecordView | None
) -> bool:
    """Whether an event (its payload, and the record before/after when known) gets through."""
    if not isinstance(filters, Mapping):
        return True
    for key, wanted in filters.items():
        if wanted is None or wanted == [] or wanted == "":
            continue
        values = list(wanted) if isinstance(wanted, list) else [wanted]
        if not _matches(key, values, payload, old, new):
            return False
    return True


def _matches(
    key: str, values: list[Any], payload: RecordView, old: RecordView | None, new: RecordView | None
) -> bool:
    status = payload.get("newStatus")
    if key == "oneOfStatuses":
        actual = {new.get("status")} if new and "status" in new else {status}
        return not actual.isdisjoint(values)
    if key == "vendors":
        return (payload.get("vendorId") or (new or {}).get("vendorId")) in values
    if key == "oneOfPartStatuses":
        return str(payload.get("newPartStatus", "")).lower() in {str(v).lower() for v in values}
    if key == "oneOfCategories":
        added = payload.get("newCategories") or ()
        return any(c.get("name") in values or c.get("id") in values for c in added)
    if key == "oneOfAssetStatusTypes":
        return isinstance(status, Mapping) and status.get("status") in values
    if key == "oneOfCustomAssetStatusesIds":
        return isinstance(status, Mapping) and status.get("customStatusId") in values
    if key == "oneOfStates":
        return payload.get("newState") in values
    if key == "command":
        return payload.get("command") in values
    if key in _PROPERTY_FILTERS:
        return old is None or new is None or any(_changed(str(p), old, new) for p in values)
    return True


def _changed(prop: str, old: RecordView, new: RecordView) -> bool:
    """Whether the record field a property filter names (``DUE_DATE``) changed."""
    words = prop.lower().split("_")
    name = words[0] + "".join(w.title() for w in words[1:])
    stem = name[:-1] if name.endswith("s") else name
    for field in (name, f"{name}Id", f"{stem}Ids", f"_{stem}Ids"):
        if field in old or field in new:
            return old.get(field) != new.get(field)
    return False
