"""``client.vendors``: list, iterate, get, create, update, delete."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from typing_extensions import Required, TypedDict, Unpack

from .._pagination import Page, SyncPager
from ..models.vendors import Vendor
from ._base import ItemResource, ResourceSpec

__all__ = [
    "VendorCreateParams",
    "VendorListParams",
    "VendorUpdateParams",
    "Vendors",
]

Expand = Literal["extra_fields"]


class VendorListParams(TypedDict, total=False):
    """Filters of ``GET /vendors``. Sequences are sent as repeated keys."""

    limit: int
    custom_field_name: Sequence[str]
    expand: Sequence[Expand]


class VendorCreateParams(TypedDict, total=False):
    """Body of ``POST /vendors``."""

    name: Required[str]
    description: str | None
    emails: Sequence[str]
    phone_numbers: Sequence[str]
    extra_fields: Mapping[str, Any]


class VendorUpdateParams(TypedDict, total=False):
    """Body of ``PATCH /vendors/{id}`` (the spec has no emails or phone numbers here)."""

    name: str
    description: str | None
    extra_fields: Mapping[str, Any]


VENDORS = ResourceSpec(route="/vendors", list_key="vendors", item_key="vendor", model=Vendor)


class Vendors(ItemResource[Vendor]):
    """Vendors through :class:`~maintainx_resilient.MaintainXClient`."""

    spec = VENDORS

    def list(
        self, *, cursor: str | None = None, **params: Unpack[VendorListParams]
    ) -> Page[Vendor]:
        """One page of vendors (``items``, ``next_cursor``)."""
        return self._list(params, cursor)

    def iter(self, **params: Unpack[VendorListParams]) -> SyncPager[Vendor]:
        """Every matching vendor, following ``nextCursor`` with the same filters."""
        return self._iter(params)

    def create(
        self,
        *,
        extra_body: Mapping[str, Any] | None = None,
        skip_webhook: bool = False,
        idempotent: bool = False,
        **fields: Unpack[VendorCreateParams],
    ) -> int:
        """Create a vendor and return its id. Not retried unless ``idempotent`` is True."""
        return self._create(fields, extra_body, skip_webhook, idempotent)

    def update(
        self,
        id: int,
        *,
        extra_body: Mapping[str, Any] | None = None,
        skip_webhook: bool = False,
        **fields: Unpack[VendorUpdateParams],
    ) -> Vendor:
        """Change fields of a vendor; returns the updated vendor."""
        return self._update(id, fields, extra_body, skip_webhook)
