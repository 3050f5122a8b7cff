"""The simulator's mutator: creates, updates and deletes behind the API's back, one by one
or in the background at a set rate, with the webhook payloads MaintainX would send."""

from __future__ import annotations

import threading

import pytest

from maintainx_resilient.sync import RecordRef, ref_from_webhook
from maintainx_resilient.testing import Simulator
from maintainx_resilient.testing._mutator import Mutation

from ._support import make_sim


def test_steps_are_deterministic_for_a_seed() -> None:
    runs = []
    for _ in range(2):
        sim = make_sim(50)
        runs.append([(m.kind, m.id) for m in sim.mutator(seed=5).run(20)])
    assert runs[0] == runs[1]
    assert {kind for kind, _ in runs[0]} == {"create", "update", "delete"}


def test_each_kind_of_change_is_visible_in_the_data() -> None:
    sim = make_sim(50)
    before = {r["id"]: r["updatedAt"] for r in sim.records("workOrders")}
    mutator = sim.mutator(seed=1)
    changes = mutator.run(30)
    after = {r["id"]: r["updatedAt"] for r in sim.records("workOrders")}
    for change in changes:
        if change.kind == "create":
            assert change.id not in before
        if change.kind == "delete":
            assert change.id not in after
    last: dict[int, Mutation] = {m.id: m for m in changes}
    for record_id, change in last.items():
        if change.kind != "delete":
            assert after[record_id] == change.updated_at
            assert change.updated_at is not None and change.updated_at > max(before.values())
    counts = mutator.counts()
    assert sum(counts.values()) == 30 == len(mutator.mutations)
    assert sim.stats.requests_total == 0  # behind the API's back: no request counted


def test_deletes_turn_into_creates_below_the_floor() -> None:
    sim = make_sim(2)
    mutator = sim.mutator(mix=(0, 0, 1), min_records=1)
    kinds = [m.kind for m in mutator.run(4)]
    assert kinds[0] == "delete" and kinds[1:] == ["create", "delete", "create"]
    assert len(sim.records("workOrders")) == 2


def test_webhook_payloads_are_what_maintainx_sends() -> None:
    sim = make_sim(10)
    for change in sim.mutator(seed=2).run(10):
        payload = change.webhook_payload()
        assert set(payload) == {"workOrderId", "orgId", "occurredAt"}
        assert change.event_type in ("NEW_WORK_ORDER", "WORK_ORDER_CHANGE", "WORK_ORDER_DELETE")
        assert ref_from_webhook(payload, change.event_type) == RecordRef("workOrders", change.id)


def test_other_resources_can_be_mutated() -> None:
    sim = make_sim(10)
    changes = sim.mutator(resource="assets", seed=1, mix=(1, 1, 0)).run(6)
    assert all(c.resource == "assets" for c in changes)
    created = [c for c in changes if c.kind == "create"]
    assert created and created[0].event_type == "NEW_ASSET"
    assert any(c.kind == "update" and c.event_type is None for c in changes)
    assert created[0].webhook_payload()["assetId"] == created[0].id


def test_bad_settings_are_refused() -> None:
    sim = make_sim(10)
    with pytest.raises(ValueError, match="rate"):
        sim.mutator(rate=0)
    with pytest.raises(ValueError, match="mix"):
        sim.mutator(mix=(0, 0, 0))
    with pytest.raises(KeyError):
        sim.mutator(resource="widgets")


def test_a_background_mutator_changes_data_until_stopped() -> None:
    sim: Simulator = make_sim(100)
    enough = threading.Event()
    seen: list[Mutation] = []

    def count(change: Mutation) -> None:
        seen.append(change)
        if len(seen) >= 10:
            enough.set()

    mutator = sim.mutator(rate=1000, on_change=count)
    with mutator:
        was_running = mutator.running
        assert enough.wait(timeout=30)  # waits for changes, not for time
    assert was_running and not mutator.running
    made = len(mutator.mutations)
    assert made >= 10 and len(seen) == made
    assert len(mutator.mutations) == made  # nothing after stop
    mutator.start()
    with pytest.raises(RuntimeError, match="already running"):
        mutator.start()
    mutator.stop()
    assert "stopped" in repr(mutator)


def test_a_failing_background_thread_is_reported_on_stop() -> None:
    sim = make_sim(10)
    failed = threading.Event()

    def explode(change: Mutation) -> None:
        failed.set()
        raise OSError("listener broke")

    mutator = sim.mutator(rate=1000, on_change=explode).start()
    assert failed.wait(timeout=30)
    with pytest.raises(RuntimeError, match="mutator thread failed"):
        mutator.stop()
