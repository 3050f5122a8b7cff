"""Organizations: ``/organizations`` (the spec's "Organizations" tag; list only)."""

from __future__ import annotations

from ._base import MaintainXModel

__all__ = ["Organization"]


class Organization(MaintainXModel):
    """An organization the API key can reach (``x-organization-id`` takes its ``id``)."""

    id: int
    name: str | None = None
    time_zone: str | None = None
    image_url: str | None = None
    currency: str | None = None
    date_format_locale: str | None = None
