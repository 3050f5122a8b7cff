"""Reconciliation: how far the local copy is from MaintainX, and the repair of exactly that.

- **Full**: page through every record of the resource (nothing is written) and compare ids
  and ``updatedAt`` with the store: *missing locally*, *extra locally* and *stale*
  (``updatedAt`` differs), each with its ids. Exact as of the listing; changes made while it
  runs can show up as drift (run :func:`run_repair`, which re-checks each id, or reconcile
  again).
- **Sample**: about ``sample`` records read in windows of creation time: the time between
  the oldest and the newest record is cut in ``ceil(sample / 200)`` equal strata, and one
  page is read from a random instant in each (``createdAt[gte]=<instant>&sort=createdAt``).
  A page covers the time from its instant to its last record's ``createdAt`` completely, so
  both sides can be compared inside that window: all three kinds of drift show up, at one
  request per 200 records. The result is an *estimate* (drift fraction with a 95% Wilson
  interval, counts extrapolated to the local total), labelled with the sample size; ids
  found in the sample are listed too.

:func:`compare` and the window arithmetic are pure; :func:`run_reconcile` and
:func:`run_repair` do the I/O. ``run_repair`` fixes what a report lists and nothing else: each
missing or stale id is fetched and stored (or deleted locally if MaintainX no longer has
it), MaintainX's copy replacing a stale one even when its ``updatedAt`` is the older (a
restore moved it back), unless the local copy changed since the report; each extra id is
deleted locally, after a GET confirms MaintainX does not have it.
The deletions are committed together at the end, under the delete guard (:mod:`.guard`): a
report whose extras alone are more than the guard allows is refused before any request, and
so is a repair whose GETs come back 404 for more than that.
"""

from __future__ import annotations

import bisect
import math
import random
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from typing import Any, Literal

from .._clock import SYSTEM_CLOCK, Clock
from .._iso8601 import format_timestamp, to_timestamp
from .._pagination import MAX_PAGE_SIZE, SeenCursors
from ._fetch import Fetcher, RawPage
from .errors import MassDeleteError, SyncError
from .guard import DEFAULT_DELETE_GUARD, DeleteGuard, deletion_limit, guarded_commit, refuse
from .resources import support
from .store import Batch, Entry, LocalRecord, SyncStore, state_key

__all__ = [
    "Drift",
    "Estimate",
    "ReconcileReport",
    "RepairResult",
    "StaleRecord",
    "compare",
    "run_reconcile",
    "run_repair",
    "wilson_interval",
]

Mode = Literal["full", "sample"]


# -- the pure part -----------------------------------------------------------------------


@dataclass(frozen=True)
class StaleRecord:
    """A record both sides have, with different ``updatedAt`` (API format)."""

    id: int
    local: str | None
    remote: str | None


@dataclass(frozen=True)
class Drift:
    """The differences between MaintainX and the store, ids sorted."""

    missing_locally: tuple[int, ...] = ()
    extra_locally: tuple[int, ...] = ()
    stale: tuple[StaleRecord, ...] = ()

    @property
    def total(self) -> int:
        return len(self.missing_locally) + len(self.extra_locally) + len(self.stale)

    @property
    def stale_ids(self) -> tuple[int, ...]:
        return tuple(s.id for s in self.stale)


def _iso(us: int | None) -> str | None:
    return None if us is None else format_timestamp(us)


def compare(remote: Mapping[int, int | None], local: Mapping[int, int | None]) -> Drift:
    """The drift between two ``{id: updatedAt microseconds}`` maps."""
    missing = sorted(remote.keys() - local.keys())
    extra = sorted(local.keys() - remote.keys())
    stale = [
        StaleRecord(i, _iso(local[i]), _iso(remote[i]))
        for i in sorted(remote.keys() & local.keys())
        if remote[i] != local[i]
    ]
    return Drift(tuple(missing), tuple(extra), tuple(stale))


def wilson_interval(hits: int, n: int, z: float = 1.96) -> tuple[float, float]:
    """The Wilson score interval of a proportion (95% by default); (0, 1) when ``n == 0``."""
    if n <= 0:
        return (0.0, 1.0)
    p = hits / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    low = 0.0 if hits <= 0 else max(0.0, min(p, centre - half))
    high = 1.0 if hits >= n else min(1.0, max(p, centre + half))
    return (low, high)


def window_starts(rng: random.Random, low_us: int, high_us: int, count: int) -> list[int]:
    """``count`` random instants in ``[low_us, high_us]``, one in each of ``count`` equal
    strata (a stratified sample: windows spread over the whole range and seldom overlap),
    at millisecond precision (the API's), sorted and distinct."""
    low_ms, high_ms = -(-low_us // 1000), high_us // 1000
    if high_ms < low_ms or count <= 0:
        return []
    span = high_ms - low_ms + 1
    count = min(count, span)
    starts = []
    for k in range(count):
        begin = low_ms + span * k // count
        end = low_ms + span * (k + 1) // count  # exclusive; strata never share a millisecond
        starts.append(rng.randrange(begin, end) * 1000)
    return starts


def covered(start_us: int, page: RawPage) -> tuple[int | None, list[LocalRecord]]:
    """What a ``createdAt[gte]=start`` page (sorted by ``createdAt``) covers completely:
    ``[start, end)`` and the page's records inside it. ``end`` is None (no bound) on the
    last page; otherwise it is the last record's ``createdAt``, whose ties may continue on
    the next page and so are left out."""
    if page.next_cursor is None:
        return None, [r for r in page.records if r.created_us is not None]
    end = page.records[-1].created_us if page.records else None
    if end is None:
        return start_us, []
    return end, [r for r in page.records if r.created_us is not None and r.created_us < end]


def in_windows(
    entries: Sequence[Entry], windows: Sequence[tuple[int, int | None]]
) -> dict[int, int | None]:
    """The entries whose ``createdAt`` falls in any ``[start, end)`` window."""
    dated = sorted((e.created_us, e.id, e.updated_us) for e in entries if e.created_us is not None)
    keys = [d[0] for d in dated]
    found: dict[int, int | None] = {}
    for start, end in windows:
        lo = bisect.bisect_left(keys, start)
        hi = len(keys) if end is None else bisect.bisect_left(keys, end)
        for _, record_id, updated in dated[lo:hi]:
            found[record_id] = updated
    return found


@dataclass(frozen=True)
class Estimate:
    """A sampled reconciliation's extrapolation (counts are estimates for the population)."""

    sample_size: int
    windows: int
    population: int
    drift_fraction: float
    interval: tuple[float, float]
    missing_locally: int
    extra_locally: int
    stale: int

    @classmethod
    def of(cls, drift: Drift, sample_size: int, windows: int, population: int) -> Estimate:
        def scale(k: int) -> int:
            return round(k / sample_size * population) if sample_size else 0

        return cls(
            sample_size=sample_size,
            windows=windows,
            population=population,
            drift_fraction=drift.total / sample_size if sample_size else 0.0,
            interval=wilson_interval(drift.total, sample_size),
            missing_locally=scale(len(drift.missing_locally)),
            extra_locally=scale(len(drift.extra_locally)),
            stale=scale(len(drift.stale)),
        )


@dataclass(frozen=True)
class ReconcileReport:
    """The outcome of a reconciliation; ``to_dict`` is the CLI's ``--json``."""

    resource: str
    mode: Mode
    generated_at: float
    remote_checked: int
    local_checked: int
    drift: Drift = field(default_factory=Drift)
    estimate: Estimate | None = None
    requests: int = 0

    @property
    def clean(self) -> bool:
        """True when no drift was found."""
        return self.drift.total == 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "resource": self.resource,
            "mode": self.mode,
            "generated_at": self.generated_at,
            "remote_checked": self.remote_checked,
            "local_checked": self.local_checked,
            "requests": self.requests,
            "clean": self.clean,
            "missing_locally": list(self.drift.missing_locally),
            "extra_locally": list(self.drift.extra_locally),
            "stale": [asdict(s) for s in self.drift.stale],
            "estimate": None if self.estimate is None else asdict(self.estimate),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ReconcileReport:
        """A report read back from :meth:`to_dict` (e.g. a saved ``--json`` file)."""
        try:
            estimate = data.get("estimate")
            return cls(
                resource=str(data["resource"]),
                mode="sample" if data.get("mode") == "sample" else "full",
                generated_at=float(data.get("generated_at", 0.0)),
                remote_checked=int(data.get("remote_checked", 0)),
                local_checked=int(data.get("local_checked", 0)),
                requests=int(data.get("requests", 0)),
                drift=Drift(
                    tuple(int(i) for i in data.get("missing_locally", ())),
                    tuple(int(i) for i in data.get("extra_locally", ())),
                    tuple(
                        StaleRecord(int(s["id"]), s.get("local"), s.get("remote"))
                        for s in data.get("stale", ())
                    ),
                ),
                estimate=None
                if estimate is None
                else Estimate(**{**estimate, "interval": tuple(estimate["interval"])}),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise SyncError(f"not a reconciliation report: {exc}") from exc


# -- the I/O -------------------------------------------------------------------------------


def _walk(fetcher: Fetcher, params: Mapping[str, Any]) -> Iterable[RawPage]:
    cursor: str | None = None
    seen = SeenCursors(path=fetcher.route)
    while True:
        page = fetcher.page(params, cursor)
        yield page
        if page.next_cursor is None:
            return
        seen.follow(page.next_cursor, len(seen) + 1)
        cursor = page.next_cursor


def run_reconcile(
    fetcher: Fetcher,
    store: SyncStore,
    *,
    sample: int | None = None,
    seed: int | None = None,
    page_size: int = MAX_PAGE_SIZE,
    clock: Clock = SYSTEM_CLOCK,
    save: bool = True,
) -> ReconcileReport:
    """Compare MaintainX with the store, fully or (``sample=n``) by a sample of ~n records.

    The report is saved in the store (``report:reconcile:<resource>``) unless ``save`` is
    False; ``repair`` without a report uses the saved one.
    """
    name = fetcher.resource.name
    requests_before = fetcher.requests
    entries = store.entries(name)
    if sample is not None and sample <= 0:
        raise ValueError(f"sample must be a positive number of records, got {sample}")
    if sample is None or not support(fetcher.resource).by_created:
        remote: dict[int, int | None] = {}
        for page in _walk(fetcher, {"limit": page_size}):
            remote.update((r.id, r.updated_us) for r in page.records)
        local = {e.id: e.updated_us for e in entries}
        report = ReconcileReport(
            name, "full", clock.time(), len(remote), len(local), compare(remote, local)
        )
    else:
        report = _sampled(fetcher, entries, sample, random.Random(seed), page_size, clock)
    report = replace(report, requests=fetcher.requests - requests_before)
    if save:
        store.commit(name, Batch(state={state_key("report:reconcile", name): report.to_dict()}))
    return report


def _sampled(
    fetcher: Fetcher,
    entries: Sequence[Entry],
    sample: int,
    rng: random.Random,
    page_size: int,
    clock: Clock,
) -> ReconcileReport:
    name = fetcher.resource.name
    ends = [r.created_us for r in fetcher.page({"limit": 1, "sort": "createdAt"}).records]
    ends += [r.created_us for r in fetcher.page({"limit": 1, "sort": "-createdAt"}).records]
    local_created = [e.created_us for e in entries if e.created_us is not None]
    if local_created:
        ends += [min(local_created), max(local_created)]
    known = [t for t in ends if t is not None]
    windows: list[tuple[int, int | None]] = []
    remote: dict[int, int | None] = {}
    if known:
        count = math.ceil(sample / page_size)
        reached: int | None = min(known)
        for planned in window_starts(rng, min(known), max(known), count):
            if reached is None:
                break  # the last window ran to the newest record
            start = max(planned, reached)  # never read a covered stretch twice
            params = {
                "limit": page_size,
                "sort": "createdAt",
                "created_at_gte": format_timestamp(start),
            }
            end, records = covered(start, fetcher.page(params))
            windows.append((start, end))
            reached = end
            remote.update((r.id, r.updated_us) for r in records)
    local = in_windows(entries, windows)
    drift = compare(remote, local)
    size = len(remote.keys() | local.keys())
    estimate = Estimate.of(drift, size, len(windows), len(entries))
    return ReconcileReport(name, "sample", clock.time(), len(remote), len(local), drift, estimate)


@dataclass(frozen=True)
class RepairResult:
    """What a repair did, per id listed in the report.

    ``refreshed``: missing/stale ids fetched and stored; ``deleted``: ids removed locally
    (extras MaintainX confirmed absent, and stale ids MaintainX no longer has); ``gone``:
    missing/stale ids MaintainX no longer has (deleted since the report); ``kept``: extras
    MaintainX does have after all (stored fresh instead of deleted).
    """

    resource: str
    refreshed: tuple[int, ...]
    deleted: tuple[int, ...]
    kept: tuple[int, ...]
    requests: int
    gone: tuple[int, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}


def run_repair(
    fetcher: Fetcher,
    store: SyncStore,
    report: ReconcileReport,
    *,
    verify_extras: bool = True,
    batch_size: int = 50,
    clock: Clock = SYSTEM_CLOCK,
    guard: DeleteGuard | None = DEFAULT_DELETE_GUARD,
    confirm_deletes: bool | int = False,
) -> RepairResult:
    """Fix exactly what ``report`` lists (see the module docstring). ``guard`` and
    ``confirm_deletes`` as for :func:`~.full.run_full_sync`."""
    name = fetcher.resource.name
    if report.resource != name:
        raise SyncError(f"the report is about {report.resource}, not {name}")
    local = store.count(name)
    limit = deletion_limit(guard, local, confirm_deletes)
    planned = len(report.drift.extra_locally)
    if limit is not None and planned > limit:  # refused before any request
        exc = MassDeleteError(resource=name, would_delete=planned, local_count=local, limit=limit)
        raise refuse(store, exc, operation="repair", guard=guard, clock=clock)
    requests_before = fetcher.requests
    refreshed: list[int] = []
    vanished: list[int] = []
    kept: list[int] = []
    upserts: list[LocalRecord] = []
    gone: list[int] = []

    # A stale record is replaced by MaintainX's copy whatever the order of their updatedAt
    # (a restore moves it back), provided the local copy is still the one the report saw.
    seen = {s.id: to_timestamp(s.local) for s in report.drift.stale}

    def flush() -> None:
        if upserts:
            expected = {r.id: seen[r.id] for r in upserts if r.id in seen}
            store.commit(name, Batch(upserts=list(upserts), expected=expected))
            upserts.clear()

    # per record: fetch it again?, the list it joins when found, the lists when not
    fetch_ids = list(dict.fromkeys(report.drift.missing_locally + report.drift.stale_ids))
    steps: list[tuple[int, bool, list[int], tuple[list[int], ...]]]
    steps = [(i, True, refreshed, (gone, vanished)) for i in fetch_ids]
    steps += [(i, verify_extras, kept, (gone,)) for i in report.drift.extra_locally]
    for record_id, fetch, found, lost in steps:
        record = fetcher.one(record_id) if fetch else None
        if record is None:
            for into in lost:
                into.append(record_id)
        else:
            upserts.append(record)
            found.append(record_id)
        if len(upserts) >= batch_size:
            flush()
    flush()
    done = guarded_commit(
        store,
        name,
        Batch(deletes=gone),
        operation="repair",
        guard=guard,
        confirm=confirm_deletes,
        clock=clock,
    )
    result = RepairResult(
        name,
        tuple(refreshed),
        done.deleted,
        tuple(kept),
        fetcher.requests - requests_before,
        tuple(vanished),
    )
    store.commit(
        name,
        Batch(
            state={
                state_key("last:repair", name): {"finished_at": clock.time(), **result.to_dict()}
            }
        ),
    )
    return result
