"""How creates and updates turn a request body into a stored record, per resource.

``blank(name, ctx)`` is the complete record with default values (seeded data starts from it
too, so both have exactly the same fields); ``apply(name, record, body, ctx)`` merges an
already type-checked body into a record, converting what the API stores differently from what
it accepts (``assignees`` -> ``assigneeIds``/``teamIds``, ``partsUsed`` -> parts, a contact string
-> ``{type, value}``...). Semantic problems come back as ``FieldError`` entries (HTTP 400).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._resources import Lookup
from ._store import Record
from ._timeutil import normalize_iso
from ._validation import FieldError

__all__ = ["WriteContext", "apply", "blank"]


@dataclass
class WriteContext:
    """What a write needs besides the body: who, where, when, and id allocation."""

    org_id: int
    user_id: int
    now: str
    lookup: Lookup
    new_id: Callable[[str], int]
    sequence: Callable[[str], int]
    random_hex: Callable[[int], str]
    category_ids: Callable[[Sequence[str]], list[int]]
    creating: bool = True


def blank(name: str, record_id: int, ctx: WriteContext) -> Record:
    """A new record of resource ``name`` with every field at its default."""
    base: Record = {"id": record_id, "createdAt": ctx.now, "updatedAt": ctx.now}
    factory = _BLANKS.get(name)
    if factory is not None:
        base.update(factory(ctx))
    return base


def _blank_work_order(ctx: WriteContext) -> Record:
    return {
        "sequentialId": ctx.sequence("workOrders"),
        "title": "",
        "description": None,
        "status": "OPEN",
        "priority": "NONE",
        "type": None,
        "completedAt": None,
        "completerId": None,
        "creatorId": ctx.user_id,
        "deletedAt": None,
        "dueDate": None,
        "dueDateIsFullDay": None,
        "startDate": None,
        "lastMessageSentAt": None,
        "locationId": None,
        "assetId": None,
        "nextId": None,
        "previousId": None,
        "organizationId": ctx.org_id,
        "partsAvailability": "PARTS_AVAILABLE",
        "partStatus": "NO_PARTS",
        "recurrenceInfo": None,
        "requesterId": None,
        "extraFields": {},
        "vendorIds": [],
        "workOrderSummary": None,
        "assigneeIds": [],
        "teamIds": [],
        "categories": [],
        "estimatedTime": None,
        "parentId": None,
        "isParent": False,
        "externalData": None,
        "attachments": [],
        "thumbnail": None,
        "procedure": None,
        "progress": None,
        "_parts": [],
        "_partIds": [],
        "_categoryIds": [],
        "_startedAt": None,
    }


def _blank_asset(ctx: WriteContext) -> Record:
    return {
        "name": "",
        "globalUuid": str(uuid.UUID(ctx.random_hex(32))),
        "description": None,
        "barcode": None,
        "criticalityId": None,
        "parentId": None,
        "childrenIds": [],
        "locationId": None,
        "serialNumber": None,
        "teamIds": [],
        "assetTypes": [],
        "extraFields": {},
        "vendorIds": [],
        "deletedAt": None,
        "creatorId": ctx.user_id,
        "organizationId": ctx.org_id,
        "thumbnail": None,
        "attachments": [],
        "depreciation": None,
        "manufacturer": None,
        "model": None,
        "status": None,
    }


def _blank_location(ctx: WriteContext) -> Record:
    return {
        "name": "",
        "description": None,
        "address": None,
        "barcode": None,
        "parentId": None,
        "childrenIds": [],
        "extraFields": {},
        "teamIds": [],
        "vendorIds": [],
        "deletedAt": None,
        "organizationId": ctx.org_id,
        "thumbnail": None,
        "attachments": [],
    }


def _blank_part(ctx: WriteContext) -> Record:
    return {
        "name": "",
        "description": None,
        "barcode": None,
        "locationId": None,
        "locations": [],
        "area": None,
        "unitCost": None,
        "availableQuantity": 0,
        "minimumQuantity": 0,
        "orderedQuantity": 0,
        "reservedQuantity": 0,
        "partTypes": [],
        "inStockQuantity": 0,
        "committedQuantities": {"kitted": 0, "reserved": 0, "staged": 0},
        "assignedQuantity": 0,
        "maximumQuantity": None,
        "organizationId": ctx.org_id,
        "extraFields": {},
        "vendors": [],
        "assetIds": [],
        "teamIds": [],
        "vendorIds": [],
        "thumbnail": None,
        "attachments": [],
        "deletedAt": None,
    }


def _blank_user(ctx: WriteContext) -> Record:
    return {
        "firstName": "",
        "lastName": "",
        "email": None,
        "phoneNumber": None,
        "authType": "NORMAL",
        "hourlyRate": None,
        "lastVisitedAt": None,
        "role": "MEMBER",
        "customRole": None,
        "removedFromOrganization": False,
        "externalData": None,
        "extraFields": {},
    }


def _blank_team(ctx: WriteContext) -> Record:
    return {
        "name": "",
        "description": "",
        "assetIds": [],
        "locationIds": [],
        "membersCount": 0,
        "_memberIds": [],
    }


def _blank_vendor(ctx: WriteContext) -> Record:
    return {
        "name": "",
        "description": None,
        "emails": [],
        "phoneNumbers": [],
        "contactIds": [],
        "extraFields": {},
        "thumbnail": None,
        "attachments": [],
        "deletedAt": None,
    }


def _blank_category(ctx: WriteContext) -> Record:
    return {"label": "", "description": ""}


def _blank_meter(ctx: WriteContext) -> Record:
    return {
        "name": "",
        "unit": "",
        "measurementType": "MANUAL",
        "description": None,
        "readingFrequency": None,
        "assetId": None,
        "locationId": None,
        "creatorId": ctx.user_id,
        "updaterId": None,
        "uuid": str(uuid.UUID(ctx.random_hex(32))),
        "deletedAt": None,
        "lastReading": None,
    }


def _blank_purchase_order(ctx: WriteContext) -> Record:
    return {
        "note": None,
        "title": None,
        "reviewNote": None,
        "status": "REQUESTED",
        "dueDate": None,
        "creatorId": ctx.user_id,
        "vendorId": None,
        "autoGeneratedNumber": ctx.sequence("purchaseOrders"),
        "overrideNumber": None,
        "approverId": None,
        "approvalDate": None,
        "deletedAt": None,
        "items": [],
        "costs": [],
        "thumbnail": None,
        "attachments": [],
        "vendorContactIds": [],
        "shippingAddress": None,
        "billingAddress": None,
        "extraFields": {},
    }


def _blank_work_request(ctx: WriteContext) -> Record:
    return {
        "title": "",
        "description": None,
        "priority": "NONE",
        "requestStatus": "PENDING",
        "assetId": None,
        "locationId": None,
        "workOrderId": None,
        "sendEmailNotification": False,
        "extraFields": {},
        "approverTeamId": None,
        "creatorContactInfo": None,
        "attachments": [],
        "thumbnail": None,
    }


def _blank_subscription(ctx: WriteContext) -> Record:
    return {
        "type": "",
        "url": "",
        "status": "VALID",
        "secret": ctx.random_hex(64),
        "filters": None,
        "options": None,
    }


_BLANKS: dict[str, Callable[[WriteContext], Record]] = {
    "workOrders": _blank_work_order,
    "assets": _blank_asset,
    "locations": _blank_location,
    "parts": _blank_part,
    "users": _blank_user,
    "teams": _blank_team,
    "vendors": _blank_vendor,
    "categories": _blank_category,
    "meters": _blank_meter,
    "purchaseOrders": _blank_purchase_order,
    "workRequests": _blank_work_request,
    "subscriptions": _blank_subscription,
}

# -- apply -----------------------------------------------------------------------------------

Applier = Callable[[Record, Mapping[str, Any], WriteContext], list[FieldError]]


def apply(
    name: str,
    record: Record,
    body: Mapping[str, Any],
    fields: Mapping[str, Any],
    ctx: WriteContext,
) -> list[FieldError]:
    """Merge the known ``fields`` of ``body`` into ``record``; returns semantic errors."""
    special = _APPLIERS.get(name)
    known = {k: v for k, v in body.items() if k in fields}
    errors = special(record, known, ctx) if special is not None else []
    if errors:
        return errors
    for key, value in known.items():
        if key not in _HANDLED.get(name, ()):
            record[key] = _copy(value)
    return []


def _copy(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _dates(body: Mapping[str, Any], names: tuple[str, ...], out: dict[str, Any]) -> None:
    for key in names:
        if key in body:
            out[key] = None if body[key] is None else normalize_iso(body[key])


def _apply_work_order(
    record: Record, body: Mapping[str, Any], ctx: WriteContext
) -> list[FieldError]:
    errors: list[FieldError] = []
    if "assignees" in body:
        users: list[int] = []
        teams: list[int] = []
        for index, entry in enumerate(body["assignees"]):
            kind, ident = entry.get("type"), entry.get("id")
            if (
                kind not in ("USER", "TEAM")
                or isinstance(ident, bool)
                or not isinstance(ident, int)
            ):
                errors.append(
                    FieldError(
                        "assignees entries need a type USER|TEAM and an integer id",
                        f"assignees[{index}]",
                        None,
                    )
                )
                continue
            (users if kind == "USER" else teams).append(ident)
        record["assigneeIds"], record["teamIds"] = users, teams
    if "partsUsed" in body:
        parts = []
        for index, entry in enumerate(body["partsUsed"]):
            part_id, quantity = entry.get("partId"), entry.get("quantityUsed")
            if not isinstance(part_id, int) or not isinstance(quantity, int):
                errors.append(
                    FieldError(
                        "partsUsed entries need partId and quantityUsed",
                        f"partsUsed[{index}]",
                        None,
                    )
                )
                continue
            if ctx.lookup("parts", part_id) is None:
                errors.append(
                    FieldError(f"Part {part_id} not found", f"partsUsed[{index}].partId", part_id)
                )
                continue
            parts.append(
                {
                    "partId": part_id,
                    "quantityUsed": quantity,
                    "locationId": entry.get("locationId"),
                    "copyOnRecurring": entry.get("copyOnRecurring", "Default"),
                }
            )
        record["_parts"] = parts
        record["_partIds"] = [p["partId"] for p in parts]
        record["partStatus"] = "ASSIGNED" if parts else "NO_PARTS"
    if "categories" in body:
        labels = list(dict.fromkeys(body["categories"]))
        record["categories"] = labels
        record["_categoryIds"] = ctx.category_ids(labels)
    if "repeatability" in body:
        record["recurrenceInfo"] = _copy(body["repeatability"])
    if "requesterId" in body and body["requesterId"] is not None:
        try:
            record["requesterId"] = int(body["requesterId"])
        except (TypeError, ValueError):
            errors.append(FieldError('"requesterId" must be an integer', "requesterId", None))
    dates: dict[str, Any] = {}
    _dates(body, ("dueDate", "startDate"), dates)
    record.update(dates)
    return errors


_HANDLED: dict[str, tuple[str, ...]] = {
    "workOrders": (
        "assignees",
        "partsUsed",
        "categories",
        "repeatability",
        "requesterId",
        "dueDate",
        "startDate",
        "procedureTemplateId",
    ),
    "assets": ("manufacturer", "model"),
    "parts": ("locations",),
    "teams": ("memberIds",),
    "purchaseOrders": ("items", "costs"),
    "workRequests": ("creatorContactInfo",),
    "meters": (),
}


def _apply_asset(record: Record, body: Mapping[str, Any], ctx: WriteContext) -> list[FieldError]:
    for key in ("manufacturer", "model"):
        if key in body:
            value = body[key]
            record[key] = value.get("name") if isinstance(value, dict) else None
    return []


def _apply_part(record: Record, body: Mapping[str, Any], ctx: WriteContext) -> list[FieldError]:
    if "locations" not in body:
        return []
    value = body["locations"]
    current = {int(e["locationId"]): e for e in record.get("locations") or ()}
    if isinstance(value, list):  # create: the full list
        current = {}
        entries = value
    else:  # update: {addedUpdated: [...], removedLocationIds: [...]}
        entries = value.get("addedUpdated") or []
        for removed in value.get("removedLocationIds") or ():
            current.pop(int(removed), None)
    for index, entry in enumerate(entries):
        location_id = entry.get("locationId") if isinstance(entry, dict) else None
        if not isinstance(location_id, int):
            return [
                FieldError(
                    "locations entries need an integer locationId",
                    f"locations[{index}].locationId",
                    None,
                )
            ]
        merged = dict(current.get(location_id, _part_location(location_id)))
        merged.update({k: v for k, v in entry.items() if k in _PART_LOCATION_KEYS})
        current[location_id] = merged
    record["locations"] = list(current.values())
    return []


_PART_LOCATION_KEYS = ("availableQuantity", "minimumQuantity", "maximumQuantity", "area")


def _part_location(location_id: int) -> dict[str, Any]:
    return {
        "locationId": location_id,
        "availableQuantity": 0,
        "minimumQuantity": 0,
        "maximumQuantity": None,
        "area": None,
        "reservedQuantity": 0,
        "committedQuantities": {"kitted": 0, "reserved": 0, "staged": 0},
        "assignedQuantity": 0,
    }


def _apply_team(record: Record, body: Mapping[str, Any], ctx: WriteContext) -> list[FieldError]:
    if "memberIds" in body:
        record["_memberIds"] = list(dict.fromkeys(body["memberIds"]))
        record["membersCount"] = len(record["_memberIds"])
    return []


def _apply_meter(record: Record, body: Mapping[str, Any], ctx: WriteContext) -> list[FieldError]:
    if not ctx.creating:
        record["updaterId"] = ctx.user_id
    return []


def _apply_purchase_order(
    record: Record, body: Mapping[str, Any], ctx: WriteContext
) -> list[FieldError]:
    if "items" in body:
        items = []
        for index, entry in enumerate(body["items"]):
            quantity = entry.get("quantityOrdered")
            if isinstance(quantity, bool) or not isinstance(quantity, (int, float)):
                return [
                    FieldError(
                        '"quantityOrdered" must be a number',
                        f"items[{index}].quantityOrdered",
                        None,
                    )
                ]
            items.append(purchase_order_item(entry, ctx.new_id("purchaseOrderItems")))
        record["items"] = items
    if "costs" in body:
        costs = []
        for index, entry in enumerate(body["costs"]):
            kind = entry.get("type")
            if kind not in ("AMOUNT_NON_TAXABLE", "AMOUNT_TAXABLE", "PERCENT_TAXABLE"):
                return [FieldError("Invalid cost type", f"costs[{index}].type", kind)]
            costs.append(
                {
                    "id": entry.get("id") or ctx.new_id("purchaseOrderCosts"),
                    "name": str(entry.get("name", "")),
                    "type": kind,
                    "amount": entry.get("amount", 0),
                }
            )
        record["costs"] = costs
    return []


def purchase_order_item(entry: Mapping[str, Any], item_id: int) -> dict[str, Any]:
    """A stored purchase order line; money in cents, the decimals as strings."""
    quantity = entry.get("quantityOrdered", 1)
    unit_cost = entry.get("unitCost")
    price = entry.get("price")
    if price is None and unit_cost is not None:
        price = round(unit_cost * quantity)
    return {
        "id": item_id,
        "partId": entry.get("partId"),
        "name": entry.get("name"),
        "partNumber": entry.get("partNumber"),
        "price": price,
        "priceDecimal": None if price is None else f"{price / 100:.6f}",
        "quantityOrdered": quantity,
        "quantityReceived": entry.get("quantityReceived", 0),
        "unitCost": unit_cost,
        "unitCostDecimal": None if unit_cost is None else f"{unit_cost / 100:.6f}",
        "fulfillments": [],
        "extraFields": dict(entry.get("extraFields") or {}),
        "lineExtraFields": dict(entry.get("lineExtraFields") or {}),
        "partExtraFields": {},
    }


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+$")
_PHONE = re.compile(r"^\+?[\d\s().-]{6,}$")


def contact_info(text: str) -> dict[str, str]:
    """The ``{type, value}`` the API infers from a contact string."""
    kind = "EMAIL" if _EMAIL.match(text) else "PHONE" if _PHONE.match(text) else "OTHER"
    return {"type": kind, "value": text}


def _apply_work_request(
    record: Record, body: Mapping[str, Any], ctx: WriteContext
) -> list[FieldError]:
    if "creatorContactInfo" in body:
        value = body["creatorContactInfo"]
        record["creatorContactInfo"] = None if value is None else contact_info(value)
    return []


_APPLIERS: dict[str, Applier] = {
    "workOrders": _apply_work_order,
    "assets": _apply_asset,
    "parts": _apply_part,
    "teams": _apply_team,
    "meters": _apply_meter,
    "purchaseOrders": _apply_purchase_order,
    "workRequests": _apply_work_request,
}
