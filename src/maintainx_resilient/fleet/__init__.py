"""Fleet mode: many processes, one rate budget, one breaker, one fallback cache and one set
of mitigations, shared through Redis (``fleet="redis://..."``). See ``docs/fleet.md``."""

from ._breaker import RedisBreakerStore
from ._cache import RedisFallbackStore, SharedCacheStats
from ._config import FleetConfig, FleetOption
from ._fleet import Fleet, FleetStatus, Member
from ._link import FleetLink, LinkStatus
from ._throttle import RedisThrottleStore

__all__ = [
    "Fleet",
    "FleetConfig",
    "FleetLink",
    "FleetOption",
    "FleetStatus",
    "LinkStatus",
    "Member",
    "RedisBreakerStore",
    "RedisFallbackStore",
    "RedisThrottleStore",
    "SharedCacheStats",
]
