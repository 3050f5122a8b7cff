"""The simulator's own webhooks feed the incremental sync: changes made in the background
(and through the API) are delivered to subscriptions, handed to a WebhookFeed, and one
incremental run leaves the store equal to MaintainX, deletions included."""

from __future__ import annotations

import json

from maintainx_resilient.sync import SyncEngine, SyncStore, WebhookFeed

from ._support import client_for, local_view, make_sim, remote_view

HOOK = "https://hooks.example/maintainx/"
TYPES = ("NEW_WORK_ORDER", "WORK_ORDER_CHANGE", "WORK_ORDER_STATUS_CHANGE", "WORK_ORDER_DELETE")


def test_simulator_webhooks_feed_the_incremental_sync(store: SyncStore) -> None:
    sim = make_sim(600)
    sim.webhooks.mode = "manual"  # delivered on flush(): deterministic
    feed = WebhookFeed()

    def deliver(url: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
        # a receiver in process: the subscription URL says the event type
        assert feed.put(json.loads(body), url.rsplit("/", 1)[-1].upper())
        return 200

    sim.webhooks.sender = deliver
    try:
        with client_for(sim) as client:
            for event_type in TYPES:
                client.subscriptions.create(type=event_type, url=HOOK + event_type.lower())
            engine = SyncEngine(client, store, feed=feed)
            engine.full()
            changes = sim.mutator(seed=3).run(60)  # behind the API's back, webhooks fired
            client.work_orders.delete(7)  # through the API: the simulator fires this one
            client.work_orders.set_status(8, "DONE")
            delivered = sim.webhooks.flush()
            result = engine.incremental()
    finally:
        sim.webhooks.close()
    deleted = {c.id for c in changes if c.kind == "delete"} | {7}
    assert delivered > len(changes)  # the mutations' webhooks, and the API writes'
    assert set(result.webhook_deleted) == deleted & set(range(1, 601))
    assert local_view(store) == remote_view(sim)
    assert feed.pending() == 0
