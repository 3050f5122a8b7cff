"""``client.assets``: list, iterate, get, create, update, delete."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from typing_extensions import Required, TypedDict, Unpack

from .._pagination import Page, SyncPager
from ..models.assets import Asset
from ._base import ItemResource, ResourceSpec, SyncSupport, TimeRangeParams

__all__ = [
    "AssetCreateParams",
    "AssetListParams",
    "AssetUpdateParams",
    "Assets",
]

Sort = Literal["id", "createdAt", "updatedAt", "-id", "-createdAt", "-updatedAt"]
Expand = Literal[
    "barcode",
    "team_ids",
    "asset_types",
    "extra_fields",
    "vendor_ids",
    "depreciation",
    "status",
    "manufacturer",
    "model",
]


class AssetListParams(TimeRangeParams, total=False):
    """Filters of ``GET /assets``. Sequences are sent as repeated keys."""

    limit: int
    location_id: int
    manufacturer: Sequence[str]
    model: Sequence[str]
    custom_field_name: Sequence[str]
    sort: Sort
    expand: Sequence[Expand]


class _AssetFields(TypedDict, total=False):
    """The fields ``POST /assets`` and ``PATCH /assets/{id}`` share."""

    description: str | None
    barcode: str | None
    serial_number: str | None
    criticality_id: int | None
    parent_id: int | None
    location_id: int | None
    team_ids: Sequence[int]
    vendor_ids: Sequence[int]
    asset_types: Sequence[str]
    extra_fields: Mapping[str, Any]
    depreciation: Mapping[str, Any]
    manufacturer: Mapping[str, Any]
    model: Mapping[str, Any]


class AssetCreateParams(_AssetFields, total=False):
    """Body of ``POST /assets``. ``manufacturer`` and ``model`` are ``{"id"?, "name"?}``."""

    name: Required[str]


class AssetUpdateParams(_AssetFields, total=False):
    """Body of ``PATCH /assets/{id}``."""

    name: str


ASSETS = ResourceSpec(
    route="/assets",
    list_key="assets",
    item_key="asset",
    model=Asset,
    sync=SyncSupport(offset_paged=True),
)


class Assets(ItemResource[Asset]):
    """Assets through :class:`~maintainx_resilient.MaintainXClient`."""

    spec = ASSETS

    def list(self, *, cursor: str | None = None, **params: Unpack[AssetListParams]) -> Page[Asset]:
        """One page of assets (``items``, ``next_cursor``)."""
        return self._list(params, cursor)

    def iter(self, **params: Unpack[AssetListParams]) -> SyncPager[Asset]:
        """Every matching asset, following ``nextCursor`` with the same filters."""
        return self._iter(params)

    def create(
        self,
        *,
        extra_body: Mapping[str, Any] | None = None,
        skip_webhook: bool = False,
        idempotent: bool = False,
        **fields: Unpack[AssetCreateParams],
    ) -> int:
        """Create an asset and return its id. Not retried unless ``idempotent`` is True."""
        return self._create(fields, extra_body, skip_webhook, idempotent)

    def update(
        self,
        id: int,
        *,
        extra_body: Mapping[str, Any] | None = None,
        skip_webhook: bool = False,
        **fields: Unpack[AssetUpdateParams],
    ) -> Asset:
        """Change fields of an asset; returns the updated asset."""
        return self._update(id, fields, extra_body, skip_webhook)
