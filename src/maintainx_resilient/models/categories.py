"""Work-order categories: ``/categories`` (the spec's "Categories" tag)."""

from __future__ import annotations

from datetime import datetime

from ._base import MaintainXModel

__all__ = ["Category"]


class Category(MaintainXModel):
    """A work-order category (its name is ``label``)."""

    id: int
    label: str | None = None
    description: str | None = None
    work_order_count: int | None = None
    updated_at: datetime | None = None
