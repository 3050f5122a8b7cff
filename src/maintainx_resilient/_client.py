"""``MaintainXClient`` and ``AsyncMaintainXClient``: the SDK.

A client is its settings, its resource families (``client.work_orders``...), the pipeline of
:mod:`._pipeline` and one way to send an operation, :meth:`MaintainXClient.send`, which the
families, the sync engine and raw calls all use. Everything about an incident is the
client's :attr:`~MaintainXClient.incident` desk (:mod:`.diagnostics.desk`); ``health()``,
``diagnose()`` and the runbook's policy mitigations are thin delegates to it. The two
classes differ only in how they send (``httpx.Client`` or ``httpx.AsyncClient``).
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
from ._exceptions import CircuitOpenError, FallbackModeError, MaintainXError, ThrottledError
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

#: Errors of calls the client refused without sending (reported as ``RequestRefused``).
_REFUSALS = (CircuitOpenError, ThrottledError, FallbackModeError)

#: Names that moved to ``client.incident`` (still answered here, with a warning).
_MOVED_TO_DESK = frozenset(
    {
        "attach_webhooks", "attach_sync", "attach_sync_store", "pause_webhooks",
        "resume_webhooks", "replay_failed_webhooks", "full_sync", "reconcile",
    }
)  # fmt: skip


class _BaseClient(Mitigations):
    """What both clients share: settings, policies, families, the incident desk, and
    reading answers into results or typed errors."""

    _network: Any
    _http: Any
    _probe_http: Any
    _options: RequestOptions = RequestOptions()

    def _setup(self, options: ClientOptions, families: Iterable[type[Any]]) -> ClientConfig:
        unknown = set(options) - set(ClientOptions.__annotations__)
        if unknown:
            raise TypeError(f"unexpected keyword arguments: {', '.join(sorted(unknown))}")
        config = self._config = ClientConfig.from_options(options)
        self._policies = policies = Policies.build(config, options)
        self._stats = RollingStats(clock=policies.clock, events=policies.events)
        self.incident = IncidentDesk(self, options.get("diagnostics", DiagnosticsConfig()))
        self._attach(families)
        return config

    def _attach(self, families: Iterable[type[Any]]) -> None:
        for family in families:
            setattr(self, family.spec.attribute, family(self))

    def _http_kwargs(self) -> dict[str, Any]:
        cfg = self._config
        return {
            "base_url": cfg.base_url + "/",
            "headers": cfg.base_headers(),
            "timeout": cfg.timeout,
            "follow_redirects": False,
        }

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
        twin._attach(type(family) for family in self._families())
        return twin

    def _families(self) -> list[Any]:
        return [getattr(self, f.spec.attribute) for f in FAMILIES]

    def __getattr__(self, name: str) -> Any:
        if name in _MOVED_TO_DESK:
            warnings.warn(
                f"client.{name} moved to client.incident.{name}",
                DeprecationWarning,
                stacklevel=2,
            )
            return getattr(self.incident, name)
        raise AttributeError(f"{type(self).__name__!r} object has no attribute {name!r}")

    # -- sending ---------------------------------------------------------------------------

    def _request(self, op: Operation[Any]) -> httpx.Request:
        request = op.build_request(self._http)
        if not self._options.empty:
            self._options.apply(request, self._policies.clock)
        return request

    def _refused(self, op: Operation[Any], exc: MaintainXError) -> None:
        """Tell the statistics a call failed without being sent (what the caller saw)."""
        clock = self._policies.clock
        event = RequestRefused(
            clock.monotonic(), clock.time(), op.method, op.route, type(exc).__name__
        )
        self._policies.events.emit(event)

    def _unreadable(self, op: Operation[Any], status: int, exc: MaintainXError) -> None:
        """Tell the statistics a 2xx answer could not be read: that try failed after all."""
        clock = self._policies.clock
        event = ResponseUnreadable(
            clock.monotonic(), clock.time(), op.method, op.route, status, type(exc).__name__
        )
        self._policies.events.emit(event)

    def _finish(self, op: Operation[T], response: httpx.Response) -> T:
        if response.is_success:
            try:
                result = op.parse(response, op)
            except MaintainXError as exc:  # an HTML page, truncated JSON, the wrong shape
                self._unreadable(op, response.status_code, exc)
                fresh = response.extensions.get(COMMIT_EXTENSION)
                stale = fresh.stale() if fresh is not None else None
                if stale is None:
                    raise
                return op.parse(stale, op)  # the last good answer, labelled stale
            keep = response.extensions.get(COMMIT_EXTENSION)  # the fallback cache keeps it
            if keep is not None:  # only once it parsed
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
        config = self._setup(options, FAMILIES)
        given = network_of(transport, options.get("http_client"), httpx.Client)
        self._network = given or bound_transport(httpx.HTTPTransport(limits=config.limits))
        kwargs = self._http_kwargs()
        self._http = httpx.Client(
            transport=build_sync_pipeline(self._policies, self._network), **kwargs
        )
        probes = build_sync_pipeline(self._policies, self._network, layers=PROBE_LAYERS)
        self._probe_http = httpx.Client(transport=probes, **kwargs)

    def send(self, op: Operation[T]) -> T:
        """Send one operation through the pipeline and read its answer: what every family
        method does, and the way to make a call the families do not have."""
        try:
            response = self._http.send(self._request(op))
        except _REFUSALS as exc:
            self._refused(op, exc)
            raise
        return self._finish(op, response)

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
        config = self._setup(options, ASYNC_FAMILIES.values())
        given = network_of(transport, options.get("http_client"), httpx.AsyncClient)
        self._network = given or bound_transport(httpx.AsyncHTTPTransport(limits=config.limits))
        kwargs = self._http_kwargs()
        self._http = httpx.AsyncClient(
            transport=build_async_pipeline(self._policies, self._network), **kwargs
        )
        probes = build_async_pipeline(self._policies, self._network, layers=PROBE_LAYERS)
        self._probe_http = httpx.AsyncClient(transport=probes, **kwargs)

    async def send(self, op: Operation[T]) -> T:
        """Send one operation through the pipeline and read its answer (see
        :meth:`MaintainXClient.send`)."""
        try:
            response = await self._http.send(self._request(op))
        except _REFUSALS as exc:
            self._refused(op, exc)
            raise
        return self._finish(op, response)

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
