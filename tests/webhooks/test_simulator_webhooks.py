"""The simulator delivers signed webhooks for the changes made through it: payloads of the
spec's shapes, the real headers, and redeliveries, delays and corruptions on demand."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from openapi_schema_validator import OAS30Validator

from maintainx_resilient import MaintainXClient
from maintainx_resilient._clock import FakeClock
from maintainx_resilient.testing import Simulator
from maintainx_resilient.webhooks import SqliteQueue, WebhookReceiver, WebhookRoute

from ..spec_tools import load_spec
from ._support import BODY, URI, hex_hmac

HOOK = "https://hooks.example/webhooks/maintainx/"
GENERATED = [
    "NEW_WORK_ORDER",
    "WORK_ORDER_CHANGE",
    "WORK_ORDER_STATUS_CHANGE",
    "WORK_ORDER_DELETE",
    "NEW_CATEGORY_ON_WORK_ORDER",
    "WORK_ORDER_PART_STATUS_CHANGE",
    "NEW_COMMENT_ON_WORK_ORDER",
    "NEW_ASSET",
    "NEW_LOCATION",
    "NEW_PART",
    "PART_CHANGE",
    "PART_DELETE",
    "NEW_VENDOR",
    "NEW_PURCHASE_ORDER",
    "PURCHASE_ORDER_CHANGE",
    "PURCHASE_ORDER_STATUS_CHANGE",
    "NEW_WORK_REQUEST",
    "WEBHOOK_CREATED",
    "WEBHOOK_ARCHIVED",
]

Sent = list[tuple[str, dict[str, str], bytes]]


@pytest.fixture
def sim(clock: FakeClock) -> Iterator[Simulator]:
    simulator = Simulator(seed=3, work_orders=5, parts=5, rate_limit=None, sleep=clock.sleep)
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
def sent(sim: Simulator) -> Sent:
    captured: Sent = []

    def sender(url: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
        assert timeout == 10.0
        captured.append((url, headers, body))
        return 200

    sim.webhooks.sender = sender
    return captured


def subscribe(client: MaintainXClient, *types: str) -> dict[str, tuple[int, str]]:
    out = {}
    for event_type in types:
        created = client.subscriptions.create(type=event_type, url=HOOK + event_type.lower())
        assert created.secret
        out[event_type] = (created.id, created.secret)
    return out


def schemas() -> dict[str, Any]:
    spec = load_spec()
    return {
        name: item["post"]["requestBody"]["content"]["application/json"]["schema"]
        for name, item in spec["x-webhooks"].items()
    }


def exercise(client: MaintainXClient, sim: Simulator) -> None:
    """One write of each kind the simulator turns into events."""
    wo = client.work_orders.create(title="Pump", priority="HIGH")
    part = client.parts.create(name="Seal")
    client.work_orders.update(
        wo,
        description="leaking",
        categories=["Electrical"],
        parts_used=[{"partId": part, "quantityUsed": 1}],
    )
    client.work_orders.set_status(wo, "IN_PROGRESS")
    client.work_orders.set_status(wo, "CANCELED")
    client.work_orders.add_comment(wo, "Replaced the seal")
    client.assets.create(name="Press")
    client.locations.create(name="Hall 2")
    client.parts.update(part, name="Seal v2")
    vendor = client.vendors.create(name="ACME")
    po = client.purchase_orders.create(
        vendor_id=vendor, items=[{"name": "bolts", "quantityOrdered": 3}]
    )
    client.purchase_orders.update(po.id, note="urgent")
    client.purchase_orders.update(po.id, status="APPROVED")
    client.work_requests.create(title="Light out")
    client.parts.delete(part)
    client.work_orders.delete(wo)


def test_every_generated_payload_fits_the_spec(
    sim: Simulator, client: MaintainXClient, sent: Sent
) -> None:
    subs = subscribe(client, *GENERATED)
    doomed = client.subscriptions.create(type="NEW_VENDOR", url=HOOK + "gone")
    client.subscriptions.delete(doomed.id)
    exercise(client, sim)
    sim.webhooks.flush()
    by_type: dict[str, list[dict[str, Any]]] = {}
    for url, _headers, body in sent:
        event_type = url.rsplit("/", 1)[1].upper()
        by_type.setdefault(event_type, []).append(json.loads(body))
    assert set(by_type) == set(GENERATED), set(GENERATED) - set(by_type)
    spec = schemas()
    for event_type, payloads in by_type.items():
        validator = OAS30Validator(spec[event_type])
        for data in payloads:
            errors = [e.message for e in validator.iter_errors(data)]
            assert not errors, (event_type, errors, data)
            assert data.get("orgId") == 1
    status = by_type["WORK_ORDER_STATUS_CHANGE"]
    assert [(p["oldStatus"], p["newStatus"], p.get("newSubStatus")) for p in status] == [
        ("OPEN", "IN_PROGRESS", None),
        ("IN_PROGRESS", "DONE", "CANCELED"),
    ]
    assert by_type["NEW_CATEGORY_ON_WORK_ORDER"][0]["newCategories"][0]["name"] == "Electrical"
    assert by_type["WEBHOOK_ARCHIVED"][0]["webhookId"] == doomed.id
    assert len(subs) == len(GENERATED)


def test_real_headers_signed_with_the_subscription_secret(
    sim: Simulator, client: MaintainXClient, sent: Sent, clock: FakeClock
) -> None:
    ((sub_id, secret),) = subscribe(client, "NEW_WORK_ORDER").values()
    client.work_orders.create(title="Signed")
    assert sim.webhooks.flush() == 1
    ((url, headers, body),) = sent
    stamp = str(int(clock.time()))
    assert headers["content-type"] == "application/json"
    assert headers[BODY] == f"t={stamp},v1={hex_hmac(secret, stamp, body)}"
    assert headers[URI] == f"t={stamp},v1={hex_hmac(secret, stamp, url.encode())}"
    (record,) = sim.webhooks.deliveries
    assert (record.subscription_id, record.status, record.ok) == (sub_id, 200, True)
    (event,) = sim.webhooks.events
    assert event.subscriptions == (sub_id,)


def test_timestamps_in_milliseconds(
    sim: Simulator, client: MaintainXClient, sent: Sent, clock: FakeClock
) -> None:
    subscribe(client, "NEW_WORK_ORDER")
    sim.webhooks.timestamp_unit = "ms"
    client.work_orders.create(title="ms")
    sim.webhooks.flush()
    assert sent[0][1][BODY].startswith(f"t={int(clock.time() * 1000)},")


def test_skip_webhook_and_no_subscribers(
    sim: Simulator, client: MaintainXClient, sent: Sent
) -> None:
    client.work_orders.create(title="nobody listens")
    subscribe(client, "NEW_WORK_ORDER")
    client.work_orders.create(title="quiet", skip_webhook=True)
    sim.webhooks.enabled = False
    client.work_orders.create(title="disabled")
    sim.webhooks.enabled = True
    assert sim.webhooks.flush() == 0
    assert sent == []


def test_redeliver_duplicate_rate_resend_and_delay(
    sim: Simulator, client: MaintainXClient, sent: Sent, clock: FakeClock
) -> None:
    subscribe(client, "NEW_WORK_ORDER")
    sim.webhooks.redeliver(1, copies=2)
    sim.webhooks.delay(5.0, n=1)
    client.work_orders.create(title="thrice")
    assert sim.webhooks.pending() == 3
    sim.webhooks.flush()
    assert [d.copy for d in sim.webhooks.deliveries] == [0, 1, 2]
    assert len({body for _, _, body in sent}) == 1
    assert 5.0 in clock.sleeps
    sim.webhooks.resend(sim.webhooks.deliveries[0].id)
    sim.webhooks.flush()
    assert len(sent) == 4
    sim.webhooks.duplicate_rate(1.0)
    client.work_orders.create(title="twice")
    sim.webhooks.flush()
    assert len(sent) == 6
    sim.webhooks.reset()
    sim.webhooks.delay(1.0, n=None)
    client.work_orders.create(title="once")
    sim.webhooks.flush()
    assert len(sent) == 7
    assert clock.sleeps.count(1.0) == 1
    with pytest.raises(KeyError):
        sim.webhooks.resend(999)
    with pytest.raises(ValueError, match="rate"):
        sim.webhooks.duplicate_rate(2)


def test_emit_any_event_type(sim: Simulator, client: MaintainXClient, sent: Sent) -> None:
    subscribe(client, "USER_LOGIN_SUCCESS")
    assert sim.webhooks.emit("USER_LOGIN_SUCCESS", {"orgId": 1, "userId": 4, "method": "SAML"}) == 1
    assert sim.webhooks.emit("ROLE_CREATED", {"orgId": 1}) == 0
    sim.webhooks.flush()
    assert json.loads(sent[0][2])["method"] == "SAML"


@pytest.mark.parametrize(
    ("corruption", "reason"),
    [
        ("body", "bad_signature"),
        ("signature", "bad_signature"),
        ("secret", "bad_signature"),
        ("stale", "too_old"),
        ("future", "from_future"),
        ("missing_header", "missing_header"),
        ("malformed_header", "malformed_header"),
        ("uri", "bad_signature"),
    ],
)
def test_corruptions_are_rejected_with_the_right_reason(
    tmp_path: Path,
    sim: Simulator,
    client: MaintainXClient,
    clock: FakeClock,
    corruption: Any,
    reason: str,
) -> None:
    ((sub_id, secret),) = subscribe(client, "NEW_WORK_ORDER").values()
    queue = SqliteQueue(tmp_path / "q.db", synchronous="NORMAL", clock=clock)
    route = WebhookRoute.create(
        "new_work_order",
        "NEW_WORK_ORDER",
        [secret],
        subscription_id=sub_id,
        url=HOOK + "new_work_order",
    )
    receiver = WebhookReceiver(queue, [route], clock=clock)
    answers: list[Any] = []

    def deliver(url: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
        answer = receiver.handle("POST", url, headers, body)
        answers.append(answer.json())
        return answer.status

    sim.webhooks.sender = deliver
    try:
        sim.webhooks.corrupt(corruption)
        client.work_orders.create(title="corrupted")
        client.work_orders.create(title="clean")
        sim.webhooks.flush()
        assert answers[0] == {"error": "signature verification failed", "reason": reason}
        assert answers[1] == {"status": "accepted"}
        assert [d.status for d in sim.webhooks.deliveries] == [401, 200]
        assert sim.webhooks.deliveries[0].corruption == corruption
    finally:
        receiver.close()
        queue.close()


def test_transport_errors_are_recorded(sim: Simulator, client: MaintainXClient) -> None:
    subscribe(client, "NEW_WORK_ORDER")

    def down(url: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
        raise ConnectionRefusedError

    sim.webhooks.sender = down
    client.work_orders.create(title="lost")
    sim.webhooks.flush()
    (record,) = sim.webhooks.deliveries
    assert (record.status, record.error, record.ok) == (None, "ConnectionRefusedError", False)
    sim.webhooks.close()
    client.work_orders.create(title="after close")
    assert sim.webhooks.pending() == 0


def test_background_mode_wait_idle(clock: FakeClock) -> None:
    sim = Simulator(seed=1, work_orders=2, rate_limit=None)
    got: list[bytes] = []

    def sender(url: str, headers: dict[str, str], body: bytes, timeout: float) -> int:
        got.append(body)
        return 200

    sim.webhooks.sender = sender
    with MaintainXClient(
        api_key=Simulator.API_KEY,
        base_url="https://sim/v1",
        transport=sim.transport(),
        throttle=None,
    ) as client:
        subscribe(client, "NEW_WORK_ORDER")
        for n in range(20):
            client.work_orders.create(title=f"wo {n}")
        assert sim.webhooks.wait_idle(10)
    sim.webhooks.close()
    assert len(got) == 20
