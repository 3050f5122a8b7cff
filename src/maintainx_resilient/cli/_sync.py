"""``maintainx-resilient sync``: keep a local copy of MaintainX data in a SQLite file.

::

    maintainx-resilient sync full          [--resource workOrders] [--db FILE] [--restart]
                                           [--confirm-deletes [N]]
    maintainx-resilient sync incremental   [--every SECONDS [--runs N]] [--overlap SECONDS]
    maintainx-resilient sync reconcile     [--sample N] [--json]
    maintainx-resilient sync repair        [--report FILE] [--confirm-deletes [N]]
    maintainx-resilient sync status        [--json] [--stale-after AGE]

The client is configured from the environment (``MAINTAINX_API_KEY``...); the store is
``--db`` or ``MAINTAINX_SYNC_DB`` (default ``maintainx-sync.db``). A full sync checkpoints
every page: stopped by Ctrl-C (or killed), it says how far it got, and the same command
resumes from there. A run that would delete more than 10% of the local copy deletes nothing
and exits 4 (an empty answer from MaintainX after a permission change looks like mass
deletion); ``--confirm-deletes`` lets the next run through. Exit status: 0 done, 1 error,
3 drift found (``reconcile``), 4 deletions refused, 64 bad usage or settings, 130
interrupted; ``status`` exits with the RB-004 severity like ``diagnose`` (0 none or SEV4, 1
SEV3, 2 SEV2). ``status`` reads only: it creates no file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from .._client import MaintainXClient
from .._clock import SYSTEM_CLOCK
from .._exceptions import ConfigurationError, MaintainXError, StorageError
from .._iso8601 import parse_instant
from ..diagnostics._context import Thresholds
from ..diagnostics._text import render_result
from ..diagnostics.rb004_sync import assess_local_copy
from ..diagnostics.severity import classify
from ..policies.throttle import DEFAULT_PER_ORG, ThrottleConfig
from ..sync import (
    RESOURCES,
    MassDeleteError,
    ReconcileReport,
    SQLiteStore,
    SyncEngine,
    SyncError,
    SyncStore,
)
from ..sync.resources import resolve
from ..sync.status import sync_status
from ._common import (
    INTERRUPTED,
    USAGE_ERROR,
    UsageError,
    env_client,
    existing_file,
    parse_duration,
)
from ._common import severity_exit as _severity_exit
from ._output import Output, document, iso, with_units
from ._progress import ProgressView, add_progress_flag, clock_text, pick_mode

__all__ = ["DEFAULT_DB", "register"]

DEFAULT_DB = "maintainx-sync.db"
EXIT_ERROR, EXIT_DRIFT, EXIT_DELETES_REFUSED = 1, 3, 4
EXIT_USAGE, EXIT_INTERRUPTED = USAGE_ERROR, INTERRUPTED


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
        sub.add_argument("--json", action="store_true", help="one JSON document on stdout")
        if name != "status":
            sub.add_argument(
                "--rate-limit",
                type=int,
                metavar="N",
                help="requests per minute the client allows itself (default: MaintainX's "
                "documented 100 per user; 0 turns the throttle off, for a local simulator)",
            )
        return sub

    def progress(sub: argparse.ArgumentParser) -> None:
        add_progress_flag(
            sub, "progress on stderr: a bar (auto: when stderr is a terminal), JSON lines, or none"
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
    full.set_defaults(run=_dispatch, sync_run=_viewed(_full))

    inc = common("incremental", "fetch what changed since the watermark (updatedAt[gte])")
    inc.add_argument(
        "--overlap", type=float, default=60.0, help="seconds each window reaches back (default 60)"
    )
    inc.add_argument("--every", type=float, metavar="SECONDS", help="repeat every SECONDS")
    inc.add_argument("--runs", type=int, metavar="N", help="with --every: stop after N runs")
    progress(inc)
    confirm(inc)
    inc.set_defaults(run=_dispatch, sync_run=_viewed(_incremental))

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

    status = common(
        "status", "what the local copy holds, when it last synced, RB-004's verdict (no request)"
    )
    status.add_argument(
        "--stale-after",
        type=parse_duration,
        metavar="AGE",
        default=Thresholds().sync_stale_after,
        help="a copy not refreshed for longer is stale data (default 1h; e.g. 15m, 2h)",
    )
    status.set_defaults(run=_dispatch, sync_run=_run_status)


# -- JSON: times as ISO-8601 ----------------------------------------------------------------------


def _isofy(value: Any) -> Any:
    """Every ``*_at`` number becomes ISO-8601 UTC; nested mappings and lists too."""
    if isinstance(value, Mapping):
        return {
            k: iso(v) if k.endswith("_at") and isinstance(v, int | float) else _isofy(v)
            for k, v in value.items()
        }
    if isinstance(value, list | tuple):
        return [_isofy(v) for v in value]
    return value


# -- commands ----------------------------------------------------------------------------------


def _client(args: argparse.Namespace) -> MaintainXClient:
    """The client from the environment, with the throttle ``--rate-limit`` asks for."""
    limit = getattr(args, "rate_limit", None)
    if limit is None:
        return env_client()
    if limit < 0:
        raise UsageError(
            f"--rate-limit must be >= 0 requests per minute, got {limit}",
            "use 0 to turn the throttle off (a local simulator), or MaintainX's 100",
        )
    throttle = (
        ThrottleConfig(per_user=limit, per_org=max(limit, DEFAULT_PER_ORG), window=60.0)
        if limit
        else None
    )
    return env_client(throttle=throttle)


@contextmanager
def _engine(
    args: argparse.Namespace, store: SyncStore, view: ProgressView | None
) -> Iterator[SyncEngine]:
    with _client(args) as client:
        hook = view.sync if view is not None and view.mode != "none" else None
        yield SyncEngine(client, store, overlap=getattr(args, "overlap", 60.0), on_progress=hook)


def _viewed(
    step: Callable[[argparse.Namespace, SyncEngine, Output, ProgressView], int],
) -> Callable[[argparse.Namespace, SyncStore, Output], int]:
    """The command that runs ``step`` with a progress view (``--progress``), finished
    however the step ends."""

    def run(args: argparse.Namespace, store: SyncStore, output: Output) -> int:
        mode = pick_mode(getattr(args, "progress", "none"), output)
        view = ProgressView(output, mode, command=f"sync {args.sync_command}")
        try:
            with _engine(args, store, view) as engine:
                return step(args, engine, output, view)
        finally:
            view.finish()

    return run


def _full(args: argparse.Namespace, engine: SyncEngine, output: Output, view: ProgressView) -> int:
    name = resolve(args.resource).name
    checkpoint = engine.status(name).full_in_progress
    if checkpoint and not args.restart:
        output.note(
            f"resuming the unfinished full sync of {name} after page {checkpoint.get('pages')} "
            f"({checkpoint.get('records')} records stored)"
        )
    try:
        result = engine.full(
            name, restart=args.restart, expected=args.expect, confirm_deletes=args.confirm_deletes
        )
    except KeyboardInterrupt:
        view.finish()
        _interrupted(engine, name, args, output)
        return EXIT_INTERRUPTED
    view.finish()
    if args.json:
        data = with_units(result.to_dict(), "elapsed")
        data["finished_at"] = iso(SYSTEM_CLOCK.time())
        output.json(document("sync full", data))
        return 0
    text = (
        f"full sync of {name}: {result.records:,} records in {result.pages} pages "
        f"({result.inserted:,} new, {result.updated:,} updated, {len(result.deleted):,} deleted); "
        f"watermark {result.watermark}"
    )
    if result.resumed_from_page is not None:
        text += f"; resumed after page {result.resumed_from_page}"
    output.print(text)
    return 0


def _interrupted(engine: SyncEngine, name: str, args: argparse.Namespace, output: Output) -> None:
    checkpoint = engine.status(name).full_in_progress or {}
    pages, records = checkpoint.get("pages", 0), checkpoint.get("records", 0)
    output.note(f"interrupted: {records:,} records in {pages} pages are stored in {args.db}.")
    output.note(
        f"Run `maintainx-resilient sync full --db {args.db} --resource {name}` again to resume "
        f"from page {pages + 1} (or add --restart to start over)."
    )


def _incremental(
    args: argparse.Namespace, engine: SyncEngine, output: Output, view: ProgressView
) -> int:
    name = resolve(args.resource).name
    runs: list[dict[str, Any]] = []

    def show(result: Any) -> None:
        view.finish()
        if args.json:
            data = with_units(result.to_dict(), "elapsed")
            data["finished_at"] = iso(SYSTEM_CLOCK.time())
            runs.append(data)
            return
        output.print(
            f"incremental sync of {name} since {result.since}: {result.fetched} records "
            f"({result.inserted} new, {result.updated} updated) in {result.pages} pages; "
            f"watermark {result.watermark}"
        )

    def emit_json() -> None:
        if args.json:
            output.json(document("sync incremental", {"resource": name, "runs": runs}))

    try:
        if args.every is None:
            show(engine.incremental(name, confirm_deletes=args.confirm_deletes))
        else:

            def warn(resource: str, exc: Exception) -> None:
                view.finish()
                output.note(f"incremental sync of {resource} failed: {exc}")

            engine.scheduler([name], interval=args.every, on_result=show, on_error=warn).run(
                runs=args.runs
            )
    except KeyboardInterrupt:
        view.finish()
        emit_json()
        output.note("interrupted: the watermark is where the last finished run left it")
        return EXIT_INTERRUPTED
    emit_json()
    return 0


def _run_reconcile(args: argparse.Namespace, store: SyncStore, output: Output) -> int:
    with _engine(args, store, None) as engine:
        report = engine.reconcile(args.resource, sample=args.sample, seed=args.seed)
    if args.json:
        output.json(document("sync reconcile", _isofy(report.to_dict())))
    else:
        for line in describe_report(report).splitlines():
            output.print(line)
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


def _report_from(raw: str, source: str) -> ReconcileReport:
    """A ``reconcile --json`` document (or a bare report) read back."""
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise UsageError(
            f"{source} is not JSON: {exc}", "pass the output of `sync reconcile --json`"
        ) from None
    if not isinstance(data, dict):
        raise UsageError(f"{source} is not a reconciliation report")
    generated = data.get("generated_at")
    if isinstance(generated, str):
        try:
            data["generated_at"] = parse_instant(generated).timestamp()
        except ValueError:
            data["generated_at"] = 0.0
    try:
        return ReconcileReport.from_dict(data)
    except SyncError as exc:
        raise UsageError(f"{source}: {exc}", "pass the output of `sync reconcile --json`") from None


_REPORT_HINT = "pass a file written by `sync reconcile --json > FILE`"


def _run_repair(args: argparse.Namespace, store: SyncStore, output: Output) -> int:
    report: ReconcileReport | None = None
    if args.report:
        if args.report == "-":
            report = _report_from(sys.stdin.read(), "stdin")
        else:
            path = existing_file(args.report, "report", _REPORT_HINT)
            report = _report_from(path.read_text(encoding="utf-8"), args.report)
    with _engine(args, store, None) as engine:
        result = engine.repair(
            report,
            resource=args.resource,
            verify_extras=not args.no_verify,
            confirm_deletes=args.confirm_deletes,
        )
    if args.json:
        output.json(document("sync repair", result.to_dict()))
        return 0
    output.print(
        f"repaired {result.resource}: {len(result.refreshed)} fetched again, "
        f"{len(result.deleted)} deleted locally, {len(result.kept)} kept (MaintainX has them) "
        f"in {result.requests} requests"
    )
    return 0


def _ago(seconds: float | None) -> str:
    return "never" if seconds is None else f"{clock_text(seconds)} ago"


def _run_status(args: argparse.Namespace, store: SyncStore, output: Output) -> int:
    status = sync_status(store, resolve(args.resource).name, now=SYSTEM_CLOCK.time())
    result = assess_local_copy(status, Thresholds(sync_stale_after=args.stale_after))
    severity = classify(result.findings)
    if args.json:
        data = with_units(_isofy(status.to_dict()), "full_synced_ago", "polled_ago")
        data["db"] = args.db
        data["severity"] = severity.name if severity else None
        data["findings"] = [f.to_dict() for f in result.findings]
        output.json(document("sync status", data))
        return _severity_exit(severity)
    full = status.full_in_progress
    output.print(f"{status.resource}: {status.records:,} records in {args.db}")
    output.print(f"  watermark: {status.watermark}")
    output.print(f"  last full sync: {_ago(status.full_synced_ago)}")
    output.print(f"  last incremental run: {_ago(status.polled_ago)}")
    if full:
        output.print(
            f"  unfinished full sync: {full.get('pages')} pages / {full.get('records')} "
            "records stored; `sync full` resumes it"
        )
    for blocked in status.deletes_blocked:
        output.print(
            f"  DELETIONS REFUSED: {blocked.get('operation')} would delete "
            f"{blocked.get('would_delete')} of {blocked.get('local')} records (limit "
            f"{blocked.get('limit')}); check the API key's permissions, or run `sync "
            f"{blocked.get('operation')} --confirm-deletes`"
        )
    output.print()
    render_result(output.out, result.to_dict(), checks=False)
    return _severity_exit(severity)


def _open_store(args: argparse.Namespace) -> SQLiteStore:
    """The store; ``status`` opens only an existing one, and no command creates one before
    its own arguments are known to be good."""
    if args.sync_command == "repair" and args.report not in (None, "-"):
        existing_file(args.report, "report", _REPORT_HINT)
    if args.sync_command == "status":
        existing_file(
            args.db,
            "local copy",
            f"run `maintainx-resilient sync full --db {args.db}` first, or pass --db FILE "
            "(or set MAINTAINX_SYNC_DB) to read another copy",
        )
    try:
        return SQLiteStore(args.db)
    except OSError as exc:
        raise UsageError(
            f"cannot open {args.db}: {exc}", "check --db / MAINTAINX_SYNC_DB"
        ) from None


def _dispatch(args: argparse.Namespace, output: Output) -> int:
    try:
        resolve(args.resource)
    except ValueError as exc:
        raise UsageError(str(exc), f"--resource is one of {', '.join(RESOURCES)}") from None
    try:
        store = _open_store(args)
    except StorageError as exc:
        output.error(str(exc), kind=type(exc).__name__, code=EXIT_ERROR)
        return EXIT_ERROR
    try:
        code: int = args.sync_run(args, store, output)
    except ConfigurationError as exc:
        raise UsageError(str(exc), "check the options and the MAINTAINX_* variables") from None
    except MassDeleteError as exc:
        output.error(f"refused: {exc}", kind=type(exc).__name__, code=EXIT_DELETES_REFUSED)
        return EXIT_DELETES_REFUSED
    except (MaintainXError, SyncError, ValueError, OSError) as exc:
        output.error(str(exc), kind=type(exc).__name__, code=EXIT_ERROR)
        return EXIT_ERROR
    finally:
        store.close()
    return code
