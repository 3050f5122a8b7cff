"""Locations: ``/locations`` (the spec's "Locations" tag)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ._base import MaintainXModel

__all__ = ["Location"]


class Location(MaintainXModel):
    """A location (a site, a building, a floor...), possibly nested under ``parent_id``."""

    id: int
    name: str | None = None
    description: str | None = None
    address: str | None = None
    barcode: str | None = None
    organization_id: int | None = None
    parent_id: int | None = None
    children_ids: list[int] | None = None
    team_ids: list[int] | None = None
    vendor_ids: list[int] | None = None
    extra_fields: dict[str, Any] | None = None
    thumbnail: dict[str, Any] | None = None
    attachments: list[dict[str, Any]] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted_at: datetime | None = None
