"""The dedupe key is a pure function of route, event type and JSON content: redeliveries with
other whitespace or key order collapse, different content or routes do not."""

from __future__ import annotations

import json

from hypothesis import given, settings
from hypothesis import strategies as st

from maintainx_resilient.webhooks.dedupe import canonical_payload, dedupe_key

PAYLOAD = {"workOrderId": 1, "orgId": 2, "occurredAt": "2025-01-01T00:00:00.000Z"}


def test_same_content_other_serialisation_same_key() -> None:
    compact = json.dumps(PAYLOAD, separators=(",", ":")).encode()
    spaced = json.dumps(dict(reversed(list(PAYLOAD.items()))), indent=2).encode()
    assert dedupe_key("wo", "NEW_WORK_ORDER", compact) == dedupe_key("wo", "NEW_WORK_ORDER", spaced)


def test_content_route_and_type_make_the_key() -> None:
    body = json.dumps(PAYLOAD).encode()
    other = json.dumps({**PAYLOAD, "occurredAt": "2025-01-01T00:00:00.001Z"}).encode()
    keys = {
        dedupe_key("wo", "NEW_WORK_ORDER", body),
        dedupe_key("wo", "NEW_WORK_ORDER", other),
        dedupe_key("audit", "NEW_WORK_ORDER", body),
        dedupe_key("wo", "WORK_ORDER_CHANGE", body),
    }
    assert len(keys) == 4
    assert all(len(key) == 64 for key in keys)


def test_non_json_bodies_are_hashed_raw() -> None:
    assert canonical_payload(b"\xff not json") == b"\xff not json"
    assert dedupe_key("r", "T", b"a") != dedupe_key("r", "T", b"b")


@settings(max_examples=200, deadline=None)
@given(
    value=st.recursive(
        st.none() | st.booleans() | st.integers() | st.text(),
        lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=15,
    ),
    indent=st.sampled_from([None, 0, 2]),
)
def test_key_ignores_formatting(value: object, indent: int | None) -> None:
    a = json.dumps(value).encode()
    b = json.dumps(value, indent=indent, sort_keys=True, ensure_ascii=False).encode()
    assert dedupe_key("r", "T", a) == dedupe_key("r", "T", b)
