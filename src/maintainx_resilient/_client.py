"""``MaintainXClient`` and ``AsyncMaintainXClient``: the SDK.

A client is its settings, its resource families (``client.work_orders``...), the pipeline of
:mod:`._pipeline` and one way to send an operation, :meth:`MaintainXClient.send`, which the
families, the sync engine and raw calls all use. Everything about an incident is the
client's :attr:`~MaintainXClient.incident` desk (:mod:`.diagnostics.desk`); ``health()``,
``diagnose()`` and the runbook's policy mitigations are thin delegates to it. The two
classes differ only in how they send: the pipeline's ``handle_request`` or
``handle_async_request``, called directly, not through ``httpx.Client.send`` (see
``docs/architecture.md``).
"""

from __future__ import annotations

import copy
import warnings
from collections.abc import Iterable
from typing import Any, TypeVar

import httpx
from typing_extensions import Self, Unpack

from ._config import ClientConfig, ClientOptions
from ._events import EventBus, RequestRefused, ResponseUnreadable
from ._exceptions import REFUSALS, ClientClosedError, MaintainXError, _RequestError
from ._extensions import ATTEMPTS_EXTENSION, COMMIT_EXTENSION
from ._net import bound_transport, network_of
from ._operation import Operation
from ._options import CallOptions, RequestOptions
from ._pipeline import PROBE_LAYERS, Policies, build_async_pipeline, build_sync_pipeline
from ._response import build_status_error
from .diagnostics._runner import DiagnosisReport, run_sync
from .diagnostics.desk import DiagnosticsConfig, IncidentDesk, Mitigations
from .diagnostics.health import HealthReport
from .resources import FAMILIES, AsyncFamilies, Families
from .resources._async import ASYNC_FAMILIES
from .telemetry._stats import RollingStats

__all__ = ["AsyncMaintainXClient", "ClientOptions", "MaintainXClient"]

T = TypeVar("T")

#: Names that moved to ``client.incident`` (still answered here, with a warning).
_MOVED_TO_DESK = frozenset({
    "attach_webhooks", "attach_sync", "attach_sync_store", "pause_webhooks",
    "resume_webhooks", "replay_failed_webhooks", "full_sync", "reconcile",
})  # fmt: skip


class _BaseClient(Mitigations):
    """What both clients share: settings, policies, families, the incident desk, and
    reading answers into results or typed errors."""

    _network: Any
    _pipeline: Any
    _http: Any
    _probe_http: Any
    _options: RequestOptions = RequestOptions()

    def _connect(
        self, options: ClientOptions, families: Iterable[Any], transport: Any, http: Any, net: Any
    ) -> None:
        """Settings, policies, families and the incident desk; then the network (``transport``,
        the ``http_client``'s, or a bounded ``net`` transport) under the pipeline and under the
        probes' stack, each behind an ``http`` client (``httpx.Client`` or ``AsyncClient``)."""
        unknown = set(options) - set(ClientOptions.__annotations__)
        if unknown:
            raise TypeError(f"unexpected keyword arguments: {', '.join(sorted(unknown))}")
        cfg = self._config = ClientConfig.from_options(options)
        self._policies = policies = Policies.build(cfg, options)
        self._stats = RollingStats(clock=policies.clock, events=policies.events)
        self.incident = IncidentDesk(self, options.get("diagnostics", DiagnosticsConfig()))
        self._attach(families)
        given = network_of(transport, options.get("http_client"), http)
        self._network = network = given or bound_transport(net(limits=cfg.limits))
        build = build_sync_pipeline if http is httpx.Client else build_async_pipeline
        kwargs: dict[str, Any] = {"base_url": cfg.base_url + "/", "headers": cfg.base_headers()}
        kwargs.update(timeout=cfg.timeout, follow_redirects=False)
        self._pipeline = build(policies, network)
        self._http = http(transport=self._pipeline, **kwargs)
        self._probe_http = http(transport=build(policies, network, layers=PROBE_LAYERS), **kwargs)

    def _attach(self, families: Iterable[type[Any]]) -> None:
        for family in families:
            setattr(self, family.spec.attribute, family(self))

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
    def is_closed(self) -> bool:
        """Whether ``close()`` (``aclose()``) ran: calls then raise ``ClientClosedError``."""
        return bool(self._http.is_closed)

    @property
    def stats(self) -> RollingStats:
        """Rolling per-endpoint statistics (what the diagnostics read)."""
        return self._stats

    # -- per-call options --------------------------------------------------------------------

    def with_options(self, **options: Unpack[CallOptions]) -> Self:
        """A copy whose calls use these options; it shares this client's connections,
        policies (rate-limit budget, breakers, fallback cache) and incident desk.

        ``timeout``: each network wait; ``deadline``: a whole call (None: no bound);
        ``max_retries``: retries after the first attempt; ``max_wait``: how long the
        throttle may make a call wait for a slot; ``headers``: extra request headers.
        """
        twin = copy.copy(self)
        twin._options = self._options.merged(RequestOptions.build(**options))
        twin._attach(type(getattr(self, f.spec.attribute)) for f in FAMILIES)
        return twin

    def __getattr__(self, name: str) -> Any:
        if name in _MOVED_TO_DESK:
            warnings.warn(f"client.{name} moved to client.incident.{name}", DeprecationWarning, 2)
            return getattr(self.incident, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # -- sending ---------------------------------------------------------------------------

    def _request(self, op: Operation[Any]) -> httpx.Request:
        if self.is_closed:
            raise ClientClosedError(f"{type(self).__name__} is closed: make a new one to send")
        request = op.build_request(self._http)
        if not self._options.empty:
            self._options.apply(request, self._policies.clock)
        return request

    def _refused(self, op: Operation[Any], exc: _RequestError) -> None:
        exc.path = op.path  # as API errors name it (the layers saw /v1/...)
        if isinstance(exc, REFUSALS):
            self._failed(op, exc)

    def _failed(self, op: Operation[Any], exc: MaintainXError, status: int | None = None) -> None:
        """Tell the statistics about a failure the pipeline did not see: a call refused
        without being sent (``RequestRefused``), or a ``status`` 2xx that could not be read
        (``ResponseUnreadable``: that try failed after all)."""
        clock, kind = self._policies.clock, type(exc).__name__
        where = (clock.monotonic(), clock.time(), op.method, op.route)
        unread = None if status is None else ResponseUnreadable(*where, status, kind)
        self._policies.events.emit(unread or RequestRefused(*where, kind))

    def _finish(self, op: Operation[T], request: httpx.Request, response: httpx.Response) -> T:
        response.request = request
        if not response.is_success:
            error = build_status_error(response, method=op.method, path=op.path)
            error.attempts, error.waited = response.extensions.get(ATTEMPTS_EXTENSION, (1, 0.0))
            raise error
        fresh = response.extensions.get(COMMIT_EXTENSION)  # the fallback cache's FreshAnswer
        try:
            result = op.parse(response, op)
        except MaintainXError as exc:  # an HTML page, truncated JSON, the wrong shape
            self._failed(op, exc, response.status_code)
            stale = fresh.stale() if fresh is not None else None
            if stale is None:
                raise
            return op.parse(stale, op)  # the last good answer, labelled stale
        if fresh is not None:
            fresh()  # kept only once it parsed
        return result

    def __repr__(self) -> str:
        cfg = self._config
        org = f", organization_id={cfg.organization_id}" if cfg.organization_id else ""
        key = self._policies.keys.fingerprint
        return f"{type(self).__name__}(base_url={cfg.base_url!r}, key={key}{org})"


class MaintainXClient(_BaseClient, Families):
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
        self, *, transport: httpx.BaseTransport | None = None, **options: Unpack[ClientOptions]
    ) -> None:
        self._connect(options, FAMILIES, transport, httpx.Client, httpx.HTTPTransport)

    def send(self, op: Operation[T]) -> T:
        """Send one operation through the pipeline and read its answer: what every family
        method does, and the way to make a call the families do not have."""
        request = self._request(op)
        try:
            response = self._pipeline.handle_request(request)
        except _RequestError as exc:
            self._refused(op, exc)
            raise
        return self._finish(op, request, response)

    def rotate_key(self) -> bool:
        """Move to the next key now (the runbook's "Rotate API key"); False if none."""
        keys = self._policies.keys
        rotated = keys.rotate(keys.current(), reason="manual") is not None
        self.incident.record_mitigation("rotate_key", "rotated" if rotated else "no other key")
        return rotated

    def health(self) -> HealthReport:
        """A fast check for a service's health endpoint: one probe plus the client's state."""
        return run_sync(self.incident.health())

    def diagnose(
        self, *, only: Iterable[str] | None = None, deadline: float | None = None
    ) -> DiagnosisReport:
        """Run the runbook's procedures (all, or ``only=["RB-002"]``) within ``deadline``."""
        return run_sync(self.incident.diagnose(only, deadline))

    def close(self) -> None:
        """Close pooled connections (and flush the fallback cache's file, if any)."""
        self._http.close()
        self._probe_http.close()
        self._policies.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class AsyncMaintainXClient(_BaseClient, AsyncFamilies):
    """The asyncio twin of :class:`MaintainXClient` (same arguments, awaitable calls)."""

    def __init__(
        self,
        *,
        transport: httpx.AsyncBaseTransport | None = None,
        **options: Unpack[ClientOptions],
    ) -> None:
        families = ASYNC_FAMILIES.values()
        self._connect(options, families, transport, httpx.AsyncClient, httpx.AsyncHTTPTransport)

    async def send(self, op: Operation[T]) -> T:
        """Send one operation through the pipeline and read its answer (see
        :meth:`MaintainXClient.send`)."""
        request = self._request(op)
        try:
            response = await self._pipeline.handle_async_request(request)
        except _RequestError as exc:
            self._refused(op, exc)
            raise
        return self._finish(op, request, response)

    async def rotate_key(self) -> bool:
        """Move to the next key now (the runbook's "Rotate API key"); False if none."""
        keys = self._policies.keys
        rotated = await keys.arotate(keys.current(), reason="manual") is not None
        self.incident.record_mitigation("rotate_key", "rotated" if rotated else "no other key")
        return rotated

    async def health(self) -> HealthReport:
        """A fast check for a service's health endpoint: one probe plus the client's state."""
        return await self.incident.health()

    async def diagnose(
        self, *, only: Iterable[str] | None = None, deadline: float | None = None
    ) -> DiagnosisReport:
        """Run the runbook's procedures (all, or ``only=["RB-002"]``) within ``deadline``."""
        return await self.incident.diagnose(only, deadline)

    async def aclose(self) -> None:
        """Close pooled connections (and flush the fallback cache's file, if any)."""
        await self._http.aclose()
        await self._probe_http.aclose()
        self._policies.close()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        await self.aclose()
