"""Receive MaintainX webhooks end to end, against the bundled simulator (no API key needed).

1. the simulator (a local MaintainX) is served on one socket, the webhook receiver (an ASGI
   app) on another;
2. a subscription is created through the client and remembered in the registry (its id and
   secret: MaintainX cannot list subscriptions);
3. work orders are created and moved through statuses; the simulator delivers the signed
   webhooks, the receiver verifies and stores them before answering 200;
4. a worker runs the typed handlers.

    python examples/webhooks_receiver.py
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from maintainx_resilient import MaintainXClient
from maintainx_resilient.testing import Simulator
from maintainx_resilient.webhooks import (
    LocalServer,
    SqliteQueue,
    SubscriptionRegistry,
    WebhookApp,
    WebhookEvent,
    WebhookHandlers,
    WebhookReceiver,
    Worker,
)
from maintainx_resilient.webhooks.events import NewWorkOrder, WorkOrderStatusChange

handlers = WebhookHandlers()


@handlers.on(NewWorkOrder)
def created(event: NewWorkOrder) -> None:
    title = event.new_work_order.title if event.new_work_order else "?"
    print(f"  new work order {event.work_order_id}: {title!r}")


@handlers.on(WorkOrderStatusChange)
def status_changed(event: WorkOrderStatusChange) -> None:
    sub = f" ({event.new_sub_status})" if event.new_sub_status else ""
    print(f"  work order {event.work_order_id}: {event.old_status} -> {event.new_status}{sub}")


@handlers.default
def anything_else(event: WebhookEvent) -> None:
    print(f"  {event.event_type}: {event.raw}")


def main() -> None:
    sim = Simulator(seed=1, work_orders=10, rate_limit=None)
    with tempfile.TemporaryDirectory() as tmp:
        queue = SqliteQueue(Path(tmp) / "webhooks.db")
        registry = SubscriptionRegistry(Path(tmp) / "webhook-subscriptions.json")  # mode 0600
        receiver = WebhookReceiver(queue, registry)
        with (
            sim.serve() as api,
            LocalServer(WebhookApp(receiver)) as hooks,
            # the simulator runs without rate limits: no client-side pacing needed
            MaintainXClient(
                api_key=Simulator.API_KEY, base_url=api.base_url, throttle=None
            ) as client,
        ):
            print(f"MaintainX simulator on {api.base_url}, webhooks on {hooks.url}")
            for route, event_type in (
                ("work-orders", "NEW_WORK_ORDER"),
                ("status", "WORK_ORDER_STATUS_CHANGE"),
            ):
                sub = registry.create(
                    client,
                    route=route,
                    event_type=event_type,
                    url=f"{hooks.url}/webhooks/maintainx/{route}",
                )
                print(f"subscribed {event_type} -> /{route} (subscription {sub.id})")

            pump = client.work_orders.create(title="Inspect pump P-101", priority="HIGH")
            client.work_orders.set_status(pump, "IN_PROGRESS")
            client.work_orders.set_status(pump, "DONE")
            belt = client.work_orders.create(title="Replace conveyor belt")
            client.work_orders.set_status(belt, "CANCELED")
            sim.webhooks.wait_idle()
            print(f"delivered: {[d.status for d in sim.webhooks.deliveries]}")
            print(f"queue: {queue.stats().to_dict()}")

            print("worker:")
            result = Worker(queue, handlers, consumer="worker-1").run(until_idle=True)
            print(f"processed {result.processed}, failed {result.dead}")
            health = receiver.webhook_health()
            print(
                f"RB-003 health: depth={health['queue_depth']} failed={health['failed']} "
                f"self-test={health['signature_self_test']}"
            )
        sim.webhooks.close()
        receiver.close()
        queue.close()


if __name__ == "__main__":
    main()
