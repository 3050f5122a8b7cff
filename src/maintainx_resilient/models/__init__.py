"""Typed models of MaintainX records, checked against MaintainX's OpenAPI document."""

from ._base import MaintainXModel, OpenEnum
from .assets import (
    Asset,
    AssetStatus,
    AssetStatusRecord,
    DowntimeType,
)
from .categories import Category
from .locations import Location
from .meters import (
    MeasurementType,
    Meter,
    ReadingFrequency,
    ReadingFrequencyType,
)
from .organizations import Organization
from .parts import Part
from .purchase_orders import (
    PurchaseOrder,
    PurchaseOrderCost,
    PurchaseOrderCostType,
    PurchaseOrderItem,
    PurchaseOrderStatus,
)
from .subscriptions import (
    CreatedSubscription,
    Subscription,
    SubscriptionStatus,
    SubscriptionType,
)
from .teams import Team
from .users import (
    AuthType,
    InviteType,
    User,
    UserRole,
)
from .vendors import Vendor
from .work_orders import (
    Comment,
    PartsAvailability,
    PartStatus,
    WorkOrder,
    WorkOrderPriority,
    WorkOrderStatus,
    WorkOrderType,
)
from .work_requests import (
    WorkRequest,
    WorkRequestPriority,
    WorkRequestStatus,
)

__all__ = [
    "Asset",
    "AssetStatus",
    "AssetStatusRecord",
    "AuthType",
    "Category",
    "Comment",
    "CreatedSubscription",
    "DowntimeType",
    "InviteType",
    "Location",
    "MaintainXModel",
    "MeasurementType",
    "Meter",
    "OpenEnum",
    "Organization",
    "Part",
    "PartStatus",
    "PartsAvailability",
    "PurchaseOrder",
    "PurchaseOrderCost",
    "PurchaseOrderCostType",
    "PurchaseOrderItem",
    "PurchaseOrderStatus",
    "ReadingFrequency",
    "ReadingFrequencyType",
    "Subscription",
    "SubscriptionStatus",
    "SubscriptionType",
    "Team",
    "User",
    "UserRole",
    "Vendor",
    "WorkOrder",
    "WorkOrderPriority",
    "WorkOrderStatus",
    "WorkOrderType",
    "WorkRequest",
    "WorkRequestPriority",
    "WorkRequestStatus",
]
