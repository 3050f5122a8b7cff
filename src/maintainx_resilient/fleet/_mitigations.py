"""The fleet's mitigations, its workers and its timeline: what they are and how Redis keeps them.

Three keys (see :class:`~maintainx_resilient.fleet.FleetKeys`):

- ``mitigations``, a hash: one field per mitigation (``fallback_mode``, ``throttling``,
  ``breaker:<scope>``, ``breaker:*`` for every scope), each a JSON object ``{"value": ...,
  "set_at": <Unix time>, "by": {"host", "pid", "worker"}, "reason": "..."}``. Switching a
  mitigation off writes its "off" value (``false``, ``null``, ``"closed"``) with who and
  when, so every state says who set it. Values are checked field by field on the way in: a
  corrupt or unknown field is ignored with a warning (once), never a crash.
- ``workers``, a sorted set: member ``host:pid:nonce``, score the worker's last heartbeat
  (Unix time). Members older than :func:`stale_after` are pruned by every heartbeat.
- ``timeline``, a list capped at :data:`TIMELINE_CAP` entries, newest first: every change,
  with who, when and why.

Every write is one optimistic transaction (``WATCH`` the hash, read it, ``MULTI`` the change
and its timeline entry, ``EXEC``), so a change and its record land together or not at all.
Nothing here holds a key or a secret: values are flags, rates, scopes, host names, pids and
the reason an operator typed (masked by the library's redaction).
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar

import httpx

from .._exceptions import ConfigurationError, StorageError
from .._iso8601 import iso_utc
from ..telemetry._logging import redact
from ._keys import FleetKeys
from ._link import Contended, FleetLink, finite, stored_object

if TYPE_CHECKING:
    import redis

    from ._member import Member

__all__ = [
    "ALL_SCOPES",
    "FALLBACK_MODE",
    "THROTTLING",
    "TIMELINE_CAP",
    "FleetActor",
    "FleetBoard",
    "FleetMitigation",
    "FleetTimelineEntry",
    "FleetView",
    "FleetWorker",
    "MitigationState",
    "breaker_field",
    "decode_mitigation",
    "stale_after",
]

R = TypeVar("R")
logger = logging.getLogger("maintainx_resilient")

FALLBACK_MODE = "fallback_mode"
THROTTLING = "throttling"
BREAKER_PREFIX = "breaker:"
#: The breaker "scope" that means every scope (``breaker:*``).
ALL_SCOPES = "*"
ISOLATED = "isolated"
CLOSED = "closed"

#: The fleet's timeline keeps this many entries (newest first).
TIMELINE_CAP = 200
#: At most this many breaker fields (one per scope named by hand).
MAX_BREAKER_FIELDS = 64
MAX_REASON = 200
MAX_SCOPE = 300
MAX_HOST = 255
MAX_WORKER = 300
#: The highest throttling cap accepted (requests per minute).
MAX_RATE = 1_000_000.0
#: A write retried this long while other processes change the hash, then given up.
_WRITE_CONTENTION = 0.5

_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_ENTRY_FIELDS = frozenset({"value", "set_at", "by", "reason"})


def stale_after(heartbeat: float) -> float:
    """A worker whose last heartbeat is older than this is not alive (and is pruned)."""
    return max(5.0 * heartbeat, 2.0)


def breaker_field(scope: str | None) -> str:
    """The hash field of a breaker mitigation (``None``: every scope)."""
    return BREAKER_PREFIX + (ALL_SCOPES if scope is None else scope)


@dataclass(frozen=True)
class FleetActor:
    """Who made a change: the host, the process id and the worker id (``host:pid:nonce``)."""

    host: str
    pid: int
    worker: str

    @classmethod
    def of(cls, worker: Member) -> FleetActor:
        return cls(worker.host, worker.pid, worker.id)

    def to_dict(self) -> dict[str, Any]:
        return {"host": self.host, "pid": self.pid, "worker": self.worker}

    def __str__(self) -> str:
        return f"{self.host} pid {self.pid}"


@dataclass(frozen=True)
class FleetMitigation:
    """One fleet-wide mitigation as stored: ``name`` is ``fallback_mode`` (value True/False),
    ``throttling`` (requests per minute, or None: off) or ``breaker:<scope>`` /
    ``breaker:*`` (``"isolated"`` or ``"closed"``); ``set_at`` is Unix time."""

    name: str
    value: bool | float | str | None
    set_at: float
    by: FleetActor
    reason: str = ""

    @property
    def active(self) -> bool:
        """True while the mitigation is on (fallback mode on, a cap, a breaker isolated)."""
        return self.value is True or self.value == ISOLATED or _rate(self.value) is not None

    @property
    def scope(self) -> str | None:
        """A breaker mitigation's scope (None: every scope, or not a breaker mitigation)."""
        if not self.name.startswith(BREAKER_PREFIX):
            return None
        scope = self.name[len(BREAKER_PREFIX) :]
        return None if scope == ALL_SCOPES else scope

    @property
    def action(self) -> str:
        """The mitigation method this state comes from (``enable_fallback_mode``...)."""
        if self.name == FALLBACK_MODE:
            return "enable_fallback_mode" if self.value is True else "disable_fallback_mode"
        if self.name == THROTTLING:
            return "enable_throttling" if self.value is not None else "disable_throttling"
        return "isolate_breaker" if self.value == ISOLATED else "close_breaker"

    def describe(self) -> str:
        """``"fallback mode on"``, ``"throttling capped at 60/min"``, ``"breaker X isolated"``."""
        if self.name == FALLBACK_MODE:
            return "fallback mode " + ("on" if self.value is True else "off")
        if self.name == THROTTLING:
            rate = _rate(self.value)
            return f"throttling capped at {rate:g}/min" if rate is not None else "throttling off"
        what = "every breaker" if self.scope is None else f"breaker {self.scope}"
        return f"{what} {'isolated' if self.value == ISOLATED else 'closed by hand'}"

    def encode(self) -> str:
        data: dict[str, Any] = {"value": self.value, "set_at": self.set_at, "by": self.by.to_dict()}
        if self.reason:
            data["reason"] = self.reason
        return json.dumps(data, separators=(",", ":"), allow_nan=False, sort_keys=True)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "action": self.action,
            "active": self.active,
            "value": self.value,
            "scope": self.scope if self.name.startswith(BREAKER_PREFIX) else None,
            "set_at": iso_utc(self.set_at),
            "by": self.by.to_dict(),
            "reason": self.reason,
        }


@dataclass(frozen=True)
class FleetTimelineEntry:
    """One change on the fleet's timeline."""

    action: str
    mitigation: FleetMitigation

    def to_dict(self) -> dict[str, Any]:
        return {"action": self.action, **self.mitigation.to_dict()}


@dataclass(frozen=True)
class FleetWorker:
    """A worker that said it is alive: its id (``host:pid:nonce``) and last heartbeat."""

    worker: str
    host: str
    pid: int
    last_beat: float

    @classmethod
    def parse(cls, member: str, score: float) -> FleetWorker:
        parts = member.rsplit(":", 2)
        if len(parts) == 3 and parts[1].isdigit() and parts[0]:
            return cls(member, parts[0], int(parts[1]), score)
        return cls(member, member, 0, score)

    def to_dict(self, now: float) -> dict[str, Any]:
        return {
            "worker": self.worker,
            "host": self.host,
            "pid": self.pid,
            "last_beat_at": iso_utc(self.last_beat),
            "age_s": round(max(0.0, now - self.last_beat), 3),
        }


@dataclass(frozen=True)
class MitigationState:
    """What a set of mitigations asks of a client (one layer: by hand, or the fleet's)."""

    fallback_mode: bool = False
    throttle_per_minute: float | None = None
    isolate_all: bool = False
    isolated: frozenset[str] = frozenset()

    def holds(self, scope: str) -> bool:
        """True when this layer keeps ``scope``'s breaker isolated."""
        return self.isolate_all or scope in self.isolated

    @classmethod
    def of(cls, entries: Iterable[FleetMitigation]) -> MitigationState:
        fallback, rate, every, scopes = False, None, False, set()
        for entry in entries:
            if entry.name == FALLBACK_MODE:
                fallback = entry.value is True
            elif entry.name == THROTTLING:
                rate = _rate(entry.value)
            elif entry.value == ISOLATED:
                if entry.scope is None:
                    every = True
                else:
                    scopes.add(entry.scope)
        return cls(fallback, rate, every, frozenset(scopes))


@dataclass(frozen=True)
class FleetView:
    """What one heartbeat read: the mitigations (by field), the fields that were corrupt
    (ignored), and how many workers are alive, at ``read_at`` (Unix time)."""

    entries: Mapping[str, FleetMitigation]
    corrupt: frozenset[str]
    workers_alive: int
    read_at: float


# ---- checking values on the way in and out -----------------------------------------------


def _rate(value: object) -> float | None:
    return float(value) if finite(value) and 0 < value <= MAX_RATE else None


def _text(value: object, limit: int, *, empty: bool = False) -> str | None:
    if not isinstance(value, str) or len(value) > limit or _CONTROL.search(value):
        return None
    return value if (value or empty) else None


def _valid_value(name: str, value: object) -> bool:
    if name == FALLBACK_MODE:
        return isinstance(value, bool)
    if name == THROTTLING:
        return value is None or _rate(value) is not None
    if name.startswith(BREAKER_PREFIX):
        scope = name[len(BREAKER_PREFIX) :]
        return _text(scope, MAX_SCOPE) is not None and value in (ISOLATED, CLOSED)
    return False


def decode_mitigation(name: str, raw: bytes | str | None) -> FleetMitigation | None:
    """The mitigation stored as ``raw`` under field ``name``; None when anything is off
    (not JSON, a field missing or of the wrong type, an unknown mitigation)."""
    data = stored_object(raw)
    if data is None or not {"value", "set_at", "by"} <= set(data) <= _ENTRY_FIELDS:
        return None
    value, set_at, by = data["value"], data["set_at"], data["by"]
    if not _valid_value(name, value):
        return None
    if not finite(set_at) or set_at <= 0:
        return None
    if not isinstance(by, dict) or set(by) != {"host", "pid", "worker"}:
        return None
    host, pid, worker = by["host"], by["pid"], by["worker"]
    if _text(host, MAX_HOST) is None or _text(worker, MAX_WORKER) is None:
        return None
    if isinstance(pid, bool) or not isinstance(pid, int) or pid < 0:
        return None
    reason = data.get("reason", "")
    if _text(reason, MAX_REASON, empty=True) is None:
        return None
    if name == THROTTLING and value is not None:
        value = float(value)
    return FleetMitigation(name, value, float(set_at), FleetActor(host, pid, worker), reason)


def clean_reason(reason: str) -> str:
    """An operator's reason as stored: one line, secrets masked, at most 200 characters
    (a longer or non-text reason is a :class:`~maintainx_resilient.ConfigurationError`)."""
    if not isinstance(reason, str):
        raise ConfigurationError(f"reason must be text, got {type(reason).__name__}")
    text = redact(" ".join(reason.split()))
    if _CONTROL.search(text):
        raise ConfigurationError("reason must be printable text (no control characters)")
    if len(text) > MAX_REASON:
        raise ConfigurationError(
            f"reason is {len(text)} characters; keep it under {MAX_REASON} (a ticket link, "
            "a few words)"
        )
    return text


def check_scope(scope: str | None) -> str | None:
    """A breaker scope as given by a person (None: every scope); a bad one is a
    :class:`~maintainx_resilient.ConfigurationError`."""
    if scope is None:
        return None
    if _text(scope, MAX_SCOPE) is None or not _is_scope(scope):
        raise ConfigurationError(
            f"a breaker scope is the base URL plus the endpoint family, e.g. "
            f"'https://api.getmaintainx.com/v1/workorders' (http(s)://host[:port]/path, no "
            f"trailing slash, query or spaces, 1-{MAX_SCOPE} characters; leave it out for "
            f"every scope), got {scope!r}"
        )
    return scope


#: ``scheme://host[:port]`` then ``/segment``s: the shape of ``policies.breaker.scope_of``.
_SCOPE = re.compile(r"https?://[^/\s?#@]+(?:/[^/\s?#]+)*")


def _is_scope(scope: str) -> bool:
    """True when ``scope`` has the form a breaker's scope has (``scope_of``'s output): an
    http(s) origin as httpx spells it, then the path's segments ("workorders" or
    "/v1/workorders" name no breaker, and would isolate nothing)."""
    if not _SCOPE.fullmatch(scope):
        return False
    try:
        url = httpx.URL(scope)
    except httpx.InvalidURL:
        return False
    if not url.host or (url.port is not None and not 0 < url.port < 65536):
        return False
    return scope.startswith(f"{url.scheme}://{url.netloc.decode('ascii')}")


def check_rate(rate_per_minute: float) -> float:
    rate = _rate(rate_per_minute)
    if rate is None:
        raise ConfigurationError(
            f"a throttling cap is requests per minute, > 0 and at most {MAX_RATE:g}, got "
            f"{rate_per_minute!r}"
        )
    return rate


def _text_of(raw: bytes | str) -> str | None:
    if isinstance(raw, bytes):
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return None
    return raw


def _timeline_entry(raw: bytes | str) -> FleetTimelineEntry | None:
    data = stored_object(raw)
    if data is None or not isinstance(data.get("action"), str):
        return None
    name, entry = data.get("mitigation"), data.get("entry")
    if not isinstance(name, str) or not isinstance(entry, dict):
        return None
    found = decode_mitigation(name, json.dumps(entry))
    return FleetTimelineEntry(data["action"], found) if found is not None else None


# ---- Redis -----------------------------------------------------------------------------------


class _Warned:
    """Warn once per corrupt value (a heartbeat reads it twice a second)."""

    def __init__(self) -> None:
        self._seen: set[tuple[str, int]] = set()
        self._lock = threading.Lock()

    def __call__(self, name: str, raw: bytes | str | None) -> None:
        key = (name, hash(raw))
        with self._lock:
            if key in self._seen:
                return
            if len(self._seen) > 256:
                self._seen.clear()
            self._seen.add(key)
        logger.warning(
            "maintainx_resilient fleet: ignored the fleet mitigation %r: its value in Redis "
            "is not one this version understands (corrupt, or written by something else)",
            name[:80],
        )


class FleetBoard:
    """The fleet's mitigations, workers and timeline in Redis, through the fleet's link.

    Reads for the heartbeat fall back to None while Redis is out; changes and reads asked
    for by a person raise :class:`~maintainx_resilient.StorageError` instead (a mitigation
    that did not reach Redis was not set).
    """

    def __init__(self, link: FleetLink, keys: FleetKeys) -> None:
        self.link = link
        self.keys = keys
        self._warn = _Warned()

    # -- what a heartbeat does ---------------------------------------------------------------

    def beat(self, worker: Member, now: float, stale: float) -> FleetView | None:
        """Say ``worker`` is alive, prune stale workers, read the mitigations (one round
        trip); None while Redis is out."""

        def shared(r: redis.Redis) -> FleetView:
            keys = self.keys
            pipe = r.pipeline(transaction=False)
            pipe.zadd(keys.workers, {worker.id: now})
            pipe.zremrangebyscore(keys.workers, "-inf", f"({now - stale}")
            pipe.zcard(keys.workers)
            pipe.hgetall(keys.mitigations)
            _, _, alive, raw = pipe.execute()
            entries, corrupt = self._decode_all(raw)
            return FleetView(entries, corrupt, int(alive), now)

        return self.link.call(shared, lambda: None)

    def leave(self, worker: Member) -> None:
        """Take ``worker`` off the list of live workers (a clean close)."""
        self.link.call(lambda r: r.zrem(self.keys.workers, worker.id), lambda: 0)

    # -- what a person asks for ------------------------------------------------------------

    def read(self) -> FleetView:
        """The mitigations and the live workers' count now (raises while Redis is out)."""

        def shared(r: redis.Redis) -> FleetView:
            pipe = r.pipeline(transaction=False)
            pipe.hgetall(self.keys.mitigations)
            pipe.zcard(self.keys.workers)
            raw, alive = pipe.execute()
            entries, corrupt = self._decode_all(raw)
            return FleetView(entries, corrupt, int(alive), 0.0)

        return self._must(shared, "read the fleet's mitigations")

    def workers(self, now: float, stale: float) -> tuple[FleetWorker, ...]:
        """The workers whose last heartbeat is at most ``stale`` seconds old, newest first."""

        def shared(r: redis.Redis) -> tuple[FleetWorker, ...]:
            rows: Any = r.zrevrangebyscore(self.keys.workers, "+inf", now - stale, withscores=True)
            found = []
            for member, score in rows:
                text = _text_of(member)
                if text is not None:
                    found.append(FleetWorker.parse(text, float(score)))
            return tuple(found)

        return self._must(shared, "read the fleet's workers")

    def timeline(self, limit: int) -> tuple[FleetTimelineEntry, ...]:
        """The last ``limit`` changes, newest first (corrupt entries skipped)."""

        def shared(r: redis.Redis) -> tuple[FleetTimelineEntry, ...]:
            raws = r.lrange(self.keys.timeline, 0, max(0, limit - 1))
            return tuple(e for e in (_timeline_entry(raw) for raw in raws) if e is not None)

        return self._must(shared, "read the fleet's timeline")

    def write(
        self, entry: FleetMitigation, *, replaces: Callable[[str], bool] | None = None
    ) -> FleetMitigation:
        """Store ``entry`` (and delete the fields ``replaces`` names), with its timeline
        entry, in one transaction; raises while Redis is out."""
        return self._must(lambda r: self._write(r, entry, replaces), f"set {entry.describe()}")

    def _write(
        self,
        r: redis.Redis,
        entry: FleetMitigation,
        replaces: Callable[[str], bool] | None,
    ) -> FleetMitigation:
        import redis as redis_module

        keys = self.keys
        record = json.dumps(
            {
                "action": entry.action,
                "mitigation": entry.name,
                "entry": json.loads(entry.encode()),
            },
            separators=(",", ":"),
        )
        give_up = time.monotonic() + _WRITE_CONTENTION
        with r.pipeline(transaction=True) as pipe:
            while True:
                try:
                    pipe.watch(keys.mitigations)  # type: ignore[no-untyped-call]
                    names = [n for n in (_text_of(f) for f in pipe.hkeys(keys.mitigations)) if n]
                    doomed = [n for n in names if replaces is not None and replaces(n)]
                    breakers = {n for n in names if n.startswith(BREAKER_PREFIX)} - set(doomed)
                    if (
                        entry.name.startswith(BREAKER_PREFIX)
                        and entry.name not in breakers
                        and len(breakers) >= MAX_BREAKER_FIELDS
                    ):
                        raise ConfigurationError(
                            f"the fleet already has {len(breakers)} breaker mitigations (the "
                            f"most it keeps): close every breaker (scope left out) first"
                        )
                    pipe.multi()
                    if doomed:
                        pipe.hdel(keys.mitigations, *doomed)
                    pipe.hset(keys.mitigations, entry.name, entry.encode())
                    pipe.lpush(keys.timeline, record)
                    pipe.ltrim(keys.timeline, 0, TIMELINE_CAP - 1)
                    pipe.execute()
                    return entry
                except redis_module.WatchError:
                    if time.monotonic() > give_up:
                        raise Contended from None
                    time.sleep(random.random() * 0.005)

    # -- helpers ------------------------------------------------------------------------------

    def _decode_all(
        self, raw: Mapping[bytes | str, bytes | str]
    ) -> tuple[dict[str, FleetMitigation], frozenset[str]]:
        entries: dict[str, FleetMitigation] = {}
        corrupt: set[str] = set()
        for field, value in raw.items():
            name = _text_of(field)
            found = decode_mitigation(name, value) if name is not None else None
            if found is None:
                label = name if name is not None else repr(field)[:80]
                corrupt.add(label)
                self._warn(label, value)
            else:
                entries[found.name] = found
        return entries, frozenset(corrupt)

    def _must(self, work: Callable[[redis.Redis], R], what: str) -> R:
        link = self.link

        def unavailable() -> R:
            status = link.status()
            timeout = "Timeout" in status.last_error
            raise StorageError(
                f"could not {what}: the fleet's Redis at {status.location} did not answer "
                f"({status.last_error or 'out since an earlier error'}). "
                + ("Nothing was changed. " if what.startswith("set ") else "")
                + "Check that Redis is up and reachable from here; meanwhile act on each "
                "process (client.enable_fallback_mode()...)",
                location=status.location,
                kind="timeout" if timeout else "unavailable",
            )

        try:
            return link.call(work, unavailable)
        except Contended:
            raise StorageError(
                f"could not {what}: other processes kept changing the fleet's mitigations; "
                "try again",
                location=link.config.location,
                kind="locked",
            ) from None
