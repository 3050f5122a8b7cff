"""Work orders: ``/workorders`` (the spec's "Work Orders" tag)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ._base import MaintainXModel, OpenEnum

__all__ = [
    "Comment",
    "PartStatus",
    "PartsAvailability",
    "WorkOrder",
    "WorkOrderPriority",
    "WorkOrderStatus",
    "WorkOrderType",
]


class WorkOrderStatus(OpenEnum):
    OPEN = "OPEN"
    IN_PROGRESS = "IN_PROGRESS"
    ON_HOLD = "ON_HOLD"
    DONE = "DONE"
    CANCELED = "CANCELED"
    SKIPPED = "SKIPPED"


class WorkOrderPriority(OpenEnum):
    NONE = "NONE"
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


class WorkOrderType(OpenEnum):
    CYCLE_COUNT = "CYCLE_COUNT"
    OTHER = "OTHER"
    PREVENTIVE = "PREVENTIVE"
    REACTIVE = "REACTIVE"


class PartStatus(OpenEnum):
    NO_PARTS = "NO_PARTS"
    ASSIGNED = "ASSIGNED"
    RESERVED = "RESERVED"
    KITTED = "KITTED"
    STAGED = "STAGED"
    ISSUED = "ISSUED"


class PartsAvailability(OpenEnum):
    PARTS_AVAILABLE = "PARTS_AVAILABLE"
    PARTS_UNAVAILABLE = "PARTS_UNAVAILABLE"
    PARTIAL_PARTS = "PARTIAL_PARTS"
    PARTS_AVAILABLE_BUT_OVERCOMMITTED = "PARTS_AVAILABLE_BUT_OVERCOMMITTED"


class WorkOrder(MaintainXModel):
    """A work order. Durations are seconds; ``extra_fields`` is keyed by custom-field label.

    Nested objects that only appear with ``expand`` (``asset``, ``location``, ``procedure``,
    ``parts``, ...) are kept as plain JSON values.
    """

    id: int
    sequential_id: int | None = None
    title: str | None = None
    status: WorkOrderStatus | None = None
    priority: WorkOrderPriority | None = None
    type: WorkOrderType | None = None
    description: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    completed_at: datetime | None = None
    deleted_at: datetime | None = None
    due_date: datetime | None = None
    due_date_is_full_day: bool | None = None
    start_date: datetime | None = None
    last_message_sent_at: datetime | None = None
    creator_id: int | None = None
    completer_id: int | None = None
    requester_id: int | None = None
    organization_id: int | None = None
    asset_id: int | None = None
    location_id: int | None = None
    parent_id: int | None = None
    next_id: int | None = None
    previous_id: int | None = None
    is_parent: bool | None = None
    estimated_time: int | None = None
    part_status: PartStatus | None = None
    parts_availability: PartsAvailability | None = None
    categories: list[str] | None = None
    assignee_ids: list[int] | None = None
    team_ids: list[int] | None = None
    vendor_ids: list[int] | None = None
    extra_fields: dict[str, Any] | None = None
    recurrence_info: dict[str, Any] | None = None
    external_data: Any = None
    #: ``{"content": ..., "summary": ...}``: the completion note and its generated summary
    work_order_summary: dict[str, Any] | None = None


class Comment(MaintainXModel):
    """A comment on a work order."""

    id: int
    author_id: int | None = None
    content: str | None = None
    created_at: datetime | None = None
