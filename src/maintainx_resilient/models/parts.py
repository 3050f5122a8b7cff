"""Parts (inventory): ``/parts`` (the spec's "Parts" tag)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ._base import MaintainXModel

__all__ = ["Part"]


class Part(MaintainXModel):
    """A part. ``unit_cost`` is in cents; quantities are whole units.

    ``locations`` lists the stock per location; ``vendors`` the vendor part numbers (on
    lists only with ``expand=vendors``).
    """

    id: int
    name: str | None = None
    description: str | None = None
    area: str | None = None
    barcode: str | None = None
    organization_id: int | None = None
    unit_cost: int | None = None
    available_quantity: int | None = None
    in_stock_quantity: int | None = None
    minimum_quantity: int | None = None
    maximum_quantity: int | None = None
    ordered_quantity: int | None = None
    reserved_quantity: int | None = None
    assigned_quantity: int | None = None
    committed_quantities: dict[str, Any] | None = None
    location_id: int | None = None
    locations: list[dict[str, Any]] | None = None
    part_types: list[str] | None = None
    asset_ids: list[int] | None = None
    team_ids: list[int] | None = None
    vendor_ids: list[int] | None = None
    vendors: list[dict[str, Any]] | None = None
    extra_fields: dict[str, Any] | None = None
    thumbnail: dict[str, Any] | None = None
    attachments: list[dict[str, Any]] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted_at: datetime | None = None
