"""``client.organizations``: list and iterate (the spec has no other organization route)."""

from __future__ import annotations

from typing_extensions import TypedDict, Unpack

from .._pagination import Page, SyncPager
from ..models.organizations import Organization
from ._base import Resource, ResourceSpec

__all__ = ["OrganizationListParams", "Organizations"]


class OrganizationListParams(TypedDict, total=False):
    """Parameters of ``GET /organizations`` (the spec has no filters)."""

    limit: int


ORGANIZATIONS = ResourceSpec(
    route="/organizations",
    list_key="organizations",
    item_key="organization",  # unused: there is no GET /organizations/{id}
    model=Organization,
)


class Organizations(Resource[Organization]):
    """The organizations the API key can reach, through
    :class:`~maintainx_resilient.MaintainXClient`. ``list(limit=1)`` is a cheap auth probe."""

    spec = ORGANIZATIONS

    def list(
        self, *, cursor: str | None = None, **params: Unpack[OrganizationListParams]
    ) -> Page[Organization]:
        """One page of organizations (``items``, ``next_cursor``)."""
        return self._list(params, cursor)

    def iter(self, **params: Unpack[OrganizationListParams]) -> SyncPager[Organization]:
        """Every organization, following ``nextCursor``."""
        return self._iter(params)
