"""``client.purchase_orders``: list, iterate, get, create, update, delete.

``POST /purchaseorders`` is the one create that answers with the whole record (bare, not
wrapped, status 201) instead of ``{"id": n}``, so :meth:`PurchaseOrders.create` returns a
:class:`~maintainx_resilient.models.PurchaseOrder`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from typing_extensions import Required, TypedDict, Unpack

from .._pagination import Page, SyncPager
from ..models.purchase_orders import PurchaseOrder, PurchaseOrderStatus
from ._base import ItemResource, ResourceSpec, SyncSupport, TimeRangeParams, expect_object

__all__ = [
    "PurchaseOrderCreateParams",
    "PurchaseOrderListParams",
    "PurchaseOrderUpdateParams",
    "PurchaseOrders",
]

Sort = Literal["id", "createdAt", "updatedAt", "-id", "-createdAt", "-updatedAt"]
Status = PurchaseOrderStatus | str


class PurchaseOrderListParams(TimeRangeParams, total=False):
    """Filters of ``GET /purchaseorders``."""

    limit: int
    custom_field_name: Sequence[str]
    sort: Sort


class _PurchaseOrderFields(TypedDict, total=False):
    """The fields ``POST /purchaseorders`` and ``PATCH /purchaseorders/{id}`` share."""

    title: str | None
    note: str | None
    due_date: datetime | str | None
    override_number: str | None
    vendor_contact_ids: Sequence[int]
    costs: Sequence[Mapping[str, Any]]
    shipping_address: Mapping[str, Any]
    shipping_address_id: int | None
    billing_address: Mapping[str, Any]
    billing_address_id: int | None
    extra_fields: Mapping[str, Any]


class PurchaseOrderCreateParams(_PurchaseOrderFields, total=False):
    """Body of ``POST /purchaseorders``. Money is in cents.

    ``items`` is a list of ``{"partId"?, "name"?, "quantityOrdered", "unitCost"?, ...}``;
    ``costs`` of ``{"name", "type", "amount"}``; addresses are
    ``{"street", "city", "state", "postalCode", "country", "label"?}``.
    """

    vendor_id: Required[int | None]
    items: Required[Sequence[Mapping[str, Any]]]


class PurchaseOrderUpdateParams(_PurchaseOrderFields, total=False):
    """Body of ``PATCH /purchaseorders/{id}``."""

    vendor_id: int | None
    items: Sequence[Mapping[str, Any]]
    review_note: str | None
    status: Status | None


_CREATED_PO = expect_object(PurchaseOrder, wrapper_key="purchaseOrder")

PURCHASE_ORDERS = ResourceSpec(
    route="/purchaseorders",
    list_key="purchaseOrders",
    item_key="purchaseOrder",
    model=PurchaseOrder,
    sync=SyncSupport(offset_paged=True),
)


class PurchaseOrders(ItemResource[PurchaseOrder]):
    """Purchase orders through :class:`~maintainx_resilient.MaintainXClient`."""

    spec = PURCHASE_ORDERS

    def list(
        self, *, cursor: str | None = None, **params: Unpack[PurchaseOrderListParams]
    ) -> Page[PurchaseOrder]:
        """One page of purchase orders (``items``, ``next_cursor``).

        List items carry only ``id``, ``status``, ``created_at`` and ``updated_at``.
        """
        return self._list(params, cursor)

    def iter(self, **params: Unpack[PurchaseOrderListParams]) -> SyncPager[PurchaseOrder]:
        """Every matching purchase order, following ``nextCursor`` with the same filters."""
        return self._iter(params)

    def create(
        self,
        *,
        extra_body: Mapping[str, Any] | None = None,
        skip_webhook: bool = False,
        idempotent: bool = False,
        **fields: Unpack[PurchaseOrderCreateParams],
    ) -> PurchaseOrder:
        """Create a purchase order and return it (its id is ``.id``).

        Not retried unless ``idempotent`` is True: a retry could create a duplicate.
        """
        op = self.spec.post_op(_CREATED_PO, fields, extra_body, skip_webhook, idempotent)
        return self._run(op)

    def update(
        self,
        id: int,
        *,
        extra_body: Mapping[str, Any] | None = None,
        skip_webhook: bool = False,
        **fields: Unpack[PurchaseOrderUpdateParams],
    ) -> PurchaseOrder:
        """Change fields of a purchase order; returns the updated purchase order."""
        return self._update(id, fields, extra_body, skip_webhook)
