"""Fleet mode: many processes, one rate budget, one breaker, one fallback cache and one set
of mitigations, shared through Redis (``fleet="redis://..."``). See ``docs/fleet.md``."""

from ._breaker import RedisBreakerStore
from ._cache import RedisFallbackStore, SharedCacheStats
from ._config import FleetConfig, FleetOption
from ._control import FleetControl, FleetReport
from ._fleet import Fleet, FleetStatus
from ._link import FleetLink, LinkStatus
from ._member import Member
from ._mitigations import FleetActor, FleetMitigation, FleetTimelineEntry, FleetWorker
from ._throttle import RedisThrottleStore

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
