"""``client.categories``: list, iterate, get, create, update, delete."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from typing_extensions import Required, TypedDict, Unpack

from .._pagination import Page, SyncPager
from ..models.categories import Category
from ._base import ItemResource, ResourceSpec

__all__ = [
    "Categories",
    "CategoryCreateParams",
    "CategoryListParams",
    "CategoryUpdateParams",
]


class CategoryListParams(TypedDict, total=False):
    """Parameters of ``GET /categories`` (the spec has no filters)."""

    limit: int


class CategoryCreateParams(TypedDict, total=False):
    """Body of ``POST /categories``."""

    label: Required[str]
    description: str


class CategoryUpdateParams(TypedDict, total=False):
    """Body of ``PATCH /categories/{id}``."""

    label: str
    description: str


CATEGORIES = ResourceSpec(
    route="/categories", list_key="categories", item_key="category", model=Category
)


class Categories(ItemResource[Category]):
    """Categories through :class:`~maintainx_resilient.MaintainXClient`."""

    spec = CATEGORIES

    def list(
        self, *, cursor: str | None = None, **params: Unpack[CategoryListParams]
    ) -> Page[Category]:
        """One page of categories (``items``, ``next_cursor``)."""
        return self._list(params, cursor)

    def iter(self, **params: Unpack[CategoryListParams]) -> SyncPager[Category]:
        """Every matching category, following ``nextCursor`` with the same filters."""
        return self._iter(params)

    def create(
        self,
        *,
        extra_body: Mapping[str, Any] | None = None,
        skip_webhook: bool = False,
        idempotent: bool = False,
        **fields: Unpack[CategoryCreateParams],
    ) -> int:
        """Create a category and return its id. Not retried unless ``idempotent`` is True."""
        return self._create(fields, extra_body, skip_webhook, idempotent)

    def update(
        self,
        id: int,
        *,
        extra_body: Mapping[str, Any] | None = None,
        skip_webhook: bool = False,
        **fields: Unpack[CategoryUpdateParams],
    ) -> Category:
        """Change fields of a category; returns the updated category."""
        return self._update(id, fields, extra_body, skip_webhook)
