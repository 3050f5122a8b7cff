"""``SyncEngine``: a local copy of MaintainX data, kept in a :class:`~.store.SyncStore`.

>>> from maintainx_resilient import MaintainXClient
>>> from maintainx_resilient.sync import SQLiteStore, SyncEngine
>>> engine = SyncEngine(MaintainXClient(), SQLiteStore("maintainx.db"))  # doctest: +SKIP
>>> engine.full("workOrders")        # first copy (resumes if interrupted)  # doctest: +SKIP
>>> engine.incremental("workOrders")  # then changes since the watermark  # doctest: +SKIP
>>> report = engine.reconcile("workOrders", sample=1000)  # doctest: +SKIP
>>> engine.repair(report)  # doctest: +SKIP

The engine is synchronous, over :class:`~maintainx_resilient.MaintainXClient`: a sync is
a sequence of paced requests and SQLite writes, and an async twin would only repeat the
same logic with ``await``. Run it in a thread (``asyncio.to_thread(engine.incremental)``)
from async code.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from .._clock import SYSTEM_CLOCK, Clock
from .._exceptions import ConfigurationError
from .._pagination import MAX_PAGE_SIZE
from ._fetch import Fetcher
from .feed import WebhookFeed
from .full import FullSyncResult, run_full_sync
from .guard import DEFAULT_DELETE_GUARD, DeleteGuard
from .incremental import IncrementalResult, run_incremental
from .progress import Progress, RateLimit, rate_limit_of
from .reconcile import ReconcileReport, RepairResult, run_reconcile, run_repair
from .resources import SyncResource, resolve
from .schedule import Scheduler
from .status import SyncStatus, sync_status
from .store import SyncStore, state_key
from .watermark import DEFAULT_OVERLAP

if TYPE_CHECKING:
    from .._client import MaintainXClient

__all__ = ["SyncEngine"]

ResourceName = str | SyncResource[Any]


class SyncEngine:
    """Full, incremental and webhook-fed sync, reconciliation and repair of a local copy.

    ``page_size`` is the API's maximum (200) unless told otherwise; ``overlap`` is how far
    each incremental window reaches back before the watermark (seconds); ``feed`` is the
    webhook feed incremental runs drain; ``on_progress`` is called after every page;
    ``rate`` overrides the rate limit used for ETAs (default: read from the client's
    throttle, else MaintainX's documented 100 requests / 60 s); ``delete_guard`` limits how
    much of the local copy one run may delete (default: 10%; None: no limit), and each
    deleting run takes ``confirm_deletes`` to go past it once (see :mod:`.guard`).
    """

    def __init__(
        self,
        client: MaintainXClient,
        store: SyncStore,
        *,
        page_size: int = MAX_PAGE_SIZE,
        overlap: float = DEFAULT_OVERLAP,
        feed: WebhookFeed | None = None,
        on_progress: Callable[[Progress], None] | None = None,
        clock: Clock | None = None,
        rate: RateLimit | None = None,
        delete_guard: DeleteGuard | None = DEFAULT_DELETE_GUARD,
    ) -> None:
        if not 1 <= page_size <= MAX_PAGE_SIZE:
            raise ConfigurationError(
                f"page_size must be between 1 and {MAX_PAGE_SIZE}, got {page_size}"
            )
        if overlap < 0:
            raise ConfigurationError(f"overlap must be >= 0 seconds, got {overlap!r}")
        self.client = client
        self.store = store
        self.page_size = page_size
        self.overlap = overlap
        self.feed = feed
        self.on_progress = on_progress
        self.clock: Clock = clock or getattr(client.policies, "clock", None) or SYSTEM_CLOCK
        self._rate = rate
        self.delete_guard = delete_guard
        self._fetchers: dict[str, Fetcher] = {}

    @property
    def rate(self) -> RateLimit:
        """The rate limit ETAs are computed from."""
        return self._rate or rate_limit_of(self.client)

    def fetcher(self, resource: ResourceName) -> Fetcher:
        spec = resolve(resource)
        found = self._fetchers.get(spec.name)
        if found is None:
            found = self._fetchers[spec.name] = Fetcher(self.client, spec, clock=self.clock)
        return found

    def full(
        self,
        resource: ResourceName = "workOrders",
        *,
        restart: bool = False,
        expected: int | None = None,
        confirm_deletes: bool | int = False,
    ) -> FullSyncResult:
        """Copy every record; resumes an interrupted run unless ``restart``. ``expected`` is
        the record count the ETA assumes (default: the local count). Deletes what MaintainX
        no longer returns, unless that is more than the delete guard allows
        (:class:`~.errors.MassDeleteError`): ``confirm_deletes=True`` lets this run through,
        ``confirm_deletes=N`` allows up to N deletions."""
        return run_full_sync(
            self.fetcher(resource),
            self.store,
            page_size=self.page_size,
            restart=restart,
            expected=expected,
            on_progress=self.on_progress,
            clock=self.clock,
            rate=self.rate,
            guard=self.delete_guard,
            confirm_deletes=confirm_deletes,
        )

    def incremental(
        self, resource: ResourceName = "workOrders", *, confirm_deletes: bool | int = False
    ) -> IncrementalResult:
        """Fetch what changed since the watermark, then the records webhooks named (those
        MaintainX no longer has are deleted, under the delete guard)."""
        return run_incremental(
            self.fetcher(resource),
            self.store,
            overlap=self.overlap,
            page_size=self.page_size,
            feed=self.feed,
            on_progress=self.on_progress,
            clock=self.clock,
            rate=self.rate,
            guard=self.delete_guard,
            confirm_deletes=confirm_deletes,
        )

    def reconcile(
        self,
        resource: ResourceName = "workOrders",
        *,
        sample: int | None = None,
        seed: int | None = None,
    ) -> ReconcileReport:
        """Compare with MaintainX, fully or by a sample of about ``sample`` records."""
        return run_reconcile(
            self.fetcher(resource),
            self.store,
            sample=sample,
            seed=seed,
            page_size=self.page_size,
            clock=self.clock,
        )

    def last_report(self, resource: ResourceName = "workOrders") -> ReconcileReport | None:
        """The last saved reconciliation report of ``resource``, if any."""
        data = self.store.state(state_key("report:reconcile", resolve(resource).name))
        return ReconcileReport.from_dict(data) if isinstance(data, dict) else None

    def repair(
        self,
        report: ReconcileReport | None = None,
        *,
        resource: ResourceName = "workOrders",
        verify_extras: bool = True,
        confirm_deletes: bool | int = False,
    ) -> RepairResult:
        """Fix exactly what ``report`` lists (default: the last saved report); deletions
        beyond the delete guard need ``confirm_deletes`` (as for :meth:`full`)."""
        if report is None:
            report = self.last_report(resource)
            if report is None:
                raise ValueError(f"no reconciliation report saved for {resolve(resource).name}")
        return run_repair(
            self.fetcher(report.resource),
            self.store,
            report,
            verify_extras=verify_extras,
            clock=self.clock,
            guard=self.delete_guard,
            confirm_deletes=confirm_deletes,
        )

    def recently_updated(
        self, resource: ResourceName = "workOrders", limit: int = 100
    ) -> dict[int, str]:
        """MaintainX's ``limit`` most recently updated records as ``{id: updatedAt}`` (one
        request, ``sort=-updatedAt``): the remote side of RB-004's sample."""
        if not 1 <= limit <= MAX_PAGE_SIZE:
            raise ConfigurationError(f"limit must be between 1 and {MAX_PAGE_SIZE}, got {limit}")
        page = self.fetcher(resource).page({"limit": limit, "sort": "-updatedAt"})
        return {r.id: r.updated_at or "" for r in page.records}

    def status(self, resource: ResourceName = "workOrders") -> SyncStatus:
        """The local copy's size, watermark and last runs (no request)."""
        return sync_status(self.store, resolve(resource).name, now=self.clock.time())

    def scheduler(
        self,
        resources: Sequence[ResourceName] = ("workOrders",),
        *,
        interval: float = 300.0,
        on_result: Callable[[IncrementalResult], None] | None = None,
        on_error: Callable[[str, Exception], None] | None = None,
    ) -> Scheduler:
        """A loop of incremental runs every ``interval`` seconds (``.run()`` / ``.stop()``)."""
        names = [resolve(r).name for r in resources]
        return Scheduler(self, names, interval=interval, on_result=on_result, on_error=on_error)

    def __repr__(self) -> str:
        return f"SyncEngine({self.client!r}, {self.store!r})"
