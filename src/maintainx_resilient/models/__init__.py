"""Typed models of MaintainX records, checked against MaintainX's OpenAPI document."""

from ._base import MaintainXModel, OpenEnum
from .work_orders import (
    Comment,
    PartsAvailability,
    PartStatus,
    WorkOrder,
    WorkOrderPriority,
    WorkOrderStatus,
    WorkOrderType,
)

__all__ = [
    "Comment",
    "MaintainXModel",
    "OpenEnum",
    "PartStatus",
    "PartsAvailability",
    "WorkOrder",
    "WorkOrderPriority",
    "WorkOrderStatus",
    "WorkOrderType",
]
