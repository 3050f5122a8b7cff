"""The circuit breakers' state in Redis: one breaker per scope for every process of the fleet.

:class:`RedisBreakerStore` is a :class:`~maintainx_resilient.policies.breaker.BreakerStore`.
Each scope's state is one JSON record (``mx:{fleet}:breaker:<scope>``): the state, the
fleet-wide count of consecutive failures, when it opened, and the half-open probe's claim.
Every decision is a pure function of that record and the fleet's clock (Unix time, the one
clock all processes share); a decision that changes the record runs in an optimistic
transaction (``WATCH`` the record, read it, decide, ``MULTI``/``EXEC``), taken again on the
fresh record when another process changed it meanwhile. So:

- when one process opens a scope, every other process's next ``admit`` reads ``open`` and
  fails fast;
- in half-open, the claim on the probe (``probe_until``, one reset interval from the claim) is
  written by exactly one process; the others read it and fail fast until the probe's verdict
  (success closes the record for everyone, failure re-opens it and starts a new interval) or
  until the claim ends (a probe whose process died holds it for one interval, no longer);
- failures are counted fleet-wide: N processes seeing 5xx open the breaker after
  ``fail_max`` failures in all, as one process would.

Records are checked field by field on the way in: anything malformed counts as a fresh,
closed scope (and is overwritten by the next change). Isolation by hand is an ``isolated``
record (and, for every scope, a fleet-wide flag that holds open the scopes that have no
record yet); it has no TTL and lasts until ``close``. Other records expire
:data:`BREAKER_TTL` after their last change.

The local breakers follow every state read here (events and pybreaker listeners fire once per
transition each process sees). While Redis is out they decide alone, from the last state the
fleet had (the fleet link's fallback); when Redis answers again the fleet's state wins.
"""

from __future__ import annotations

import json
import math
import random
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, TypeVar

from .._clock import Clock
from ..policies.breaker import Admission, BreakerOutcome, BreakerSnapshot, BreakerState
from ._keys import FleetKeys
from ._link import Contended, FleetLink, finite, stored_object

if TYPE_CHECKING:
    import redis

    from ..policies.breaker import _ScopeBreaker

__all__ = [
    "BREAKER_TTL",
    "BreakerRecord",
    "RedisBreakerStore",
    "decide_admission",
    "decide_outcome",
    "decode_record",
    "encode_record",
    "snapshot_of",
]

R = TypeVar("R")

#: A scope's record (not isolated) expires this long after its last change: long past any
#: reset interval, so an open breaker keeps its interval, and short enough that failures a
#: fleet saw long ago do not add up with today's.
BREAKER_TTL = 600.0
#: Contended transactions are retried for this long (then the decision is taken on local
#: state: a refusal for a probe claim, the local breaker for an outcome).
_CONTENTION_BUDGET = 0.05
_STATES = ("closed", "open", "half-open", "isolated")
_MAX_WORKER = 200


@dataclass(frozen=True, slots=True)
class BreakerRecord:
    """One scope's shared state. Times are Unix time."""

    state: BreakerState = "closed"
    #: consecutive failed attempts, fleet-wide (kept when it opens, for diagnostics)
    failures: int = 0
    #: when it opened (or was isolated); None unless open or isolated
    opened_at: float | None = None
    #: half-open: the probe's claim ends then (another attempt may probe after it)
    probe_until: float | None = None
    #: the worker (host:pid:nonce) that made the last transition
    by: str = ""


_FRESH = BreakerRecord()


def encode_record(record: BreakerRecord) -> str:
    data = {
        "state": record.state,
        "failures": record.failures,
        "opened_at": record.opened_at,
        "probe_until": record.probe_until,
        "by": record.by,
    }
    return json.dumps(data, separators=(",", ":"), allow_nan=False)


def _time(value: Any) -> bool:
    return finite(value) and value >= 0


def decode_record(raw: bytes | str | None) -> BreakerRecord | None:
    """The record stored as ``raw``; None when absent or malformed in any way."""
    data = stored_object(raw)
    if data is None or set(data) != {"state", "failures", "opened_at", "probe_until", "by"}:
        return None
    state, failures, opened_at, probe_until, by = (
        data["state"],
        data["failures"],
        data["opened_at"],
        data["probe_until"],
        data["by"],
    )
    if state not in _STATES:
        return None
    if isinstance(failures, bool) or not isinstance(failures, int) or failures < 0:
        return None
    if not isinstance(by, str) or len(by) > _MAX_WORKER:
        return None
    if opened_at is not None and not _time(opened_at):
        return None
    if probe_until is not None and not _time(probe_until):
        return None
    if (state in ("open", "isolated")) != (opened_at is not None):
        return None
    if (state == "half-open") != (probe_until is not None):
        return None
    return BreakerRecord(state, failures, opened_at, probe_until, by)


def _flag_time(raw: bytes | str | None) -> float | None:
    """When every scope was isolated (the fleet-wide flag), or None (absent or malformed)."""
    data = stored_object(raw)
    if data is None or not _time(data.get("at")):
        return None
    return float(data["at"])


def _effective(record: BreakerRecord | None, isolated_all_at: float | None) -> BreakerRecord:
    """A scope's record; a scope without one is isolated while the fleet-wide flag is set."""
    if record is not None:
        return record
    if isolated_all_at is not None:
        return BreakerRecord("isolated", opened_at=isolated_all_at)
    return _FRESH


# ---- the pure decisions ---------------------------------------------------------------------


def decide_admission(
    scope: str, record: BreakerRecord, now: float, *, reset_timeout: float, worker: str
) -> tuple[BreakerRecord | None, Admission]:
    """May an attempt be sent at ``now``? Returns the record to store (None: unchanged) and
    the answer. Open past its interval, or half-open with the claim over: this attempt claims
    the probe. Waits are capped at ``reset_timeout`` (a host whose clock is behind does not
    wait longer than one interval)."""
    if record.state == "isolated":
        return None, Admission(scope, False, "isolated", retry_after=math.inf)
    if record.state == "closed":
        return None, Admission(scope, True, "closed")
    if record.state == "open":
        assert record.opened_at is not None
        wait = record.opened_at + reset_timeout - now
        if wait > 0:
            return None, Admission(scope, False, "open", retry_after=min(wait, reset_timeout))
    else:
        assert record.probe_until is not None
        left = record.probe_until - now
        if left > 0:
            return None, Admission(scope, False, "half-open", retry_after=min(left, reset_timeout))
    claimed = BreakerRecord(
        "half-open", record.failures, probe_until=now + reset_timeout, by=worker
    )
    return claimed, Admission(scope, True, "half-open", probe=True)


def decide_outcome(
    record: BreakerRecord,
    outcome: BreakerOutcome,
    now: float,
    *,
    probe: bool,
    fail_max: int,
    worker: str,
) -> BreakerRecord | None:
    """The record after an attempt ended (None: unchanged). Closed: a success resets the
    count, a failure adds one and opens it at ``fail_max``. Half-open, the probe: a success
    closes it, a failure opens it for a new interval, a neutral outcome (nothing learned)
    frees the claim if it is this worker's. Anything else says nothing new."""
    if record.state == "closed":
        if outcome == "success":
            return replace(record, failures=0, by=worker) if record.failures else None
        if outcome == "failure":
            failures = record.failures + 1
            if failures >= fail_max:
                return BreakerRecord("open", failures, opened_at=now, by=worker)
            return replace(record, failures=failures, by=worker)
        return None
    if record.state == "half-open" and probe:
        if outcome == "success":
            return BreakerRecord("closed", by=worker)
        if outcome == "failure":
            return BreakerRecord("open", record.failures, opened_at=now, by=worker)
        if record.by == worker:
            return replace(record, probe_until=now)
    return None


def snapshot_of(
    scope: str, record: BreakerRecord, now: float, reset_timeout: float
) -> BreakerSnapshot:
    """``record`` for diagnostics, at ``now`` (looking never moves it to half-open)."""
    if record.state == "isolated":
        return BreakerSnapshot(scope, "isolated", record.failures, record.opened_at, math.inf)
    retry_after = 0.0
    if record.state == "open" and record.opened_at is not None:
        retry_after = min(max(0.0, record.opened_at + reset_timeout - now), reset_timeout)
    elif record.state == "half-open" and record.probe_until is not None:
        retry_after = min(max(0.0, record.probe_until - now), reset_timeout)
    opened_at = record.opened_at if record.state == "open" else None
    return BreakerSnapshot(scope, record.state, record.failures, opened_at, retry_after)


# ---- the store ------------------------------------------------------------------------------


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


class RedisBreakerStore:
    """Breaker state in Redis, shared by the fleet; the local breakers while Redis is out.

    Each admission and each outcome reads the scope's record (one ``MGET``); only a
    transition, a failure count or a probe claim writes it. Use the same ``fail_max`` and
    ``reset_timeout`` in every process of a fleet: each decides with its own.
    """

    def __init__(
        self,
        link: FleetLink,
        keys: FleetKeys,
        *,
        worker: str,
        clock: Clock,
        ttl: float = BREAKER_TTL,
    ) -> None:
        self._link = link
        self._keys = keys
        self._worker = worker[:_MAX_WORKER]
        self._clock = clock
        self._ttl = ttl
        #: decisions taken on local state because the record stayed contended
        self.contended = 0

    # -- the breaker store --------------------------------------------------------------------

    def admit(self, breaker: _ScopeBreaker, now: float) -> Admission:
        wall = self._wall(now)
        timeout = breaker.config.reset_timeout

        def decide(record: BreakerRecord) -> tuple[BreakerRecord | None, Admission]:
            return decide_admission(
                breaker.scope, record, wall, reset_timeout=timeout, worker=self._worker
            )

        try:
            seen, admission = self._link.call(
                lambda r: self._transact(r, breaker.scope, timeout, decide),
                lambda: (None, breaker.admit(now)),
            )
        except Contended:
            # Others kept writing this record: they are claiming the probe. Not this one.
            self.contended += 1
            return Admission(breaker.scope, False, "half-open", retry_after=timeout)
        if seen is not None:
            self._follow(breaker, seen, now, wall)
        return admission

    def record(
        self, breaker: _ScopeBreaker, outcome: BreakerOutcome, now: float, *, probe: bool
    ) -> None:
        if outcome == "neutral" and not probe:
            return  # says nothing, changes nothing: no need to ask Redis
        wall = self._wall(now)
        config = breaker.config

        def decide(record: BreakerRecord) -> tuple[BreakerRecord | None, None]:
            new = decide_outcome(
                record, outcome, wall, probe=probe, fail_max=config.fail_max, worker=self._worker
            )
            return new, None

        def local() -> tuple[None, None]:
            breaker.record(outcome, now, probe=probe)
            return None, None

        try:
            seen, _ = self._link.call(
                lambda r: self._transact(r, breaker.scope, config.reset_timeout, decide), local
            )
        except Contended:
            self.contended += 1
            local()
            return
        if seen is not None:
            self._follow(breaker, seen, now, wall)

    def isolate(self, breakers: Sequence[_ScopeBreaker], *, every_scope: bool) -> None:
        wall = self._clock.time()
        record = BreakerRecord("isolated", opened_at=wall, by=self._worker)
        flag = json.dumps({"at": wall, "by": self._worker}) if every_scope else None
        self._write_all(breakers, record, flag=flag, every_scope=every_scope)
        for breaker in breakers:
            breaker.isolate()

    def close(self, breakers: Sequence[_ScopeBreaker], *, every_scope: bool) -> None:
        # A closed record (not no record): it outranks the fleet-wide flag while that is set.
        record = BreakerRecord("closed", by=self._worker)
        self._write_all(breakers, record, flag=None, every_scope=every_scope)
        for breaker in breakers:
            breaker.close()

    def scopes(self) -> Iterable[str]:
        return self._link.call(lambda r: sorted(self._members(r)), list)

    def snapshots(
        self, breakers: Sequence[_ScopeBreaker], now: float
    ) -> dict[str, BreakerSnapshot]:
        if not breakers:
            return {}
        wall = self._wall(now)

        def shared(r: redis.Redis) -> list[BreakerRecord]:
            raws = r.mget([self._keys.breaker(b.scope) for b in breakers] + [self._flag])
            flag = _flag_time(raws[-1])
            return [_effective(decode_record(raw), flag) for raw in raws[:-1]]

        records = self._link.call(shared, lambda: None)
        if records is None:
            return {b.scope: b.snapshot(now) for b in breakers}
        found: dict[str, BreakerSnapshot] = {}
        for breaker, record in zip(breakers, records, strict=True):
            self._follow(breaker, record, now, wall)
            timeout = breaker.config.reset_timeout
            found[breaker.scope] = snapshot_of(breaker.scope, record, wall, timeout)
        return found

    # -- Redis --------------------------------------------------------------------------------

    @property
    def _flag(self) -> str:
        return self._keys.breakers_isolated

    def _wall(self, now: float) -> float:
        """``now`` (monotonic) as Unix time on the same clock."""
        return now + (self._clock.time() - self._clock.monotonic())

    def _px(self, record: BreakerRecord, reset_timeout: float) -> int | None:
        if record.state == "isolated":
            return None  # by hand: until closed by hand
        return int(max(self._ttl, 2 * reset_timeout) * 1000)

    def _transact(
        self,
        r: redis.Redis,
        scope: str,
        reset_timeout: float,
        decide: Callable[[BreakerRecord], tuple[BreakerRecord | None, R]],
    ) -> tuple[BreakerRecord, R]:
        """``decide`` on the scope's record; the record it returns is stored atomically.
        Returns the record as it now stands and the decision's result."""
        key, flag = self._keys.breaker(scope), self._flag
        raw, raw_flag = r.mget([key, flag])
        record = _effective(decode_record(raw), _flag_time(raw_flag))
        new, result = decide(record)
        if new is None:
            return record, result  # a read-only decision: one round trip
        import redis as redis_module

        give_up = time.monotonic() + _CONTENTION_BUDGET
        with r.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(key, flag)  # type: ignore[no-untyped-call]
                    raw, raw_flag = pipe.mget([key, flag])
                    record = _effective(decode_record(raw), _flag_time(raw_flag))
                    new, result = decide(record)
                    if new is None:
                        return record, result
                    pipe.multi()
                    pipe.set(key, encode_record(new), px=self._px(new, reset_timeout))
                    pipe.sadd(self._keys.breaker_index, scope)
                    stored = pipe.execute(raise_on_error=False)
                    if isinstance(stored[0], Exception):
                        raise stored[0]
                    return new, result
                except redis_module.WatchError:
                    if time.monotonic() > give_up:
                        raise Contended from None
                    time.sleep(random.random() * 0.0005)

    def _members(self, r: redis.Redis) -> set[str]:
        """The scopes the fleet has records for. A corrupt index (not a set) is dropped."""
        import redis as redis_module

        try:
            return {_text(n) for n in r.smembers(self._keys.breaker_index)}
        except redis_module.ResponseError:
            r.delete(self._keys.breaker_index)
            return set()

    def _write_all(
        self,
        breakers: Sequence[_ScopeBreaker],
        record: BreakerRecord,
        *,
        flag: str | None,
        every_scope: bool,
    ) -> None:
        """Store ``record`` for ``breakers``' scopes (every scope of the fleet with
        ``every_scope``, and then set the fleet-wide flag, or clear it when ``flag`` is
        None). The index is watched, so a scope the fleet adds meanwhile is not missed."""
        timeouts = {b.scope: b.config.reset_timeout for b in breakers}
        default_timeout = max(timeouts.values(), default=0.0)
        encoded = encode_record(record)

        def shared(r: redis.Redis) -> None:
            import redis as redis_module

            give_up = time.monotonic() + _CONTENTION_BUDGET
            with r.pipeline(transaction=True) as pipe:
                while True:
                    try:
                        scopes = set(timeouts)
                        if every_scope:
                            pipe.watch(self._keys.breaker_index)  # type: ignore[no-untyped-call]
                            scopes |= self._members(pipe)
                        pipe.multi()
                        for scope in sorted(scopes):
                            px = self._px(record, timeouts.get(scope, default_timeout))
                            pipe.set(self._keys.breaker(scope), encoded, px=px)
                        if scopes:
                            pipe.sadd(self._keys.breaker_index, *sorted(scopes))
                        if every_scope:
                            if flag is None:
                                pipe.delete(self._flag)
                            else:
                                pipe.set(self._flag, flag)
                        pipe.execute()
                        return
                    except redis_module.WatchError:
                        if time.monotonic() > give_up:
                            raise Contended from None
                        time.sleep(random.random() * 0.0005)

        try:
            self._link.call(shared, lambda: None)
        except Contended:
            self.contended += 1  # the local breakers still act; the fleet did not hear it

    def _follow(
        self, breaker: _ScopeBreaker, record: BreakerRecord, now: float, wall: float
    ) -> None:
        """Make the local breaker mirror ``record`` (times converted to its monotonic clock)."""
        timeout = breaker.config.reset_timeout
        opened = None if record.opened_at is None else now - (wall - record.opened_at)
        probe = None
        if record.probe_until is not None:
            probe = now - (wall - (record.probe_until - timeout))
        breaker.follow(record.state, opened_at=opened, probe_started=probe)

    def __repr__(self) -> str:
        return f"RedisBreakerStore({self._keys.prefix!r}, {self._link.status().state})"
