"""The subscription registry manages subscriptions through the client, keeps ids and secrets in
a 0600 file the receiver follows, and rotates a secret without dropping events in flight."""

from __future__ import annotations

import json
import logging
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from maintainx_resilient import MaintainXClient, NotFoundError
from maintainx_resilient._clock import FakeClock
from maintainx_resilient.testing import Simulator
from maintainx_resilient.webhooks import SqliteQueue, SubscriptionRegistry, WebhookReceiver

from ._support import signed_headers

URL = "https://hooks.example/webhooks/maintainx/wo"
Captured = list[tuple[str, dict[str, str], bytes]]


@pytest.fixture
def sim(clock: FakeClock) -> Iterator[Simulator]:
    simulator = Simulator(seed=2, work_orders=3, rate_limit=None)
    simulator.webhooks.mode = "manual"
    simulator.webhooks.wall_clock = clock.time
    yield simulator
    simulator.webhooks.close()


@pytest.fixture
def client(sim: Simulator) -> Iterator[MaintainXClient]:
    with MaintainXClient(
        api_key=Simulator.API_KEY,
        base_url="https://sim/v1",
        transport=sim.transport(),
        throttle=None,
    ) as c:
        yield c


@pytest.fixture
def registry(tmp_path: Path, clock: FakeClock) -> SubscriptionRegistry:
    return SubscriptionRegistry(tmp_path / "subs.json", clock=clock)


@pytest.fixture
def receiver(
    tmp_path: Path, registry: SubscriptionRegistry, clock: FakeClock
) -> Iterator[WebhookReceiver]:
    queue = SqliteQueue(tmp_path / "q.db", synchronous="NORMAL", clock=clock)
    r = WebhookReceiver(queue, registry, clock=clock)
    yield r
    r.close()
    queue.close()


def capture(sim: Simulator) -> Captured:
    captured: Captured = []

    def sender(url: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
        captured.append((url, headers, body))
        return 200

    sim.webhooks.sender = sender
    return captured


def deliver(receiver: WebhookReceiver, captured: Captured) -> list[str]:
    return [receiver.handle("POST", url, h, body).outcome for url, h, body in captured]


def test_create_keeps_id_and_secret_in_a_0600_file(
    registry: SubscriptionRegistry, client: MaintainXClient, sim: Simulator
) -> None:
    sub = registry.create(client, route="wo", event_type="NEW_WORK_ORDER", url=URL)
    (remote,) = sim.records("subscriptions")
    assert (sub.id, sub.event_type, sub.url) == (remote["id"], "NEW_WORK_ORDER", URL)
    assert sub.secrets[0].secret.reveal() == remote["secret"]
    mode = stat.S_IMODE(os.stat(registry.path).st_mode)
    assert mode == 0o600
    data = json.loads(Path(registry.path).read_text())
    assert data["subscriptions"][0]["id"] == sub.id
    assert registry.ids() == [sub.id]
    route = registry.route("wo")
    assert route is not None and route.subscription_id == sub.id
    assert registry.route("nope") is None
    with pytest.raises(ValueError, match="registered already"):
        registry.create(client, route="wo", event_type="NEW_WORK_ORDER", url=URL)
    with pytest.raises(ValueError, match="route name"):
        registry.create(client, route="a/b", event_type="NEW_WORK_ORDER", url=URL)


def test_receiver_follows_the_registry_file(
    tmp_path: Path,
    registry: SubscriptionRegistry,
    client: MaintainXClient,
    sim: Simulator,
    receiver: WebhookReceiver,
    clock: FakeClock,
) -> None:
    captured = capture(sim)
    # another process (here: another registry object on the same file) adds the route
    SubscriptionRegistry(registry.path, clock=clock).create(
        client, route="wo", event_type="NEW_WORK_ORDER", url=URL
    )
    client.work_orders.create(title="hello")
    sim.webhooks.flush()
    assert deliver(receiver, captured) == ["accepted"]


def test_loose_permissions_are_tightened(
    registry: SubscriptionRegistry, client: MaintainXClient, caplog: pytest.LogCaptureFixture
) -> None:
    registry.create(client, route="wo", event_type="NEW_WORK_ORDER", url=URL)
    os.chmod(registry.path, 0o644)
    fresh = SubscriptionRegistry(registry.path)
    with caplog.at_level(logging.WARNING, logger="maintainx_resilient"):
        assert fresh.get("wo") is not None
    assert stat.S_IMODE(os.stat(registry.path).st_mode) == 0o600
    assert "0600" in caplog.text


def test_update_and_delete(
    registry: SubscriptionRegistry, client: MaintainXClient, sim: Simulator
) -> None:
    registry.create(client, route="wo", event_type="NEW_WORK_ORDER", url=URL)
    changed = registry.update(client, "wo", url=URL + "2")
    assert changed.url == URL + "2"
    assert sim.records("subscriptions")[0]["url"] == URL + "2"
    registry.update(client, "wo", event_type="WORK_ORDER_CHANGE")
    registry.update(client, "wo", url=URL, event_type="NEW_WORK_ORDER")
    assert registry.update(client, "wo") == registry.get("wo")
    assert sim.records("subscriptions")[0]["type"] == "NEW_WORK_ORDER"
    registry.delete(client, "wo")
    assert sim.records("subscriptions") == []
    assert registry.get("wo") is None
    with pytest.raises(KeyError):
        registry.delete(client, "wo")


def test_delete_tolerates_a_subscription_maintainx_removed(
    registry: SubscriptionRegistry, client: MaintainXClient, sim: Simulator
) -> None:
    sub = registry.create(client, route="wo", event_type="NEW_WORK_ORDER", url=URL)
    sim.delete_record("subscriptions", sub.id)
    registry.delete(client, "wo")
    assert registry.subscriptions() == []


def test_rotation_keeps_events_in_flight(
    registry: SubscriptionRegistry,
    client: MaintainXClient,
    sim: Simulator,
    receiver: WebhookReceiver,
    clock: FakeClock,
) -> None:
    captured = capture(sim)
    old = registry.create(client, route="wo", event_type="NEW_WORK_ORDER", url=URL)
    client.work_orders.create(title="signed with the old secret")
    sim.webhooks.flush()
    in_flight = list(captured)  # signed, not delivered yet
    captured.clear()

    new = registry.rotate_secret(client, "wo", grace=600)
    assert new.id != old.id
    assert new.retired_ids == ()
    assert [s["id"] for s in sim.records("subscriptions")] == [new.id]  # old one deleted
    assert len(new.secrets) == 2 and new.secrets[1].expires_at == clock.time() + 600

    client.work_orders.create(title="signed with the new secret")
    sim.webhooks.flush()
    assert deliver(receiver, in_flight) == ["accepted"]  # the old secret is still good
    assert deliver(receiver, captured) == ["accepted"]

    clock.advance(601)  # the grace is over: a fresh delivery signed with the old secret fails
    old_secret = old.secrets[0].secret.reveal()
    late = [(u, signed_headers(old_secret, b, u, int(clock.time())), b) for u, _, b in in_flight]
    assert deliver(receiver, late) == ["bad_signature"]
    assert len(registry.get("wo").secrets) == 2  # type: ignore[union-attr]
    registry.refresh_secret(client, "wo")  # same secret: nothing changes, file rewritten later
    registry.register("other", id=99, event_type="X", url="u", secret="s")
    assert len(registry.get("wo").secrets) == 1  # type: ignore[union-attr]  # pruned on save


def test_overlap_duplicates_collapse_and_cleanup_retries(
    registry: SubscriptionRegistry,
    client: MaintainXClient,
    sim: Simulator,
    receiver: WebhookReceiver,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    captured = capture(sim)
    registry.create(client, route="wo", event_type="NEW_WORK_ORDER", url=URL)

    def unreachable(sub_id: int) -> None:
        raise ConnectionError("MaintainX unreachable")

    real_delete = client.subscriptions.delete
    monkeypatch.setattr(client.subscriptions, "delete", unreachable)
    rotated = registry.rotate_secret(client, "wo")
    assert len(rotated.retired_ids) == 1  # remembered, to delete later
    assert len(sim.records("subscriptions")) == 2  # both deliver meanwhile

    client.work_orders.create(title="delivered twice")
    sim.webhooks.flush()
    assert len(captured) == 2
    assert sorted(deliver(receiver, captured)) == ["accepted", "duplicate"]

    monkeypatch.setattr(client.subscriptions, "delete", real_delete)
    cleaned = registry.cleanup(client, "wo")
    assert cleaned.retired_ids == ()
    assert [s["id"] for s in sim.records("subscriptions")] == [rotated.id]


def test_refresh_secret_after_a_change_in_the_web_app(
    registry: SubscriptionRegistry,
    client: MaintainXClient,
    sim: Simulator,
    clock: FakeClock,
) -> None:
    sub = registry.create(client, route="wo", event_type="NEW_WORK_ORDER", url=URL)
    sim.update_record("subscriptions", sub.id, {"secret": "changed-in-the-app"})
    refreshed = registry.refresh_secret(client, "wo", grace=60)
    assert refreshed.secrets[0].secret.reveal() == "changed-in-the-app"
    route = registry.route("wo")
    assert route is not None and len(route.secrets) == 2
    clock.advance(61)
    route = registry.route("wo")
    assert route is not None and [s.reveal() for s in route.secrets] == ["changed-in-the-app"]


def test_secret_check_against_the_api(
    tmp_path: Path,
    registry: SubscriptionRegistry,
    client: MaintainXClient,
    sim: Simulator,
    clock: FakeClock,
) -> None:
    sub = registry.create(client, route="wo", event_type="NEW_WORK_ORDER", url=URL)
    queue = SqliteQueue(tmp_path / "h.db", synchronous="NORMAL", clock=clock)
    with WebhookReceiver(queue, registry, clock=clock, client=client) as receiver:
        assert receiver.webhook_health()["secret_matches_api"] is True
        sim.update_record("subscriptions", sub.id, {"secret": "rotated-elsewhere"})
        assert receiver.webhook_health()["secret_matches_api"] is False
        sim.delete_record("subscriptions", sub.id)
        health: dict[str, Any] = receiver.webhook_health()
        assert health["secret_matches_api"] is None
        assert any("NotFoundError" in e for e in health["errors"])
    queue.close()
    assert NotFoundError.__name__ == "NotFoundError"


def test_unsupported_file_version(tmp_path: Path) -> None:
    path = tmp_path / "subs.json"
    path.write_text('{"version": 99, "subscriptions": []}')
    os.chmod(path, 0o600)
    with pytest.raises(ValueError, match="version"):
        SubscriptionRegistry(path).subscriptions()
    assert repr(SubscriptionRegistry(path)).startswith("SubscriptionRegistry(")
