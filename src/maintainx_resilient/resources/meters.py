"""``client.meters``: list, iterate, get, create, update, delete."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, Literal

from typing_extensions import Required, TypedDict, Unpack

from .._pagination import Page, SyncPager
from ..models.meters import MeasurementType, Meter
from ._base import ItemResource, ResourceSpec

__all__ = [
    "MeterCreateParams",
    "MeterListParams",
    "MeterUpdateParams",
    "Meters",
]

Measurement = MeasurementType | Literal["MANUAL", "IOT_DEVICE", "AUTOMATED_SENSOR"]
Expand = Literal["asset", "location", "last_reading"]


class MeterListParams(TypedDict, total=False):
    """Filters of ``GET /meters``. Sequences are sent as repeated keys."""

    limit: int
    measurement_type: Measurement
    assets: Sequence[int]
    expand: Sequence[Expand]


class _MeterFields(TypedDict, total=False):
    """The fields ``POST /meters`` and ``PATCH /meters/{id}`` share."""

    description: str | None
    reading_frequency: Mapping[str, Any]
    asset_id: int | None
    location_id: int | None


class MeterCreateParams(_MeterFields, total=False):
    """Body of ``POST /meters``.

    ``reading_frequency`` is ``{"type": "DAILY", "interval": 1}`` (``days`` for WEEKLY,
    ``day`` for MONTHLY).
    """

    name: Required[str]
    unit: Required[str]
    measurement_type: Measurement


class MeterUpdateParams(_MeterFields, total=False):
    """Body of ``PATCH /meters/{id}`` (the measurement type cannot change)."""

    name: str
    unit: str


METERS = ResourceSpec(route="/meters", list_key="meters", item_key="meter", model=Meter)


class Meters(ItemResource[Meter]):
    """Meters through :class:`~maintainx_resilient.MaintainXClient`."""

    spec = METERS

    def list(self, *, cursor: str | None = None, **params: Unpack[MeterListParams]) -> Page[Meter]:
        """One page of meters (``items``, ``next_cursor``)."""
        return self._list(params, cursor)

    def iter(self, **params: Unpack[MeterListParams]) -> SyncPager[Meter]:
        """Every matching meter, following ``nextCursor`` with the same filters."""
        return self._iter(params)

    def get(self, id: int, *, expand: Sequence[Expand] | None = None) -> Meter:
        """One meter by id; ``expand`` adds ``asset``, ``location`` and ``last_reading``."""
        return self._run(self.spec.get_op(id, {"expand": expand}))

    def create(
        self,
        *,
        extra_body: Mapping[str, Any] | None = None,
        skip_webhook: bool = False,
        idempotent: bool = False,
        **fields: Unpack[MeterCreateParams],
    ) -> int:
        """Create a meter and return its id. Not retried unless ``idempotent`` is True."""
        return self._create(fields, extra_body, skip_webhook, idempotent)

    def update(
        self,
        id: int,
        *,
        extra_body: Mapping[str, Any] | None = None,
        skip_webhook: bool = False,
        **fields: Unpack[MeterUpdateParams],
    ) -> Meter:
        """Change fields of a meter; returns the updated meter."""
        return self._update(id, fields, extra_body, skip_webhook)
