"""``client.locations``: list, iterate, get, create, update, delete."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from typing_extensions import Required, TypedDict, Unpack

from .._pagination import Page, SyncPager
from ..models.locations import Location
from ._base import ItemResource, ResourceSpec, SyncSupport

__all__ = [
    "LocationCreateParams",
    "LocationListParams",
    "LocationUpdateParams",
    "Locations",
]

Expand = Literal["extra_fields", "team_ids", "vendor_ids", "barcode"]


class LocationListParams(TypedDict, total=False):
    """Filters of ``GET /locations``. Sequences are sent as repeated keys."""

    limit: int
    name: str
    custom_field_name: Sequence[str]
    expand: Sequence[Expand]


class _LocationFields(TypedDict, total=False):
    """The fields ``POST /locations`` and ``PATCH /locations/{id}`` share."""

    description: str | None
    address: str | None
    barcode: str | None
    parent_id: int | None
    vendor_ids: Sequence[int]
    extra_fields: Mapping[str, Any]


class LocationCreateParams(_LocationFields, total=False):
    """Body of ``POST /locations``."""

    name: Required[str]


class LocationUpdateParams(_LocationFields, total=False):
    """Body of ``PATCH /locations/{id}``."""

    name: str


LOCATIONS = ResourceSpec(
    route="/locations",
    list_key="locations",
    item_key="location",
    model=Location,
    sync=SyncSupport(incremental=False, by_created=False),
)


class Locations(ItemResource[Location]):
    """Locations through :class:`~maintainx_resilient.MaintainXClient`."""

    spec = LOCATIONS

    def list(
        self, *, cursor: str | None = None, **params: Unpack[LocationListParams]
    ) -> Page[Location]:
        """One page of locations (``items``, ``next_cursor``)."""
        return self._list(params, cursor)

    def iter(self, **params: Unpack[LocationListParams]) -> SyncPager[Location]:
        """Every matching location, following ``nextCursor`` with the same filters."""
        return self._iter(params)

    def create(
        self,
        *,
        extra_body: Mapping[str, Any] | None = None,
        skip_webhook: bool = False,
        idempotent: bool = False,
        **fields: Unpack[LocationCreateParams],
    ) -> int:
        """Create a location and return its id. Not retried unless ``idempotent`` is True."""
        return self._create(fields, extra_body, skip_webhook, idempotent)

    def update(
        self,
        id: int,
        *,
        extra_body: Mapping[str, Any] | None = None,
        skip_webhook: bool = False,
        **fields: Unpack[LocationUpdateParams],
    ) -> Location:
        """Change fields of a location; returns the updated location."""
        return self._update(id, fields, extra_body, skip_webhook)
