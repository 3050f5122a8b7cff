"""``MaintainXClient`` and ``AsyncMaintainXClient``.

Both share :class:`_ClientCore`: settings, the live policies, mitigations, and reading answers
into results or typed errors. The two classes differ only in how they send (``httpx.Client``
or ``httpx.AsyncClient`` over the pipeline of :mod:`._pipeline`) and in ``await``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from types import TracebackType
from typing import Any, TypeVar

import httpx
from typing_extensions import TypedDict, Unpack

from ._clock import SYSTEM_CLOCK, Clock
from ._config import DEFAULT_DEADLINE, ClientConfig
from ._deadline import Deadline, DeadlinePolicy
from ._events import EventBus, Hook, RequestRefused
from ._exceptions import (
    CircuitOpenError,
    ConfigurationError,
    FallbackModeError,
    MaintainXError,
    ThrottledError,
)
from ._extensions import ATTEMPTS_EXTENSION, COMMIT_EXTENSION, DEADLINE_EXTENSION
from ._http import AsyncHTTPLayer, HTTPLayer
from ._net import bound_transport
from ._operation import Operation
from ._pipeline import Policies, build_async_pipeline, build_sync_pipeline
from ._response import build_status_error
from ._stats import RollingStats
from .diagnostics._context import (
    ProbeResult,
    SyncControls,
    SyncStoreSource,
    WebhookControls,
    WebhookHealthSource,
)
from .diagnostics._model import Severity
from .diagnostics._runner import DiagnosisReport, run_sync
from .diagnostics.desk import DiagnosticsConfig, IncidentDesk, pool_stats, probe_result
from .diagnostics.health import DEFAULT_HEALTH_TIMEOUT, HealthReport
from .policies.auth import AsyncAuthLayer, AuthLayer, KeyRing, KeySource
from .policies.breaker import BreakerConfig, Breakers
from .policies.fallback import FallbackCache, FallbackConfig
from .policies.retry import RetryConfig, RetryPolicy
from .policies.throttle import Throttle, ThrottleConfig
from .resources.assets import Assets, AsyncAssets
from .resources.categories import AsyncCategories, Categories
from .resources.locations import AsyncLocations, Locations
from .resources.meters import AsyncMeters, Meters
from .resources.organizations import AsyncOrganizations, Organizations
from .resources.parts import AsyncParts, Parts
from .resources.purchase_orders import AsyncPurchaseOrders, PurchaseOrders
from .resources.subscriptions import AsyncSubscriptions, Subscriptions
from .resources.teams import AsyncTeams, Teams
from .resources.users import AsyncUsers, Users
from .resources.vendors import AsyncVendors, Vendors
from .resources.work_orders import AsyncWorkOrders, WorkOrders
from .resources.work_requests import AsyncWorkRequests, WorkRequests
from .telemetry import Observer

__all__ = ["AsyncMaintainXClient", "ClientOptions", "MaintainXClient"]

T = TypeVar("T")

#: Errors of calls the client refused without sending (reported as ``RequestRefused``).
_REFUSALS = (CircuitOpenError, ThrottledError, FallbackModeError)

#: The policies a client gets unless told otherwise (pass None to switch one off).
DEFAULT_THROTTLE = ThrottleConfig()
DEFAULT_RETRY = RetryConfig()
DEFAULT_BREAKER = BreakerConfig()
DEFAULT_FALLBACK = FallbackConfig()
DEFAULT_DIAGNOSTICS = DiagnosticsConfig()


class ClientOptions(TypedDict, total=False):
    """The keyword arguments both clients take (besides ``transport``).

    Connection: ``api_key`` (a string, a callable returning one, or a :class:`KeyProvider`;
    default ``MAINTAINX_API_KEY``), ``base_url``, ``organization_id`` / ``organization_ids``,
    ``timeout`` (each network wait), ``deadline`` (a whole call, retries and waits included:
    120 s by default, None for none), ``max_response_bytes`` (50 MB by default),
    ``limits``, ``default_headers``. Policies (a config object, or None to switch
    one off; on by default): ``throttle``, ``retry``, ``breaker``, ``fallback``.
    Observability and diagnosis: ``diagnostics``, ``hooks``, ``tracer_provider``,
    ``meter_provider``. ``clock`` drives every policy (tests pass a ``FakeClock``).
    """

    api_key: KeySource | None
    base_url: str | None
    organization_id: int | str | None
    organization_ids: list[int] | tuple[int, ...] | None
    timeout: float | httpx.Timeout | None
    deadline: float | None
    max_response_bytes: int | None
    limits: httpx.Limits | None
    default_headers: Mapping[str, str] | None
    throttle: ThrottleConfig | None
    retry: RetryConfig | None
    breaker: BreakerConfig | None
    fallback: FallbackConfig | None
    diagnostics: DiagnosticsConfig
    clock: Clock
    hooks: Sequence[Hook]
    tracer_provider: Any
    meter_provider: Any


class _ClientCore:
    """What the sync and async clients share: configuration, policies, reading answers."""

    _config: ClientConfig
    _policies: Policies
    _stats: RollingStats

    def _configure(self, options: ClientOptions) -> ClientConfig:
        unknown = set(options) - set(ClientOptions.__annotations__)
        if unknown:
            raise TypeError(f"unexpected keyword arguments: {', '.join(sorted(unknown))}")
        config = self._config = ClientConfig.resolve(
            api_key=options.get("api_key"),
            base_url=options.get("base_url"),
            organization_id=options.get("organization_id"),
            organization_ids=options.get("organization_ids"),
            timeout=options.get("timeout"),
            limits=options.get("limits"),
            default_headers=options.get("default_headers"),
            deadline=options.get("deadline", DEFAULT_DEADLINE),
            max_response_bytes=options.get("max_response_bytes"),
        )
        clock = options.get("clock", SYSTEM_CLOCK)
        throttle = options.get("throttle", DEFAULT_THROTTLE)
        retry = options.get("retry", DEFAULT_RETRY)
        breaker = options.get("breaker", DEFAULT_BREAKER)
        fallback = options.get("fallback", DEFAULT_FALLBACK)
        events = EventBus()
        for hook in options.get("hooks", ()):
            events.subscribe(hook)
        keys = KeyRing(config.api_key, clock=clock, events=events)
        self._stats = RollingStats(clock=clock, events=events)
        self._policies = Policies(
            clock=clock,
            events=events,
            keys=keys,
            observer=Observer(
                clock=clock,
                events=events,
                tracer_provider=options.get("tracer_provider"),
                meter_provider=options.get("meter_provider"),
            ),
            deadline=DeadlinePolicy(config.deadline, clock=clock) if config.deadline else None,
            fallback=(
                FallbackCache(fallback, clock=clock, events=events, credential=keys.credential)
                if fallback
                else None
            ),
            retry=RetryPolicy(retry, clock=clock, events=events) if retry else None,
            breakers=Breakers(breaker, clock=clock, events=events) if breaker else None,
            throttle=Throttle(throttle, clock=clock, events=events) if throttle else None,
            max_response_bytes=config.max_response_bytes,
        )
        diagnostics = options.get("diagnostics", DEFAULT_DIAGNOSTICS)
        self._desk = IncidentDesk(diagnostics, clock=clock, events=events)
        self._sync: SyncControls | None = None
        return config

    # -- what the client is doing ----------------------------------------------------------

    @property
    def config(self) -> ClientConfig:
        """The resolved settings (the key shows only as its fingerprint)."""
        return self._config

    @property
    def base_url(self) -> str:
        return self._config.base_url

    @property
    def events(self) -> EventBus:
        """Subscribe hooks here: ``client.events.subscribe(print)``."""
        return self._policies.events

    @property
    def policies(self) -> Policies:
        """The live policy objects: throttle, breakers, fallback cache, retry, keys."""
        return self._policies

    @property
    def stats(self) -> RollingStats:
        """Rolling per-endpoint statistics (what the diagnostics read)."""
        return self._stats

    # -- mitigations (the runbook's "immediate actions"), each one call ------------------

    def enable_fallback_mode(self) -> None:
        """Answer GETs from the fallback cache without calling MaintainX; writes fail fast."""
        self._require(self._policies.fallback, "fallback").enable_fallback_mode()
        self._desk.record_mitigation("enable_fallback_mode", "serving GETs from the cache")

    def disable_fallback_mode(self) -> None:
        self._require(self._policies.fallback, "fallback").disable_fallback_mode()
        self._desk.record_mitigation("disable_fallback_mode", "calling MaintainX again")

    def enable_throttling(self, rate_per_minute: float) -> None:
        """Cap the request rate below the API's limit until :meth:`disable_throttling`."""
        self._require(self._policies.throttle, "throttle").enable_throttling(rate_per_minute)
        self._desk.record_mitigation("enable_throttling", f"capped at {rate_per_minute}/min")

    def disable_throttling(self) -> None:
        self._require(self._policies.throttle, "throttle").disable_override()
        self._desk.record_mitigation("disable_throttling", "rate cap removed")

    def isolate_breaker(self, scope: str | None = None) -> None:
        """Hold the circuit breaker(s) open by hand: every call fails fast (or falls back)."""
        self._require(self._policies.breakers, "breaker").isolate(scope)
        self._desk.record_mitigation("isolate_breaker", scope or "every scope")

    def close_breaker(self, scope: str | None = None) -> None:
        """Close the circuit breaker(s) by hand and reset their failure counts."""
        self._require(self._policies.breakers, "breaker").close(scope)
        self._desk.record_mitigation("close_breaker", scope or "every scope")

    def reset_throttle(self) -> None:
        """Forget every rate-limit block and learned limit at once (after an answer that
        slowed the client down wrongly; the "enable throttling" cap stays)."""
        self._require(self._policies.throttle, "throttle").reset()
        self._desk.record_mitigation(
            "reset_throttle", "rate-limit blocks and learned limits cleared"
        )

    def reset_stats(self) -> None:
        """The runbook's "clear error state": forget the rolling statistics."""
        self._stats.reset()
        self._desk.record_mitigation("reset_stats", "error statistics cleared")

    # -- diagnostics and the incident report ---------------------------------------------

    @property
    def incident(self) -> IncidentDesk:
        """The severity tracker, the incident timeline and the diagnostics settings."""
        return self._desk

    def attach_webhooks(self, receiver: WebhookHealthSource) -> None:
        """Give RB-003 the webhook receiver to inspect; with a full receiver
        (``webhooks.WebhookReceiver``) the webhook mitigations below work too."""
        self._desk.webhooks = receiver

    def attach_sync(self, engine: SyncControls) -> None:
        """Give RB-004 the sync engine: its store to compare, and the recent MaintainX
        records to compare with; :meth:`full_sync` and :meth:`reconcile` use it too."""
        self._sync = engine
        self._desk.sync_store = engine.store

        async def fetch_work_orders(limit: int) -> Mapping[int, str]:
            return await asyncio.to_thread(engine.recently_updated, "workOrders", limit)

        self._desk.extras["fetch_work_orders"] = fetch_work_orders

    def attach_sync_store(self, store: SyncStoreSource) -> None:
        """Give RB-004 a local store of your own (see :class:`SyncStoreSource`)."""
        self._desk.sync_store = store

    def pause_webhooks(self) -> None:
        """Stop webhook workers taking events (deliveries are still stored and acknowledged)."""
        self._webhook_controls().pause()
        self._desk.record_mitigation("pause_webhooks", "webhook processing paused")

    def resume_webhooks(self) -> None:
        self._webhook_controls().resume()
        self._desk.record_mitigation("resume_webhooks", "webhook processing resumed")

    def replay_failed_webhooks(self) -> Any:
        """Move every dead-lettered webhook back to the queue; returns the replay result."""
        result = self._webhook_controls().replay_failed()
        self._desk.record_mitigation("replay_failed_webhooks", str(result))
        return result

    def full_sync(self, resource: str = "workOrders") -> Any:
        """The runbook's "trigger full sync" (blocking; needs :meth:`attach_sync`)."""
        result = self._require(self._sync, "sync (attach_sync)").full(resource)
        self._desk.record_mitigation("full_sync", f"{resource}: {result}")
        return result

    def reconcile(self, resource: str = "workOrders") -> Any:
        """The runbook's "run reconciliation" (blocking; needs :meth:`attach_sync`)."""
        report = self._require(self._sync, "sync (attach_sync)").reconcile(resource)
        self._desk.record_mitigation("reconcile", f"{resource}: {report}")
        return report

    def _webhook_controls(self) -> WebhookControls:
        source = self._desk.webhooks
        if source is None or not isinstance(source, WebhookControls):
            raise ConfigurationError(
                "no webhook receiver attached: call client.attach_webhooks(receiver) first"
            )
        return source

    def incident_report(
        self,
        *,
        title: str = "MaintainX integration incident",
        summary: str = "",
        root_cause: str = "",
        resolution: str = "",
        severity: Severity | None = None,
    ) -> str:
        """The runbook's post-incident template in Markdown, filled from the timeline."""
        return self._desk.report(
            title=title,
            summary=summary or "(summary to be written)",
            root_cause=root_cause or "(root cause to be written)",
            resolution=resolution or "(resolution to be written)",
            severity=severity,
            secrets=(self._policies.keys.known(),),
        )

    def _diagnostic_state(self, network: object) -> dict[str, Any]:
        p = self._policies
        in_process = not isinstance(network, (httpx.HTTPTransport, httpx.AsyncHTTPTransport))
        return {
            "base_url": self._config.base_url,
            "transport_kind": "in_process" if in_process else "network",
            "stats": self._stats.snapshot(),
            "throttle": p.throttle.snapshot() if p.throttle else None,
            "breakers": p.breakers.states() if p.breakers else None,
            "cache": p.fallback.stats() if p.fallback else None,
            "fallback_mode": bool(p.fallback and p.fallback.fallback_mode),
            "pool": pool_stats(network),
        }

    def _probe_timeout(self, deadline: float | None) -> float:
        return 0.9 * (self._desk.config.deadline if deadline is None else deadline)

    def _health_deadline(self) -> float:
        """A health check waits at most 5 s (less when the diagnostics deadline is shorter)."""
        return min(DEFAULT_HEALTH_TIMEOUT, self._desk.config.deadline)

    def _probe_extensions(self, timeout: float) -> dict[str, Any]:
        """A probe's own deadline: the HTTP layer ends it by then even against a server
        that trickles (a sync probe's thread cannot be cancelled, so it must end itself)."""
        return {DEADLINE_EXTENSION: Deadline.after(timeout, self._policies.clock)}

    @staticmethod
    def _require(policy: T | None, name: str) -> T:
        if policy is None:
            raise ConfigurationError(
                f"the {name} policy is switched off for this client ({name}=None)"
            )
        return policy

    # -- reading answers -------------------------------------------------------------------

    def _http_kwargs(self) -> dict[str, Any]:
        cfg = self._config
        return {
            "base_url": cfg.base_url + "/",
            "headers": cfg.base_headers(),
            "timeout": cfg.timeout,
            "follow_redirects": False,
        }

    def _refused(self, op: Operation[Any], exc: MaintainXError) -> None:
        """Tell the statistics a call failed without being sent (what the caller saw)."""
        clock = self._policies.clock
        self._policies.events.emit(
            RequestRefused(
                at=clock.monotonic(),
                wall=clock.time(),
                method=op.method,
                route=op.route,
                kind=type(exc).__name__,
            )
        )

    @staticmethod
    def _finish(op: Operation[T], response: httpx.Response) -> T:
        if response.is_success:
            result = op.parse(response, op)
            # The fallback cache keeps a fresh answer only once it parsed.
            keep = response.extensions.get(COMMIT_EXTENSION)
            if keep is not None:
                keep()
            return result
        error = build_status_error(response, method=op.method, path=op.path)
        error.attempts, error.waited = response.extensions.get(ATTEMPTS_EXTENSION, (1, 0.0))
        raise error

    def __repr__(self) -> str:
        cfg = self._config
        org = f", organization_id={cfg.organization_id}" if cfg.organization_id else ""
        key = self._policies.keys.fingerprint
        return f"{type(self).__name__}(base_url={cfg.base_url!r}, key={key}{org})"


class MaintainXClient(_ClientCore):
    """A synchronous MaintainX client.

    >>> with MaintainXClient() as client:  # reads MAINTAINX_API_KEY  # doctest: +SKIP
    ...     for wo in client.work_orders.iter(statuses=["OPEN"]):
    ...         print(wo.id, wo.title)

    Resilience policies are on by default; pass ``throttle=None``, ``retry=None``,
    ``breaker=None`` or ``fallback=None`` to switch one off, or a config object to tune it.
    ``transport`` replaces the network (for example
    ``maintainx_resilient.testing.Simulator().transport()``); it sits under the whole
    pipeline, exactly where the network would be.
    """

    def __init__(
        self,
        *,
        transport: httpx.BaseTransport | None = None,
        **options: Unpack[ClientOptions],
    ) -> None:
        config = self._configure(options)
        self._network = transport or bound_transport(httpx.HTTPTransport(limits=config.limits))
        self._http = httpx.Client(
            transport=build_sync_pipeline(self._policies, self._network), **self._http_kwargs()
        )
        # Diagnostic probes go through auth and HTTP only: they must tell the truth about
        # MaintainX, not what the fallback cache or the breaker would answer.
        self._probe_http = httpx.Client(
            transport=AuthLayer(
                HTTPLayer(self._network, max_response_bytes=config.max_response_bytes),
                self._policies.keys,
            ),
            **self._http_kwargs(),
        )
        self.work_orders = WorkOrders(self)
        self.assets = Assets(self)
        self.locations = Locations(self)
        self.parts = Parts(self)
        self.users = Users(self)
        self.teams = Teams(self)
        self.vendors = Vendors(self)
        self.categories = Categories(self)
        self.meters = Meters(self)
        self.purchase_orders = PurchaseOrders(self)
        self.work_requests = WorkRequests(self)
        self.organizations = Organizations(self)
        self.subscriptions = Subscriptions(self)

    def _execute(self, op: Operation[T]) -> T:
        try:
            response = self._http.send(op.build_request(self._http))
        except _REFUSALS as exc:
            self._refused(op, exc)
            raise
        return self._finish(op, response)

    def rotate_key(self) -> bool:
        """Move to the next key now (the runbook's "Rotate API key"); False if none."""
        keys = self._policies.keys
        rotated = keys.rotate(keys.current(), reason="manual") is not None
        self._desk.record_mitigation("rotate_key", "rotated" if rotated else "no other key")
        return rotated

    # -- health and diagnosis ------------------------------------------------------------

    def _probe(
        self, method: str, path: str, headers: Mapping[str, str], timeout: float
    ) -> ProbeResult:
        clock = self._policies.clock
        start = clock.monotonic()
        try:
            outcome: Any = self._probe_http.request(
                method,
                path.lstrip("/"),
                headers=dict(headers),
                timeout=timeout,
                extensions=self._probe_extensions(timeout),
            )
        except MaintainXError as exc:
            outcome = exc
        return probe_result(method, path, clock.monotonic() - start, outcome)

    def _context(self, deadline: float | None) -> Any:
        timeout = self._probe_timeout(deadline)

        async def probe(method: str, path: str, headers: Mapping[str, str]) -> ProbeResult:
            return await asyncio.to_thread(self._probe, method, path, headers, timeout)

        return self._desk.context(probe, deadline=deadline, **self._diagnostic_state(self._network))

    def health(self) -> HealthReport:
        """A fast check for a service's health endpoint: one probe plus the client's state."""
        return run_sync(self._desk.health(self._context(self._health_deadline())))

    def diagnose(
        self, *, only: Iterable[str] | None = None, deadline: float | None = None
    ) -> DiagnosisReport:
        """Run the runbook's procedures (all, or ``only=["RB-002"]``) within ``deadline``."""
        return run_sync(self._desk.diagnose(self._context(deadline), only))

    def close(self) -> None:
        """Close pooled connections (and flush the fallback cache's file, if any)."""
        self._http.close()
        self._probe_http.close()
        if self._policies.fallback is not None:
            self._policies.fallback.close()
        self._policies.keys.close()

    def __enter__(self) -> MaintainXClient:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()


class AsyncMaintainXClient(_ClientCore):
    """The asyncio twin of :class:`MaintainXClient` (same arguments, awaitable calls)."""

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        **options: Unpack[ClientOptions],
    ) -> None:
        config = self._configure(options)
        self._network = transport or bound_transport(httpx.AsyncHTTPTransport(limits=config.limits))
        self._http = httpx.AsyncClient(
            transport=build_async_pipeline(self._policies, self._network), **self._http_kwargs()
        )
        self._probe_http = httpx.AsyncClient(
            transport=AsyncAuthLayer(
                AsyncHTTPLayer(self._network, max_response_bytes=config.max_response_bytes),
                self._policies.keys,
            ),
            **self._http_kwargs(),
        )
        self.work_orders = AsyncWorkOrders(self)
        self.assets = AsyncAssets(self)
        self.locations = AsyncLocations(self)
        self.parts = AsyncParts(self)
        self.users = AsyncUsers(self)
        self.teams = AsyncTeams(self)
        self.vendors = AsyncVendors(self)
        self.categories = AsyncCategories(self)
        self.meters = AsyncMeters(self)
        self.purchase_orders = AsyncPurchaseOrders(self)
        self.work_requests = AsyncWorkRequests(self)
        self.organizations = AsyncOrganizations(self)
        self.subscriptions = AsyncSubscriptions(self)

    async def _execute(self, op: Operation[T]) -> T:
        try:
            response = await self._http.send(op.build_request(self._http))
        except _REFUSALS as exc:
            self._refused(op, exc)
            raise
        return self._finish(op, response)

    async def rotate_key(self) -> bool:
        """Move to the next key now (the runbook's "Rotate API key"); False if none."""
        keys = self._policies.keys
        rotated = await keys.arotate(keys.current(), reason="manual") is not None
        self._desk.record_mitigation("rotate_key", "rotated" if rotated else "no other key")
        return rotated

    # -- health and diagnosis ------------------------------------------------------------

    def _context(self, deadline: float | None) -> Any:
        timeout = self._probe_timeout(deadline)
        clock = self._policies.clock

        async def probe(method: str, path: str, headers: Mapping[str, str]) -> ProbeResult:
            start = clock.monotonic()
            try:
                outcome: Any = await self._probe_http.request(
                    method,
                    path.lstrip("/"),
                    headers=dict(headers),
                    timeout=timeout,
                    extensions=self._probe_extensions(timeout),
                )
            except MaintainXError as exc:
                outcome = exc
            return probe_result(method, path, clock.monotonic() - start, outcome)

        return self._desk.context(probe, deadline=deadline, **self._diagnostic_state(self._network))

    async def health(self) -> HealthReport:
        """A fast check for a service's health endpoint: one probe plus the client's state."""
        return await self._desk.health(self._context(self._health_deadline()))

    async def diagnose(
        self, *, only: Iterable[str] | None = None, deadline: float | None = None
    ) -> DiagnosisReport:
        """Run the runbook's procedures (all, or ``only=["RB-002"]``) within ``deadline``."""
        return await self._desk.diagnose(self._context(deadline), only)

    async def aclose(self) -> None:
        """Close pooled connections (and flush the fallback cache's file, if any)."""
        await self._http.aclose()
        await self._probe_http.aclose()
        if self._policies.fallback is not None:
            self._policies.fallback.close()
        self._policies.keys.close()

    async def __aenter__(self) -> AsyncMaintainXClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()
