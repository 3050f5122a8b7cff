"""``maintainx-resilient sync``: keep a local copy of MaintainX data in a SQLite file.

::

    maintainx-resilient sync full          [--resource workOrders] [--db FILE] [--restart]
                                           [--confirm-deletes [N]]
    maintainx-resilient sync incremental   [--every SECONDS [--runs N]] [--overlap SECONDS]
    maintainx-resilient sync reconcile     [--sample N] [--json]
    maintainx-resilient sync repair        [--report FILE] [--confirm-deletes [N]]
    maintainx-resilient sync status        [--json]

The client is configured from the environment (``MAINTAINX_API_KEY``...); the store is
``--db`` or ``MAINTAINX_SYNC_DB`` (default ``maintainx-sync.db``). A full sync checkpoints
every page: stopped by Ctrl-C (or killed), it says how far it got, and the same command
resumes from there. A run that would delete more than 10% of the local copy deletes nothing
and exits 4 (an empty answer from MaintainX after a permission change looks like mass
deletion); ``--confirm-deletes`` lets the next run through. Exit status: 0 done, 1 error,
2 bad usage or settings, 3 drift found (``reconcile``), 4 deletions refused, 130 interrupted.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import Any, TextIO

from .._client import MaintainXClient
from .._clock import SYSTEM_CLOCK
from .._exceptions import ConfigurationError, MaintainXError, StorageError
from ..policies.throttle import DEFAULT_PER_ORG, ThrottleConfig
from ..sync import (
    RESOURCES,
    MassDeleteError,
    Progress,
    ReconcileReport,
    SQLiteStore,
    SyncEngine,
    SyncError,
    SyncStore,
)
from ..sync.resources import resolve
from ..sync.status import sync_status

__all__ = ["main", "register"]

DEFAULT_DB = "maintainx-sync.db"
EXIT_ERROR, EXIT_USAGE, EXIT_DRIFT, EXIT_DELETES_REFUSED, EXIT_INTERRUPTED = 1, 2, 3, 4, 130


def register(commands: Any) -> None:
    """Add ``sync`` and its subcommands to the CLI's subparsers."""
    parser = commands.add_parser(
        "sync",
        help="keep a local copy of MaintainX data (full, incremental, reconcile, repair)",
        description=__doc__.split("::")[0].strip() if __doc__ else None,
    )
    actions = parser.add_subparsers(dest="sync_command", required=True, metavar="ACTION")

    def common(name: str, help: str) -> argparse.ArgumentParser:
        sub: argparse.ArgumentParser = actions.add_parser(name, help=help, description=help)
        sub.add_argument(
            "--db",
            default=os.environ.get("MAINTAINX_SYNC_DB", DEFAULT_DB),
            help=f"the SQLite file of the local copy (default: $MAINTAINX_SYNC_DB or {DEFAULT_DB})",
        )
        sub.add_argument(
            "--resource",
            default="workOrders",
            help=f"what to sync: {', '.join(RESOURCES)} (default: workOrders)",
        )
        sub.add_argument("--json", action="store_true", help="print the result as JSON")
        sub.add_argument(
            "--rate-limit",
            type=int,
            metavar="N",
            help="requests per minute the client allows itself (default: MaintainX's "
            "documented 100 per user; 0 turns the throttle off, for a local simulator)",
        )
        return sub

    def progress(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--progress",
            choices=("auto", "bar", "json", "none"),
            default="auto",
            help="progress on stderr as a bar (auto: when stderr is a terminal), or one "
            "JSON line per page on stdout",
        )

    def confirm(sub: argparse.ArgumentParser) -> None:
        sub.add_argument(
            "--confirm-deletes",
            nargs="?",
            const=True,
            default=False,
            type=int,
            metavar="N",
            help="let this run delete more than the delete guard's 10%% of the local copy "
            "(all it finds gone, or at most N records)",
        )

    full = common("full", "copy every record; resumes an interrupted run")
    full.add_argument(
        "--restart", action="store_true", help="discard an unfinished run's checkpoint"
    )
    full.add_argument(
        "--expect", type=int, metavar="N", help="expected record count, for the ETA of a first sync"
    )
    progress(full)
    confirm(full)
    full.set_defaults(run=_dispatch, sync_run=_run_full)

    inc = common("incremental", "fetch what changed since the watermark (updatedAt[gte])")
    inc.add_argument(
        "--overlap", type=float, default=60.0, help="seconds each window reaches back (default 60)"
    )
    inc.add_argument("--every", type=float, metavar="SECONDS", help="repeat every SECONDS")
    inc.add_argument("--runs", type=int, metavar="N", help="with --every: stop after N runs")
    progress(inc)
    confirm(inc)
    inc.set_defaults(run=_dispatch, sync_run=_run_incremental)

    rec = common("reconcile", "compare the local copy with MaintainX (exit status 3 on drift)")
    rec.add_argument("--sample", type=int, metavar="N", help="estimate from ~N records")
    rec.add_argument("--seed", type=int, help="random seed of the sample")
    rec.set_defaults(run=_dispatch, sync_run=_run_reconcile)

    rep = common("repair", "fix exactly what a reconciliation report lists")
    rep.add_argument(
        "--report",
        metavar="FILE",
        help="a `reconcile --json` output ('-' for stdin; default: the last report in --db)",
    )
    rep.add_argument(
        "--no-verify", action="store_true", help="delete extra records without re-checking them"
    )
    confirm(rep)
    rep.set_defaults(run=_dispatch, sync_run=_run_repair)

    status = common("status", "what the local copy holds and when it last synced (no request)")
    status.set_defaults(run=_dispatch, sync_run=_run_status)


# -- output ------------------------------------------------------------------------------------


def _clock_text(seconds: float | None) -> str:
    if seconds is None:
        return "unknown"
    hours, rest = divmod(round(seconds), 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}"


def render_progress(p: Progress, width: int = 24) -> str:
    """One line of progress: bar (when the total is known), counts, ETA, rate limit."""
    fraction = p.fraction
    parts = [f"{p.resource} {p.phase}"]
    if fraction is not None:
        filled = int(fraction * width)
        parts.append(f"[{'#' * filled}{'-' * (width - filled)}] {fraction:4.0%}")
        parts.append(f"{p.records:,}/{p.expected_records:,} records")
    else:
        parts.append(f"{p.records:,} records")
    parts.append(f"{p.pages} pages")
    if p.done:
        parts.append(f"done in {_clock_text(p.elapsed)}")
    else:
        parts.append(f"ETA {_clock_text(p.eta)}")
    parts.append(f"{p.seconds_per_page:.2f} s/page, rate limit {p.rate.describe()}")
    return "  ".join(parts)


def _progress_printer(mode: str, out: TextIO, err: TextIO) -> Callable[[Progress], None] | None:
    if mode == "auto":
        mode = "bar" if err.isatty() else "none"
    if mode == "json":

        def as_json(p: Progress) -> None:
            print(json.dumps(p.to_dict()), file=out, flush=True)

        return as_json
    if mode == "bar":

        def as_bar(p: Progress) -> None:
            end = "\n" if p.done else ""
            print("\r" + render_progress(p) + "\x1b[K", end=end, file=err, flush=True)

        return as_bar
    return None


def _emit(args: argparse.Namespace, data: dict[str, Any], text: str) -> None:
    print(json.dumps(data, indent=2, sort_keys=True) if args.json else text, flush=True)


# -- commands ----------------------------------------------------------------------------------


def _client(args: argparse.Namespace) -> MaintainXClient:
    """The client from the environment, with the throttle ``--rate-limit`` asks for."""
    limit = getattr(args, "rate_limit", None)
    if limit is None:
        return MaintainXClient()
    if limit < 0:
        raise ConfigurationError(f"--rate-limit must be >= 0 requests per minute, got {limit}")
    throttle = (
        ThrottleConfig(per_user=limit, per_org=max(limit, DEFAULT_PER_ORG), window=60.0)
        if limit
        else None
    )
    return MaintainXClient(throttle=throttle)


@contextmanager
def _engine(args: argparse.Namespace, store: SyncStore) -> Iterator[SyncEngine]:
    printer = _progress_printer(getattr(args, "progress", "none"), sys.stdout, sys.stderr)
    with _client(args) as client:
        yield SyncEngine(client, store, overlap=getattr(args, "overlap", 60.0), on_progress=printer)


def _run_full(args: argparse.Namespace, store: SyncStore) -> int:
    with _engine(args, store) as engine:
        return _full(args, engine)


def _full(args: argparse.Namespace, engine: SyncEngine) -> int:
    name = resolve(args.resource).name
    checkpoint = engine.status(name).full_in_progress
    if checkpoint and not args.restart:
        print(
            f"resuming the unfinished full sync of {name} after page {checkpoint.get('pages')} "
            f"({checkpoint.get('records')} records stored)",
            file=sys.stderr,
            flush=True,
        )
    try:
        result = engine.full(
            name, restart=args.restart, expected=args.expect, confirm_deletes=args.confirm_deletes
        )
    except KeyboardInterrupt:
        _interrupted(engine, name, args)
        return EXIT_INTERRUPTED
    text = (
        f"full sync of {name}: {result.records:,} records in {result.pages} pages "
        f"({result.inserted} new, {result.updated} updated, {len(result.deleted)} deleted); "
        f"watermark {result.watermark}"
    )
    if result.resumed_from_page is not None:
        text += f"; resumed after page {result.resumed_from_page}"
    _emit(args, result.to_dict(), text)
    return 0


def _interrupted(engine: SyncEngine, name: str, args: argparse.Namespace) -> None:
    checkpoint = engine.status(name).full_in_progress or {}
    pages, records = checkpoint.get("pages", 0), checkpoint.get("records", 0)
    print(
        f"\ninterrupted: {records:,} records in {pages} pages are stored in {args.db}.\n"
        f"Run `maintainx-resilient sync full --db {args.db} --resource {name}` again to resume "
        f"from page {pages + 1} (or add --restart to start over).",
        file=sys.stderr,
        flush=True,
    )


def _run_incremental(args: argparse.Namespace, store: SyncStore) -> int:
    with _engine(args, store) as engine:
        return _incremental(args, engine)


def _incremental(args: argparse.Namespace, engine: SyncEngine) -> int:
    name = resolve(args.resource).name

    def show(result: Any) -> None:
        text = (
            f"incremental sync of {name} since {result.since}: {result.fetched} records "
            f"({result.inserted} new, {result.updated} updated) in {result.pages} pages; "
            f"watermark {result.watermark}"
        )
        _emit(args, result.to_dict(), text)

    try:
        if args.every is None:
            show(engine.incremental(name, confirm_deletes=args.confirm_deletes))
            return 0

        def warn(resource: str, exc: Exception) -> None:
            print(f"incremental sync of {resource} failed: {exc}", file=sys.stderr, flush=True)

        engine.scheduler([name], interval=args.every, on_result=show, on_error=warn).run(
            runs=args.runs
        )
    except KeyboardInterrupt:
        print(
            "\ninterrupted: the watermark is where the last finished run left it", file=sys.stderr
        )
        return EXIT_INTERRUPTED
    return 0


def _run_reconcile(args: argparse.Namespace, store: SyncStore) -> int:
    with _engine(args, store) as engine:
        return _reconcile(args, engine)


def _reconcile(args: argparse.Namespace, engine: SyncEngine) -> int:
    report = engine.reconcile(args.resource, sample=args.sample, seed=args.seed)
    _emit(args, report.to_dict(), describe_report(report))
    return 0 if report.clean else EXIT_DRIFT


def describe_report(report: ReconcileReport, listed: int = 10) -> str:
    """A human summary of a reconciliation report (the first ``listed`` ids of each kind)."""
    drift = report.drift

    def ids(values: Sequence[int]) -> str:
        more = f" (+{len(values) - listed} more)" if len(values) > listed else ""
        return ", ".join(str(v) for v in values[:listed]) + more

    lines = [
        f"{report.mode} reconciliation of {report.resource}: {report.remote_checked:,} records "
        f"checked in MaintainX, {report.local_checked:,} locally ({report.requests} requests)",
        f"  missing locally: {len(drift.missing_locally)}  {ids(drift.missing_locally)}",
        f"  extra locally:   {len(drift.extra_locally)}  {ids(drift.extra_locally)}",
        f"  stale:           {len(drift.stale)}  {ids(drift.stale_ids)}",
    ]
    est = report.estimate
    if est is not None:
        low, high = est.interval
        lines.append(
            f"  estimate from a sample of {est.sample_size} records ({est.windows} windows): "
            f"{est.drift_fraction:.2%} drift (95% interval {low:.2%}..{high:.2%}); about "
            f"{est.missing_locally} missing, {est.extra_locally} extra, {est.stale} stale of "
            f"{est.population:,}"
        )
    lines.append("  no drift" if report.clean else "  run `sync repair` to fix what is listed")
    return "\n".join(lines)


def _run_repair(args: argparse.Namespace, store: SyncStore) -> int:
    with _engine(args, store) as engine:
        return _repair(args, engine)


def _repair(args: argparse.Namespace, engine: SyncEngine) -> int:
    report: ReconcileReport | None = None
    if args.report:
        if args.report == "-":
            raw = sys.stdin.read()
        else:
            with open(args.report, encoding="utf-8") as handle:
                raw = handle.read()
        report = ReconcileReport.from_dict(json.loads(raw))
    result = engine.repair(
        report,
        resource=args.resource,
        verify_extras=not args.no_verify,
        confirm_deletes=args.confirm_deletes,
    )
    text = (
        f"repaired {result.resource}: {len(result.refreshed)} fetched again, "
        f"{len(result.deleted)} deleted locally, {len(result.kept)} kept (MaintainX has them) "
        f"in {result.requests} requests"
    )
    _emit(args, result.to_dict(), text)
    return 0


def _run_status(args: argparse.Namespace, store: SyncStore) -> int:
    status = sync_status(store, resolve(args.resource).name, now=SYSTEM_CLOCK.time())
    full = status.full_in_progress
    lines = [
        f"{status.resource}: {status.records:,} records in {args.db}",
        f"  watermark: {status.watermark}",
        f"  last full sync: {_ago(status.full_synced_ago)}",
        f"  last incremental run: {_ago(status.polled_ago)}",
    ]
    if full:
        lines.append(
            f"  unfinished full sync: {full.get('pages')} pages / {full.get('records')} "
            "records stored; `sync full` resumes it"
        )
    for blocked in status.deletes_blocked:
        lines.append(
            f"  DELETIONS REFUSED: {blocked.get('operation')} would delete "
            f"{blocked.get('would_delete')} of {blocked.get('local')} records (limit "
            f"{blocked.get('limit')}); check the API key's permissions, or run `sync "
            f"{blocked.get('operation')} --confirm-deletes`"
        )
    _emit(args, status.to_dict(), "\n".join(lines))
    return 0


def _ago(seconds: float | None) -> str:
    return "never" if seconds is None else f"{_clock_text(seconds)} ago"


def _dispatch(args: argparse.Namespace) -> int:
    try:
        resolve(args.resource)
        store = SQLiteStore(args.db)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except StorageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    try:
        code: int = args.sync_run(args, store)
    except ConfigurationError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except MassDeleteError as exc:
        print(f"refused: {exc}", file=sys.stderr)
        return EXIT_DELETES_REFUSED
    except (MaintainXError, SyncError, ValueError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        store.close()
    return code


def main(argv: Sequence[str] | None = None) -> int:
    """``maintainx-resilient sync ...`` on its own (``python -m maintainx_resilient.cli._sync
    full``); the console script registers the same commands."""
    parser = argparse.ArgumentParser(prog="maintainx-resilient")
    register(parser.add_subparsers(dest="command", required=True, metavar="COMMAND"))
    args = parser.parse_args(["sync", *(sys.argv[1:] if argv is None else argv)])
    try:
        code: int = args.run(args)
    except KeyboardInterrupt:
        return EXIT_INTERRUPTED
    return code


if __name__ == "__main__":
    sys.exit(main())
