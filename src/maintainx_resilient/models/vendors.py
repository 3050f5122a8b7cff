"""Vendors: ``/vendors`` (the spec's "Vendors" tag)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ._base import MaintainXModel

__all__ = ["Vendor"]


class Vendor(MaintainXModel):
    """A vendor. Lists carry only ``id``, ``name`` and ``extra_fields``."""

    id: int
    name: str | None = None
    description: str | None = None
    emails: list[str] | None = None
    phone_numbers: list[str] | None = None
    contact_ids: list[int] | None = None
    extra_fields: dict[str, Any] | None = None
    thumbnail: dict[str, Any] | None = None
    attachments: list[dict[str, Any]] | None = None
    deleted_at: datetime | None = None
