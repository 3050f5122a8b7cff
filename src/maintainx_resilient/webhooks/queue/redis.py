"""The shared queue for several instances: Redis Streams with a consumer group.

Keys (``prefix`` defaults to ``maintainx:webhook``, the runbook's namespace):

- ``<prefix>:queue``: the stream; one entry per event waiting or in flight (fields ``key``,
  ``route``, ``type``, ``sub``, ``at``, ``body``, ``attempt``, ``error``, ``deliveries``).
  Consumer group ``workers``; an entry is deleted when it is acknowledged.
- ``<prefix>:seen:<key>``: a dedupe key, ``SET NX`` with the dedupe TTL.
- ``<prefix>:delayed`` (sorted set, score = due time) and ``<prefix>:delayed:<token>``
  (hash): events waiting for a retry; moved back to the stream when due.
- ``<prefix>:failed`` (sorted set, score = failure time) and ``<prefix>:failed:<id>``
  (hash): dead letters.
- ``<prefix>:paused``: ``1`` while processing is paused.

Every state change that touches several keys is one Lua script, so it is atomic: the dedupe
check and the ``XADD``, the ``XACK`` and the move to the delayed or dead set. A consumer that
dies keeps its entries in the group's pending list; ``claim`` takes over entries idle longer
than the lease (``XAUTOCLAIM``), and ``recover`` (a restart under the same consumer name)
makes them claimable at once. Durability is the server's: run Redis with ``appendonly yes``
(``appendfsync everysec`` loses at most a second of acknowledged events on a power cut,
``always`` none) when acknowledged events must survive a Redis restart.

Values are bytes and numbers only; nothing is pickled.

**Every call is bounded.** A client built from a URL gets ``socket_timeout`` and
``socket_connect_timeout`` of ``timeout`` (1 s) and no hidden retries (redis-py 5 would wait
forever on a server that hangs, redis-py 6+ retries 10 times over 5 s timeouts): the receiver
answers 503 and MaintainX retries, workers back off and reconnect. A Redis error comes out as
:class:`~maintainx_resilient.StorageError` (``kind`` ``unavailable``, ``timeout`` or
``error``) naming the server (never its password). A Redis restarted without persistence lost
the consumer group: ``claim`` and ``recover`` create it again.
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Callable, Mapping, Sequence
from typing import TYPE_CHECKING, Any, Concatenate, ParamSpec, TypeVar

from ..._clock import SYSTEM_CLOCK, Clock
from ..._deprecated import renamed
from ..._exceptions import StorageError
from ..records import DeadLetter, Delivery, Envelope, QueueStats
from ._base import DEFAULT_DEDUPE_TTL, DEFAULT_LEASE

if TYPE_CHECKING:
    import redis

__all__ = ["DEFAULT_KEY_PREFIX", "DEFAULT_REDIS_TIMEOUT", "RedisQueue"]

logger = logging.getLogger("maintainx_resilient.webhooks")

DEFAULT_KEY_PREFIX = "maintainx:webhook"
#: Seconds any one Redis command (and connecting) may take, for clients built from a URL.
DEFAULT_REDIS_TIMEOUT = 1.0

#: ``XCLAIM ... IDLE`` given to a restarted consumer's entries: "idle for ten years", so the
#: next ``XAUTOCLAIM`` takes them whatever the lease.
_LONG_IDLE_MS = 10 * 365 * 24 * 3600 * 1000

_ENQUEUE = """
local ttl = tonumber(ARGV[1])
local out = {}
for i = 2, #KEYS do
  local b = 2 + (i - 2) * 6
  if redis.call('SET', KEYS[i], '1', 'NX', 'EX', ttl) then
    out[#out + 1] = redis.call('XADD', KEYS[1], '*', 'key', ARGV[b], 'route', ARGV[b + 1],
      'type', ARGV[b + 2], 'sub', ARGV[b + 3], 'at', ARGV[b + 4], 'body', ARGV[b + 5],
      'attempt', '1', 'error', '', 'deliveries', '0')
  else
    out[#out + 1] = ''
  end
end
return out
"""

_PROMOTE = """
local due = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
for _, token in ipairs(due) do
  local hk = ARGV[3] .. token
  local fields = redis.call('HGETALL', hk)
  if #fields > 0 then
    redis.call('XADD', KEYS[2], '*', unpack(fields))
  end
  redis.call('DEL', hk)
  redis.call('ZREM', KEYS[1], token)
end
return #due
"""

# KEYS: stream, index zset, hash; ARGV: group, id, score, member, field/value pairs...
_PARK = """
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
redis.call('XDEL', KEYS[1], ARGV[2])
redis.call('HSET', KEYS[3], unpack(ARGV, 5))
redis.call('ZADD', KEYS[2], ARGV[3], ARGV[4])
return 1
"""

_ACK = """
if redis.call('XACK', KEYS[1], ARGV[1], ARGV[2]) == 0 then
  return 0
end
redis.call('XDEL', KEYS[1], ARGV[2])
return 1
"""

# KEYS: failed zset, stream; ARGV: hash prefix, ids...
_REQUEUE = """
local n = 0
for i = 2, #ARGV do
  local hk = ARGV[1] .. ARGV[i]
  local f = redis.call('HGETALL', hk)
  if #f > 0 then
    local fields = {}
    for j = 1, #f, 2 do
      local k = f[j]
      if k ~= 'attempt' and k ~= 'deliveries' and k ~= 'failed_at' then
        fields[#fields + 1] = k
        fields[#fields + 1] = f[j + 1]
      end
    end
    fields[#fields + 1] = 'attempt'
    fields[#fields + 1] = '1'
    fields[#fields + 1] = 'deliveries'
    fields[#fields + 1] = '0'
    redis.call('XADD', KEYS[2], '*', unpack(fields))
    redis.call('DEL', hk)
    redis.call('ZREM', KEYS[1], ARGV[i])
    n = n + 1
  end
end
return n
"""


def _text(value: Any) -> str:
    return value.decode() if isinstance(value, bytes) else str(value)


def _fields(raw: Any) -> dict[str, bytes]:
    if isinstance(raw, Mapping):
        return {_text(k): _bytes(v) for k, v in raw.items()}
    items = list(raw)
    return {_text(items[i]): _bytes(items[i + 1]) for i in range(0, len(items), 2)}


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


def _envelope(fields: Mapping[str, bytes]) -> Envelope:
    sub = fields.get("sub", b"")
    return Envelope(
        key=_text(fields["key"]),
        route=_text(fields["route"]),
        event_type=_text(fields["type"]),
        subscription_id=int(sub) if sub else None,
        body=fields.get("body", b""),
        received_at=float(fields["at"]),
    )


def _envelope_fields(env: Envelope) -> list[Any]:
    return [
        "key",
        env.key,
        "route",
        env.route,
        "type",
        env.event_type,
        "sub",
        "" if env.subscription_id is None else str(env.subscription_id),
        "at",
        repr(env.received_at),
        "body",
        env.body,
    ]


def _location(client: Any) -> str:
    """``redis://host:port/db`` (or ``unix://path``) of a client, without credentials."""
    pool = getattr(client, "connection_pool", None)
    kwargs: Mapping[str, Any] = getattr(pool, "connection_kwargs", None) or {}
    if kwargs.get("path"):
        return f"unix://{kwargs['path']}"
    host, port, db = kwargs.get("host", "localhost"), kwargs.get("port", 6379), kwargs.get("db", 0)
    return f"redis://{host}:{port}/{db}"


_ADVICE = {
    "unavailable": "Redis is down or unreachable: check that it answers (redis-cli ping); the "
    "receiver answers 503 so MaintainX retries, and workers reconnect by themselves",
    "timeout": "Redis did not answer in time (stopped, overloaded, or swapping): check it; the "
    "receiver answers 503 so MaintainX retries, and workers reconnect by themselves",
    "error": "Redis refused the command: see the chained error",
}

P = ParamSpec("P")
R = TypeVar("R")


def _bounded(
    method: Callable[Concatenate[RedisQueue, P], R],
) -> Callable[Concatenate[RedisQueue, P], R]:
    """Turn the Redis errors of a queue method into :class:`StorageError`."""

    @functools.wraps(method)
    def wrapper(self: RedisQueue, /, *args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return method(self, *args, **kwargs)
        except self._redis.RedisError as exc:
            raise self._storage_error(exc) from exc

    return wrapper


class RedisQueue:
    """A :class:`~maintainx_resilient.webhooks.queue.WebhookQueue` on Redis Streams.

    ``redis`` is a URL (``redis://host:6379/0``) or a ``redis.Redis`` client created with
    ``decode_responses=False``. Several receivers and workers in several processes share
    one queue by using the same server and ``prefix``. Needs Redis >= 6.2 (``XAUTOCLAIM``)
    and the ``redis`` package (``pip install maintainx-resilient[redis]``). ``timeout``
    bounds every command of a client built from a URL (options in the URL, such as
    ``?socket_timeout=2``, win); a client you pass keeps its own settings (give it a
    ``socket_timeout``).
    """

    backend = "redis"

    def __init__(
        self,
        redis_client: str | redis.Redis = "redis://127.0.0.1:6379/0",
        *,
        prefix: str = DEFAULT_KEY_PREFIX,
        group: str = "workers",
        dedupe_ttl: float = DEFAULT_DEDUPE_TTL,
        clock: Clock = SYSTEM_CLOCK,
        timeout: float = DEFAULT_REDIS_TIMEOUT,
    ) -> None:
        import redis as redis_module
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        if dedupe_ttl <= 0:
            raise ValueError("dedupe_ttl must be > 0 seconds")
        if not timeout > 0:
            raise ValueError("timeout must be > 0 seconds")
        self._redis = redis_module
        if isinstance(redis_client, str):
            self._client: redis.Redis = redis_module.Redis.from_url(
                redis_client,
                decode_responses=False,
                socket_timeout=timeout,
                socket_connect_timeout=timeout,
                retry=Retry(NoBackoff(), 0),  # no hidden retries: callers decide
            )
            self._owns_client = True
        else:
            self._client = redis_client
            self._owns_client = False
            kwargs = getattr(redis_client.connection_pool, "connection_kwargs", {})
            if kwargs.get("socket_timeout") is None:
                logger.warning(
                    "RedisQueue: the Redis client given has no socket_timeout: a hanging "
                    "server stalls workers (the receiver still answers 503 in time)"
                )
        self.location = _location(self._client)
        self.prefix = prefix
        self.group = group
        self.dedupe_ttl = dedupe_ttl
        self.clock = clock
        self.stream = f"{prefix}:queue"
        self._delayed = f"{prefix}:delayed"
        self._failed = f"{prefix}:failed"
        self._paused_key = f"{prefix}:paused"
        self._enqueue = self._client.register_script(_ENQUEUE)
        self._promote = self._client.register_script(_PROMOTE)
        self._park = self._client.register_script(_PARK)
        self._ack = self._client.register_script(_ACK)
        self._requeue = self._client.register_script(_REQUEUE)
        self._group_ready = False

    def __repr__(self) -> str:
        return f"RedisQueue(prefix={self.prefix!r}, group={self.group!r})"

    def _storage_error(self, exc: Exception) -> StorageError:
        if isinstance(exc, self._redis.TimeoutError):
            kind = "timeout"
        elif isinstance(exc, self._redis.ConnectionError):
            kind = "unavailable"
        else:
            kind = "error"
        return StorageError(
            f"webhook queue {self.location}: {type(exc).__name__}: {exc}; {_ADVICE[kind]}",
            location=self.location,
            kind=kind,
        )

    def _ensure_group(self) -> None:
        if self._group_ready:
            return
        try:
            self._client.xgroup_create(self.stream, self.group, id="0", mkstream=True)
        except self._redis.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise
        self._group_ready = True

    def _regrouped(self, call: Callable[[], R]) -> R:
        """``call()``; once more after creating the group again if Redis lost it (a restart
        without persistence, or ``FLUSHDB``)."""
        self._ensure_group()
        try:
            return call()
        except self._redis.ResponseError as exc:
            if "NOGROUP" not in str(exc):
                raise
        self._group_ready = False
        self._ensure_group()
        return call()

    # -- the receiver's side ----------------------------------------------------------------

    @_bounded
    def enqueue(self, envelopes: Sequence[Envelope]) -> list[bool]:
        if not envelopes:
            return []
        keys = [self.stream] + [f"{self.prefix}:seen:{env.key}" for env in envelopes]
        args: list[Any] = [max(1, int(self.dedupe_ttl))]
        for env in envelopes:
            args.extend(_envelope_fields(env)[1::2])
        ids = self._enqueue(keys=keys, args=args)
        return [bool(i) for i in ids]

    # -- the workers' side ------------------------------------------------------------------

    @_bounded
    def claim(self, consumer: str, limit: int, *, lease: float = DEFAULT_LEASE) -> list[Delivery]:
        if limit <= 0:
            return []
        return self._regrouped(lambda: self._claim(consumer, limit, lease))

    def _claim(self, consumer: str, limit: int, lease: float) -> list[Delivery]:
        if self._client.get(self._paused_key) == b"1":
            return []
        now = self.clock.time()
        self._promote(
            keys=[self._delayed, self.stream], args=[repr(now), 1000, f"{self._delayed}:"]
        )
        entries: list[tuple[str, dict[str, bytes]]] = []
        reply: Any = self._client.xautoclaim(
            self.stream, self.group, consumer, int(lease * 1000), start_id="0-0", count=limit
        )
        for entry_id, raw in reply[1]:
            if raw:
                entries.append((_text(entry_id), _fields(raw)))
        if len(entries) < limit:
            streams: Any = self._client.xreadgroup(
                self.group, consumer, {self.stream: ">"}, count=limit - len(entries)
            )
            for _stream, items in streams or ():
                for entry_id, raw in items:
                    if raw:
                        entries.append((_text(entry_id), _fields(raw)))
        if not entries:
            return []
        counts = self._delivery_counts(consumer, [entry_id for entry_id, _ in entries])
        deliveries = []
        for entry_id, fields in entries:
            error = fields.get("error", b"")
            base = int(fields.get("deliveries", b"0") or 0)
            deliveries.append(
                Delivery(
                    id=entry_id,
                    envelope=_envelope(fields),
                    attempt=int(fields.get("attempt", b"1") or 1),
                    deliveries=base + counts.get(entry_id, 1),
                    last_error=_text(error) if error else None,
                )
            )
        return deliveries

    def _delivery_counts(self, consumer: str, ids: Sequence[str]) -> dict[str, int]:
        ordered = sorted(ids, key=lambda i: tuple(int(p) for p in i.split("-")))
        rows = self._client.xpending_range(
            self.stream,
            self.group,
            min=ordered[0],
            max=ordered[-1],
            count=len(ids) * 2 + 10,
            consumername=consumer,
        )
        return {_text(row["message_id"]): int(row["times_delivered"]) for row in rows}

    @_bounded
    def ack(self, delivery: Delivery) -> bool:
        return bool(self._ack(keys=[self.stream], args=[self.group, delivery.id]))

    def _park_fields(self, delivery: Delivery, attempt: int, error: str) -> list[Any]:
        return [
            *_envelope_fields(delivery.envelope),
            "attempt",
            str(attempt),
            "error",
            error,
            "deliveries",
            str(delivery.deliveries),
        ]

    @_bounded
    def retry(self, delivery: Delivery, *, delay: float, error: str) -> bool:
        token = f"{delivery.id}-{uuid.uuid4().hex[:8]}"
        due = self.clock.time() + max(0.0, delay)
        fields = self._park_fields(delivery, delivery.attempt + 1, error)
        return bool(
            self._park(
                keys=[self.stream, self._delayed, f"{self._delayed}:{token}"],
                args=[self.group, delivery.id, repr(due), token, *fields],
            )
        )

    @_bounded
    def dead_letter(self, delivery: Delivery, *, error: str) -> bool:
        now = self.clock.time()
        fields = self._park_fields(delivery, delivery.attempt, error)
        fields += ["failed_at", repr(now)]
        return bool(
            self._park(
                keys=[self.stream, self._failed, f"{self._failed}:{delivery.id}"],
                args=[self.group, delivery.id, repr(now), delivery.id, *fields],
            )
        )

    @_bounded
    def recover(self, consumer: str, *, ids: Sequence[str] | None = None) -> int:
        return self._regrouped(lambda: self._recover(consumer, ids))

    def _recover(self, consumer: str, only: Sequence[str] | None) -> int:
        rows = self._client.xpending_range(
            self.stream, self.group, min="-", max="+", count=100_000, consumername=consumer
        )
        ids = [_text(row["message_id"]) for row in rows]
        if only is not None:
            wanted = set(only)
            ids = [i for i in ids if i in wanted]
        if not ids:
            return 0
        claimed: list[Any] = list(ids)
        self._client.xclaim(
            self.stream, self.group, consumer, 0, claimed, idle=_LONG_IDLE_MS, justid=True
        )
        return len(ids)

    # -- dead letters -----------------------------------------------------------------------

    @_bounded
    def dead_letters(
        self,
        *,
        ids: Sequence[str] | None = None,
        older_than: float | None = None,
        newer_than: float | None = None,
        limit: int = 100,
    ) -> list[DeadLetter]:
        now = self.clock.time()
        high: float | str = now - older_than if older_than is not None else "+inf"
        low: float | str = now - newer_than if newer_than is not None else "-inf"
        if ids is None:
            members = self._client.zrangebyscore(self._failed, low, high, start=0, num=limit)
            wanted = [_text(m) for m in members]
        else:
            wanted = list(ids)
        pipe = self._client.pipeline(transaction=False)
        for dead_id in wanted:
            pipe.hgetall(f"{self._failed}:{dead_id}")
        letters: list[DeadLetter] = []
        for dead_id, raw in zip(wanted, pipe.execute(), strict=True):
            if not raw:
                continue
            fields = _fields(raw)
            failed_at = float(fields.get("failed_at", b"0"))
            if ids is not None and not (
                (older_than is None or failed_at <= now - older_than)
                and (newer_than is None or failed_at >= now - newer_than)
            ):
                continue
            letters.append(
                DeadLetter(
                    id=dead_id,
                    envelope=_envelope(fields),
                    attempts=int(fields.get("attempt", b"1")),
                    error=_text(fields.get("error", b"")),
                    failed_at=failed_at,
                )
            )
        letters.sort(key=lambda letter: (letter.failed_at, letter.id))
        return letters[:limit]

    @_bounded
    def requeue(self, ids: Sequence[str]) -> int:
        if not ids:
            return 0
        self._ensure_group()
        return int(self._requeue(keys=[self._failed, self.stream], args=[f"{self._failed}:", *ids]))

    @_bounded
    def discard(self, ids: Sequence[str]) -> int:
        removed = 0
        for dead_id in ids:
            pipe = self._client.pipeline(transaction=True)
            pipe.delete(f"{self._failed}:{dead_id}")
            pipe.zrem(self._failed, dead_id)
            deleted, _ = pipe.execute()
            removed += int(deleted)
        return removed

    # -- state ------------------------------------------------------------------------------

    @_bounded
    def pause(self) -> None:
        self._client.set(self._paused_key, b"1")

    @_bounded
    def resume(self) -> None:
        self._client.delete(self._paused_key)

    @_bounded
    def is_paused(self) -> bool:
        return self._client.get(self._paused_key) == b"1"

    @_bounded
    def stats(self) -> QueueStats:
        self._ensure_group()
        now = self.clock.time()
        pipe = self._client.pipeline(transaction=False)
        pipe.xlen(self.stream)
        pipe.xpending(self.stream, self.group)
        pipe.zcard(self._delayed)
        pipe.zcard(self._failed)
        pipe.get(self._paused_key)
        pipe.xrange(self.stream, count=100)
        pipe.zrange(self._delayed, 0, 99)
        length, pending, delayed, dead, paused, head, tokens = pipe.execute()
        in_flight = int(pending["pending"]) if pending else 0
        received = [float(_fields(raw)["at"]) for _, raw in head if raw]
        if tokens:
            pipe = self._client.pipeline(transaction=False)
            for token in tokens:
                pipe.hget(f"{self._delayed}:{_text(token)}", "at")
            received += [float(at) for at in pipe.execute() if at]
        oldest = min(received) if received else None
        return QueueStats(
            ready=max(0, int(length) - in_flight),
            in_flight=in_flight,
            delayed=int(delayed),
            dead=int(dead),
            oldest_pending_age=None if oldest is None else max(0.0, now - oldest),
            paused=paused == b"1",
        )

    def ping(self) -> bool:
        try:
            return bool(self._client.ping())
        except (self._redis.RedisError, OSError):
            return False

    def close(self) -> None:
        if self._owns_client:
            self._client.close()

    @_bounded
    def clear(self) -> None:
        """Delete every key of this queue (tests and tear-down; not for production)."""
        cursor = 0
        while True:
            cursor, keys = self._client.scan(cursor, match=f"{self.prefix}:*", count=500)
            if keys:
                self._client.delete(*keys)
            if cursor == 0:
                break
        self._group_ready = False


#: Renamed public names, still answered (with a DeprecationWarning).
_RENAMED = {"DEFAULT_PREFIX": "DEFAULT_KEY_PREFIX", "DEFAULT_TIMEOUT": "DEFAULT_REDIS_TIMEOUT"}


def __getattr__(name: str) -> Any:
    return renamed(__name__, name, _RENAMED, globals())
