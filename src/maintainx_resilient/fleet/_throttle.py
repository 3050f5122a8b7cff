"""The throttle's state in Redis: one rate budget for every process of the fleet.

:class:`RedisThrottleStore` is a :class:`~maintainx_resilient.policies.throttle.ThrottleStore`:
the throttle's pure decisions run unchanged, on states read from Redis, inside an optimistic
transaction (read the scopes' states with ``MGET``, decide, then a Lua compare-and-set stores
the new states only if none changed since: two round trips per decision):
when another process changed a scope meanwhile, the store stores nothing and the decision is
taken again on the fresh states, so no grant is ever lost or counted twice. States are JSON
(never pickle), checked field by field on the way in: a corrupt value counts as a fresh scope.
Times are Unix time (``wall_clock``), the one clock all processes share.

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
#: means Redis works and other processes progress; this bound is for pathological load.
CONTENTION_BUDGET = 0.25
#: Between tries a contended decision waits a random time up to this, doubling per try from
#: 0.5 ms (jittered exponential backoff: many processes on one scope spread out instead of
#: colliding again on every try).
_MOST_BACKOFF = 0.008

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
#: ("" = unchanged), n scope names. Returns 1 when stored, 0 when a value changed meanwhile.
_SWAP = """
local n = tonumber(ARGV[1])
for i = 1, n do
  local current = redis.call('GET', KEYS[i])
  if (current or '') ~= ARGV[2 + i] then return 0 end
end
for i = 1, n do
  local new = ARGV[2 + n + i]
  if new ~= '' then redis.call('SET', KEYS[i], new, 'PX', ARGV[2]) end
end
redis.call('SADD', KEYS[n + 1], unpack(ARGV, 3 + 2 * n, 2 + 3 * n))
return 1
"""


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
        backoff = 0.0005
        while True:
            raws: list[Any] = r.mget(keys)
            states = [decode_state(raw) for raw in raws]
            updated, result = decide(states)
            writes = [
                "" if new is old else encode_state(new)
                for old, new in zip(states, updated, strict=True)
            ]
            olds = [raw or b"" for raw in raws]
            argv = [len(keys), self._ttl_ms, *olds, *writes, *scopes]
            if self._swap(keys=[*keys, self._keys.throttle_index], args=argv, client=r):
                return result
            if time.monotonic() > give_up:
                raise Contended
            time.sleep(random.random() * backoff)
            backoff = min(backoff * 2, _MOST_BACKOFF)

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

        def shared(r: redis.Redis) -> None:
            names = r.smembers(self._keys.throttle_index)
            keys = [self._keys.throttle(n.decode() if isinstance(n, bytes) else n) for n in names]
            r.delete(self._keys.throttle_index, *keys)

        self._link.call(shared, lambda: None)

    def __repr__(self) -> str:
        return f"RedisThrottleStore({self._keys.prefix!r}, {self._link.status().state})"
