"""Work requests: ``/workrequests`` (the spec's "Work Requests" tag)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ._base import MaintainXModel, OpenEnum

__all__ = ["WorkRequest", "WorkRequestPriority", "WorkRequestStatus"]


class WorkRequestStatus(OpenEnum):
    PENDING = "PENDING"
    REJECTED = "REJECTED"
    APPROVED = "APPROVED"
    DONE = "DONE"


class WorkRequestPriority(OpenEnum):
    NONE = "NONE"
    LOW = "LOW"
    MEDIUM = "MEDIUM"
    HIGH = "HIGH"


class WorkRequest(MaintainXModel):
    """A work request. Its status is ``request_status``; ``work_order_id`` is set once approved.

    ``asset``, ``location`` and ``work_order`` only appear with ``expand``. On create/update
    ``creator_contact_info`` is a string; here it is ``{"type": ..., "value": ...}``.
    """

    id: int
    title: str | None = None
    description: str | None = None
    priority: WorkRequestPriority | None = None
    request_status: WorkRequestStatus | None = None
    asset_id: int | None = None
    location_id: int | None = None
    work_order_id: int | None = None
    approver_team_id: int | None = None
    send_email_notification: bool | None = None
    creator_contact_info: dict[str, Any] | None = None
    extra_fields: dict[str, Any] | None = None
    thumbnail: dict[str, Any] | None = None
    attachments: list[dict[str, Any]] | None = None
    asset: dict[str, Any] | None = None
    location: dict[str, Any] | None = None
    work_order: dict[str, Any] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
