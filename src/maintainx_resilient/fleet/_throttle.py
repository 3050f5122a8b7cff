"""The throttle's state in Redis: one rate budget for every process of the fleet.

:class:`RedisThrottleStore` is a :class:`~maintainx_resilient.policies.throttle.ThrottleStore`:
the throttle's pure decisions run unchanged, on states read from Redis, inside an optimistic
transaction (decide on the scopes' states as this process last saw them, then a Lua
compare-and-set stores the new states only if those are still Redis's: one round trip per
decision): when another process changed a scope meanwhile, the store stores nothing, the
script hands back the current states and the decision is taken again on them, so no grant is
ever lost or counted twice. Scopes this process has not seen yet are read first (``MGET``).
States are JSON (never pickle), checked field by field on the way in: a corrupt value counts
as a fresh scope. Times are Unix time (``wall_clock``), the one clock all processes share.

When Redis is out, the same decisions run on a local store (the fleet link's fallback): the
process keeps itself under the limits on its own until Redis answers again.
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any, TypeVar

from ..policies.throttle import Decide, MemoryThrottleStore, ScopeState
from ._keys import FleetKeys
from ._link import Contended, FleetLink, finite, stored_object

if TYPE_CHECKING:
    import redis

__all__ = ["RedisThrottleStore", "decode_state", "encode_state"]

R = TypeVar("R")

#: A scope's state expires after this long without a decision (it is rebuilt from the next
#: answer's headers): long past any window and block, short enough that a count a dead
#: process left behind does not outlive it by much.
STATE_TTL = 600.0
#: Contended decisions (other processes changed the scopes between read and write) are taken
#: again for this long, then decided on local state once (counted in ``contended``). Contention
#: means Redis works and other processes progress; this bound is for pathological load. A
#: local decision is not coordinated with the fleet and can overshoot the budget, so the bound
#: is generous: 250 ms let a busy test fleet (16 threads on one scope, a loaded machine) fall
#: back several times a run.
CONTENTION_BUDGET = 1.0
#: Between tries a contended decision waits a random time up to this, doubling per try from
#: 0.5 ms (jittered back-off: processes on one scope spread out instead of colliding again
#: at once). Kept small: a try that waits longer is a try fewer within the budget.
_MOST_BACKOFF = 0.002

_FIELDS = ScopeState._fields
_DEFAULTS = ScopeState()


def encode_state(state: ScopeState) -> str:
    return json.dumps(state._asdict(), separators=(",", ":"), allow_nan=False)


def _number(value: Any, *, optional: bool = True) -> bool:
    return optional if value is None else finite(value)


def _int(value: Any, *, optional: bool = False) -> bool:
    if value is None:
        return optional
    return isinstance(value, int) and not isinstance(value, bool)


def decode_state(raw: bytes | str | None) -> ScopeState:
    """The state stored as ``raw``; a fresh state for None or anything malformed."""
    data = stored_object(raw)
    if data is None or set(data) != set(_FIELDS):
        return _DEFAULTS
    try:
        slices = tuple((int(i), int(c)) for i, c in data["slices"])
        suspect = data["suspect"]
        if suspect is not None:
            limit, remaining, reset = suspect
            if not (_int(limit, optional=True) and _int(remaining, optional=True)):
                return _DEFAULTS
            if not _number(reset):
                return _DEFAULTS
            suspect = (limit, remaining, reset)
    except (TypeError, ValueError):
        return _DEFAULTS
    ints = ("sending", "promised", "queued", "epoch", "backoff", "granted", "throttled")
    if not all(_int(data[k]) and data[k] >= 0 for k in ints):
        return _DEFAULTS
    if not (_int(data["limit"], optional=True) and _int(data["remaining"], optional=True)):
        return _DEFAULTS
    if not all(_number(data[k]) for k in ("window_end", "heard_at", "last", "waited")):
        return _DEFAULTS
    if data["waited"] is None or not isinstance(data["assumed"], bool):
        return _DEFAULTS
    if not isinstance(data["reason"], str) or len(data["reason"]) > 32:
        return _DEFAULTS
    counted = sum(count for _, count in slices)  # derived: never trusted from the record
    return ScopeState(**{**data, "slices": slices, "counted": counted, "suspect": suspect})


#: Store the new states only if no other process changed them since they were read (an
#: optimistic transaction in one round trip; compare-and-set on the raw values). KEYS: the
#: scopes' keys, then the index. ARGV: n, ttl (ms), n old values ("" = none), n new values
#: ("" = unchanged), n scope names. Returns {1} when stored; {0, the n current values ("" =
#: none)} when a value differed, so the decision can be taken again without another read.
_SWAP = """
local n = tonumber(ARGV[1])
local current = redis.call('MGET', unpack(KEYS, 1, n))
for i = 1, n do
  if (current[i] or '') ~= ARGV[2 + i] then
    local now = {0}
    for j = 1, n do now[j + 1] = current[j] or '' end
    return now
  end
end
for i = 1, n do
  local new = ARGV[2 + n + i]
  if new ~= '' then redis.call('SET', KEYS[i], new, 'PX', ARGV[2]) end
end
redis.call('SADD', KEYS[n + 1], unpack(ARGV, 3 + 2 * n, 2 + 3 * n))
return {1}
"""

#: Scopes whose last known raw value this process keeps (past this, it forgets them all and
#: reads again): a process uses a handful (its keys, organizations and routes).
_MOST_REMEMBERED = 1024


class RedisThrottleStore:
    """Throttle states in Redis, shared by the fleet; a local store while Redis is out."""

    wall_clock = True

    def __init__(
        self,
        link: FleetLink,
        keys: FleetKeys,
        *,
        ttl: float = STATE_TTL,
        contention_budget: float = CONTENTION_BUDGET,
    ) -> None:
        self._link = link
        self._keys = keys
        self._ttl_ms = int(ttl * 1000)
        self.contention_budget = contention_budget
        self.local = MemoryThrottleStore()
        self.contended = 0
        self._swap: Any = None
        #: Each scope's raw value as this process last saw it in Redis (b"": none). A decision
        #: is taken on it and checked by the compare-and-set, which hands back the current
        #: values when it was stale: one round trip per decision while no other process
        #: changed the scopes, two when one did (as reading first would always cost).
        self._seen: dict[str, bytes] = {}

    def transact(self, scopes: Sequence[str], decide: Decide[R]) -> R:
        try:
            return self._link.call(
                lambda r: self._shared(r, scopes, decide),
                lambda: self.local.transact(scopes, decide),
            )
        except Contended:
            self.contended += 1
            return self.local.transact(scopes, decide)

    def _shared(self, r: redis.Redis, scopes: Sequence[str], decide: Decide[R]) -> R:
        keys = [self._keys.throttle(s) for s in scopes]
        give_up = time.monotonic() + self.contention_budget
        if self._swap is None:
            self._swap = r.register_script(_SWAP)
        seen = self._seen
        remembered = [seen.get(k) for k in keys]
        fresh = None in remembered  # else the first try may fail for staleness alone
        raws: list[Any] = r.mget(keys) if fresh else remembered
        olds: list[bytes] = [raw or b"" for raw in raws]
        backoff = 0.0005
        while True:
            states = [decode_state(raw or None) for raw in olds]
            updated, result = decide(states)
            writes = [
                "" if new is old else encode_state(new)
                for old, new in zip(states, updated, strict=True)
            ]
            argv = [len(keys), self._ttl_ms, *olds, *writes, *scopes]
            reply = self._swap(keys=[*keys, self._keys.throttle_index], args=argv, client=r)
            if len(seen) > _MOST_REMEMBERED:
                seen.clear()
            if reply[0] == 1:
                for key, old, write in zip(keys, olds, writes, strict=True):
                    seen[key] = write.encode() if write else old
                return result
            olds = [bytes(raw) for raw in reply[1:]]
            seen.update(zip(keys, olds, strict=True))
            if fresh:  # decided on what Redis held a moment ago: other processes are busy
                if time.monotonic() > give_up:
                    raise Contended
                time.sleep(random.random() * backoff)
                backoff = min(backoff * 2, _MOST_BACKOFF)
            fresh = True

    def states(self) -> Mapping[str, ScopeState]:
        def shared(r: redis.Redis) -> Mapping[str, ScopeState]:
            names = sorted(
                n.decode() if isinstance(n, bytes) else n
                for n in r.smembers(self._keys.throttle_index)
            )
            if not names:
                return {}
            raws = r.mget([self._keys.throttle(n) for n in names])
            return {
                n: decode_state(raw) for n, raw in zip(names, raws, strict=True) if raw is not None
            }

        return self._link.call(shared, self.local.states)

    def clear(self) -> None:
        """Forget every scope, in the fleet and locally (``reset_throttle()``)."""
        self.local.clear()
        self._seen.clear()

        def shared(r: redis.Redis) -> None:
            names = r.smembers(self._keys.throttle_index)
            keys = [self._keys.throttle(n.decode() if isinstance(n, bytes) else n) for n in names]
            r.delete(self._keys.throttle_index, *keys)

        self._link.call(shared, lambda: None)

    def __repr__(self) -> str:
        return f"RedisThrottleStore({self._keys.prefix!r}, {self._link.status().state})"
