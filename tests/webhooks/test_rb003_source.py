"""The receiver is RB-003's WebhookHealthSource: the runbook procedure reads its health and
finds backlog, dead letters, a paused queue and a secret that MaintainX no longer uses."""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

from maintainx_resilient._clock import FakeClock
from maintainx_resilient.diagnostics import Severity
from maintainx_resilient.diagnostics._context import DiagnosticContext, ProbeResult
from maintainx_resilient.diagnostics.rb003_webhooks import check
from maintainx_resilient.webhooks import SqliteQueue, WebhookReceiver, WebhookRoute, Worker

from ._support import FlakyQueue, StoppingClock, payload, signed_headers

URL = "https://hooks.example/webhooks/maintainx/wo"


async def probe(method: str, path: str, headers: object) -> ProbeResult:  # pragma: no cover
    return ProbeResult(method, path, 0.0, status=200)


def context(receiver: WebhookReceiver, clock: FakeClock) -> DiagnosticContext:
    return DiagnosticContext(base_url="https://sim/v1", probe=probe, webhooks=receiver, clock=clock)


async def test_rb003_reads_the_receiver(tmp_path: Path, clock: FakeClock) -> None:
    queue = SqliteQueue(tmp_path / "q.db", synchronous="NORMAL", clock=clock)
    route = WebhookRoute.create("wo", "NEW_WORK_ORDER", ["s"], url=URL)
    receiver = WebhookReceiver(queue, [route], clock=clock)
    try:
        healthy = await check(context(receiver, clock))
        assert healthy.status == "ok", healthy.to_dict()
        assert healthy.findings == ()

        for n in range(3):
            body = payload(n)
            receiver.handle("POST", URL, signed_headers("s", body, URL, int(clock.time())), body)
        (failing, *_) = queue.claim("w", 1)
        queue.dead_letter(failing, error="KeyError: 'x'")
        clock.advance(600)  # nobody processed the rest for 10 minutes
        receiver.pause()
        result = await check(context(receiver, clock))
        codes = {finding.code for finding in result.findings}
        assert {"RB003.BACKLOG", "RB003.FAILED_WEBHOOKS", "RB003.PAUSED"} <= codes, codes
        assert result.status == "problem"
    finally:
        receiver.close()
        queue.close()


async def test_rb003_reports_workers_that_cannot_use_the_queue(tmp_path: Path) -> None:
    stop = threading.Event()
    clock = StoppingClock(stop, after=2)
    queue = SqliteQueue(tmp_path / "q.db", synchronous="NORMAL", clock=clock)
    receiver = WebhookReceiver(queue, [WebhookRoute.create("wo", "NEW_WORK_ORDER", ["s"])])
    receiver.clock = clock
    worker = Worker(
        FlakyQueue(queue, failures=100),
        lambda e: None,
        consumer="w1",
        clock=clock,
        metrics=receiver.metrics,  # one process: the worker shares the receiver's metrics
    )
    try:
        worker.run(stop=stop)  # two failed attempts, then the test stops it
        clock.advance(60)
        health = receiver.webhook_health()
        [outage] = health["worker_outages"]
        assert (outage["consumer"], outage["error"], outage["failures"]) == ("w1", "unavailable", 2)
        assert outage["down_for"] >= 60
        result = await check(context(receiver, clock))
        [finding] = [f for f in result.findings if f.code == "RB003.WORKERS_CUT_OFF"]
        assert finding.severity == Severity.SEV2 and result.status == "problem"
        row = next(c for c in result.checks if c.name == "Workers reach the queue")
        assert row.ok is False and "w1 (unavailable)" in row.detail
    finally:
        receiver.close()
        queue.close()


class HangingPing:
    """A queue whose ping hangs until ``release`` (a Redis that stopped answering)."""

    def __init__(self, inner: SqliteQueue) -> None:
        self.inner = inner
        self.release = threading.Event()
        self.pings = 0

    def ping(self) -> bool:
        self.pings += 1
        return self.release.wait(10)  # bounded, so a broken test cannot hang

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inner, name)


async def test_a_hanging_queue_ping_is_a_503_within_the_health_timeout(tmp_path: Path) -> None:
    queue = SqliteQueue(tmp_path / "q.db", synchronous="NORMAL")
    hanging = HangingPing(queue)
    receiver = WebhookReceiver(hanging, [], health_timeout=0.2)
    try:
        assert receiver.health_response().status == 503
        assert (await receiver.ahealth_response()).status == 503
        answers = await asyncio.gather(
            *(receiver.ahandle("GET", f"{URL[:-3]}/health", {}, b"") for _ in range(5))
        )
        assert [a.status for a in answers] == [503] * 5
        assert hanging.pings == 1  # one ping in flight, shared: they never pile up
        hanging.release.set()
        assert receiver.health_response().status == 200  # it answered: healthy again
    finally:
        hanging.release.set()
        receiver.close()
        queue.close()
