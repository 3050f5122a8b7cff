"""Typed webhook events: one model per event type of the spec's ``x-webhooks`` (46 of them).

MaintainX payloads are flat JSON objects with **no envelope, no event type and no event id**
(``{"workOrderId": 1, "orgId": 2, "occurredAt": "...", "oldStatus": "OPEN", ...}``). The type
is known only from the subscription the delivery came to, so :func:`parse_event` takes it as
an argument (the receiver stores it with each event, from the route it arrived on).

Models follow :class:`~maintainx_resilient.models.MaintainXModel`: snake_case attributes with
the wire names as aliases, unknown fields kept (``model_extra``), unknown enum values kept
(:class:`~maintainx_resilient.models.OpenEnum`), no field required. A payload of a type this
version does not know, or one that does not fit its model (a field of an unexpected JSON
type), parses into :class:`RawEvent`: never an exception, never a lost event.

Every event also says where it came from: ``event_type``, ``raw`` (the decoded payload),
``dedupe_key``, ``route``, ``attempt`` and ``received_at`` (set by the worker).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any, ClassVar

from pydantic import Field, PrivateAttr, ValidationError

from ..models._base import MaintainXModel, OpenEnum
from ..models.assets import AssetStatusRecord
from ..models.purchase_orders import PurchaseOrderStatus
from ..models.work_orders import PartStatus, WorkOrderPriority, WorkOrderStatus
from ..models.work_requests import WorkRequestStatus

__all__ = [
    "EVENT_MODELS",
    "ApiTokenCreated",
    "ApiTokenRevoked",
    "AssetSnapshot",
    "AssetStatusChange",
    "AssetStatusSnapshot",
    "AuditEvent",
    "CategoryRef",
    "ConnectorTokenRevoked",
    "DataExportInitiated",
    "InviteLinkArchived",
    "InviteLinkCreated",
    "InviteLinkUpdated",
    "LoginMethod",
    "MeterTriggerState",
    "MeterTriggerStateChange",
    "NewAsset",
    "NewCategoryOnWorkOrder",
    "NewCommentOnWorkOrder",
    "NewLocation",
    "NewPart",
    "NewPurchaseOrder",
    "NewSlashCommand",
    "NewVendor",
    "NewWorkOrder",
    "NewWorkRequest",
    "PartChange",
    "PartDelete",
    "PartLocationQuantity",
    "PartQuantityChange",
    "PartSnapshot",
    "PartTransfer",
    "PurchaseOrderChange",
    "PurchaseOrderSnapshot",
    "PurchaseOrderStatusChange",
    "RawEvent",
    "RoleArchived",
    "RoleCreated",
    "RoleUpdated",
    "SsoConfigChanged",
    "UserActivated",
    "UserInvited",
    "UserLoginFailure",
    "UserLoginSuccess",
    "UserLogout",
    "UserPermissionsChanged",
    "UserRemoved",
    "UserRoleChanged",
    "UserSessionRevoked",
    "WebhookArchived",
    "WebhookCreated",
    "WebhookEvent",
    "WorkOrderChange",
    "WorkOrderDelete",
    "WorkOrderOverdue",
    "WorkOrderPartStatusChange",
    "WorkOrderProgress",
    "WorkOrderSnapshot",
    "WorkOrderStatusChange",
    "WorkOrderSubStatus",
    "WorkRequestStatusChange",
    "parse_event",
]


# -- enums the events add ---------------------------------------------------------------------


class WorkOrderSubStatus(OpenEnum):
    """``oldSubStatus``/``newSubStatus``: a DONE work order that was canceled or skipped."""

    CANCELED = "CANCELED"
    SKIPPED = "SKIPPED"


class MeterTriggerState(OpenEnum):
    INACTIVE = "INACTIVE"
    INSUFFICIENT_DATA = "INSUFFICIENT_DATA"
    PENDING = "PENDING"
    STABLE = "STABLE"
    TRIGGERED = "TRIGGERED"


class LoginMethod(OpenEnum):
    EMAIL = "EMAIL"
    PHONE = "PHONE"
    SAML = "SAML"
    OIDC = "OIDC"
    WORKSTATION = "WORKSTATION"


# -- nested snapshots -------------------------------------------------------------------------


class CategoryRef(MaintainXModel):
    id: int | None = None
    name: str | None = None
    description: str | None = None


class WorkOrderSnapshot(MaintainXModel):
    """``newWorkOrder`` (and ``WorkOrder`` on deletes): the work order's settable fields."""

    asset_id: int | None = None
    assignee_ids: list[int] | None = None
    categories: list[CategoryRef] | None = None
    description: str | None = None
    due_date: datetime | None = None
    estimated_time: int | None = None
    extra_fields: dict[str, Any] | None = None
    location_id: int | None = None
    parts: list[dict[str, Any]] | None = None
    priority: WorkOrderPriority | None = None
    start_date: datetime | None = None
    team_ids: list[int] | None = None
    title: str | None = None
    vendor_ids: list[int] | None = None
    costs: dict[str, Any] | None = None


class WorkOrderProgress(MaintainXModel):
    in_progress_count: int | None = None
    on_hold_count: int | None = None
    done_count: int | None = None


class AssetSnapshot(MaintainXModel):
    name: str | None = None
    description: str | None = None
    location_id: int | None = None
    barcode: str | None = None
    parent_id: int | None = None
    vendor_ids: list[int] | None = None
    team_ids: list[int] | None = None
    asset_types: list[str] | None = None
    extra_fields: dict[str, Any] | None = None


class AssetStatusSnapshot(AssetStatusRecord):
    """``oldStatus`` / ``newStatus`` of ``ASSET_STATUS_CHANGE``: the record ``Asset.status``
    holds."""


class PartSnapshot(MaintainXModel):
    """``newPart`` / ``deletedPart``. Money in cents."""

    id: int | None = None
    name: str | None = None
    description: str | None = None
    area: str | None = None
    unit_cost: int | None = None
    available_quantity: int | None = None
    in_stock_quantity: int | None = None
    minimum_quantity: int | None = None
    maximum_quantity: int | None = None
    barcode: str | None = None
    location_id: int | None = None
    locations: list[dict[str, Any]] | None = None
    part_types: list[str] | None = None
    asset_ids: list[int] | None = None
    team_ids: list[int] | None = None
    extra_fields: dict[str, Any] | None = None
    vendors: list[dict[str, Any]] | None = None


class PurchaseOrderSnapshot(MaintainXModel):
    """``newPurchaseOrder`` / ``purchaseOrder``. Money in cents."""

    id: int | None = None
    title: str | None = None
    note: str | None = None
    review_note: str | None = None
    status: PurchaseOrderStatus | None = None
    due_date: datetime | None = None
    vendor_id: int | None = None
    vendor_contact_ids: list[int] | None = None
    approver_id: int | None = None
    approval_date: datetime | None = None
    creator_id: int | None = None
    auto_generated_number: int | None = None
    override_number: str | None = None
    items: list[dict[str, Any]] | None = None
    costs: list[dict[str, Any]] | None = None
    attachments: list[Any] | None = None
    thumbnail: dict[str, Any] | None = None
    billing_address: dict[str, Any] | None = None
    shipping_address: dict[str, Any] | None = None
    shipping_contact_info: str | None = None
    shipping_contact_name: str | None = None
    extra_fields: dict[str, Any] | None = None
    updated_at: datetime | None = None


class PartLocationQuantity(MaintainXModel):
    location_id: int | None = None
    quantity_diff: float | None = None
    old_quantity: float | None = None
    new_quantity: float | None = None


# -- the base ---------------------------------------------------------------------------------


class WebhookEvent(MaintainXModel):
    """Base of every event. ``EVENT_TYPE`` is the subscription type the model parses."""

    EVENT_TYPE: ClassVar[str] = ""

    org_id: int | None = None
    occurred_at: datetime | None = None

    _event_type: str = PrivateAttr(default="")
    _raw: Any = PrivateAttr(default=None)
    _dedupe_key: str = PrivateAttr(default="")
    _route: str = PrivateAttr(default="")
    _attempt: int = PrivateAttr(default=1)
    _received_at: float | None = PrivateAttr(default=None)

    @property
    def event_type(self) -> str:
        """The subscription type this event was delivered for (``NEW_WORK_ORDER``...)."""
        return self._event_type or self.EVENT_TYPE

    @property
    def raw(self) -> Any:
        """The payload exactly as decoded from the delivered JSON."""
        return self._raw

    @property
    def dedupe_key(self) -> str:
        """The content key the queue deduplicated on: use it to make handlers idempotent."""
        return self._dedupe_key

    @property
    def route(self) -> str:
        return self._route

    @property
    def attempt(self) -> int:
        """1 on the first run of a handler for this event, 2 on the first retry..."""
        return self._attempt

    @property
    def received_at(self) -> float | None:
        """Unix time the receiver stored the event."""
        return self._received_at


class RawEvent(WebhookEvent):
    """An event of a type this version does not model, or whose payload did not fit its model.

    Every field is in ``raw`` (and, for JSON objects, ``model_extra``); ``parse_error`` says
    why it is not typed, when it is not just an unknown type.
    """

    _parse_error: str | None = PrivateAttr(default=None)

    @property
    def parse_error(self) -> str | None:
        return self._parse_error


class AuditEvent(WebhookEvent):
    """Organization audit events: who (``actor_id``) did it."""

    actor_id: int | None = None


# -- what several events carry ------------------------------------------------------------


class _WorkOrderEvent(WebhookEvent):
    work_order_id: int | None = None


class _PartEvent(WebhookEvent):
    part_id: int | None = None


class _PurchaseOrderEvent(WebhookEvent):
    purchase_order_id: int | None = None


class _InviteLinkEvent(AuditEvent):
    invite_link_id: int | None = None


class _RoleEvent(AuditEvent):
    role_id: int | None = None
    role_name: str | None = None


class _TargetUserEvent(AuditEvent):
    """An audit event about another user (``target_user_id``)."""

    target_user_id: int | None = None


class _WebhookAuditEvent(AuditEvent):
    webhook_id: int | None = None


# -- work orders ------------------------------------------------------------------------------


class NewWorkOrder(_WorkOrderEvent):
    EVENT_TYPE: ClassVar[str] = "NEW_WORK_ORDER"
    new_work_order: WorkOrderSnapshot | None = None


class WorkOrderChange(_WorkOrderEvent):
    """Fires when one of ASSET, ASSIGNEES, CATEGORIES, ... changes (see the spec)."""

    EVENT_TYPE: ClassVar[str] = "WORK_ORDER_CHANGE"
    new_work_order: WorkOrderSnapshot | None = None
    added_assignee_ids: list[int] | None = None
    removed_assignee_ids: list[int] | None = None
    added_team_ids: list[int] | None = None
    removed_team_ids: list[int] | None = None


class WorkOrderStatusChange(_WorkOrderEvent):
    """A status change. Canceled and skipped work orders are ``DONE`` with a sub-status."""

    EVENT_TYPE: ClassVar[str] = "WORK_ORDER_STATUS_CHANGE"
    old_status: WorkOrderStatus | None = None
    old_sub_status: WorkOrderSubStatus | None = None
    new_status: WorkOrderStatus | None = None
    new_sub_status: WorkOrderSubStatus | None = None
    progress: WorkOrderProgress | None = None
    user_id: int | None = None
    new_work_order: WorkOrderSnapshot | None = None


class WorkOrderDelete(_WorkOrderEvent):
    EVENT_TYPE: ClassVar[str] = "WORK_ORDER_DELETE"
    work_order: WorkOrderSnapshot | None = Field(default=None, alias="WorkOrder")


class WorkOrderOverdue(_WorkOrderEvent):
    EVENT_TYPE: ClassVar[str] = "WORK_ORDER_OVERDUE"
    due_date: datetime | None = None


class WorkOrderPartStatusChange(_WorkOrderEvent):
    EVENT_TYPE: ClassVar[str] = "WORK_ORDER_PART_STATUS_CHANGE"
    old_part_status: PartStatus | None = None
    new_part_status: PartStatus | None = None
    new_work_order: WorkOrderSnapshot | None = None


class NewCategoryOnWorkOrder(_WorkOrderEvent):
    EVENT_TYPE: ClassVar[str] = "NEW_CATEGORY_ON_WORK_ORDER"
    new_categories: list[CategoryRef] | None = None


class NewCommentOnWorkOrder(_WorkOrderEvent):
    """``type`` is TEXT, IMG, FILE or AUDIO; ``url`` (files) is valid for 60 minutes."""

    EVENT_TYPE: ClassVar[str] = "NEW_COMMENT_ON_WORK_ORDER"
    type: str | None = None
    comment: str | None = None
    url: str | None = None


class NewSlashCommand(WebhookEvent):
    EVENT_TYPE: ClassVar[str] = "NEW_SLASH_COMMAND"
    user: dict[str, Any] | None = None
    parent: dict[str, Any] | None = None
    message_id: int | None = None
    command: str | None = None
    content: str | None = None


# -- assets, locations, vendors, requests ---------------------------------------------------


class NewAsset(WebhookEvent):
    EVENT_TYPE: ClassVar[str] = "NEW_ASSET"
    asset_id: int | None = None
    new_asset: AssetSnapshot | None = None


class AssetStatusChange(WebhookEvent):
    EVENT_TYPE: ClassVar[str] = "ASSET_STATUS_CHANGE"
    asset_id: int | None = None
    old_status: AssetStatusSnapshot | None = None
    new_status: AssetStatusSnapshot | None = None


class MeterTriggerStateChange(WebhookEvent):
    EVENT_TYPE: ClassVar[str] = "METER_TRIGGER_STATE_CHANGE"
    meter_trigger_id: int | None = None
    meter_id: int | None = None
    old_state: MeterTriggerState | None = None
    new_state: MeterTriggerState | None = None


class NewLocation(WebhookEvent):
    EVENT_TYPE: ClassVar[str] = "NEW_LOCATION"
    location_id: int | None = None


class NewVendor(WebhookEvent):
    EVENT_TYPE: ClassVar[str] = "NEW_VENDOR"
    vendor_id: int | None = None


class NewWorkRequest(WebhookEvent):
    EVENT_TYPE: ClassVar[str] = "NEW_WORK_REQUEST"
    work_request_id: int | None = None


class WorkRequestStatusChange(WebhookEvent):
    """Note the id is ``requestId`` here (``workRequestId`` on ``NEW_WORK_REQUEST``)."""

    EVENT_TYPE: ClassVar[str] = "WORK_REQUEST_STATUS_CHANGE"
    request_id: int | None = None
    old_status: WorkRequestStatus | None = None
    new_status: WorkRequestStatus | None = None


# -- parts and purchase orders -------------------------------------------------------------


class NewPart(_PartEvent):
    EVENT_TYPE: ClassVar[str] = "NEW_PART"
    new_part: PartSnapshot | None = None


class PartChange(_PartEvent):
    EVENT_TYPE: ClassVar[str] = "PART_CHANGE"
    new_part: PartSnapshot | None = None


class PartDelete(_PartEvent):
    EVENT_TYPE: ClassVar[str] = "PART_DELETE"
    deleted_part: PartSnapshot | None = None


class PartQuantityChange(_PartEvent):
    """``triggered_from``: PURCHASE_ORDER, WORK_ORDER, MANUAL_RESTOCK, PART_TRANSFER,
    CYCLE_COUNT."""

    EVENT_TYPE: ClassVar[str] = "PART_QUANTITY_CHANGE"
    quantity_diff: float | None = None
    old_quantity: float | None = None
    new_quantity: float | None = None
    user_id: int | None = None
    triggered_from: str | None = None
    locations: list[PartLocationQuantity] | None = None


class PartTransfer(WebhookEvent):
    """A part moved between organizations; it has ``triggered_at``, not ``occurred_at``, and
    its organizations are in ``source_data``/``destination_data``."""

    EVENT_TYPE: ClassVar[str] = "PART_TRANSFER"
    triggered_from: str | None = None
    transfer_request_id: int | None = None
    user_id: int | None = None
    total_quantity: float | None = None
    quantity: float | None = None  # the spec's "required" list names it; properties do not
    source_data: dict[str, Any] | None = None
    destination_data: dict[str, Any] | None = None
    triggered_at: datetime | None = None


class NewPurchaseOrder(_PurchaseOrderEvent):
    EVENT_TYPE: ClassVar[str] = "NEW_PURCHASE_ORDER"
    user_id: int | None = None
    new_purchase_order: PurchaseOrderSnapshot | None = None


class PurchaseOrderChange(_PurchaseOrderEvent):
    EVENT_TYPE: ClassVar[str] = "PURCHASE_ORDER_CHANGE"
    new_purchase_order: PurchaseOrderSnapshot | None = None


class PurchaseOrderStatusChange(_PurchaseOrderEvent):
    EVENT_TYPE: ClassVar[str] = "PURCHASE_ORDER_STATUS_CHANGE"
    vendor_id: int | None = None
    old_status: PurchaseOrderStatus | None = None
    new_status: PurchaseOrderStatus | None = None
    purchase_order: PurchaseOrderSnapshot | None = None


# -- organization audit events -------------------------------------------------------------


class ApiTokenCreated(AuditEvent):
    EVENT_TYPE: ClassVar[str] = "API_TOKEN_CREATED"


class ApiTokenRevoked(AuditEvent):
    EVENT_TYPE: ClassVar[str] = "API_TOKEN_REVOKED"


class ConnectorTokenRevoked(AuditEvent):
    EVENT_TYPE: ClassVar[str] = "CONNECTOR_TOKEN_REVOKED"


class DataExportInitiated(AuditEvent):
    EVENT_TYPE: ClassVar[str] = "DATA_EXPORT_INITIATED"
    export_type: str | None = None


class InviteLinkArchived(_InviteLinkEvent):
    EVENT_TYPE: ClassVar[str] = "INVITE_LINK_ARCHIVED"


class InviteLinkCreated(_InviteLinkEvent):
    EVENT_TYPE: ClassVar[str] = "INVITE_LINK_CREATED"


class InviteLinkUpdated(_InviteLinkEvent):
    EVENT_TYPE: ClassVar[str] = "INVITE_LINK_UPDATED"


class RoleArchived(_RoleEvent):
    EVENT_TYPE: ClassVar[str] = "ROLE_ARCHIVED"


class RoleCreated(_RoleEvent):
    EVENT_TYPE: ClassVar[str] = "ROLE_CREATED"


class RoleUpdated(_RoleEvent):
    EVENT_TYPE: ClassVar[str] = "ROLE_UPDATED"


class SsoConfigChanged(AuditEvent):
    """``config_type``: IDP, PREFERRED_IDP, PREFERRED_OIDC, ENFORCE_SSO, ALWAYS_INVITE_SAML,
    ALWAYS_INVITE_OIDC, IDLE_TIMEOUT."""

    EVENT_TYPE: ClassVar[str] = "SSO_CONFIG_CHANGED"
    config_type: str | None = None


class UserActivated(_TargetUserEvent):
    EVENT_TYPE: ClassVar[str] = "USER_ACTIVATED"


class UserInvited(_TargetUserEvent):
    EVENT_TYPE: ClassVar[str] = "USER_INVITED"
    role: str | None = None
    creation_method: str | None = None


class UserPermissionsChanged(_TargetUserEvent):
    EVENT_TYPE: ClassVar[str] = "USER_PERMISSIONS_CHANGED"


class UserRemoved(_TargetUserEvent):
    EVENT_TYPE: ClassVar[str] = "USER_REMOVED"


class UserRoleChanged(_TargetUserEvent):
    EVENT_TYPE: ClassVar[str] = "USER_ROLE_CHANGED"
    old_role: str | None = None
    new_role: str | None = None


class UserSessionRevoked(_TargetUserEvent):
    EVENT_TYPE: ClassVar[str] = "USER_SESSION_REVOKED"


class WebhookArchived(_WebhookAuditEvent):
    EVENT_TYPE: ClassVar[str] = "WEBHOOK_ARCHIVED"


class WebhookCreated(_WebhookAuditEvent):
    EVENT_TYPE: ClassVar[str] = "WEBHOOK_CREATED"
    webhook_type: str | None = None
    url: str | None = None


class _SessionEvent(WebhookEvent):
    """Login/logout events: where from (``source_ip``, country, region, city)."""

    source_ip: str | None = None
    country_name: str | None = None
    region_name: str | None = None
    city_name: str | None = None


class UserLoginFailure(_SessionEvent):
    EVENT_TYPE: ClassVar[str] = "USER_LOGIN_FAILURE"
    email: str | None = None
    phone_number: str | None = None
    method: LoginMethod | None = None
    reason: str | None = None


class UserLoginSuccess(_SessionEvent):
    EVENT_TYPE: ClassVar[str] = "USER_LOGIN_SUCCESS"
    user_id: int | None = None
    email: str | None = None
    phone_number: str | None = None
    method: LoginMethod | None = None


class UserLogout(_SessionEvent):
    EVENT_TYPE: ClassVar[str] = "USER_LOGOUT"
    user_id: int | None = None


#: Every modelled event type -> its model.
EVENT_MODELS: Mapping[str, type[WebhookEvent]] = {
    cls.EVENT_TYPE: cls
    for cls in (
        ApiTokenCreated,
        ApiTokenRevoked,
        AssetStatusChange,
        ConnectorTokenRevoked,
        DataExportInitiated,
        InviteLinkArchived,
        InviteLinkCreated,
        InviteLinkUpdated,
        MeterTriggerStateChange,
        NewAsset,
        NewCategoryOnWorkOrder,
        NewCommentOnWorkOrder,
        NewLocation,
        NewPart,
        NewPurchaseOrder,
        NewWorkRequest,
        NewSlashCommand,
        NewVendor,
        NewWorkOrder,
        PartChange,
        PartDelete,
        PartQuantityChange,
        PartTransfer,
        PurchaseOrderChange,
        PurchaseOrderStatusChange,
        RoleArchived,
        RoleCreated,
        RoleUpdated,
        SsoConfigChanged,
        UserActivated,
        UserInvited,
        UserLoginFailure,
        UserLoginSuccess,
        UserLogout,
        UserPermissionsChanged,
        UserRemoved,
        UserRoleChanged,
        UserSessionRevoked,
        WebhookArchived,
        WebhookCreated,
        WorkOrderChange,
        WorkOrderDelete,
        WorkOrderOverdue,
        WorkOrderPartStatusChange,
        WorkOrderStatusChange,
        WorkRequestStatusChange,
    )
}


def _decode(payload: bytes | str | Mapping[str, Any]) -> tuple[Any, str | None]:
    if isinstance(payload, Mapping):
        return dict(payload), None
    try:
        return json.loads(payload), None
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:  # RecursionError: too deep
        return None, f"not JSON: {type(exc).__name__}"


def _raw_event(event_type: str, data: Any, error: str | None) -> RawEvent:
    fields = data if isinstance(data, dict) else {}
    try:
        event = RawEvent.model_validate(fields)
    except ValidationError:
        event = RawEvent.model_construct(**{k: v for k, v in fields.items() if isinstance(k, str)})
    if error is None and not isinstance(data, dict):
        error = f"payload is a JSON {type(data).__name__}, not an object"
    event._parse_error = error
    return event


def parse_event(event_type: str | None, payload: bytes | str | Mapping[str, Any]) -> WebhookEvent:
    """The typed event for a payload delivered to a subscription of ``event_type``.

    Never raises: unknown types and payloads that do not fit their model come back as
    :class:`RawEvent` with ``raw`` holding the decoded JSON (``None`` if it was not JSON).
    """
    kind = event_type or ""
    data, error = _decode(payload)
    model = EVENT_MODELS.get(kind)
    event: WebhookEvent
    if model is None or error is not None or not isinstance(data, dict):
        event = _raw_event(kind, data, error)
    else:
        try:
            event = model.model_validate(data)
        except ValidationError as exc:
            where = ", ".join(".".join(str(p) for p in e["loc"]) for e in exc.errors()[:5])
            event = _raw_event(kind, data, f"does not fit {model.__name__}: {where}")
        except RecursionError:  # a value nested deeper than Python can follow
            event = _raw_event(kind, None, f"does not fit {model.__name__}: nested too deep")
    event._event_type = kind
    event._raw = data
    return event
