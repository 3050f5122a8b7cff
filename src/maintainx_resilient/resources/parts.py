"""``client.parts``: list, iterate, get, create, update, delete."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from typing_extensions import Required, TypedDict, Unpack

from .._pagination import Page, SyncPager
from ..models.parts import Part
from ._base import ItemResource, ResourceSpec, SyncSupport, TimeRangeParams

__all__ = [
    "PartCreateParams",
    "PartListParams",
    "PartUpdateParams",
    "Parts",
]

Sort = Literal["id", "createdAt", "updatedAt", "-id", "-createdAt", "-updatedAt"]
Expand = Literal["extra_fields", "vendors"]


class PartListParams(TimeRangeParams, total=False):
    """Filters of ``GET /parts``. Sequences are sent as repeated keys."""

    limit: int
    part_number: Sequence[str]
    custom_field_name: Sequence[str]
    sort: Sort
    expand: Sequence[Expand]


class _PartFields(TypedDict, total=False):
    """The fields ``POST /parts`` and ``PATCH /parts/{id}`` share."""

    description: str | None
    area: str | None
    barcode: str | None
    unit_cost: int | None
    available_quantity: int
    minimum_quantity: int
    assigned_quantity: int
    committed_quantities: Mapping[str, int]
    location_id: int | None
    part_types: Sequence[str]
    asset_ids: Sequence[int]
    team_ids: Sequence[int]
    vendor_ids: Sequence[int]
    vendors: Sequence[Mapping[str, Any]]
    extra_fields: Mapping[str, Any]


class PartCreateParams(_PartFields, total=False):
    """Body of ``POST /parts``. ``unit_cost`` is in cents.

    ``locations`` is a list of ``{"locationId", "availableQuantity", ...}``; ``vendors`` a list
    of ``{"vendorId", "partNumber"}``.
    """

    name: Required[str]
    locations: Sequence[Mapping[str, Any]]


class PartUpdateParams(_PartFields, total=False):
    """Body of ``PATCH /parts/{id}``.

    Unlike create, ``locations`` is ``{"addedUpdated": [...], "removedLocationIds": [...]}``.
    """

    name: str
    locations: Mapping[str, Any]


PARTS = ResourceSpec(
    route="/parts",
    list_key="parts",
    item_key="part",
    model=Part,
    sync=SyncSupport(offset_paged=True),
)


class Parts(ItemResource[Part]):
    """Parts through :class:`~maintainx_resilient.MaintainXClient`."""

    spec = PARTS

    def list(self, *, cursor: str | None = None, **params: Unpack[PartListParams]) -> Page[Part]:
        """One page of parts (``items``, ``next_cursor``)."""
        return self._list(params, cursor)

    def iter(self, **params: Unpack[PartListParams]) -> SyncPager[Part]:
        """Every matching part, following ``nextCursor`` with the same filters."""
        return self._iter(params)

    def create(
        self,
        *,
        extra_body: Mapping[str, Any] | None = None,
        skip_webhook: bool = False,
        idempotent: bool = False,
        **fields: Unpack[PartCreateParams],
    ) -> int:
        """Create a part and return its id. Not retried unless ``idempotent`` is True."""
        return self._create(fields, extra_body, skip_webhook, idempotent)

    def update(
        self,
        id: int,
        *,
        extra_body: Mapping[str, Any] | None = None,
        skip_webhook: bool = False,
        **fields: Unpack[PartUpdateParams],
    ) -> Part:
        """Change fields of a part; returns the updated part."""
        return self._update(id, fields, extra_body, skip_webhook)
