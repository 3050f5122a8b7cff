"""What the OpenAPI document cannot say about each collection: the simulator's own knowledge.

Everything else (fields, types, enums, required fields, wrapper keys, filters, sorts, expand
options, status codes) comes from the spec through ``_catalog``. What is left is here, per
collection name (``workOrders``, or the path of a collection without a list, such as
``workorders/costs``): defaults beyond the generic ones, write side effects, the expand joins
the spec cannot describe, query filters whose meaning is not "this field equals / contains /
intersects the values", sort keys stored under another name, body fields refused with a
message, body fields an applier handles itself, and fields the simulator does not keep.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ._expand import Expander, procedure_rows, work_order_assignees, work_order_parts
from ._store import FilterSpec, Record
from ._writes import (
    Applier,
    Defaults,
    apply_asset,
    apply_meter,
    apply_meter_trigger_template,
    apply_part,
    apply_procedure_template,
    apply_purchase_order,
    apply_team,
    apply_work_order,
    apply_work_request,
    asset_defaults,
    comment_defaults,
    fulfill_purchase_order,
    meter_defaults,
    part_defaults,
    portal_defaults,
    purchase_order_defaults,
    report_defaults,
    set_purchase_order_status,
    set_work_order_status,
    subscription_defaults,
    team_defaults,
    transfer_defaults,
    user_defaults,
    work_order_defaults,
)

__all__ = ["EXTRAS", "NAMES", "SOURCES", "SPECIAL", "Extras"]


@dataclass(frozen=True)
class Extras:
    """The code-only knowledge about one collection (see the module docstring)."""

    defaults: Defaults | None = None
    apply: Applier | None = None
    #: ``PATCH /{collection}/{id}/<action>`` side effects, by action (``status``)
    actions: Mapping[str, Applier] = field(default_factory=dict)
    #: expand value (or property of a create answer) -> join
    joins: Mapping[str, Expander] = field(default_factory=dict)
    #: query parameter -> filter, where the generic reading of the spec would be wrong
    filters: Mapping[str, FilterSpec] = field(default_factory=dict)
    sort_alias: Mapping[str, str] = field(default_factory=dict)
    forbidden: Mapping[str, str] = field(default_factory=dict)
    #: body fields the applier stores itself (the generic copy skips them)
    handled: frozenset[str] = frozenset()
    #: fields of the spec's views the simulator cannot fill (left out of its answers)
    unstored: frozenset[str] = frozenset()


def _sub_work_order_type(record: Record) -> str:
    if record.get("isParent"):
        return "PARENT"
    return "SUB_WORK_ORDER" if record.get("parentId") is not None else "STANDALONE"


def _part_numbers(record: Record) -> list[str | None]:
    return [vendor.get("partNumber") for vendor in record.get("vendors") or ()]


def _categories(param: str, kind: str) -> FilterSpec:
    return FilterSpec(param, "categories", kind, "str", id_field="_categoryIds")  # type: ignore[arg-type]


EXTRAS: dict[str, Extras] = {
    "workOrders": Extras(
        defaults=work_order_defaults,
        apply=apply_work_order,
        actions={"status": set_work_order_status},
        joins={"assignees": work_order_assignees, "parts": work_order_parts},
        filters={
            "parts": FilterSpec("parts", "_partIds", "any"),
            "notParts": FilterSpec("notParts", "_partIds", "none"),
            "categories": _categories("categories", "label_or_id"),
            "notCategories": _categories("notCategories", "not_label_or_id"),
            "parentSubWorkOrderTypes": FilterSpec(
                "parentSubWorkOrderTypes", "", "in", "str", key=_sub_work_order_type
            ),
        },
        sort_alias={"startedAt": "_startedAt"},
        forbidden={"status": "The status cannot be set here: use PATCH /workorders/{id}/status"},
        handled=frozenset({"categories", "requesterId"}),
    ),
    "assets": Extras(
        defaults=asset_defaults,
        apply=apply_asset,
        handled=frozenset({"manufacturer", "model"}),
        unstored=frozenset({"currentOwnerId"}),
    ),
    "parts": Extras(
        defaults=part_defaults,
        apply=apply_part,
        filters={"partNumber": FilterSpec("partNumber", "", "any", "str", key=_part_numbers)},
        handled=frozenset({"locations"}),
    ),
    "users": Extras(
        defaults=user_defaults,
        filters={
            "onlyAssignable": FilterSpec(
                "onlyAssignable", "", "flag", "bool", key=lambda r: r.get("role") != "REQUESTER"
            )
        },
    ),
    "teams": Extras(defaults=team_defaults, apply=apply_team),
    "categories": Extras(unstored=frozenset({"workOrderCount"})),
    "meters": Extras(defaults=meter_defaults, apply=apply_meter),
    "purchaseOrders": Extras(
        defaults=purchase_order_defaults,
        apply=apply_purchase_order,
        actions={"status": set_purchase_order_status, "fulfillment": fulfill_purchase_order},
        handled=frozenset({"items", "costs"}),
    ),
    "workRequests": Extras(
        apply=apply_work_request,
        filters={"statuses": FilterSpec("statuses", "requestStatus", "in", "str")},
        handled=frozenset({"creatorContactInfo"}),
    ),
    "subscriptions": Extras(defaults=subscription_defaults),
    "comments": Extras(defaults=comment_defaults),
    "meterTriggers": Extras(actions={"workordertemplates": apply_meter_trigger_template}),
    "procedureTemplates": Extras(
        apply=apply_procedure_template,
        joins={"rows": procedure_rows("rows")},
        handled=frozenset({"fields"}),
    ),
    "workRequestPortals": Extras(defaults=portal_defaults),
    "partTransferRequests": Extras(defaults=transfer_defaults),
    "rootCauseAnalysisReports": Extras(
        defaults=report_defaults,
        filters={
            "assets": FilterSpec("assets", "mainAssetId"),
            "createdAfter": FilterSpec("createdAfter", "createdAt", "gte", "datetime"),
            "createdBefore": FilterSpec("createdBefore", "createdAt", "lte", "datetime"),
        },
    ),
}

#: Collections whose table keeps its historical name.
NAMES: dict[str, str] = {"/workorders/{id}/comments": "comments"}

#: Nested lists served from another collection: path -> (collection, field holding the parent).
SOURCES: dict[str, tuple[str, str]] = {"/workorders/{id}/subworkorders": ("workOrders", "parentId")}

#: Operations served by hand (``_special.py``): (method, template) -> (handler, the template of
#: the collection it works on).
SPECIAL: dict[tuple[str, str], tuple[str, str]] = {
    ("GET", "/versions"): ("versions", ""),
    ("GET", "/organizations"): ("organizations", ""),
    ("POST", "/meterreadings"): ("meter_readings", "/meters"),
    ("POST", "/meters/{meterId}/readings"): ("meter_reading", "/meters"),
    ("GET", "/workorders/{id}/costs"): ("costs", "/workorders/{id}/costs"),
    ("POST", "/workorders/{id}/costs"): ("add_cost", "/workorders/{id}/costs"),
    ("GET", "/teams/{id}/members"): ("team_members", "/teams"),
    ("POST", "/teams/{id}/members"): ("add_team_member", "/teams"),
    ("PATCH", "/teams/{teamId}/members/{userId}"): ("update_team_member", "/teams"),
    ("DELETE", "/teams/{teamId}/members/{userId}"): ("remove_team_member", "/teams"),
    ("POST", "/users/{id}/messages"): ("message_user", "/users"),
    ("GET", "/conversations/{id}/members"): ("conversation_members", "/conversations"),
    ("GET", "/customfields/{entity}"): ("custom_fields", "/customfields/{entity}"),
    ("POST", "/customfields/{entity}"): ("add_custom_fields", "/customfields/{entity}"),
    ("PATCH", "/customfields/{entity}/{id}"): ("update_custom_field", "/customfields/{entity}"),
    ("DELETE", "/customfields/{entity}/{id}"): ("delete_custom_field", "/customfields/{entity}"),
    ("POST", "/workPermits/{id}/sign"): ("sign_work_permit", "/workPermits"),
}
