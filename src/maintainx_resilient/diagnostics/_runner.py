"""Running the runbook procedures together, within a deadline, into one report.

:func:`run_diagnostics` starts every selected procedure at once (each an ``async def
check(ctx) -> DiagnosticResult``) and waits at most ``ctx.deadline`` seconds of real time
for all of them. What it never lets through:

- a procedure still running at the deadline is cancelled and reported with
  ``status="timeout"``; the diagnosis itself returns within the deadline (a small part of it,
  at most 50 ms, is kept to cancel the late ones and assemble the report);
- a procedure that raises is reported with ``status="error"`` and ``"<ExceptionType>:
  <message>"`` as its detail, the message cleaned by :func:`.report.sanitize_text`; no
  traceback is kept;
- a procedure that returns something other than a :class:`DiagnosticResult` is an error too.

The overall severity follows the runbook's table, not just the worst proposal: every probe
the procedures send is counted, and :func:`.severity.apply_criteria` keeps a SEV1 ("complete
outage") only when no probe succeeded and the client's last call did not either.

:class:`DiagnosisReport` is the frozen outcome; :meth:`DiagnosisReport.to_dict` is the JSON
form documented, field by field, by ``diagnostics/schema.json``. :func:`run_sync` runs a
coroutine (such as a diagnosis) from synchronous code, even inside a running event loop, and
returns as soon as the coroutine does: a worker thread still running a late probe is left to
end by its own deadline instead of being waited for (``asyncio.run`` would wait for it).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import dataclasses
import re
import signal
import threading
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from .._iso8601 import iso_utc
from .._version import __version__
from ._context import DiagnosticContext, EscalationContact, Probe, ProbeResult
from ._model import DiagnosticResult, Finding, ResultStatus, Severity
from .report import Secrets, sanitize, sanitize_text
from .severity import (
    Escalation,
    LiveEvidence,
    SeverityBasis,
    apply_criteria,
    criterion,
    escalation_for,
)

__all__ = [
    "REPORT_SCHEMA_VERSION",
    "RUNBOOK_TITLES",
    "DiagnosisReport",
    "Procedure",
    "run_diagnostics",
    "run_sync",
    "select_procedures",
]

T = TypeVar("T")

Procedure = Callable[[DiagnosticContext], Awaitable[DiagnosticResult]]

#: The version of the JSON form (``schema_version``); bumped only for breaking changes.
REPORT_SCHEMA_VERSION = 1

#: The runbook's procedure titles, used for results the procedure itself never returned.
RUNBOOK_TITLES: Mapping[str, str] = {
    "RB-001": "MaintainX API Unreachable",
    "RB-002": "High Error Rate",
    "RB-003": "Webhook Processing Failures",
    "RB-004": "Data Sync Out of Sync",
    "RB-005": "Performance Degradation",
}

#: Time kept at the end of the deadline to cancel late procedures and build the report.
_WRAP_UP = 0.05
_MAX_ERROR_TEXT = 300
_STATUSES: tuple[ResultStatus, ...] = ("ok", "problem", "not_configured", "error", "timeout")


@dataclass(frozen=True)
class DiagnosisReport:
    """The outcome of one diagnosis: every procedure's result and the overall verdict.

    ``severity`` is the worst finding's once the runbook's criteria are applied (None: no
    findings); ``basis`` says which criterion and which evidence. ``escalation`` (who to
    call, how fast) is set for SEV1 and SEV2 only. ``started_at`` is ISO-8601 UTC;
    ``duration`` and ``deadline`` are seconds. ``fleet`` is the fleet as the client saw it
    (``FleetReport.to_dict()``: link state, live workers, mitigations), None outside a fleet.
    """

    results: tuple[DiagnosticResult, ...]
    severity: Severity | None
    started_at: str
    duration: float
    deadline: float
    escalation: Escalation | None = None
    basis: SeverityBasis | None = field(default=None)
    fleet: Mapping[str, Any] | None = None

    @property
    def findings(self) -> tuple[Finding, ...]:
        """Every finding of every result, in result order."""
        return tuple(f for r in self.results for f in r.findings)

    @property
    def complete(self) -> bool:
        """False when a procedure timed out or failed: the verdict may miss something."""
        return not any(r.status in ("error", "timeout") for r in self.results)

    @property
    def contacts(self) -> tuple[EscalationContact, ...]:
        """The escalation contacts (SEV1/SEV2 only; empty otherwise)."""
        return self.escalation.contacts if self.escalation else ()

    def result(self, runbook: str) -> DiagnosticResult | None:
        """The result of one procedure (``"RB-002"``), if it ran."""
        return next((r for r in self.results if r.runbook == runbook), None)

    def to_dict(self, secrets: Secrets = ()) -> dict[str, Any]:
        """The JSON form (see ``schema.json``), cleaned of secrets by :func:`.report.sanitize`."""
        sev = self.severity
        counts = dict.fromkeys(_STATUSES, 0)
        for r in self.results:
            counts[r.status] = counts.get(r.status, 0) + 1
        data: dict[str, Any] = {
            "schema_version": REPORT_SCHEMA_VERSION,
            "generator": {"name": "maintainx-resilient", "version": __version__},
            "started_at": self.started_at,
            "duration_ms": round(self.duration * 1000, 1),
            "deadline_ms": round(self.deadline * 1000, 1),
            "severity": sev.name if sev else None,
            "severity_definition": sev.definition if sev else None,
            "response_time": sev.response_time if sev else None,
            "severity_basis": (
                self.basis or SeverityBasis(severity=sev, criterion=criterion(sev))
            ).to_dict(),
            "complete": self.complete,
            "summary": counts,
            "escalation": self.escalation.to_dict() if self.escalation else None,
            "results": [r.to_dict() for r in self.results],
            "fleet": dict(self.fleet) if self.fleet is not None else None,
        }
        cleaned: dict[str, Any] = sanitize(data, secrets)
        return cleaned


def _normal(name: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", name.upper())


def select_procedures(
    procedures: Mapping[str, Procedure], only: Iterable[str] | None = None
) -> dict[str, Procedure]:
    """The procedures named in ``only`` (all when None), in ``procedures``' order.

    Names match loosely: ``"rb-002"``, ``"RB002"`` and ``"rb002"`` all select ``"RB-002"``.
    An unknown name raises :class:`ValueError` listing the known ones.
    """
    if only is None:
        return dict(procedures)
    by_normal = {_normal(name): name for name in procedures}
    wanted: set[str] = set()
    for name in only:
        key = by_normal.get(_normal(name))
        if key is None:
            known = ", ".join(procedures) or "none"
            raise ValueError(f"unknown diagnostic procedure {name!r} (known: {known})")
        wanted.add(key)
    return {name: proc for name, proc in procedures.items() if name in wanted}


def _failed(name: str, status: ResultStatus, detail: str, duration: float) -> DiagnosticResult:
    return DiagnosticResult(
        runbook=name,
        title=RUNBOOK_TITLES.get(name, name),
        status=status,
        duration=duration,
        detail=detail,
    )


def _error_text(exc: BaseException) -> str:
    message = sanitize_text(str(exc))
    if len(message) > _MAX_ERROR_TEXT:
        message = message[: _MAX_ERROR_TEXT - 3] + "..."
    return f"{type(exc).__name__}: {message}" if message else type(exc).__name__


async def _call(name: str, procedure: Procedure, ctx: DiagnosticContext) -> DiagnosticResult:
    started = ctx.clock.monotonic()
    try:
        result: object = await procedure(ctx)
    except Exception as exc:
        # Only the type and the cleaned message: a traceback's locals could hold a key.
        return _failed(name, "error", _error_text(exc), ctx.clock.monotonic() - started)
    if not isinstance(result, DiagnosticResult):
        detail = f"procedure returned {type(result).__name__}, not a DiagnosticResult"
        return _failed(name, "error", detail, ctx.clock.monotonic() - started)
    return result


class _ProbeTally:
    """Wraps ``ctx.probe`` and counts what MaintainX answered: a 2xx is ok, anything else
    (an error status, an exception, a cancellation at the deadline) failed."""

    def __init__(self, probe: Probe) -> None:
        self._probe = probe
        self.ok = 0
        self.failed = 0

    async def __call__(self, method: str, path: str, headers: Mapping[str, str]) -> ProbeResult:
        try:
            result = await self._probe(method, path, headers)
        except BaseException:
            self.failed += 1
            raise
        if isinstance(result, ProbeResult) and result.ok:
            self.ok += 1
        else:
            self.failed += 1
        return result


def _ignore_outcome(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()


async def run_diagnostics(
    ctx: DiagnosticContext,
    procedures: Mapping[str, Procedure],
    *,
    only: Iterable[str] | None = None,
) -> DiagnosisReport:
    """Run ``procedures`` (name -> ``check``) concurrently; return within ``ctx.deadline``.

    ``only`` restricts the run to some names (see :func:`select_procedures`). Results come
    in ``procedures``' order. The deadline is measured on the event loop's real clock;
    durations and ``started_at`` come from ``ctx.clock``.
    """
    selected = select_procedures(procedures, only)
    tally = _ProbeTally(ctx.probe)
    ctx = dataclasses.replace(ctx, probe=tally)
    loop = asyncio.get_running_loop()
    begun = loop.time()
    started_mono, started_wall = ctx.clock.monotonic(), ctx.clock.time()
    deadline = max(0.0, float(ctx.deadline))
    budget = max(0.0, deadline - min(_WRAP_UP, deadline * 0.1))
    tasks = {
        name: asyncio.create_task(_call(name, proc, ctx), name=f"maintainx-diagnose-{name}")
        for name, proc in selected.items()
    }
    try:
        if tasks:
            await asyncio.wait(tasks.values(), timeout=budget)
    except BaseException:
        for task in tasks.values():
            task.cancel()
        raise
    late = [t for t in tasks.values() if not t.done()]
    for task in late:
        task.cancel()
    if late:
        # Give the cancelled ones what is left of the deadline to unwind, no more.
        left = deadline - (loop.time() - begun) - 0.005
        if left > 0:
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait(late, timeout=left)
        for task in late:
            task.add_done_callback(_ignore_outcome)
    elapsed = ctx.clock.monotonic() - started_mono
    results: list[DiagnosticResult] = []
    for name, task in tasks.items():
        if task.done() and not task.cancelled() and task not in late:
            results.append(task.result())
        elif task in late:
            detail = f"did not finish within the {deadline:g} s deadline"
            results.append(_failed(name, "timeout", detail, elapsed))
        else:
            results.append(_failed(name, "error", "cancelled", elapsed))
    live = LiveEvidence.of(tally.ok, tally.failed, ctx.stats)
    judged, basis = apply_criteria(results, live)
    return DiagnosisReport(
        results=judged,
        severity=basis.severity,
        started_at=iso_utc(started_wall),
        duration=elapsed,
        deadline=deadline,
        escalation=escalation_for(basis.severity, ctx.contacts),
        basis=basis,
        fleet=ctx.fleet.to_dict() if ctx.fleet is not None else None,
    )


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run ``coro`` to completion from synchronous code and return its result.

    Without a running event loop in this thread it runs on a new one (``asyncio.run``).
    Inside a running loop (a notebook, an async framework calling sync code) it runs on a new
    loop in a worker thread while this thread waits, so objects bound to the caller's loop
    must not be used by ``coro``. Exceptions propagate unchanged.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run_detached(coro)
    pool = concurrent.futures.ThreadPoolExecutor(
        max_workers=1, thread_name_prefix="maintainx-run-sync"
    )
    try:
        return pool.submit(_run_detached, coro).result()
    finally:
        pool.shutdown(wait=False)


def _run_detached(coro: Coroutine[Any, Any, T]) -> T:
    """``asyncio.run(coro)``, except that threads started by ``asyncio.to_thread`` are not
    waited for at the end: a sync probe's thread cannot be cancelled, and its own deadline
    (see ``MaintainXClient._probe_extensions``) ends it shortly after the diagnosis."""
    loop = asyncio.new_event_loop()
    executor = concurrent.futures.ThreadPoolExecutor(thread_name_prefix="maintainx-probe")
    loop.set_default_executor(executor)
    main = loop.create_task(coro)
    with _CancelOnCtrlC(loop, main) as ctrl_c:
        try:
            result = loop.run_until_complete(main)
        except asyncio.CancelledError:
            if ctrl_c.pressed:
                raise KeyboardInterrupt from None
            raise
        finally:
            try:
                pending = asyncio.all_tasks(loop)
                for task in pending:
                    task.cancel()
                if pending:
                    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
                loop.run_until_complete(loop.shutdown_asyncgens())
            finally:
                executor.shutdown(wait=False)
                loop.close()
    if ctrl_c.pressed:
        raise KeyboardInterrupt
    return result


class _CancelOnCtrlC:
    """Within it, Ctrl-C (SIGINT) cancels ``main`` instead of raising KeyboardInterrupt
    wherever the loop happens to be, as ``asyncio.run`` does since Python 3.11: a
    KeyboardInterrupt raised inside a task is kept by that task and raised again while the
    others are cancelled, which left tasks pending ("Task was destroyed but it is
    pending!"). Only in the main thread, and only when SIGINT has Python's default handler;
    ``pressed`` says whether it came (the caller then raises KeyboardInterrupt)."""

    def __init__(self, loop: asyncio.AbstractEventLoop, main: asyncio.Task[Any]) -> None:
        self._loop = loop
        self._main = main
        self._previous: Any = None
        self.pressed = False

    def __enter__(self) -> _CancelOnCtrlC:
        if (
            threading.current_thread() is threading.main_thread()
            and signal.getsignal(signal.SIGINT) is signal.default_int_handler
        ):
            self._previous = signal.signal(signal.SIGINT, self._on_sigint)
        return self

    def __exit__(self, *exc: object) -> None:
        if self._previous is not None and signal.getsignal(signal.SIGINT) == self._on_sigint:
            signal.signal(signal.SIGINT, self._previous)

    def _on_sigint(self, signum: int, frame: Any) -> None:
        self.pressed = True
        if not self._main.done():
            self._loop.call_soon_threadsafe(self._main.cancel)
