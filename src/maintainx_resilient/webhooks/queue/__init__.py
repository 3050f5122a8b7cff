"""Durable webhook queues: :class:`SqliteQueue` (embedded default) and :class:`RedisQueue`
(several instances), both behind the :class:`WebhookQueue` protocol.

:func:`open_queue` builds one from a URL, as the CLI and the environment variable
``MAINTAINX_WEBHOOK_QUEUE`` spell it:

- ``sqlite:///var/lib/app/webhooks.db`` (absolute path; ``sqlite:////...`` works too),
  ``sqlite:webhooks.db`` (relative) or a plain file path; ``?synchronous=NORMAL`` trades
  power-loss durability for speed;
- ``redis://host:6379/0?prefix=maintainx:webhook`` (also ``rediss://``, ``unix://``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from ..._clock import SYSTEM_CLOCK, Clock
from ._base import DEFAULT_DEDUPE_TTL, DEFAULT_LEASE, WebhookQueue
from ._committer import GroupCommitter
from .sqlite import SqliteQueue, Synchronous

if TYPE_CHECKING:
    from .redis import RedisQueue

__all__ = [
    "DEFAULT_DEDUPE_TTL",
    "DEFAULT_LEASE",
    "QUEUE_URL_ENV",
    "GroupCommitter",
    "RedisQueue",
    "SqliteQueue",
    "WebhookQueue",
    "open_queue",
    "queue_file",
]

#: The environment variable the CLI reads the queue URL from.
QUEUE_URL_ENV = "MAINTAINX_WEBHOOK_QUEUE"


def __getattr__(name: str) -> Any:
    if name == "RedisQueue":  # imported on use: the redis package is optional
        from .redis import RedisQueue

        return RedisQueue
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def queue_file(url: str) -> str | None:
    """The file an SQLite queue URL names; None for a Redis URL (or an unknown scheme)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme == "sqlite":
        path = parts.path if parts.netloc in ("", "localhost") else parts.netloc + parts.path
        if path.startswith("//"):  # sqlite:////abs/path (SQLAlchemy's spelling)
            path = "/" + path.lstrip("/")
        return path
    if scheme in ("", "file"):
        return parts.path
    return None


def open_queue(url: str, *, clock: Clock = SYSTEM_CLOCK) -> WebhookQueue:
    """The queue a URL names (see the module docstring)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    options = dict(parse_qsl(parts.query))
    if scheme in ("redis", "rediss", "unix"):
        from .redis import DEFAULT_KEY_PREFIX, RedisQueue

        prefix = options.pop("prefix", DEFAULT_KEY_PREFIX)
        group = options.pop("group", "workers")
        ttl = float(options.pop("dedupe_ttl", DEFAULT_DEDUPE_TTL))
        rest = urlunsplit(parts._replace(query=urlencode(options)))
        return RedisQueue(rest, prefix=prefix, group=group, dedupe_ttl=ttl, clock=clock)
    path = queue_file(url)
    if path is None:
        raise ValueError(f"unknown queue URL scheme {parts.scheme!r}: use sqlite:// or redis://")
    sync: Synchronous
    wanted = options.get("synchronous", "FULL").upper()
    if wanted == "FULL":
        sync = "FULL"
    elif wanted == "NORMAL":
        sync = "NORMAL"
    elif wanted == "EXTRA":
        sync = "EXTRA"
    else:
        raise ValueError("synchronous must be FULL, EXTRA or NORMAL")
    ttl = float(options.get("dedupe_ttl", DEFAULT_DEDUPE_TTL))
    return SqliteQueue(path, synchronous=sync, dedupe_ttl=ttl, clock=clock)
