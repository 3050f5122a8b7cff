"""One client's membership of a fleet: the link to Redis and the shared stores built on it."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .._clock import SYSTEM_CLOCK, Clock
from .._events import EventBus
from ._breaker import RedisBreakerStore
from ._cache import RedisFallbackStore
from ._config import FleetConfig
from ._heartbeat import FleetHeartbeat
from ._keys import FleetKeys
from ._link import FleetLink, LinkStatus
from ._member import Member
from ._mitigations import FleetBoard, FleetView
from ._throttle import RedisThrottleStore

__all__ = ["Fleet", "FleetStatus"]


@dataclass(frozen=True)
class FleetStatus:
    """The fleet as this process sees it (``health()``/``diagnose()`` report it)."""

    name: str
    worker: str
    link: LinkStatus


class Fleet:
    """The fleet a client joined (``fleet=``): shared throttle and breaker state, and the link
    the other shared parts use. Redis failing never fails a call: see :class:`FleetLink`."""

    def __init__(
        self,
        config: FleetConfig,
        *,
        clock: Clock = SYSTEM_CLOCK,
        events: EventBus | None = None,
    ) -> None:
        self.config = config
        self.clock = clock
        self.events = events if events is not None else EventBus()
        self.keys = FleetKeys(config.name)
        self.link = FleetLink(config, clock=clock, events=self.events)
        #: The fleet's mitigations, workers and timeline; the heartbeat (``start_heartbeat``).
        self.board = FleetBoard(self.link, self.keys)
        self.heartbeat: FleetHeartbeat | None = None
        self.worker = Member.this_process()
        self.throttle_store = RedisThrottleStore(self.link, self.keys)
        self.breaker_store = RedisBreakerStore(
            self.link, self.keys, worker=self.worker.id, clock=clock
        )
        #: The shared fallback cache (set by :meth:`fallback_store`), or None.
        self.cache: RedisFallbackStore | None = None

    def fallback_store(self, max_stale: float) -> RedisFallbackStore | None:
        """The shared tier of the fallback cache (entries live ``max_stale`` seconds), or
        None when ``cache_max_bytes`` is 0."""
        if self.config.cache_max_bytes <= 0:
            return None
        self.cache = RedisFallbackStore(
            self.link, self.keys, ttl=max_stale, max_bytes=self.config.cache_max_bytes
        )
        return self.cache

    def status(self) -> FleetStatus:
        return FleetStatus(name=self.config.name, worker=self.worker.id, link=self.link.status())

    def start_heartbeat(self, apply: Callable[[FleetView], None]) -> FleetHeartbeat:
        """Start this worker's heartbeat (once): it beats now, then every
        ``config.heartbeat`` seconds, handing each read of the mitigations to ``apply``."""
        if self.heartbeat is None:
            self.heartbeat = FleetHeartbeat(
                self.board,
                self.worker,
                apply,
                interval=self.config.heartbeat,
                clock=self.clock,
                renew=self._renew_worker,
            )
            self.heartbeat.start()
        return self.heartbeat

    def _renew_worker(self) -> Member:
        """After ``fork()``: the child is a worker of its own."""
        self.worker = Member.this_process()
        return self.worker

    def close(self) -> None:
        if self.heartbeat is not None:
            self.heartbeat.stop()
        self.link.close()

    def __repr__(self) -> str:
        return f"Fleet({self.config.name!r}, {self.config.location!r}, {self.link.status().state})"
