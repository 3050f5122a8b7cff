"""The deduplication key of a delivery. Pure.

MaintainX payloads carry no event id, and a redelivery may come with a new signature
timestamp, so duplicates are recognised by content: the key is the SHA-256 of the route, the
event type and the payload in canonical JSON (keys sorted, no insignificant whitespace), so a
redelivery that re-serialises the same JSON differently still has the same key. A body that is
not JSON is hashed as raw bytes.

The route is part of the key: two routes are two consumers, and each gets its copy. Rotating a
subscription's secret keeps its route, so the overlap (old and new subscriptions both
delivering) collapses into one event. Two genuinely different events with byte-for-byte equal
content cannot be told apart; MaintainX payloads carry ``occurredAt`` (milliseconds), which
makes that practically impossible for the events that matter.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

__all__ = ["DEDUPE_KEY_VERSION", "canonical_payload", "dedupe_key"]

#: Bumped if the key derivation ever changes (stored keys of the old version then differ).
DEDUPE_KEY_VERSION = "1"


def canonical_payload(body: bytes) -> bytes:
    """``body`` in canonical JSON, or the raw bytes if it is not JSON."""
    try:
        data: Any = json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return body
    try:
        text = json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    except (ValueError, RecursionError):  # pragma: no cover - what loads produced dumps back
        return body
    return text.encode("utf-8", "surrogatepass")


def dedupe_key(route: str, event_type: str, body: bytes) -> str:
    """The content key of a delivery (64 hex digits)."""
    digest = hashlib.sha256()
    for part in (DEDUPE_KEY_VERSION.encode(), route.encode(), event_type.encode()):
        digest.update(part)
        digest.update(b"\x00")
    digest.update(canonical_payload(body))
    return digest.hexdigest()
