"""Fleet mode: many processes, one rate budget, one breaker, one fallback cache and one set
of mitigations, shared through Redis (``fleet="redis://..."``). See ``docs/fleet.md``.

Names are imported on first use: a client that is not in a fleet never loads Redis's code."""

from __future__ import annotations

import importlib as _importlib
from typing import TYPE_CHECKING as _TYPE_CHECKING
from typing import Any as _Any

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


def __getattr__(name: str) -> _Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(_importlib.import_module(module, __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(__all__) | {k for k in globals() if k.startswith("_")})
