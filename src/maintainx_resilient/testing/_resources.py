"""The resource table: one ``ResourceSpec`` per MaintainX resource, as the OpenAPI spec defines it.

Everything the router needs to serve a resource is data here: its path, wrapper keys, the
fields of the list and single-record views, the ``expand`` options, filters, sort fields,
create/update body types, the status code of a create, and how a blank record looks.
Records are stored as complete dicts (plus hidden ``_``-prefixed helper fields); views project
them. The per-resource write hooks that are more than "copy the body fields" live in
``_writes.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

from ._expand import (
    Expander,
    Lookup,
    asset_summary,
    constant,
    embedded,
    include,
    location_summary,
    related,
    work_order_assignees,
    work_order_parts,
)
from ._store import FilterSpec, Record
from ._validation import (
    ANY,
    DATETIME,
    INT,
    NUM,
    OBJ,
    STR,
    FieldType,
    enum,
    list_of,
    nullable,
)

__all__ = [
    "RESOURCES",
    "RESOURCES_BY_NAME",
    "RESOURCES_BY_PATH",
    "Expander",
    "Lookup",
    "ResourceSpec",
]

Op = Literal["list", "get", "create", "update", "delete"]
ALL_OPS: frozenset[Op] = frozenset({"list", "get", "create", "update", "delete"})


def names(text: str) -> tuple[str, ...]:
    """``"a b c"`` -> ``("a", "b", "c")``: keeps long field lists compact."""
    return tuple(text.split())


WORK_ORDER_STATUSES = ("OPEN", "IN_PROGRESS", "ON_HOLD", "DONE", "CANCELED", "SKIPPED")
PRIORITIES = ("NONE", "LOW", "MEDIUM", "HIGH")
WORK_ORDER_TYPES = ("OTHER", "REACTIVE", "PREVENTIVE")
PART_STATUSES = ("NO_PARTS", "ASSIGNED", "RESERVED", "KITTED", "STAGED", "ISSUED")
REQUEST_STATUSES = ("PENDING", "REJECTED", "APPROVED", "DONE")
MEASUREMENT_TYPES = ("MANUAL", "IOT_DEVICE", "AUTOMATED_SENSOR")
ROLES = ("ADMIN", "MEMBER", "OPERATOR", "REQUESTER", "SERVICE_ACCOUNT")
AUTH_TYPES = ("NORMAL", "SAML", "OIDC")
PURCHASE_ORDER_STATUSES = (
    "APPROVED",
    "CANCELED",
    "COMPLETED",
    "DECLINED",
    "PARTIALLY_FULFILLED",
    "PENDING",
    "REQUESTED",
)
SUBSCRIPTION_TYPES = names(
    "API_TOKEN_CREATED API_TOKEN_REVOKED ASSET_STATUS_CHANGE CONNECTOR_TOKEN_REVOKED "
    "DATA_EXPORT_INITIATED INVITE_LINK_ARCHIVED INVITE_LINK_CREATED INVITE_LINK_UPDATED "
    "METER_TRIGGER_STATE_CHANGE NEW_ASSET NEW_CATEGORY_ON_WORK_ORDER "
    "NEW_COMMENT_ON_WORK_ORDER NEW_LOCATION NEW_PART NEW_PURCHASE_ORDER NEW_SLASH_COMMAND "
    "NEW_VENDOR NEW_WORK_ORDER NEW_WORK_REQUEST PART_CHANGE PART_DELETE PART_QUANTITY_CHANGE "
    "PART_TRANSFER PURCHASE_ORDER_CHANGE PURCHASE_ORDER_STATUS_CHANGE ROLE_ARCHIVED "
    "ROLE_CREATED ROLE_UPDATED SSO_CONFIG_CHANGED USER_ACTIVATED USER_INVITED "
    "USER_LOGIN_FAILURE USER_LOGIN_SUCCESS USER_LOGOUT USER_PERMISSIONS_CHANGED USER_REMOVED "
    "USER_ROLE_CHANGED USER_SESSION_REVOKED WEBHOOK_ARCHIVED WEBHOOK_CREATED "
    "WORK_ORDER_CHANGE WORK_ORDER_DELETE WORK_ORDER_OVERDUE WORK_ORDER_PART_STATUS_CHANGE "
    "WORK_ORDER_STATUS_CHANGE WORK_REQUEST_STATUS_CHANGE"
)


@dataclass(frozen=True)
class ResourceSpec:
    """How one resource is served. ``name`` is the list wrapper key (``workOrders``)."""

    name: str
    path: str
    item_key: str
    label: str
    list_fields: tuple[str, ...]
    get_fields: tuple[str, ...]
    create_fields: Mapping[str, FieldType]
    create_required: tuple[str, ...]
    update_fields: Mapping[str, FieldType]
    list_expand: Mapping[str, Expander] = field(default_factory=dict)
    get_expand: Mapping[str, Expander] = field(default_factory=dict)
    #: keys dropped from the list view when null (the list schema does not allow null there)
    omit_none: frozenset[str] = frozenset()
    #: fields of the get view that an update's answer leaves out
    update_omits: frozenset[str] = frozenset()
    filters: tuple[FilterSpec, ...] = ()
    sorts: tuple[str, ...] = ()
    #: ``sort`` values served from another stored field
    sort_alias: Mapping[str, str] = field(default_factory=dict)
    ops: frozenset[Op] = ALL_OPS
    create_status: int = 201
    #: what a create answers: ``{"id": n}`` or the whole record unwrapped
    create_returns: Literal["id", "item"] = "id"
    #: body fields a create/update must not carry, with the error message
    forbidden: Mapping[str, str] = field(default_factory=dict)
    #: fields that reference another resource (checked on writes)
    refs: Mapping[str, str] = field(default_factory=dict)
    #: accepts ``x-organization-ids`` on its list
    multi_org_list: bool = False


# -- the resources ---------------------------------------------------------------------------

_DATES = (
    FilterSpec("updatedAt[gte]", "updatedAt", "gte", "datetime"),
    FilterSpec("updatedAt[lte]", "updatedAt", "lte", "datetime"),
    FilterSpec("createdAt[gte]", "createdAt", "gte", "datetime"),
    FilterSpec("createdAt[lte]", "createdAt", "lte", "datetime"),
)
_ID_SORTS = ("id", "createdAt", "updatedAt")


def _sub_work_order_type(record: Record) -> str:
    if record.get("isParent"):
        return "PARENT"
    return "SUB_WORK_ORDER" if record.get("parentId") is not None else "STANDALONE"


_WO_BODY: dict[str, FieldType] = {
    "title": STR,
    "description": nullable(STR),
    "priority": enum(*PRIORITIES),
    "type": enum(*WORK_ORDER_TYPES),
    "assetId": nullable(INT),
    "locationId": nullable(INT),
    "assignees": list_of(OBJ),
    "categories": list_of(STR),
    "dueDate": nullable(DATETIME),
    "startDate": nullable(DATETIME),
    "estimatedTime": nullable(INT),
    "requesterId": ANY,
    "externalData": ANY,
    "extraFields": OBJ,
    "vendorIds": list_of(NUM),
    "partsUsed": list_of(OBJ),
    "procedure": nullable(OBJ),
    "procedureTemplateId": nullable(NUM),
}

WORK_ORDERS = ResourceSpec(
    name="workOrders",
    path="/workorders",
    item_key="workOrder",
    label="workOrder",
    list_fields=names(
        "id sequentialId title updatedAt status completedAt completerId createdAt creatorId "
        "deletedAt description dueDate dueDateIsFullDay lastMessageSentAt startDate "
        "locationId nextId organizationId partsAvailability partStatus previousId priority "
        "recurrenceInfo requesterId type workOrderSummary"
    ),
    get_fields=names(
        "id sequentialId assetId attachments categories completedAt completerId createdAt "
        "creatorId deletedAt description dueDateIsFullDay dueDate externalData isParent "
        "lastMessageSentAt startDate locationId nextId organizationId parentId "
        "partsAvailability partStatus previousId priority recurrenceInfo requesterId status "
        "thumbnail title type updatedAt vendorIds assigneeIds teamIds procedure progress "
        "workOrderSummary"
    ),
    list_expand={
        "thumbnail": include("thumbnail", omit_none=True),
        "assignees": work_order_assignees,
        "categories": include("categories"),
        "parts": work_order_parts,
        "asset": related("asset", "assets", "assetId", asset_summary, "asset_extra_fields"),
        "location": related(
            "location", "locations", "locationId", location_summary, "location_extra_fields"
        ),
        "procedure": include("procedure", omit_none=True),
        "vendor_ids": include("vendorIds"),
        "times": constant("times", []),
        "time_items": constant("timeItems", []),
        "expenditures": constant("expenditures", []),
        "extra_fields": include("extraFields"),
    },
    get_expand={
        "assignees": work_order_assignees,
        "asset": related("asset", "assets", "assetId", asset_summary, "asset_extra_fields"),
        "estimated_time": include("estimatedTime"),
        "location": related(
            "location", "locations", "locationId", location_summary, "location_extra_fields"
        ),
        "parts": work_order_parts,
        "times": constant("times", []),
        "time_items": constant("timeItems", []),
        "expenditures": constant("expenditures", []),
        "extra_fields": include("extraFields"),
    },
    filters=(
        FilterSpec("title", "title", "contains", "str"),
        FilterSpec("assets", "assetId"),
        FilterSpec("notAssets", "assetId", "not_in"),
        FilterSpec("locations", "locationId"),
        FilterSpec("notLocations", "locationId", "not_in"),
        FilterSpec("parts", "_partIds", "any"),
        FilterSpec("notParts", "_partIds", "none"),
        FilterSpec("vendors", "vendorIds", "any"),
        FilterSpec("notVendors", "vendorIds", "none"),
        FilterSpec("assignees", "assigneeIds", "any"),
        FilterSpec("teams", "teamIds", "any"),
        FilterSpec("categories", "categories", "label_or_id", "str", id_field="_categoryIds"),
        FilterSpec("priorities", "priority", "in", "str", PRIORITIES),
        FilterSpec("statuses", "status", "in", "str", WORK_ORDER_STATUSES),
        FilterSpec("partStatuses", "partStatus", "in", "str", PART_STATUSES),
        FilterSpec(
            "parentSubWorkOrderTypes",
            "",
            "in",
            "str",
            ("PARENT", "SUB_WORK_ORDER", "STANDALONE"),
            key=_sub_work_order_type,
        ),
        *_DATES,
    ),
    sorts=("updatedAt", "createdAt", "dueDate", "startedAt", "completedAt"),
    sort_alias={"startedAt": "_startedAt"},
    create_status=200,
    create_fields=_WO_BODY,
    create_required=("title",),
    update_fields={**_WO_BODY, "recurrenceInfo": nullable(OBJ)},
    forbidden={
        "status": "The status cannot be set here: use PATCH /workorders/{id}/status",
    },
    refs={"assetId": "assets", "locationId": "locations"},
)

_ASSET_BODY: dict[str, FieldType] = {
    "name": STR,
    "description": nullable(STR),
    "barcode": nullable(STR),
    "criticalityId": nullable(INT),
    "parentId": nullable(INT),
    "locationId": nullable(INT),
    "teamIds": list_of(INT),
    "assetTypes": list_of(STR),
    "extraFields": OBJ,
    "vendorIds": list_of(NUM),
    "serialNumber": nullable(STR),
    "depreciation": nullable(OBJ),
    "manufacturer": nullable(OBJ),
    "model": nullable(OBJ),
}

ASSETS = ResourceSpec(
    name="assets",
    path="/assets",
    item_key="asset",
    label="asset",
    list_fields=names(
        "id name description parentId criticalityId locationId serialNumber createdAt "
        "updatedAt creatorId organizationId"
    ),
    get_fields=names(
        "id name globalUuid barcode description criticalityId teamIds assetTypes parentId "
        "childrenIds locationId serialNumber thumbnail attachments extraFields vendorIds "
        "createdAt updatedAt deletedAt creatorId depreciation manufacturer model status"
    ),
    list_expand={
        "barcode": include("barcode", omit_none=True),
        "team_ids": include("teamIds"),
        "asset_types": include("assetTypes"),
        "extra_fields": include("extraFields"),
        "vendor_ids": include("vendorIds"),
        "depreciation": include("depreciation", omit_none=True),
        "status": include("status", omit_none=True),
        "manufacturer": include("manufacturer", omit_none=True),
        "model": include("model", omit_none=True),
    },
    filters=(
        FilterSpec("locationId", "locationId", "eq"),
        FilterSpec("manufacturer", "manufacturer", "in", "str"),
        FilterSpec("model", "model", "in", "str"),
        *_DATES,
    ),
    sorts=_ID_SORTS,
    create_fields=_ASSET_BODY,
    create_required=("name",),
    update_fields=_ASSET_BODY,
    refs={"locationId": "locations", "parentId": "assets"},
    update_omits=frozenset({"status"}),
    multi_org_list=True,
)

_LOCATION_BODY: dict[str, FieldType] = {
    "name": STR,
    "description": nullable(STR),
    "address": nullable(STR),
    "barcode": nullable(STR),
    "parentId": nullable(INT),
    "extraFields": OBJ,
    "vendorIds": list_of(NUM),
}

LOCATIONS = ResourceSpec(
    name="locations",
    path="/locations",
    item_key="location",
    label="location",
    list_fields=names("id name description address parentId createdAt updatedAt organizationId"),
    get_fields=names(
        "id name description address barcode parentId childrenIds thumbnail attachments "
        "extraFields teamIds vendorIds createdAt updatedAt deletedAt"
    ),
    list_expand={
        "extra_fields": include("extraFields"),
        "team_ids": include("teamIds"),
        "vendor_ids": include("vendorIds"),
        "barcode": include("barcode", omit_none=True),
    },
    filters=(FilterSpec("name", "name", "contains", "str"),),
    create_status=200,
    create_fields=_LOCATION_BODY,
    create_required=("name",),
    update_fields=_LOCATION_BODY,
    refs={"parentId": "locations"},
    multi_org_list=True,
)

_PART_BODY: dict[str, FieldType] = {
    "name": STR,
    "description": nullable(STR),
    "area": nullable(STR),
    "unitCost": nullable(INT),
    "availableQuantity": INT,
    "minimumQuantity": INT,
    "barcode": nullable(STR),
    "locationId": nullable(INT),
    "partTypes": list_of(STR),
    "assetIds": list_of(INT),
    "teamIds": list_of(INT),
    "extraFields": OBJ,
    "vendors": list_of(OBJ),
    "committedQuantities": OBJ,
    "assignedQuantity": INT,
    "vendorIds": list_of(INT),
}

PARTS = ResourceSpec(
    name="parts",
    path="/parts",
    item_key="part",
    label="part",
    list_fields=names(
        "id name description barcode locationId locations area unitCost availableQuantity "
        "minimumQuantity orderedQuantity reservedQuantity partTypes createdAt updatedAt "
        "inStockQuantity committedQuantities assignedQuantity maximumQuantity organizationId"
    ),
    get_fields=names(
        "id name description area unitCost availableQuantity inStockQuantity minimumQuantity "
        "barcode locationId locations partTypes assetIds teamIds extraFields vendors "
        "orderedQuantity reservedQuantity committedQuantities assignedQuantity "
        "maximumQuantity vendorIds thumbnail attachments createdAt updatedAt deletedAt"
    ),
    list_expand={"extra_fields": include("extraFields"), "vendors": include("vendors")},
    filters=(
        FilterSpec(
            "partNumber",
            "",
            "any",
            "str",
            key=lambda r: [v.get("partNumber") for v in r.get("vendors") or ()],
        ),
        *_DATES,
    ),
    sorts=_ID_SORTS,
    create_fields={**_PART_BODY, "locations": list_of(OBJ)},
    create_required=("name",),
    update_fields={**_PART_BODY, "locations": OBJ},
    refs={"locationId": "locations"},
    multi_org_list=True,
)

_USER_BODY: dict[str, FieldType] = {
    "firstName": STR,
    "lastName": STR,
    "email": nullable(STR),
    "phoneNumber": nullable(STR),
    "role": nullable(enum(*ROLES)),
    "customRole": nullable(STR),
    "authType": nullable(enum(*AUTH_TYPES)),
    "externalData": ANY,
    "extraFields": OBJ,
    "hourlyRate": nullable(INT),
}

USERS = ResourceSpec(
    name="users",
    path="/users",
    item_key="user",
    label="user",
    list_fields=names("id firstName lastName email phoneNumber authType hourlyRate lastVisitedAt"),
    get_fields=names(
        "id firstName lastName role customRole email phoneNumber removedFromOrganization "
        "authType hourlyRate externalData extraFields lastVisitedAt"
    ),
    list_expand={
        "role": include("role", omit_none=True),
        "extra_fields": include("extraFields"),
    },
    filters=(
        FilterSpec(
            "onlyAssignable", "", "flag", "bool", key=lambda r: r.get("role") != "REQUESTER"
        ),
        FilterSpec("email", "email", "in", "str"),
    ),
    create_fields={**_USER_BODY, "inviteType": nullable(enum("ALL", "EMAIL", "SMS", "NONE"))},
    create_required=("firstName", "lastName"),
    update_fields=_USER_BODY,
)

TEAMS = ResourceSpec(
    name="teams",
    path="/teams",
    item_key="team",
    label="team",
    list_fields=("id", "name"),
    get_fields=("id", "name", "description", "assetIds", "membersCount", "locationIds"),
    create_fields={
        "name": STR,
        "description": STR,
        "assetIds": list_of(INT),
        "locationIds": list_of(INT),
        "memberIds": list_of(INT),
    },
    create_required=("name",),
    update_fields={
        "name": STR,
        "description": STR,
        "assetIds": list_of(INT),
        "locationIds": list_of(INT),
    },
)

VENDORS = ResourceSpec(
    name="vendors",
    path="/vendors",
    item_key="vendor",
    label="vendor",
    list_fields=("id", "name"),
    get_fields=names(
        "id name emails phoneNumbers description thumbnail attachments contactIds deletedAt "
        "extraFields"
    ),
    list_expand={"extra_fields": include("extraFields")},
    create_fields={
        "name": STR,
        "description": nullable(STR),
        "extraFields": OBJ,
        "emails": list_of(STR),
        "phoneNumbers": list_of(STR),
    },
    create_required=("name",),
    update_fields={"name": STR, "description": nullable(STR), "extraFields": OBJ},
)

CATEGORIES = ResourceSpec(
    name="categories",
    path="/categories",
    item_key="category",
    label="category",
    list_fields=("id", "label", "description"),
    get_fields=("id", "label", "description", "updatedAt"),
    create_fields={"label": STR, "description": STR},
    create_required=("label",),
    update_fields={"label": STR, "description": STR},
)

_METER_BODY: dict[str, FieldType] = {
    "name": STR,
    "description": nullable(STR),
    "readingFrequency": nullable(OBJ),
    "unit": STR,
    "assetId": nullable(INT),
    "locationId": nullable(INT),
}
_METER_EXPAND: dict[str, Expander] = {
    "asset": related("asset", "assets", "assetId", asset_summary),
    "location": related("location", "locations", "locationId", location_summary),
    "last_reading": include("lastReading"),
}

METERS = ResourceSpec(
    name="meters",
    path="/meters",
    item_key="meter",
    label="meter",
    list_fields=("id", "name", "unit", "measurementType"),
    get_fields=names(
        "id assetId locationId creatorId updaterId name uuid description measurementType "
        "readingFrequency unit createdAt updatedAt deletedAt"
    ),
    list_expand=_METER_EXPAND,
    get_expand=_METER_EXPAND,
    filters=(
        FilterSpec("measurementType", "measurementType", "eq", "str", MEASUREMENT_TYPES),
        FilterSpec("assets", "assetId"),
    ),
    create_fields={**_METER_BODY, "measurementType": enum(*MEASUREMENT_TYPES)},
    create_required=("name", "unit"),
    update_fields=_METER_BODY,
    refs={"assetId": "assets", "locationId": "locations"},
)

_PO_BODY: dict[str, FieldType] = {
    "note": nullable(STR),
    "title": nullable(STR),
    "dueDate": nullable(STR),
    "vendorId": nullable(NUM),
    "overrideNumber": nullable(STR),
    "vendorContactIds": list_of(NUM),
    "shippingAddress": nullable(OBJ),
    "billingAddress": nullable(OBJ),
    "extraFields": OBJ,
    "items": list_of(OBJ),
    "costs": list_of(OBJ),
}

PURCHASE_ORDERS = ResourceSpec(
    name="purchaseOrders",
    path="/purchaseorders",
    item_key="purchaseOrder",
    label="purchaseOrder",
    list_fields=("id", "status", "updatedAt", "createdAt"),
    get_fields=names(
        "id note title reviewNote status dueDate creatorId vendorId autoGeneratedNumber "
        "overrideNumber approverId approvalDate createdAt updatedAt deletedAt items costs "
        "thumbnail attachments vendorContactIds shippingAddress billingAddress extraFields"
    ),
    filters=_DATES,
    sorts=_ID_SORTS,
    create_returns="item",
    create_fields=_PO_BODY,
    create_required=("vendorId", "items"),
    update_fields={
        **_PO_BODY,
        "reviewNote": nullable(STR),
        "status": nullable(enum(*PURCHASE_ORDER_STATUSES)),
    },
    refs={"vendorId": "vendors"},
)

_WR_BODY: dict[str, FieldType] = {
    "title": STR,
    "description": nullable(STR),
    "priority": enum(*PRIORITIES),
    "assetId": nullable(INT),
    "locationId": nullable(INT),
    "extraFields": OBJ,
    "approverTeamId": nullable(INT),
    "creatorContactInfo": nullable(STR),
}

_WR_EXPAND: dict[str, Expander] = {
    "asset": related("asset", "assets", "assetId", asset_summary, omit_none=True),
    "location": related("location", "locations", "locationId", location_summary, omit_none=True),
    "work_order": embedded("workOrder", "workOrders", "workOrderId", WORK_ORDERS.get_fields),
    "extra_fields": include("extraFields"),
}

WORK_REQUESTS = ResourceSpec(
    name="workRequests",
    path="/workrequests",
    item_key="workRequest",
    label="workRequest",
    list_fields=names(
        "id title attachments thumbnail priority description requestStatus assetId locationId "
        "workOrderId sendEmailNotification approverTeamId creatorContactInfo createdAt "
        "updatedAt"
    ),
    get_fields=names(
        "id title attachments thumbnail priority description requestStatus assetId locationId "
        "workOrderId sendEmailNotification approverTeamId creatorContactInfo createdAt "
        "updatedAt"
    ),
    list_expand=_WR_EXPAND,
    get_expand=_WR_EXPAND,
    filters=(
        FilterSpec("title", "title", "contains", "str"),
        FilterSpec("assets", "assetId"),
        FilterSpec("locations", "locationId"),
        FilterSpec("priorities", "priority", "in", "str", PRIORITIES),
        FilterSpec("statuses", "requestStatus", "in", "str", REQUEST_STATUSES),
    ),
    create_status=200,
    create_fields=_WR_BODY,
    create_required=("title",),
    update_fields=_WR_BODY,
    refs={"assetId": "assets", "locationId": "locations"},
)

SUBSCRIPTIONS = ResourceSpec(
    name="subscriptions",
    path="/subscriptions",
    item_key="subscription",
    label="subscription",
    list_fields=(),
    get_fields=("id", "type", "url", "status"),
    ops=frozenset({"get", "create", "update", "delete"}),
    create_fields={"type": enum(*SUBSCRIPTION_TYPES), "url": STR, "filters": OBJ, "options": OBJ},
    create_required=("type", "url"),
    update_fields={"type": enum(*SUBSCRIPTION_TYPES), "url": STR},
)

RESOURCES: tuple[ResourceSpec, ...] = (
    WORK_ORDERS,
    ASSETS,
    LOCATIONS,
    PARTS,
    USERS,
    TEAMS,
    VENDORS,
    CATEGORIES,
    METERS,
    PURCHASE_ORDERS,
    WORK_REQUESTS,
    SUBSCRIPTIONS,
)
RESOURCES_BY_NAME: dict[str, ResourceSpec] = {spec.name: spec for spec in RESOURCES}
RESOURCES_BY_PATH: dict[str, ResourceSpec] = {spec.path: spec for spec in RESOURCES}

#: Tables that are not resources of their own (nested under another resource).
NESTED_TABLES = ("comments", "meterReadings")
