"""Assets: ``/assets`` (the spec's "Assets" tag)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ._base import MaintainXModel, OpenEnum

__all__ = ["Asset", "AssetStatus", "AssetStatusRecord", "DowntimeType"]


class AssetStatus(OpenEnum):
    IGNORE = "IGNORE"
    OFFLINE = "OFFLINE"
    ONLINE = "ONLINE"


class DowntimeType(OpenEnum):
    PLANNED = "PLANNED"
    UNPLANNED = "UNPLANNED"


class AssetStatusRecord(MaintainXModel):
    """The asset's current status (``status``; on lists only with ``expand=status``)."""

    id: int | None = None
    status: AssetStatus | None = None
    downtime_type: DowntimeType | None = None
    started_at: datetime | None = None
    ended_at: datetime | None = None
    description: str | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted_at: datetime | None = None
    custom_status: dict[str, Any] | None = None
    custom_status_id: int | None = None


class Asset(MaintainXModel):
    """An asset (a machine, a vehicle, a room...).

    ``manufacturer`` and ``model`` are names here; on create/update they are objects
    ``{"id": ..., "name": ...}``. ``depreciation`` amounts are decimals, kept as JSON.
    """

    id: int
    name: str | None = None
    description: str | None = None
    barcode: str | None = None
    serial_number: str | None = None
    global_uuid: str | None = None
    organization_id: int | None = None
    creator_id: int | None = None
    current_owner_id: int | None = None
    criticality_id: int | None = None
    location_id: int | None = None
    parent_id: int | None = None
    children_ids: list[int] | None = None
    team_ids: list[int] | None = None
    vendor_ids: list[int] | None = None
    asset_types: list[str] | None = None
    manufacturer: str | None = None
    model: str | None = None
    status: AssetStatusRecord | None = None
    depreciation: dict[str, Any] | None = None
    extra_fields: dict[str, Any] | None = None
    thumbnail: dict[str, Any] | None = None
    attachments: list[dict[str, Any]] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted_at: datetime | None = None
