"""The fleet's Redis, behind a breaker of its own: Redis failing is never an outage.

Every fleet operation goes through :meth:`FleetLink.call` with a local fallback. A Redis
error (refused, reset, timed out after ``FleetConfig.timeout``, an unexpected reply) switches
the process to its local state at once, with a :class:`~maintainx_resilient.FleetStateChanged`
event (logged as a warning, and a finding of ``diagnose()``); from then on Redis is out of
the path, costing nothing, and one caller per ``retry_interval`` tries it again. The first
success rejoins the fleet.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeGuard, TypeVar

from .._clock import SYSTEM_CLOCK, Clock
from .._events import EventBus, FleetStateChanged
from .._exceptions import ConfigurationError
from ._config import FleetConfig, redacted_url

if TYPE_CHECKING:
    import redis

__all__ = ["Contended", "FleetLink", "LinkStatus", "connect_redis"]


class Contended(Exception):
    """Other processes kept changing a shared record (a WATCH or compare-and-set kept
    failing) for longer than the caller's contention budget."""


T = TypeVar("T")
logger = logging.getLogger("maintainx_resilient")

_REDIS_HINT = (
    "fleet mode needs the redis package: pip install 'maintainx-resilient[redis]' "
    "(redis-py 5.0 or later)"
)


def connect_redis(config: FleetConfig) -> tuple[Any, bool]:
    """The redis-py client of ``config`` and whether we own it (and close it). Ours has no
    hidden retries and ``config.timeout`` on connect and every command."""
    try:
        import redis as redis_module
        from redis.backoff import NoBackoff
        from redis.retry import Retry
    except ImportError:  # pragma: no cover - the test environment has redis
        raise ConfigurationError(_REDIS_HINT) from None
    if config.redis is not None:
        return config.redis, False
    url = config.url or ""
    settings: dict[str, Any] = {
        "socket_timeout": config.timeout,
        "socket_connect_timeout": config.timeout,
        "retry": Retry(NoBackoff(), 0),
        "health_check_interval": 0,
    }
    try:
        if "+cluster://" in url:
            from redis.cluster import RedisCluster

            plain = url.replace("+cluster://", "://", 1)
            return RedisCluster.from_url(plain, **settings), True
        return redis_module.Redis.from_url(url, **settings), True
    except (ValueError, TypeError) as exc:
        raise ConfigurationError(
            f"fleet URL {redacted_url(url)!r} is not a Redis URL redis-py understands: "
            f"{type(exc).__name__}"
        ) from None


@dataclass(frozen=True)
class LinkStatus:
    """The state of one process's link to the fleet."""

    #: "joined" (Redis answers) or "local" (Redis failed: this process uses its own state)
    state: str
    #: where the fleet's Redis is (no password)
    location: str
    #: Unix time the link went local (None while joined)
    local_since: float | None
    #: why it went local (the error's type and message, no secrets)
    last_error: str
    #: times the link went local since the client started
    outages: int
    #: calls answered from local state because Redis was out
    local_calls: int


class FleetLink:
    """A redis-py client with a local breaker around it. Thread-safe."""

    def __init__(
        self,
        config: FleetConfig,
        *,
        clock: Clock = SYSTEM_CLOCK,
        events: EventBus | None = None,
        client: Any = None,
    ) -> None:
        import redis as redis_module

        self.config = config
        self.clock = clock
        self.events = events if events is not None else EventBus()
        if client is None:
            client, self._owns = connect_redis(config)
        else:
            self._owns = False
        self.redis: redis.Redis = client
        self._errors: tuple[type[BaseException], ...] = (redis_module.RedisError, OSError)
        self._lock = threading.Lock()
        self._local_since: float | None = None  # monotonic
        self._local_wall: float | None = None
        self._retry_at = 0.0
        self._last_error = ""
        self._outages = 0
        self._local_calls = 0

    @property
    def joined(self) -> bool:
        """True while Redis answers."""
        return self._local_since is None

    def call(self, work: Callable[[redis.Redis], T], local: Callable[[], T]) -> T:
        """``work(redis)``, or ``local()`` when Redis is out (or fails now). Errors of
        ``work`` other than Redis's propagate (and do not count against Redis)."""
        if self._local_since is not None and not self._may_try():
            self._local_calls += 1
            return local()
        try:
            result = work(self.redis)
        except self._errors as exc:
            self._failed(exc)
            self._local_calls += 1
            return local()
        if self._local_since is not None:
            self._rejoined()
        return result

    def _may_try(self) -> bool:
        """While local: True for one caller per ``retry_interval``."""
        now = self.clock.monotonic()
        with self._lock:
            if now < self._retry_at:
                return False
            self._retry_at = now + self.config.retry_interval
            return True

    def _failed(self, exc: BaseException) -> None:
        detail = f"{type(exc).__name__}: {_safe(str(exc))}"
        clock = self.clock
        with self._lock:
            self._last_error = detail
            self._retry_at = clock.monotonic() + self.config.retry_interval
            if self._local_since is not None:
                return
            self._local_since = clock.monotonic()
            self._local_wall = clock.time()
            self._outages += 1
        logger.warning(
            "maintainx_resilient fleet: Redis at %s failed (%s); this process runs on its "
            "own state until Redis answers again",
            self.config.location,
            detail,
        )
        self.events.emit(
            FleetStateChanged(
                at=clock.monotonic(), wall=clock.time(), old="joined", new="local", detail=detail
            )
        )

    def _rejoined(self) -> None:
        clock = self.clock
        with self._lock:
            since = self._local_since
            if since is None:
                return
            self._local_since = None
            self._local_wall = None
        away = clock.monotonic() - since
        logger.warning(
            "maintainx_resilient fleet: Redis at %s answers again; rejoined the fleet after "
            "%.1f s on local state",
            self.config.location,
            away,
        )
        self.events.emit(
            FleetStateChanged(
                at=clock.monotonic(),
                wall=clock.time(),
                old="local",
                new="joined",
                detail=f"Redis answered after {away:.1f} s",
            )
        )

    def status(self) -> LinkStatus:
        return LinkStatus(
            state="joined" if self._local_since is None else "local",
            location=self.config.location,
            local_since=self._local_wall,
            last_error=self._last_error,
            outages=self._outages,
            local_calls=self._local_calls,
        )

    def close(self) -> None:
        """Close the Redis client if we made it."""
        if self._owns:
            with contextlib.suppress(*self._errors):
                self.redis.close()

    def __repr__(self) -> str:
        return f"FleetLink({self.config.location!r}, {self.status().state})"


def finite(value: object) -> TypeGuard[int | float]:
    """Whether ``value`` is a finite number (a bool is not one)."""
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def stored_object(raw: bytes | str | None) -> dict[str, Any] | None:
    """The JSON object a fleet record holds; None when the record is absent, not JSON (nor
    UTF-8), nested too deep, or not an object."""
    if raw is None:
        return None
    try:
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None
    return data if isinstance(data, dict) else None


def _safe(message: str) -> str:
    """An error message without anything that looks like a URL's password."""
    if "://" in message:
        return " ".join(redacted_url(w) if "://" in w else w for w in message.split())
    return message[:200]
