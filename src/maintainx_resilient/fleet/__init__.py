"""Fleet mode: many processes, one rate budget, one breaker, one fallback cache and one set
of mitigations, shared through Redis (``fleet="redis://..."``). See ``docs/fleet.md``.

Names are imported on first use: a client that is not in a fleet never loads Redis's code."""

from __future__ import annotations

from typing import TYPE_CHECKING as _TYPE_CHECKING

from .._lazy import lazy_names as _lazy_names

if _TYPE_CHECKING:
    from ._breaker import RedisBreakerStore
    from ._cache import RedisFallbackStore, SharedCacheStats
    from ._config import FleetConfig, FleetOption
    from ._control import FleetControl, FleetReport
    from ._fleet import Fleet, FleetStatus
    from ._link import FleetLink, LinkStatus
    from ._member import Member
    from ._mitigations import FleetActor, FleetMitigation, FleetTimelineEntry, FleetWorker
    from ._throttle import RedisThrottleStore

_LAZY: dict[str, str] = {
    "Fleet": "._fleet",
    "FleetActor": "._mitigations",
    "FleetConfig": "._config",
    "FleetControl": "._control",
    "FleetLink": "._link",
    "FleetMitigation": "._mitigations",
    "FleetOption": "._config",
    "FleetReport": "._control",
    "FleetStatus": "._fleet",
    "FleetTimelineEntry": "._mitigations",
    "FleetWorker": "._mitigations",
    "LinkStatus": "._link",
    "Member": "._member",
    "RedisBreakerStore": "._breaker",
    "RedisFallbackStore": "._cache",
    "RedisThrottleStore": "._throttle",
    "SharedCacheStats": "._cache",
}

__all__ = [
    "Fleet",
    "FleetActor",
    "FleetConfig",
    "FleetControl",
    "FleetLink",
    "FleetMitigation",
    "FleetOption",
    "FleetReport",
    "FleetStatus",
    "FleetTimelineEntry",
    "FleetWorker",
    "LinkStatus",
    "Member",
    "RedisBreakerStore",
    "RedisFallbackStore",
    "RedisThrottleStore",
    "SharedCacheStats",
]


__getattr__, __dir__ = _lazy_names(__name__, _LAZY, __all__)
