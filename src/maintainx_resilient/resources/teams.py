"""``client.teams``: list, iterate, get, create, update, delete."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from typing_extensions import Required, TypedDict, Unpack

from .._pagination import Page, SyncPager
from ..models.teams import Team
from ._base import ItemResource, ResourceSpec

__all__ = [
    "TeamCreateParams",
    "TeamListParams",
    "TeamUpdateParams",
    "Teams",
]


class TeamListParams(TypedDict, total=False):
    """Parameters of ``GET /teams`` (the spec has no filters)."""

    limit: int


class TeamCreateParams(TypedDict, total=False):
    """Body of ``POST /teams``."""

    name: Required[str]
    description: str
    asset_ids: Sequence[int]
    location_ids: Sequence[int]
    member_ids: Sequence[int]


class TeamUpdateParams(TypedDict, total=False):
    """Body of ``PATCH /teams/{id}`` (members are managed under ``/teams/{id}/members``)."""

    name: str
    description: str
    asset_ids: Sequence[int]
    location_ids: Sequence[int]


TEAMS = ResourceSpec(route="/teams", list_key="teams", item_key="team", model=Team)


class Teams(ItemResource[Team]):
    """Teams through :class:`~maintainx_resilient.MaintainXClient`."""

    spec = TEAMS

    def list(self, *, cursor: str | None = None, **params: Unpack[TeamListParams]) -> Page[Team]:
        """One page of teams (``items``, ``next_cursor``)."""
        return self._list(params, cursor)

    def iter(self, **params: Unpack[TeamListParams]) -> SyncPager[Team]:
        """Every matching team, following ``nextCursor`` with the same filters."""
        return self._iter(params)

    def create(
        self,
        *,
        extra_body: Mapping[str, Any] | None = None,
        skip_webhook: bool = False,
        idempotent: bool = False,
        **fields: Unpack[TeamCreateParams],
    ) -> int:
        """Create a team and return its id. Not retried unless ``idempotent`` is True."""
        return self._create(fields, extra_body, skip_webhook, idempotent)

    def update(
        self,
        id: int,
        *,
        extra_body: Mapping[str, Any] | None = None,
        skip_webhook: bool = False,
        **fields: Unpack[TeamUpdateParams],
    ) -> Team:
        """Change fields of a team; returns the updated team."""
        return self._update(id, fields, extra_body, skip_webhook)
