"""The receiver is RB-003's WebhookHealthSource: the runbook procedure reads its health and
finds backlog, dead letters, a paused queue and a secret that MaintainX no longer uses."""

from __future__ import annotations

from pathlib import Path

from maintainx_resilient._clock import FakeClock
from maintainx_resilient.diagnostics._context import DiagnosticContext, ProbeResult
from maintainx_resilient.diagnostics.rb003_webhooks import check
from maintainx_resilient.webhooks import SqliteQueue, WebhookReceiver, WebhookRoute

from ._support import payload, signed_headers

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
