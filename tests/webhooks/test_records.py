"""Queue records are plain JSON-able values (nothing shared between processes is pickled) and
their reprs show no payload."""

from __future__ import annotations

import json

from maintainx_resilient.webhooks import DeadLetter, Envelope, QueueStats

from ._support import envelope


def test_envelope_json_round_trip() -> None:
    original = Envelope("k" * 64, "wo", "NEW_WORK_ORDER", b'{"a":1}\xff', 12.5, 7)
    again = Envelope.from_json(original.to_json())
    assert again == original
    assert json.loads(original.to_json())["subscriptionId"] == 7
    assert Envelope.from_json(envelope(1).to_json()).subscription_id is None
    assert "workOrderId" not in repr(envelope(1))


def test_dead_letter_and_stats_dicts() -> None:
    letter = DeadLetter("3", envelope(1), 5, "KeyError: 'x'", 99.0)
    data = letter.to_dict()
    assert (data["id"], data["attempts"], data["error"], data["route"]) == (
        "3",
        5,
        "KeyError: 'x'",
        "wo",
    )
    assert "body" not in data
    stats = QueueStats(
        ready=1, in_flight=2, delayed=3, dead=4, oldest_pending_age=None, paused=False
    )
    assert stats.depth == 6
    assert json.loads(json.dumps(stats.to_dict()))["depth"] == 6
