"""Fleet mode's one switch: where the fleet's Redis is and what the fleet is called.

``fleet=`` (client keyword), ``MAINTAINX_FLEET`` (environment) and ``--fleet`` (CLI) take the
same values: a Redis URL (``redis://``, ``rediss://``, ``unix://``; ``redis+cluster://`` for
Redis Cluster), a redis-py client you already have (``redis.Redis``, a Sentinel's
``master_for(...)``, ``redis.cluster.RedisCluster``), or a :class:`FleetConfig`.
``MAINTAINX_FLEET_NAME`` names the fleet (processes with the same Redis and name share one
budget, breaker, cache and set of mitigations).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Union
from urllib.parse import urlsplit, urlunsplit

from .._exceptions import ConfigurationError

if TYPE_CHECKING:
    import redis
    import redis.cluster

__all__ = [
    "DEFAULT_CACHE_MAX_BYTES",
    "DEFAULT_FLEET_NAME",
    "DEFAULT_FLEET_TIMEOUT",
    "DEFAULT_HEARTBEAT",
    "DEFAULT_RETRY_INTERVAL",
    "FleetConfig",
    "FleetOption",
    "env_fleet_name",
    "redacted_url",
    "resolve_fleet",
]

#: Every Redis command of fleet mode gives up after this long: a slow or hung Redis costs a
#: call at most about this much once, then the local breaker keeps Redis out of the path.
DEFAULT_FLEET_TIMEOUT = 0.05
#: While Redis is unreachable, one caller tries it again this often (then the fleet rejoins).
DEFAULT_RETRY_INTERVAL = 1.0
#: Each worker reads the fleet's mitigations and says it is alive this often.
DEFAULT_HEARTBEAT = 0.5
#: The shared fallback cache holds at most this many bytes of answers.
DEFAULT_CACHE_MAX_BYTES = 64 * 1024 * 1024
DEFAULT_FLEET_NAME = "default"

_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")
_SCHEMES = ("redis", "rediss", "unix", "redis+cluster", "rediss+cluster")


def redacted_url(url: str) -> str:
    """``url`` without its password (the user name stays; the password becomes ``***``)."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "<unparseable Redis URL>"
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    netloc = f"{user}:***@{host}{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


@dataclass(frozen=True)
class FleetConfig:
    """Fleet mode settings (client keyword ``fleet=``).

    Give ``url`` or ``redis`` (a client you own and close; its own timeouts apply, so give it
    ``socket_timeout=0.05``). ``name``: processes using the same Redis and name form one
    fleet (every key starts ``mx:{name}:``). ``timeout``: each Redis command's bound.
    ``retry_interval``: how often a process tries Redis again while it is down.
    ``heartbeat``: how often each worker applies the fleet's mitigations and reports alive.
    ``cache_max_bytes``: the shared fallback cache's size cap.
    """

    url: str | None = None
    redis: redis.Redis | redis.cluster.RedisCluster | None = field(default=None, repr=False)
    name: str = DEFAULT_FLEET_NAME
    timeout: float = DEFAULT_FLEET_TIMEOUT
    retry_interval: float = DEFAULT_RETRY_INTERVAL
    heartbeat: float = DEFAULT_HEARTBEAT
    cache_max_bytes: int = DEFAULT_CACHE_MAX_BYTES

    def __post_init__(self) -> None:
        if (self.url is None) == (self.redis is None):
            raise ConfigurationError(
                "FleetConfig needs a Redis URL (url='redis://host:6379/0') or a redis-py "
                "client (redis=...), exactly one of them"
            )
        if self.url is not None:
            scheme = self.url.split("://", 1)[0].lower() if "://" in self.url else ""
            if scheme not in _SCHEMES:
                raise ConfigurationError(
                    f"fleet URL must start with one of {', '.join(s + '://' for s in _SCHEMES)}"
                    f", got {redacted_url(self.url)!r}"
                )
        if not isinstance(self.name, str) or not _NAME.match(self.name):
            raise ConfigurationError(
                "fleet name must be 1-64 letters, digits, '_', '.' or '-' (it is part of "
                f"every Redis key), got {self.name!r}"
            )
        for attr in ("timeout", "retry_interval", "heartbeat"):
            value = getattr(self, attr)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ConfigurationError(f"FleetConfig.{attr} must be > 0 seconds, got {value!r}")
        if self.timeout > 5:
            raise ConfigurationError(
                f"FleetConfig.timeout is each Redis command's bound; {self.timeout!r} s would "
                "let a slow Redis stall calls to MaintainX (keep it well under 1 s)"
            )
        cap = self.cache_max_bytes
        if isinstance(cap, bool) or not isinstance(cap, int) or cap < 0:
            raise ConfigurationError(
                f"FleetConfig.cache_max_bytes must be a whole number of bytes >= 0 (0: no "
                f"shared cache), got {cap!r}"
            )

    @property
    def location(self) -> str:
        """Where the fleet's Redis is, safe to show (no password)."""
        if self.url is not None:
            return redacted_url(self.url)
        return _client_location(self.redis)

    def __repr__(self) -> str:
        where = self.location
        return f"FleetConfig({where!r}, name={self.name!r}, timeout={self.timeout!r})"


def _client_location(client: object) -> str:
    pool = getattr(client, "connection_pool", None)
    kwargs: Mapping[str, object] = getattr(pool, "connection_kwargs", None) or {}
    if "path" in kwargs:
        return f"unix://{kwargs['path']}"
    if "host" in kwargs:
        return f"redis://{kwargs['host']}:{kwargs.get('port', 6379)}/{kwargs.get('db', 0)}"
    return f"<{type(client).__name__}>"


#: What ``fleet=`` accepts.
FleetOption = Union[str, FleetConfig, "redis.Redis", "redis.cluster.RedisCluster", None]


def resolve_fleet(value: object, environ: Mapping[str, str]) -> FleetConfig | None:
    """The fleet a client joins: ``value`` (a URL, a redis-py client or a
    :class:`FleetConfig`), or ``MAINTAINX_FLEET`` / ``MAINTAINX_FLEET_NAME`` when ``value``
    is the string ``"env"``; None: no fleet."""
    if value == "env":
        url = environ.get("MAINTAINX_FLEET", "").strip()
        return FleetConfig(url=url, name=env_fleet_name(environ)) if url else None
    if value is None or isinstance(value, FleetConfig):
        return value
    if isinstance(value, str):
        if not value.strip():
            return None
        return FleetConfig(url=value.strip(), name=env_fleet_name(environ))
    if callable(getattr(value, "execute_command", None)):
        return FleetConfig(redis=value, name=env_fleet_name(environ))  # type: ignore[arg-type]
    raise ConfigurationError(
        f"fleet= takes a Redis URL, a redis-py client or a FleetConfig, got {type(value).__name__}"
    )


def env_fleet_name(environ: Mapping[str, str]) -> str:
    """``MAINTAINX_FLEET_NAME``, or ``"default"`` when it is unset. Set but empty is a
    :class:`~maintainx_resilient.ConfigurationError`: an unset variable in
    ``MAINTAINX_FLEET_NAME=$FLEET`` must not quietly act on the ``default`` fleet."""
    name = environ.get("MAINTAINX_FLEET_NAME")
    if name is None:
        return DEFAULT_FLEET_NAME
    if not name.strip():
        raise ConfigurationError(
            "MAINTAINX_FLEET_NAME is set but empty: give the fleet's name (1-64 letters, "
            f"digits, '_', '.' or '-'), or unset it for the {DEFAULT_FLEET_NAME!r} fleet"
        )
    return name.strip()
