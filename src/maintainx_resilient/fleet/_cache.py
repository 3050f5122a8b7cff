"""The fallback cache's answers in Redis: a worker serves stale what any worker fetched.

:class:`RedisFallbackStore` is the shared tier of a
:class:`~maintainx_resilient.policies.fallback.FallbackCache` (see
:mod:`~maintainx_resilient.policies._fallback_shared`). Every answer the cache keeps (a 2xx
``GET`` whose body parsed) is also written to Redis; a lookup the memory cannot answer while
the cache would serve (an outage, fallback mode) reads Redis; a successful write drops the
entries it made wrong in Redis too, for the whole fleet.

**Whose answers.** An entry is found only by the cache's own key (credential id, organization
headers, URL): another key or another organization computes another key and never reads it.
The Redis key is a hash of it; the value repeats it and is refused when it differs.

**What is stored.** JSON, never pickle: ``{"v": 1, "key", "status", "headers", "body", "enc",
"at"}`` (the body as text, or base64 when it is not UTF-8; ``at``: when it was fetched, Unix
time). Checked field by field on the way in: a corrupt value is a miss, never a crash. Each
entry expires after the cache's ``max_stale``.

**The byte cap.** Entries are listed in a sorted set by when they were written (Redis server
time), their sizes in a hash and their total in a counter; one Lua script writes an entry and
evicts the oldest until the total is under ``FleetConfig.cache_max_bytes``. An entry larger
than :func:`entry_cap` is not shared. A third sorted set (all scores 0) orders the entries by
``credential, GET <origin><path>``, so a write finds what it makes wrong with a few
``ZRANGEBYLEX``, in one script. Every key is hash-tagged: the scripts work on Redis Cluster.

**Off the caller's path.** :meth:`RedisFallbackStore.put` only queues (at most
:data:`QUEUE_ENTRIES` answers and :data:`QUEUE_BYTES` bytes; more are dropped, counted); one
writer thread encodes them and writes each burst in one script call. Reads and invalidations
run on the caller's thread, bounded by the link's timeout. Writes and invalidations are
ordered: an invalidation drops the queued answers it makes wrong and waits for the batch
being written.

**Redis out.** Everything goes through :meth:`FleetLink.call`: the cache works from memory, a
lookup is a miss, an answer is not shared. An invalidation that could not reach Redis is kept
(at most :data:`LOST_SWEEPS`, then folded into "everything of that credential") and sent again
when Redis answers; meanwhile this process refuses the shared entries it covers.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..policies._fallback_keys import WriteScope, target_of
from ..policies._fallback_store import StoredAnswer
from ..policies.fallback import _KEPT_HEADERS
from ._keys import FleetKeys
from ._link import FleetLink, finite, stored_object

if TYPE_CHECKING:
    import redis

__all__ = [
    "MAX_ENTRY_BYTES",
    "QUEUE_BYTES",
    "QUEUE_ENTRIES",
    "RedisFallbackStore",
    "SharedCacheStats",
    "decode_answer",
    "encode_answer",
    "entry_cap",
    "entry_id",
    "member_of",
]

logger = logging.getLogger("maintainx_resilient")

FORMAT_VERSION = 1
#: No entry above this is shared: a page of 200 work orders is 100-400 KB; 2 MiB reads in a
#: few ms on a LAN, well inside the link's 50 ms bound.
MAX_ENTRY_BYTES = 2 * 1024 * 1024
#: Answers waiting for the writer thread; more are dropped (they stay in the local cache).
QUEUE_ENTRIES = 256
QUEUE_BYTES = 16 * 1024 * 1024
#: The writer waits this long after the first answer, then writes all that came meanwhile in
#: one script (at most BATCH_ENTRIES answers or BATCH_BYTES of bodies): one round trip and
#: one wake-up for a burst, not one per GET.
LINGER = 0.005
BATCH_ENTRIES = 64
BATCH_BYTES = 1024 * 1024
#: Invalidations kept for a Redis that was out; more are folded into per-credential wipes.
LOST_SWEEPS = 64
#: Entries one invalidation script drops at most (then it runs again): keeps each under 50 ms.
SWEEP_BATCH = 1000
#: An invalidation runs its script at most this many times in a row (then it is kept, and the
#: writer finishes it later).
SWEEP_ROUNDS = 64
CLOSE_TIMEOUT = 1.0
FLUSH_TIMEOUT = 5.0
_ID_HEX = 32
#: Rough cost of an entry beyond its value and keys (Redis object headers, set nodes).
_OVERHEAD = 64


def entry_cap(max_bytes: int) -> int:
    """The largest entry shared in a cache of ``max_bytes``: at most a quarter of it."""
    return min(MAX_ENTRY_BYTES, max_bytes // 4)


def entry_id(key: str) -> str:
    """The Redis name of the entry ``key`` (a hash: keys hold URLs of any length)."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:_ID_HEX]


def member_of(key: str) -> str:
    """The entry in the indexes: ``<credential>\\nGET <origin><path>\\n<id>``, ordered so that
    a write's scope is a few lexical ranges."""
    return f"{key.partition(chr(10))[0]}\n{target_of(key)}\n{entry_id(key)}"


# ---- the value (pure) ------------------------------------------------------------------------


def encode_answer(key: str, answer: StoredAnswer) -> bytes:
    try:
        body, enc = answer.body.decode("utf-8"), "text"
    except UnicodeDecodeError:
        body, enc = base64.b64encode(answer.body).decode("ascii"), "base64"
    value = {
        "v": FORMAT_VERSION,
        "key": key,
        "status": answer.status,
        "headers": [list(pair) for pair in answer.headers],
        "body": body,
        "enc": enc,
        "at": float(answer.stored_at),
    }
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode()


_FIELDS = frozenset({"v", "key", "status", "headers", "body", "enc", "at"})


def _header(item: Any) -> tuple[str, str] | None:
    if not (isinstance(item, list) and len(item) == 2):
        return None
    name, value = item
    if not (isinstance(name, str) and name in _KEPT_HEADERS and isinstance(value, str)):
        return None
    # Printable ASCII only: no CR/LF to smuggle a header, nothing httpx cannot encode.
    if len(value) > 1024 or not (value.isascii() and value.isprintable()):
        return None
    return name, value


def decode_answer(raw: bytes | str | None, key: str) -> StoredAnswer | None:
    """The answer stored as ``raw`` for ``key``; None when missing or malformed in any way."""
    data = stored_object(raw)
    if data is None or set(data) != _FIELDS:
        return None
    if data["v"] != FORMAT_VERSION or data["key"] != key:
        return None
    status, at, headers = data["status"], data["at"], data["headers"]
    if not isinstance(status, int) or isinstance(status, bool) or not 200 <= status < 300:
        return None
    if not finite(at):
        return None
    if not isinstance(headers, list) or len(headers) > len(_KEPT_HEADERS):
        return None
    pairs = [_header(item) for item in headers]
    if any(pair is None for pair in pairs):
        return None
    body, enc = data["body"], data["enc"]
    if not isinstance(body, str):
        return None
    try:
        if enc == "text":
            content = body.encode("utf-8")
        elif enc == "base64":
            content = base64.b64decode(body, validate=True)
        else:
            return None
    except (binascii.Error, UnicodeEncodeError):
        return None
    kept = tuple(pair for pair in pairs if pair is not None)
    return StoredAnswer(status, kept, content, float(at))


# ---- what an invalidation covers (pure) -------------------------------------------------------


@dataclass(frozen=True)
class _Sweep:
    """Entries to drop: lexical ranges of the member index, and the same as a predicate."""

    credential: str  # "<credential id>\n", or "" for everything
    ranges: tuple[bytes, ...]  # min, max, min, max, ...
    stale: Callable[[str], bool]

    @classmethod
    def of(cls, scope: WriteScope) -> _Sweep:
        starts = [scope.prefix + target + "\n" for target in sorted(scope.targets)]
        if scope.below is not None:
            starts.append(scope.prefix + scope.below)
        return cls(scope.prefix, _ranges(starts), scope.makes_stale)

    @classmethod
    def wipe(cls, credential: str) -> _Sweep:
        """Every entry of one credential (``credential`` ends with a newline)."""
        return cls(credential, _ranges([credential]), lambda key: key.startswith(credential))

    @classmethod
    def everything(cls) -> _Sweep:
        return cls("", (b"-", b"+"), lambda key: True)


def _ranges(starts: list[str]) -> tuple[bytes, ...]:
    """The members starting with each of ``starts``: ``[start`` to ``(start\\xff``. Members
    are ASCII, so no byte of one is ever 0xff."""
    out: list[bytes] = []
    for start in starts:
        raw = start.encode("utf-8")
        out += [b"[" + raw, b"(" + raw + b"\xff"]
    return tuple(out)


# ---- the scripts -----------------------------------------------------------------------------

# KEYS[1] index (zset, score: written at, server time), KEYS[2] sizes (hash), KEYS[3] paths
# (zset, all scores 0: lexical order), KEYS[4] bytes (the total). ARGV[1]: entry key prefix.
# drop() deletes entries named by the indexes, not in KEYS: they share the fleet's hash tag,
# so on Redis Cluster they are in the script's slot.
_DROP = """
local function drop(m)
  local size = tonumber(redis.call('HGET', KEYS[2], m)) or 0
  local id = string.sub(m, -32)
  if string.match(id, '^[0-9a-f]+$') and #id == 32 then
    redis.call('DEL', ARGV[1] .. id)
  end
  redis.call('ZREM', KEYS[1], m)
  redis.call('ZREM', KEYS[3], m)
  redis.call('HDEL', KEYS[2], m)
  return size
end
local function refuse()
  -- Someone wrote another type under one of our keys: write nothing (not half a batch).
  for i, want in ipairs({'zset', 'hash', 'zset', 'string'}) do
    local kind = redis.call('TYPE', KEYS[i]).ok
    if kind ~= 'none' and kind ~= want then
      return redis.error_reply('WRONGTYPE ' .. KEYS[i] .. ' is a ' .. kind .. ', not a ' .. want)
    end
  end
  return nil
end
local function total_bytes()
  local total = tonumber(redis.call('GET', KEYS[4]))
  if total then return total end
  total = 0  -- first entry, or the counter was lost: add the sizes up again
  for _, v in ipairs(redis.call('HVALS', KEYS[2])) do total = total + (tonumber(v) or 0) end
  return total
end
"""

# A batch of entries, one after the other. KEYS[5..] the entries. ARGV[2] TTL (ms), ARGV[3]
# cap, then for each entry ARGV member, value, size. Returns how many entries were evicted.
_PUT = (
    _DROP
    + """
local refused = refuse()
if refused then return refused end
local ttl, cap = ARGV[2], tonumber(ARGV[3])
local total = total_bytes()
local now = redis.call('TIME')
local at = tonumber(now[1]) + tonumber(now[2]) / 1000000
local evicted = 0
for i = 5, #KEYS do
  local a = 4 + (i - 5) * 3
  local member, size = ARGV[a], tonumber(ARGV[a + 2])
  total = total - (tonumber(redis.call('HGET', KEYS[2], member)) or 0) + size
  redis.call('SET', KEYS[i], ARGV[a + 1], 'PX', ttl)
  redis.call('ZADD', KEYS[1], at + (i - 5) / 1000000, member)
  redis.call('ZADD', KEYS[3], 0, member)
  redis.call('HSET', KEYS[2], member, size)
  while total > cap do
    local oldest = redis.call('ZRANGE', KEYS[1], 0, 1)
    local victim = oldest[1]
    if victim == member then victim = oldest[2] end
    if not victim then break end
    total = total - drop(victim)
    evicted = evicted + 1
  end
end
redis.call('SET', KEYS[4], math.max(total, 0))
for i = 1, 4 do  -- the books outlive the last entry written by its TTL, no longer
  redis.call('PEXPIRE', KEYS[i], ttl)
end
return evicted
"""
)

# ARGV[2] most entries to drop, ARGV[3..] lexical ranges (min, max pairs).
# Returns {dropped, 1 if more may remain}.
_SWEEP = (
    _DROP
    + """
local refused = refuse()
if refused then return refused end
local limit, dropped, more = tonumber(ARGV[2]), 0, 0
local total = total_bytes()
for i = 3, #ARGV, 2 do
  local left = limit - dropped
  if left <= 0 then more = 1 break end
  local found = redis.call('ZRANGEBYLEX', KEYS[3], ARGV[i], ARGV[i + 1], 'LIMIT', 0, left)
  for _, m in ipairs(found) do
    total = total - drop(m)
    dropped = dropped + 1
  end
  if #found >= left then more = 1 end
end
redis.call('SET', KEYS[4], math.max(total, 0))
return {dropped, more}
"""
)


# ---- the store -------------------------------------------------------------------------------


@dataclass(frozen=True)
class SharedCacheStats:
    """One process's view of the shared fallback cache (counters since it started)."""

    #: answers written to Redis / evicted by those writes to stay under the cap
    written: int
    evicted: int
    #: entries dropped from Redis because a write of this process made them wrong
    invalidated: int
    #: answers not shared: larger than the per-entry cap / the queue was full
    too_large: int
    dropped: int
    #: lookups in Redis: answered / nothing there / a value that failed the checks
    found: int
    missing: int
    corrupt: int
    #: scripts Redis refused (a key of the wrong type: see the warning)
    errors: int
    #: answers waiting for the writer / invalidations waiting for Redis to answer
    pending: int
    unsynced: int


class RedisFallbackStore:
    """The fleet's shared fallback cache (``SharedAnswers``). Thread-safe."""

    def __init__(self, link: FleetLink, keys: FleetKeys, *, ttl: float, max_bytes: int) -> None:
        if max_bytes <= 0:
            raise ValueError("a shared cache needs max_bytes > 0")
        self._link = link
        self._keys = keys
        self.ttl = ttl
        self.max_bytes = max_bytes
        self.max_entry = entry_cap(max_bytes)
        self._ttl_ms = max(1, int(ttl * 1000))
        self._structure = [keys.cache_index, keys.cache_sizes, keys.cache_paths, keys.cache_bytes]
        self._entry_prefix = keys.cache("")
        redis_client = link.redis
        self._put_script = redis_client.register_script(_PUT)
        self._sweep_script = redis_client.register_script(_SWEEP)
        self._lock = threading.Lock()
        self._changed = threading.Condition(self._lock)
        #: held while one answer or one invalidation is sent: keeps them in order
        self._send_lock = threading.Lock()
        self._pending: dict[str, StoredAnswer] = {}
        self._pending_bytes = 0
        self._lost: list[_Sweep] = []
        self._next_replay = 0.0
        self._busy = False
        self._closed = False
        self._thread: threading.Thread | None = None
        self._warned = False
        self._counts = dict.fromkeys(
            (
                "written",
                "evicted",
                "invalidated",
                "too_large",
                "dropped",
                "found",
                "missing",
                "corrupt",
                "errors",
            ),
            0,
        )

    # -- the SharedAnswers interface -----------------------------------------------------------

    def put(self, key: str, answer: StoredAnswer) -> None:
        """Queue ``answer`` for the writer thread; dropped when the queue is full."""
        size = len(answer.body)
        with self._lock:
            if self._closed:
                return
            if size > self.max_entry:
                self._counts["too_large"] += 1
                return
            old = self._pending.get(key)
            grown = self._pending_bytes + size - (0 if old is None else len(old.body))
            if old is None and (len(self._pending) >= QUEUE_ENTRIES or grown > QUEUE_BYTES):
                self._counts["dropped"] += 1
                return
            self._pending[key] = answer
            self._pending_bytes = grown
            self._wake()

    def get(self, key: str) -> StoredAnswer | None:
        with self._lock:
            lost = list(self._lost)
        if any(sweep.stale(key) for sweep in lost):
            self._count("missing")  # a write of ours made it wrong; Redis does not know yet
            return None
        name = self._keys.cache(entry_id(key))
        limit = self.max_entry - 1

        def shared(r: redis.Redis) -> bytes | str | None:
            import redis as redis_module

            try:
                raw: bytes | str = r.getrange(name, 0, limit)  # a bounded reply
            except redis_module.ResponseError:
                return "\x00"  # a key of another type: corrupt, not a failing Redis
            self._reached()
            return raw

        raw = self._link.call(shared, lambda: None)
        if not raw:
            self._count("missing")
            return None
        answer = decode_answer(raw, key)
        self._count("found" if answer is not None else "corrupt")
        return answer

    def invalidate(self, scope: WriteScope) -> None:
        self._invalidate(_Sweep.of(scope))

    def clear(self) -> None:
        with self._lock:
            self._pending.clear()
            self._pending_bytes = 0
        self._invalidate(_Sweep.everything())

    def flush(self, timeout: float = FLUSH_TIMEOUT) -> bool:
        with self._lock:
            return self._changed.wait_for(
                lambda: not (self._pending or self._busy) or self._thread is None,
                timeout=timeout,
            )

    def close(self) -> None:
        """Write what is queued (for at most a second), then stop the writer. Idempotent."""
        self.flush(CLOSE_TIMEOUT)
        with self._lock:
            if self._closed:
                return
            self._closed = True
            self._pending.clear()
            self._pending_bytes = 0
            thread = self._thread
            self._changed.notify_all()
        if thread is not None and thread is not threading.current_thread():
            thread.join(CLOSE_TIMEOUT)

    def stats(self) -> SharedCacheStats:
        with self._lock:
            return SharedCacheStats(
                **self._counts, pending=len(self._pending), unsynced=len(self._lost)
            )

    # -- invalidation --------------------------------------------------------------------------

    def _invalidate(self, sweep: _Sweep) -> None:
        with self._lock:
            for key in [k for k in self._pending if sweep.stale(k)]:
                self._pending_bytes -= len(self._pending.pop(key).body)
        if not self._sweep(sweep):
            self._lose(sweep)

    def _sweep(self, sweep: _Sweep) -> bool:
        """Drop what ``sweep`` covers in Redis. False when Redis is out (or it took too long)."""

        def shared(r: redis.Redis) -> bool:
            import redis as redis_module

            for _ in range(SWEEP_ROUNDS):
                try:
                    dropped, more = self._sweep_script(
                        keys=self._structure,
                        args=[self._entry_prefix, SWEEP_BATCH, *sweep.ranges],
                        client=r,
                    )
                except redis_module.ResponseError as exc:
                    self._script_failed(exc)
                    return True  # nothing to retry: the structures are not ours to use
                self._count("invalidated", int(dropped))
                if not more:
                    return True
            return False

        with self._send_lock:  # after the answer being written, if any
            return self._link.call(shared, lambda: False)

    def _lose(self, sweep: _Sweep) -> None:
        """Keep an invalidation Redis did not get, to send it again (and to refuse what it
        covers meanwhile)."""
        with self._lock:
            self._lost.append(sweep)
            if len(self._lost) > LOST_SWEEPS:
                credentials = {s.credential for s in self._lost}
                if "" in credentials or len(credentials) > LOST_SWEEPS:
                    self._lost = [_Sweep.everything()]
                else:
                    self._lost = [_Sweep.wipe(c) for c in sorted(credentials)]
            self._wake()

    def _replay(self) -> None:
        with self._lock:
            lost = list(self._lost)
            self._next_replay = time.monotonic() + self._link.config.retry_interval
        for sweep in lost:
            if not self._sweep(sweep):
                return
            with self._lock:
                self._lost = [s for s in self._lost if s is not sweep]

    # -- the writer thread ---------------------------------------------------------------------

    def _wake(self) -> None:
        # Called with the lock held.
        if self._thread is None or not self._thread.is_alive():  # not alive: after a fork
            self._thread = threading.Thread(
                target=self._run, name="maintainx-fleet-cache-writer", daemon=True
            )
            self._thread.start()
        self._changed.notify_all()

    def _reached(self) -> None:
        """Redis answered: send the invalidations it missed now."""
        if self._lost:
            with self._lock:
                self._next_replay = 0.0
                self._changed.notify_all()

    def _replay_due(self) -> bool:
        return bool(self._lost) and time.monotonic() >= self._next_replay

    def _run(self) -> None:
        while True:
            with self._lock:
                while not (self._pending or self._closed or self._replay_due()):
                    wait = max(0.0, self._next_replay - time.monotonic()) if self._lost else None
                    self._changed.wait(wait)
                if self._closed:
                    self._thread = None
                    self._changed.notify_all()
                    return
                replay = self._replay_due()
                batch = bool(self._pending)
            if replay:
                self._replay()
            if not batch:
                continue
            time.sleep(LINGER)  # let a burst gather (puts meanwhile only queue)
            with self._send_lock:
                with self._lock:
                    items = self._take()
                    self._busy = bool(items)
                if not items:
                    continue
                try:
                    self._write(items)
                except Exception:  # never let the writer die: the cache works without it
                    logger.exception("maintainx_resilient fleet cache: writing answers failed")
                finally:
                    with self._lock:
                        self._busy = False
                        self._changed.notify_all()

    def _take(self) -> list[tuple[str, StoredAnswer]]:
        """The oldest queued answers, one batch (lock held)."""
        items: list[tuple[str, StoredAnswer]] = []
        size = 0
        for key, answer in self._pending.items():
            if items and (len(items) >= BATCH_ENTRIES or size + len(answer.body) > BATCH_BYTES):
                break
            items.append((key, answer))
            size += len(answer.body)
        for key, answer in items:
            del self._pending[key]
            self._pending_bytes -= len(answer.body)
        return items

    def _write(self, items: list[tuple[str, StoredAnswer]]) -> None:
        names: list[str] = []
        args: list[str | bytes | int] = [self._entry_prefix, self._ttl_ms, self.max_bytes]
        for key, answer in items:
            value = encode_answer(key, answer)
            member = member_of(key)
            name = self._keys.cache(entry_id(key))
            size = len(value) + 3 * len(member) + len(name) + _OVERHEAD
            if size > self.max_entry:
                self._count("too_large")
                continue
            names.append(name)
            args += [member, value, size]
        if not names:
            return

        def shared(r: redis.Redis) -> None:
            import redis as redis_module

            try:
                evicted = self._put_script(keys=[*self._structure, *names], args=args, client=r)
            except redis_module.ResponseError as exc:
                self._script_failed(exc)
                return
            self._count("written", len(names))
            self._count("evicted", int(evicted))
            self._reached()

        self._link.call(shared, lambda: None)

    # -- bookkeeping ---------------------------------------------------------------------------

    def _count(self, name: str, n: int = 1) -> None:
        with self._lock:
            self._counts[name] += n

    def _script_failed(self, exc: Exception) -> None:
        """Redis answered, but refused the script: a key of ours holds another type (someone
        wrote it by hand). Logged once; the cache keeps working from memory."""
        self._count("errors")
        if self._warned:
            logger.debug("maintainx_resilient fleet cache: script refused: %s", exc)
            return
        self._warned = True
        logger.warning(
            "maintainx_resilient fleet cache: Redis refused the shared cache's script (%s); "
            "answers are not shared until the keys %s* hold what fleet mode wrote (delete "
            "them to start over)",
            str(exc)[:200],
            self._keys.cache_index,
        )

    def __repr__(self) -> str:
        return (
            f"RedisFallbackStore({self._keys.prefix!r}, max_bytes={self.max_bytes}, "
            f"{self._link.status().state})"
        )
