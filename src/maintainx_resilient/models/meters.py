"""Meters: ``/meters`` (the spec's "Meters" tag)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from ._base import MaintainXModel, OpenEnum

__all__ = ["MeasurementType", "Meter", "ReadingFrequency", "ReadingFrequencyType"]


class MeasurementType(OpenEnum):
    MANUAL = "MANUAL"
    IOT_DEVICE = "IOT_DEVICE"
    AUTOMATED_SENSOR = "AUTOMATED_SENSOR"


class ReadingFrequencyType(OpenEnum):
    """How often a meter is read. ``MINUTLY`` is spelt as the spec spells it."""

    SECONDLY = "SECONDLY"
    MINUTLY = "MINUTLY"
    HOURLY = "HOURLY"
    DAILY = "DAILY"
    WEEKLY = "WEEKLY"
    MONTHLY = "MONTHLY"
    YEARLY = "YEARLY"


class ReadingFrequency(MaintainXModel):
    """Every ``interval`` ``type`` units; ``days`` (WEEKLY) and ``day`` (MONTHLY) refine it."""

    type: ReadingFrequencyType | None = None
    interval: int | None = None
    days: list[str] | None = None
    day: int | None = None


class Meter(MaintainXModel):
    """A meter on an asset or a location. ``asset``, ``location`` and ``last_reading`` only
    appear with ``expand``."""

    id: int
    name: str | None = None
    description: str | None = None
    unit: str | None = None
    uuid: str | None = None
    measurement_type: MeasurementType | None = None
    reading_frequency: ReadingFrequency | None = None
    asset_id: int | None = None
    location_id: int | None = None
    creator_id: int | None = None
    updater_id: int | None = None
    asset: dict[str, Any] | None = None
    location: dict[str, Any] | None = None
    last_reading: dict[str, Any] | None = None
    created_at: datetime | None = None
    updated_at: datetime | None = None
    deleted_at: datetime | None = None
