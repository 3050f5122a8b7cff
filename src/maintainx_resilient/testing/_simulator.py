"""The ``Simulator`` facade: organizations, API keys, faults, rate limits, and ``handle()``.

``handle(SimRequest) -> SimResponse`` is the whole API in one pure-ish call (it mutates the
in-memory data and counters, never sleeps nor touches a socket). The transports around it
(``_transport.py`` in-process, ``_server.py`` over a real socket) do the waiting and the I/O.

Order of a request: faults (may answer instead) -> ``/versions`` or ``/v1`` routing ->
authentication -> organization -> rate limit -> handler -> after-processing faults.
"""

from __future__ import annotations

import asyncio
import copy
import itertools
import json
import random
import threading
import time
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol, runtime_checkable

from ._catalog import Collection, catalog
from ._data import SeedSizes, generate
from ._faults import FaultControls, mangle
from ._handlers import Call, Handlers, error_a
from ._messages import SimRequest, SimResponse, json_response
from ._ratelimit import Bucket, FixedWindowLimiter, RateLimitConfig
from ._router import VERSIONS_ROUTE, Route, default_router
from ._special import SPECIAL_HANDLERS
from ._stats import RequestRecord, SimStats, StatsRecorder
from ._store import OrgData, Record, sorted_records
from ._timeutil import DEFAULT_EPOCH, Timestamps
from ._validation import FieldError
from ._webhooks import SimulatorWebhooks
from ._writes import WriteContext

if TYPE_CHECKING:
    from ._mutator import Mutator
    from ._server import SimulatorServer
    from ._transport import SimulatorTransport

__all__ = ["ApiKey", "ClockLike", "Simulator"]

#: The tables with seeded data (every other collection starts empty and is made on first use).
_SEEDED = (
    "workOrders",
    "assets",
    "locations",
    "parts",
    "users",
    "teams",
    "vendors",
    "categories",
    "meters",
    "purchaseOrders",
    "workRequests",
    "subscriptions",
    "comments",
    "meterReadings",
)
#: Tables of records that are not a collection of the spec's paths.
_TABLES_OUTSIDE = ("meterReadings",)
# Seeded data is generated once per (seed, organization, sizes, epoch, id counters) and then
# copied (a JSON round trip, ~10x faster than generating): test suites build many simulators.
_SeedKey = tuple[int, int, SeedSizes, int, tuple[tuple[str, int], ...]]
_SEED_CACHE: OrderedDict[_SeedKey, tuple[str, dict[str, int], dict[str, int]]] = OrderedDict()
_SEED_CACHE_LOCK = threading.Lock()
_SEED_CACHE_SIZE = 8
_DEFAULT_RATE_LIMIT = RateLimitConfig()


@runtime_checkable
class ClockLike(Protocol):
    """A clock object (like ``maintainx_resilient.testing.FakeClock``)."""

    def monotonic(self) -> float: ...
    def sleep(self, seconds: float) -> None: ...
    async def asleep(self, seconds: float) -> None: ...


@dataclass(frozen=True)
class ApiKey:
    """What an API key grants: the user it belongs to and the organizations it may act on.

    A key with several organizations must name one with ``x-organization-id`` on each call.
    """

    user_id: int
    org_ids: tuple[int, ...]

    def __post_init__(self) -> None:
        if not self.org_ids:
            raise ValueError("an API key needs at least one organization id")


class Simulator:
    """A local, deterministic stand-in for the MaintainX REST API.

    ``seed`` fixes the generated data; the counts (``work_orders=3000``...) size each
    organization. ``api_keys`` maps key strings to ``ApiKey`` (default: ``{"sim-key": user 1
    in organization 1}``). ``rate_limit=None`` disables rate limiting. ``clock`` (a function
    returning monotonic seconds, or a clock object such as ``FakeClock`` with ``monotonic``,
    ``sleep`` and ``asleep``) drives rate-limit windows and record timestamps;
    ``sleep``/``async_sleep`` (default: the clock object's, else ``time.sleep``) are what the
    transports use for latency faults. ``offset_pagination`` lists resources (e.g.
    ``{"assets", "parts", "purchaseOrders"}``) paginated by offset, as the API documents,
    instead of the default keyset cursors.
    """

    API_KEY = "sim-key"

    def __init__(
        self,
        seed: int = 1,
        *,
        work_orders: int = 3000,
        assets: int = 200,
        locations: int = 30,
        parts: int = 150,
        users: int = 25,
        teams: int = 5,
        vendors: int = 20,
        categories: int = 8,
        meters: int = 40,
        purchase_orders: int = 60,
        work_requests: int = 120,
        api_keys: Mapping[str, ApiKey] | None = None,
        rate_limit: RateLimitConfig | None = _DEFAULT_RATE_LIMIT,
        clock: Callable[[], float] | ClockLike = time.monotonic,
        sleep: Callable[[float], None] | None = None,
        async_sleep: Callable[[float], Awaitable[None]] | None = None,
        epoch: datetime = DEFAULT_EPOCH,
        offset_pagination: Iterable[str] = (),
        hang_seconds: float = 30.0,
    ) -> None:
        self.seed = seed
        self.sizes = SeedSizes(
            work_orders=work_orders,
            assets=assets,
            locations=locations,
            parts=parts,
            users=users,
            teams=teams,
            vendors=vendors,
            categories=categories,
            meters=meters,
            purchase_orders=purchase_orders,
            work_requests=work_requests,
        )
        self.rate_limit = rate_limit
        clock_async: Callable[[float], Awaitable[None]] | None = None
        if isinstance(clock, ClockLike):  # e.g. maintainx_resilient.testing.FakeClock
            self.clock: Callable[[], float] = clock.monotonic
            self.sleep: Callable[[float], None] = sleep or clock.sleep
            clock_async = clock.asleep if sleep is None else None
        else:
            self.clock = clock
            self.sleep = sleep or time.sleep
        self.async_sleep: Callable[[float], Awaitable[None]] = (
            async_sleep or clock_async or _default_async_sleep(self.sleep)
        )
        self.hang_seconds = hang_seconds
        self.timestamps = Timestamps(self.clock, epoch)
        self.faults = FaultControls(seed)
        unknown = set(offset_pagination) - set(catalog().collections)
        if unknown:
            raise ValueError(f"offset_pagination: unknown resources {sorted(unknown)}")
        self._offset = frozenset(offset_pagination)
        self._lock = threading.RLock()
        self._next_ids: dict[str, int] = {}
        self._rng = random.Random(f"simulator:{seed}")
        self._request_ids = itertools.count(1)
        self._orgs: dict[int, OrgData] = {}
        self._keys: dict[str, ApiKey] = {}
        self._limiter = FixedWindowLimiter()
        self._stats = StatsRecorder()
        self._router = default_router()
        self._handlers = Handlers(self, SPECIAL_HANDLERS)
        #: Signed webhook deliveries of the changes made through the API (``_webhooks.py``).
        self.webhooks = SimulatorWebhooks(self)
        for key, grant in (api_keys or {self.API_KEY: ApiKey(1, (1,))}).items():
            self.add_key(key, user_id=grant.user_id, org_ids=grant.org_ids)

    def __repr__(self) -> str:
        # No key strings here: reprs end up in logs and test reports.
        return (
            f"<Simulator seed={self.seed} organizations={self.organization_ids} "
            f"keys={len(self._keys)} work_orders={self.sizes.work_orders}>"
        )

    # -- services used by the handlers ---------------------------------------------------------

    def new_id(self, table: str) -> int:
        """A new global id for a record of ``table`` (ids are unique across organizations)."""
        value = self._next_ids.get(table, 0) + 1
        self._next_ids[table] = value
        return value

    def random_hex(self, digits: int) -> str:
        return f"{self._rng.getrandbits(digits * 4):0{digits}x}"

    def count_creation(self, resource: str) -> None:
        self._stats.created(resource)

    def pagination_mode(self, resource: str) -> Literal["keyset", "offset"]:
        return "offset" if resource in self._offset else "keyset"

    def key_organizations(self, org_ids: Sequence[int]) -> list[OrgData]:
        return [self._organization(org_id) for org_id in org_ids]

    # -- keys and organizations ----------------------------------------------------------------

    def _organization(self, org_id: int) -> OrgData:
        org = self._orgs.get(org_id)
        if org is None:
            org = OrgData(org_id, f"Simulated Organization {org_id}", _SEEDED)
            tables, sequences = self._seed(org_id)
            for table, records in tables.items():
                for record in records:
                    org.tables[table].put(record)
            org.sequences.update(sequences)
            self._orgs[org_id] = org
        return org

    def _seed(self, org_id: int) -> tuple[dict[str, list[Record]], dict[str, int]]:
        """Seeded tables of one organization; generated once per process and parameters."""
        key = (
            self.seed,
            org_id,
            self.sizes,
            self.timestamps.epoch_ms,
            tuple(sorted(self._next_ids.items())),
        )
        with _SEED_CACHE_LOCK:
            cached = _SEED_CACHE.get(key)
            if cached is not None:
                _SEED_CACHE.move_to_end(key)
        if cached is None:
            seeded = generate(
                self.seed, org_id, self.sizes, epoch_ms=self.timestamps.epoch_ms, new_id=self.new_id
            )
            blob = json.dumps(seeded.tables)
            cached = (blob, dict(seeded.sequences), dict(self._next_ids))
            with _SEED_CACHE_LOCK:
                _SEED_CACHE[key] = cached
                while len(_SEED_CACHE) > _SEED_CACHE_SIZE:
                    _SEED_CACHE.popitem(last=False)
        blob, sequences, next_ids = cached
        self._next_ids.update(next_ids)
        tables: dict[str, list[Record]] = json.loads(blob)
        return tables, dict(sequences)

    def add_key(self, key: str, *, user_id: int = 1, org_ids: Sequence[int] = (1,)) -> None:
        """Accept ``key`` from now on, for ``user_id`` in ``org_ids`` (created if new)."""
        grant = ApiKey(user_id, tuple(int(o) for o in org_ids))
        with self._lock:
            for org_id in grant.org_ids:
                self._organization(org_id)
            self._keys[key] = grant

    def revoke_key(self, key: str) -> None:
        """Reject ``key`` from now on (401 ``Invalid token``)."""
        with self._lock:
            self._keys.pop(key, None)

    @property
    def organization_ids(self) -> list[int]:
        with self._lock:
            return sorted(self._orgs)

    # -- data access for tests -----------------------------------------------------------------

    def _resolve(self, resource: str, org_id: int | None) -> tuple[OrgData, str]:
        name = _table_name(resource)
        if org_id is None:
            org_id = min(self._orgs)
        return self._organization(org_id), name

    def records(self, resource: str, *, org_id: int | None = None) -> list[dict[str, Any]]:
        """A deep copy of the current records of ``resource`` (a collection's name such as
        ``"workOrders"`` or ``"contacts"``, or its path: ``"workorders"``,
        ``"/vendors/{id}/contacts"``) in one organization (default: the lowest id), by id.

        Hidden helper fields (``_``-prefixed) are left out; subscriptions include their secret.
        """
        with self._lock:
            org, name = self._resolve(resource, org_id)
            return [
                {k: copy.deepcopy(v) for k, v in r.items() if not k.startswith("_")}
                for r in sorted_records([org.table(name)])
            ]

    def update_record(
        self,
        resource: str,
        record_id: int,
        changes: Mapping[str, Any],
        *,
        org_id: int | None = None,
    ) -> dict[str, Any]:
        """Change a record behind the API's back (like a user in the web app would); bumps
        ``updatedAt`` unless ``changes`` sets it. Returns the new record."""
        with self._lock:
            org, name = self._resolve(resource, org_id)
            table = org.table(name)
            current = table.get(record_id)
            if current is None:
                raise KeyError(f"{name} {record_id} not found")
            updated = copy.deepcopy(current)
            updated["updatedAt"] = self.timestamps.next_iso()
            updated.update(copy.deepcopy(dict(changes)))
            table.put(updated)
            return {k: v for k, v in updated.items() if not k.startswith("_")}

    def add_record(
        self, resource: str, fields: Mapping[str, Any] | None = None, *, org_id: int | None = None
    ) -> dict[str, Any]:
        """Create a record behind the API's back: every field at its default (as a create
        through the API makes it), then ``fields``. The way to plant records the API cannot
        create (``assetCriticalities``, ``rootCauseAnalysisReports``, ``workPermits``...).
        Returns the new record."""
        with self._lock:
            org, name = self._resolve(resource, org_id)
            ctx = WriteContext(
                org_id=org.id,
                user_id=1,
                now=self.timestamps.next_iso(),
                lookup=org.lookup,
                new_id=self.new_id,
                sequence=org.next_sequence,
                random_hex=self.random_hex,
                category_ids=lambda _labels: [],
                store=lambda table, record: org.table(table).put(record),
            )
            collection = catalog().collections.get(name) or Collection(name, name, name)
            record = collection.blank(self.new_id(name), ctx)
            record.update(copy.deepcopy(dict(fields or {})))
            org.table(name).put(record)
            return {k: copy.deepcopy(v) for k, v in record.items() if not k.startswith("_")}

    def delete_record(self, resource: str, record_id: int, *, org_id: int | None = None) -> None:
        """Delete a record behind the API's back."""
        with self._lock:
            org, name = self._resolve(resource, org_id)
            if org.table(name).delete(record_id) is None:
                raise KeyError(f"{name} {record_id} not found")

    def mutator(self, **options: Any) -> Mutator:
        """Creates, updates and deletes records behind the API's back, in the background
        (``.start()``/``.stop()``, or ``with sim.mutator(rate=50):``) or one by one
        (``.step()``); options in :class:`~maintainx_resilient.testing._mutator.Mutator`."""
        from ._mutator import Mutator

        return Mutator(self, **options)

    @property
    def stats(self) -> SimStats:
        """A snapshot of the request counters."""
        return self._stats.snapshot()

    def reset_stats(self) -> None:
        self._stats.reset()

    @property
    def request_log(self) -> list[RequestRecord]:
        """The most recent requests (up to 10 000), oldest first."""
        return self._stats.log()

    @staticmethod
    def routes() -> list[tuple[str, str]]:
        """Every ``(method, path template)`` served, templates as in the OpenAPI spec: all of
        the spec's operations."""
        return [(r.method, r.template) for r in catalog().routes]

    # -- I/O shells ------------------------------------------------------------------------------

    def transport(self) -> SimulatorTransport:
        """An in-process httpx transport (sync and async) answering from this simulator."""
        from ._transport import SimulatorTransport

        return SimulatorTransport(self)

    def serve(self, host: str = "127.0.0.1", port: int = 0) -> SimulatorServer:
        """Serve this simulator over a real socket; a started ``SimulatorServer``.

        Use it as a context manager (``with sim.serve() as server:``) or call ``stop()``.
        """
        from ._server import SimulatorServer

        return SimulatorServer(self, host=host, port=port).start()

    # -- the request pipeline ------------------------------------------------------------------

    def handle(self, request: SimRequest) -> SimResponse:
        """Answer one request (see the module docstring for the order of the checks)."""
        method = request.method.upper()
        plan = self.faults.plan(method, request.path)
        with self._lock:
            request_id = f"sim-{next(self._request_ids):08d}"
            rate_limited = False
            if plan.response is not None:
                response = plan.response
            else:
                response, rate_limited = self._process(request, method)
                if plan.after is not None:
                    response = mangle(response, plan.after)
            if response.action == "respond":
                response.headers["x-request-id"] = request_id
            response.delay = plan.delay
            route = self._route_of(method, request.path)
            self._stats.record(
                RequestRecord(
                    request_id,
                    method,
                    request.path,
                    route.template if route else None,
                    response.status,
                    response.action,
                    plan.fault,
                ),
                rate_limited=rate_limited,
            )
            return response

    def _route_of(self, method: str, path: str) -> Route | None:
        path = path.rstrip("/") or "/"
        if path == VERSIONS_ROUTE.template:
            return VERSIONS_ROUTE if method == "GET" else None
        match = self._router.match(method, path[3:]) if path.startswith("/v1/") else None
        return match[0] if match else None

    def _process(self, request: SimRequest, method: str) -> tuple[SimResponse, bool]:
        """The answer, and whether the rate limiter refused the request."""
        path = request.path.rstrip("/") or "/"
        if path == VERSIONS_ROUTE.template:
            if method != "GET":
                return _not_found(method, path), False
            return self._handlers.versions(), False
        if not path.startswith("/v1/"):
            return _not_found(method, path), False
        grant = self._authenticate(request)
        if isinstance(grant, SimResponse):
            return grant, False
        match = self._router.match(method, path[3:])
        if match is None:
            return _not_found(method, path), False
        route, params = match
        orgs = self._organizations_for(request, route, grant)
        if isinstance(orgs, SimResponse):
            return orgs, False
        headers: dict[str, str] = {}
        if self.rate_limit is not None:
            decision = self._limiter.check(self._buckets(route, params, grant, orgs), self.clock())
            if self.rate_limit.headers:
                headers = decision.headers()
            if not decision.allowed:
                if self.rate_limit.retry_after:
                    headers["Retry-After"] = str(decision.reset)
                message = f"Too many requests. Please retry in {decision.reset} seconds"
                return json_response(429, {"error": message}, headers), True
        call = Call(request, route, params, orgs, grant.user_id, grant.org_ids)
        before_webhooks = self.webhooks.before(call)
        response = self._handlers(call)
        self.webhooks.after(before_webhooks, call, response)
        response.headers.update(headers)
        return response, False

    def _authenticate(self, request: SimRequest) -> ApiKey | SimResponse:
        header = request.headers.get("authorization")
        if header is None:
            body = b"Invalid authentication token"
            return SimResponse(401, {"Content-Type": "text/html; charset=utf-8"}, body)
        scheme, _, token = header.strip().partition(" ")
        grant = self._keys.get(token.strip()) if scheme.lower() == "bearer" else None
        if grant is None:
            return json_response(401, {"error": "Invalid token"})
        return grant

    def _organizations_for(
        self, request: SimRequest, route: Route, grant: ApiKey
    ) -> list[OrgData] | SimResponse:
        if route.handler == "organizations":
            return [self._organization(grant.org_ids[0])]
        single = request.headers.get("x-organization-id")
        several = request.headers.get("x-organization-ids")
        if several is not None:
            if single is not None:
                return _org_error(400, "Send x-organization-id or x-organization-ids, not both.")
            if route.handler != "list" or not route.multi_org:
                return _org_error(400, "x-organization-ids is not supported on this endpoint.")
            wanted = _parse_ids(several)
            if not wanted:
                return _org_error(400, "Invalid x-organization-ids header.", several)
        elif single is not None:
            wanted = _parse_ids(single)
            if len(wanted) != 1:
                return _org_error(400, "Invalid x-organization-id header.", single)
        elif len(grant.org_ids) == 1:
            wanted = list(grant.org_ids)
        else:
            return _org_error(400, "Missing x-organization-id header.")
        for org_id in wanted:
            if org_id not in grant.org_ids:
                return _org_error(403, "You do not have access to this organization.", org_id)
        return [self._organization(org_id) for org_id in wanted]

    def _buckets(
        self, route: Route, params: Mapping[str, str], grant: ApiKey, orgs: Sequence[OrgData]
    ) -> list[Bucket]:
        config = self.rate_limit
        assert config is not None
        buckets = [Bucket(("user", grant.user_id), config.per_user, config.window)]
        buckets += [Bucket(("org", org.id), config.per_org, config.window) for org in orgs]
        if route.handler == "meter_readings":
            buckets.append(
                Bucket(("meterreadings", grant.user_id), config.meter_readings, config.window)
            )
        elif route.handler == "meter_reading":
            meter = params.get("meterId", "")
            buckets.append(Bucket(("meter", orgs[0].id, meter), 1, config.single_meter_per))
        return buckets


def _table_name(resource: str) -> str:
    """The table of a collection name or path (``workorders``, ``/vendors/{id}/contacts``)."""
    collections = catalog().collections
    if resource in collections or resource in _TABLES_OUTSIDE:
        return resource
    wanted = resource.strip("/").lower()
    for collection in collections.values():
        literal = "/".join(s for s in collection.path.strip("/").split("/") if "{" not in s)
        if wanted in (collection.path.strip("/").lower(), literal.lower(), collection.name.lower()):
            return collection.name
    known = ", ".join(sorted([*collections, *_TABLES_OUTSIDE]))
    raise KeyError(f"unknown resource {resource!r}; known: {known}")


def _not_found(method: str, path: str) -> SimResponse:
    return json_response(404, {"error": f"Cannot {method} {path}"})


def _org_error(status: int, message: str, value: Any = None) -> SimResponse:
    return error_a(status, [FieldError(message, None, value)]).response


def _parse_ids(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        return []


def _default_async_sleep(sleep: Callable[[float], None]) -> Callable[[float], Awaitable[None]]:
    if sleep is time.sleep:
        return asyncio.sleep

    async def injected(seconds: float) -> None:
        sleep(seconds)

    return injected
