"""``client.work_orders``: list, iterate, get, create, update, set status, delete, comments."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, Literal

from typing_extensions import Required, TypedDict, Unpack

from .._exceptions import ConfigurationError
from .._operation import Operation, expect_id, expect_model, expect_page
from .._pagination import Page, SyncPager
from ..models.work_orders import (
    Comment,
    WorkOrder,
    WorkOrderPriority,
    WorkOrderStatus,
)
from ._base import ItemResource, ResourceSpec, SyncSupport, TimeRangeParams, write_params

__all__ = [
    "WorkOrderCreateParams",
    "WorkOrderListParams",
    "WorkOrderUpdateParams",
    "WorkOrders",
]

Priority = WorkOrderPriority | Literal["NONE", "LOW", "MEDIUM", "HIGH"]
Status = WorkOrderStatus | Literal["OPEN", "IN_PROGRESS", "ON_HOLD", "DONE", "CANCELED", "SKIPPED"]
SettableStatus = WorkOrderStatus | Literal["OPEN", "IN_PROGRESS", "ON_HOLD", "DONE", "CANCELED"]
#: Create and update bodies accept only these types (CYCLE_COUNT work orders are made in-app).
SettableKind = Literal["OTHER", "PREVENTIVE", "REACTIVE"]
Sort = Literal[
    "updatedAt",
    "createdAt",
    "dueDate",
    "startedAt",
    "completedAt",
    "-updatedAt",
    "-createdAt",
    "-dueDate",
    "-startedAt",
    "-completedAt",
]


class WorkOrderListParams(TimeRangeParams, total=False):
    """Filters of ``GET /workorders``. Sequences are sent as repeated keys."""

    limit: int
    title: str
    assets: Sequence[int]
    not_assets: Sequence[int]
    locations: Sequence[int]
    not_locations: Sequence[int]
    parts: Sequence[int]
    not_parts: Sequence[int]
    vendors: Sequence[int]
    not_vendors: Sequence[int]
    assignees: Sequence[int]
    teams: Sequence[int]
    categories: Sequence[int | str]
    not_categories: Sequence[int | str]
    priorities: Sequence[Priority]
    statuses: Sequence[Status]
    part_statuses: Sequence[str]
    parent_sub_work_order_types: Sequence[str]
    show_upcoming: bool
    sort: Sort
    expand: Sequence[str]


class _WorkOrderFields(TypedDict, total=False):
    """The fields ``POST /workorders`` and ``PATCH /workorders/{id}`` share."""

    description: str
    priority: Priority
    type: SettableKind
    asset_id: int
    location_id: int
    assignees: Sequence[Mapping[str, Any]]
    categories: Sequence[str]
    estimated_time: int
    requester_id: int
    procedure_template_id: int
    vendor_ids: Sequence[int]
    parts_used: Sequence[Mapping[str, Any]]
    procedure: Mapping[str, Any]
    extra_fields: Mapping[str, Any]
    external_data: Any


class WorkOrderCreateParams(_WorkOrderFields, total=False):
    """Body of ``POST /workorders``. There is no ``status``: use ``set_status``."""

    title: Required[str]
    due_date: datetime | str
    start_date: datetime | str
    work_request_id: int
    work_order_template_id: int
    parent_id: int
    is_parent: bool
    repeatability: Mapping[str, Any]


class WorkOrderUpdateParams(_WorkOrderFields, total=False):
    """Body of ``PATCH /workorders/{id}``. There is no ``status``: use ``set_status``."""

    title: str
    due_date: datetime | str | None
    start_date: datetime | str | None
    recurrence_info: Mapping[str, Any]


class WorkOrderSpec(ResourceSpec[WorkOrder]):
    """The work-order routes beyond plain CRUD."""

    def set_status_op(
        self, id: int, status: SettableStatus, *, skip_webhook: bool = False
    ) -> Operation[WorkOrder]:
        value = status.value if isinstance(status, WorkOrderStatus) else status
        if value == "SKIPPED":
            raise ConfigurationError(
                "SKIPPED cannot be set through the API (PATCH /workorders/{id}/status)"
            )
        return Operation.make(
            "PATCH",
            "/workorders/{id}/status",
            expect_model(WorkOrder, "workOrder"),
            path_params={"id": id},
            params=write_params(skip_webhook),
            json={"status": value},
            idempotent=True,
        )

    def comments_op(
        self, id: int, limit: int | None, cursor: str | None
    ) -> Operation[Page[Comment]]:
        query: list[tuple[str, str]] = []
        if limit is not None:
            query.extend(self.query({"limit": limit}))
        if cursor:
            query.append(("cursor", cursor))
        return Operation.make(
            "GET", "/workorders/{id}/comments", _COMMENT_PAGE, path_params={"id": id}, params=query
        )

    def add_comment_op(self, id: int, content: str, *, skip_webhook: bool) -> Operation[int]:
        return Operation.make(
            "POST",
            "/workorders/{id}/comments",
            expect_id,
            path_params={"id": id},
            params=write_params(skip_webhook),
            json={"content": content},
        )


_COMMENT_PAGE = expect_page(Comment, "comments")

WORK_ORDERS = WorkOrderSpec(
    route="/workorders",
    list_key="workOrders",
    item_key="workOrder",
    model=WorkOrder,
    name_overrides={"show_upcoming": "show_upcoming"},
    sync=SyncSupport(),
)


class WorkOrders(ItemResource[WorkOrder]):
    """Work orders through :class:`~maintainx_resilient.MaintainXClient`."""

    spec = WORK_ORDERS

    def list(
        self, *, cursor: str | None = None, **params: Unpack[WorkOrderListParams]
    ) -> Page[WorkOrder]:
        """One page of work orders (``items``, ``next_cursor``)."""
        return self._list(params, cursor)

    def iter(self, **params: Unpack[WorkOrderListParams]) -> SyncPager[WorkOrder]:
        """Every matching work order, following ``nextCursor`` with the same filters."""
        return self._iter(params)

    def create(
        self,
        *,
        extra_body: Mapping[str, Any] | None = None,
        skip_webhook: bool = False,
        idempotent: bool = False,
        **fields: Unpack[WorkOrderCreateParams],
    ) -> int:
        """Create a work order and return its id (the API answers only ``{"id": n}``).

        A POST is never retried after it may have reached the server unless ``idempotent``
        is True: MaintainX has no idempotency key, so a retry could create a duplicate.
        """
        return self._create(fields, extra_body, skip_webhook, idempotent)

    def update(
        self,
        id: int,
        *,
        extra_body: Mapping[str, Any] | None = None,
        skip_webhook: bool = False,
        **fields: Unpack[WorkOrderUpdateParams],
    ) -> WorkOrder:
        """Change fields of a work order; returns the updated work order."""
        return self._update(id, fields, extra_body, skip_webhook)

    def set_status(
        self, id: int, status: SettableStatus, *, skip_webhook: bool = False
    ) -> WorkOrder:
        """Move a work order to ``status`` through ``PATCH /workorders/{id}/status``."""
        return self._run(self.spec.set_status_op(id, status, skip_webhook=skip_webhook))

    def comments(self, id: int, *, limit: int | None = None) -> SyncPager[Comment]:
        """Every comment of a work order."""
        return self._pager(
            lambda cursor: self.spec.comments_op(id, limit, cursor),
            path=f"{self.spec.item_route}/comments",
        )

    def add_comment(self, id: int, content: str, *, skip_webhook: bool = False) -> int:
        """Post a comment; returns its id."""
        return self._run(self.spec.add_comment_op(id, content, skip_webhook=skip_webhook))
