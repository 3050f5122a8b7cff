"""Purchase orders: ``/purchaseorders`` (the spec's "Purchase Orders" tag)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ._base import MaintainXModel, OpenEnum

__all__ = [
    "PurchaseOrder",
    "PurchaseOrderCost",
    "PurchaseOrderCostType",
    "PurchaseOrderItem",
    "PurchaseOrderStatus",
]


class PurchaseOrderStatus(OpenEnum):
    """The spec types ``status`` as a plain string; these are the values it lists elsewhere
    (``PATCH /purchaseorders/{id}/status`` and the ``PURCHASE_ORDER_STATUS_CHANGE`` filter)."""

    APPROVED = "APPROVED"
    CANCELED = "CANCELED"
    COMPLETED = "COMPLETED"
    DECLINED = "DECLINED"
    PARTIALLY_FULFILLED = "PARTIALLY_FULFILLED"
    PENDING = "PENDING"
    REQUESTED = "REQUESTED"


class PurchaseOrderCostType(OpenEnum):
    AMOUNT_NON_TAXABLE = "AMOUNT_NON_TAXABLE"
    AMOUNT_TAXABLE = "AMOUNT_TAXABLE"
    PERCENT_TAXABLE = "PERCENT_TAXABLE"


class PurchaseOrderItem(MaintainXModel):
    """One line of a purchase order. Money is in cents (``*_decimal`` as strings)."""

    id: int | None = None
    part_id: int | None = None
    name: str | None = None
    part_number: str | None = None
    price: int | float | None = None
    price_decimal: str | None = None
    unit_cost: int | float | None = None
    unit_cost_decimal: str | None = None
    quantity_ordered: int | float | None = None
    quantity_received: int | float | None = None
    fulfillments: list[dict[str, Any]] | None = None
    extra_fields: dict[str, Any] | None = None
    line_extra_fields: dict[str, Any] | None = None
    part_extra_fields: dict[str, Any] | None = None


class PurchaseOrderCost(MaintainXModel):
    """An extra cost (tax, shipping...): ``amount`` in cents, or a percentage."""

    id: int | None = None
    name: str | None = None
    type: PurchaseOrderCostType | None = None
    amount: int | float | None = None


class PurchaseOrder(MaintainXModel):
    """A purchase order. Lists carry only ``id``, ``status``, ``created_at``, ``updated_at``."""

    id: int
    title: str | None = None
    note: str | None = None
    review_note: str | None = None
    status: PurchaseOrderStatus | None = None
    auto_generated_number: int | None = None
    override_number: str | None = None
    creator_id: int | None = None
    approver_id: int | None = None
    vendor_id: int | None = None
    vendor_contact_ids: list[int] | None = None
    items: list[PurchaseOrderItem] | None = None
    costs: list[PurchaseOrderCost] | None = None
    shipping_address: dict[str, Any] | None = None
    billing_address: dict[str, Any] | None = None
    extra_fields: dict[str, Any] | None = None
    thumbnail: dict[str, Any] | None = None
    attachments: list[dict[str, Any]] | None = None
    due_date: datetime | None = None
    approval_date: datetime | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted_at: datetime | None = None
