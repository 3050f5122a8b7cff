"""Dead letters and replay: a handler that fails, retries with backoff, gives up, and the
events replayed once the handler is fixed. Time is a fake clock: the backoff is instant.

    python examples/webhooks_replay.py
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

from maintainx_resilient.testing import FakeClock
from maintainx_resilient.webhooks import (
    ReplayProgress,
    RetrySchedule,
    SqliteQueue,
    WebhookEvent,
    WebhookReceiver,
    WebhookRoute,
    Worker,
    replay_dead_letters,
    sign_header,
)

SECRET = "example-secret"
URL = "https://hooks.example.com/webhooks/maintainx/orders"


def deliver(receiver: WebhookReceiver, clock: FakeClock, n: int) -> int:
    """What MaintainX sends: a flat JSON payload and the two signature headers."""
    body = json.dumps({"workOrderId": n, "orgId": 1, "occurredAt": f"2025-01-01T00:00:0{n}Z"})
    stamp = int(clock.time())
    headers = {
        "x-maintainx-webhook-body-signature": sign_header(SECRET, stamp, body.encode()),
        "x-maintainx-webhook-uri-signature": sign_header(SECRET, stamp, URL.encode()),
    }
    return receiver.handle("POST", URL, headers, body.encode()).status


def main() -> None:
    clock = FakeClock()
    with tempfile.TemporaryDirectory() as tmp:
        queue = SqliteQueue(Path(tmp) / "webhooks.db", clock=clock)
        route = WebhookRoute.create("orders", "NEW_WORK_ORDER", [SECRET], url=URL)
        receiver = WebhookReceiver(queue, [route], clock=clock)
        print("deliveries answered:", [deliver(receiver, clock, n) for n in range(1, 4)])

        downstream_up = False

        def push_to_erp(event: WebhookEvent) -> None:
            if not downstream_up:
                raise ConnectionError("ERP unreachable")
            print(f"  pushed work order {event.raw['workOrderId']} (attempt {event.attempt})")

        policy = RetrySchedule(max_attempts=3, base_delay=30, jitter=0)
        worker = Worker(queue, push_to_erp, consumer="worker-1", retry=policy, clock=clock)
        for _ in range(policy.max_attempts):
            worker.run(until_idle=True)
            clock.advance(policy.max_delay)  # the backoff, on the fake clock
        for letter in queue.dead_letters():
            print(f"dead letter {letter.id}: {letter.error} after {letter.attempts} attempts")

        downstream_up = True

        def show(step: ReplayProgress) -> None:
            print(f"  replayed {step.done}/{step.total}")

        result = replay_dead_letters(queue, all=True, progress=show)
        print(f"replayed {result.requeued} of {result.matched}")
        worker.run(until_idle=True)
        print("queue after replay:", queue.stats().to_dict())
        receiver.close()
        queue.close()


if __name__ == "__main__":
    main()
