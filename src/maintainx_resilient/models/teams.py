"""Teams: ``/teams`` (the spec's "Teams" tag)."""

from __future__ import annotations

from ._base import MaintainXModel

__all__ = ["Team"]


class Team(MaintainXModel):
    """A team. Lists carry only ``id`` and ``name``; ``get`` carries the rest."""

    id: int
    name: str | None = None
    description: str | None = None
    members_count: int | None = None
    asset_ids: list[int] | None = None
    location_ids: list[int] | None = None
