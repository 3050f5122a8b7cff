"""Webhook subscriptions: ``/subscriptions`` (the spec's "Subscriptions & Webhooks" tag).

There is no list endpoint: whoever creates a subscription must keep its id.
"""

from __future__ import annotations

from pydantic import Field

from ._base import MaintainXModel, OpenEnum

__all__ = ["CreatedSubscription", "Subscription", "SubscriptionStatus", "SubscriptionType"]


class SubscriptionType(OpenEnum):
    """The event a subscription delivers (one type per subscription)."""

    API_TOKEN_CREATED = "API_TOKEN_CREATED"
    API_TOKEN_REVOKED = "API_TOKEN_REVOKED"
    ASSET_STATUS_CHANGE = "ASSET_STATUS_CHANGE"
    CONNECTOR_TOKEN_REVOKED = "CONNECTOR_TOKEN_REVOKED"
    DATA_EXPORT_INITIATED = "DATA_EXPORT_INITIATED"
    INVITE_LINK_ARCHIVED = "INVITE_LINK_ARCHIVED"
    INVITE_LINK_CREATED = "INVITE_LINK_CREATED"
    INVITE_LINK_UPDATED = "INVITE_LINK_UPDATED"
    METER_TRIGGER_STATE_CHANGE = "METER_TRIGGER_STATE_CHANGE"
    NEW_ASSET = "NEW_ASSET"
    NEW_CATEGORY_ON_WORK_ORDER = "NEW_CATEGORY_ON_WORK_ORDER"
    NEW_COMMENT_ON_WORK_ORDER = "NEW_COMMENT_ON_WORK_ORDER"
    NEW_LOCATION = "NEW_LOCATION"
    NEW_PART = "NEW_PART"
    NEW_PURCHASE_ORDER = "NEW_PURCHASE_ORDER"
    NEW_SLASH_COMMAND = "NEW_SLASH_COMMAND"
    NEW_VENDOR = "NEW_VENDOR"
    NEW_WORK_ORDER = "NEW_WORK_ORDER"
    NEW_WORK_REQUEST = "NEW_WORK_REQUEST"
    PART_CHANGE = "PART_CHANGE"
    PART_DELETE = "PART_DELETE"
    PART_QUANTITY_CHANGE = "PART_QUANTITY_CHANGE"
    PART_TRANSFER = "PART_TRANSFER"
    PURCHASE_ORDER_CHANGE = "PURCHASE_ORDER_CHANGE"
    PURCHASE_ORDER_STATUS_CHANGE = "PURCHASE_ORDER_STATUS_CHANGE"
    ROLE_ARCHIVED = "ROLE_ARCHIVED"
    ROLE_CREATED = "ROLE_CREATED"
    ROLE_UPDATED = "ROLE_UPDATED"
    SSO_CONFIG_CHANGED = "SSO_CONFIG_CHANGED"
    USER_ACTIVATED = "USER_ACTIVATED"
    USER_INVITED = "USER_INVITED"
    USER_LOGIN_FAILURE = "USER_LOGIN_FAILURE"
    USER_LOGIN_SUCCESS = "USER_LOGIN_SUCCESS"
    USER_LOGOUT = "USER_LOGOUT"
    USER_PERMISSIONS_CHANGED = "USER_PERMISSIONS_CHANGED"
    USER_REMOVED = "USER_REMOVED"
    USER_ROLE_CHANGED = "USER_ROLE_CHANGED"
    USER_SESSION_REVOKED = "USER_SESSION_REVOKED"
    WEBHOOK_ARCHIVED = "WEBHOOK_ARCHIVED"
    WEBHOOK_CREATED = "WEBHOOK_CREATED"
    WORK_ORDER_CHANGE = "WORK_ORDER_CHANGE"
    WORK_ORDER_DELETE = "WORK_ORDER_DELETE"
    WORK_ORDER_OVERDUE = "WORK_ORDER_OVERDUE"
    WORK_ORDER_PART_STATUS_CHANGE = "WORK_ORDER_PART_STATUS_CHANGE"
    WORK_ORDER_STATUS_CHANGE = "WORK_ORDER_STATUS_CHANGE"
    WORK_REQUEST_STATUS_CHANGE = "WORK_REQUEST_STATUS_CHANGE"


class SubscriptionStatus(OpenEnum):
    VALID = "VALID"
    PENDING_APPROVAL = "PENDING_APPROVAL"


class Subscription(MaintainXModel):
    """A webhook subscription as ``GET``/``PATCH /subscriptions/{id}`` return it."""

    id: int
    type: SubscriptionType | None = None
    url: str | None = None
    status: SubscriptionStatus | None = None


class CreatedSubscription(MaintainXModel):
    """The answer to ``POST /subscriptions``: the id, the status and the signing secret.

    ``secret`` keys the HMAC of every delivery; it is left out of ``repr``.
    """

    id: int
    status: SubscriptionStatus | None = None
    secret: str | None = Field(default=None, repr=False)
