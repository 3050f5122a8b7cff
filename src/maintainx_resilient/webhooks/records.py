"""The values the queue stores and hands out. Plain data, JSON-serialisable, never pickled.

- :class:`Envelope`: one accepted delivery, as the receiver stores it (the raw body, the route
  and event type it came for, when it arrived, its dedupe key).
- :class:`Delivery`: an envelope claimed by a worker, with its queue id and counters.
- :class:`DeadLetter`: an envelope that kept failing, with the last error.
- :class:`QueueStats`: what RB-003 and the metrics read.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["DeadLetter", "Delivery", "Envelope", "QueueStats", "ReplayProgress"]


@dataclass(frozen=True)
class Envelope:
    """One accepted delivery. ``body`` is the raw bytes that were verified."""

    key: str
    route: str
    event_type: str
    body: bytes
    received_at: float
    subscription_id: int | None = None

    def meta(self) -> dict[str, Any]:
        """Everything but the body, as JSON-ready values."""
        return {
            "key": self.key,
            "route": self.route,
            "eventType": self.event_type,
            "receivedAt": self.received_at,
            "subscriptionId": self.subscription_id,
        }

    def to_json(self) -> str:
        """The whole envelope as JSON (the body base64-encoded)."""
        data = self.meta()
        data["body"] = base64.b64encode(self.body).decode("ascii")
        return json.dumps(data, separators=(",", ":"))

    @classmethod
    def from_json(cls, text: str | bytes) -> Envelope:
        return cls.from_dict(json.loads(text))

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Envelope:
        sub = data.get("subscriptionId")
        return cls(
            key=str(data["key"]),
            route=str(data["route"]),
            event_type=str(data["eventType"]),
            body=base64.b64decode(data["body"]),
            received_at=float(data["receivedAt"]),
            subscription_id=int(sub) if sub is not None else None,
        )

    def __repr__(self) -> str:
        return (
            f"Envelope(key={self.key[:12]}, route={self.route!r}, "
            f"event_type={self.event_type!r}, {len(self.body)} bytes)"
        )


@dataclass(frozen=True)
class Delivery:
    """An envelope handed to a worker.

    ``attempt`` is 1 + the number of times a handler failed on it; ``deliveries`` counts
    every time it was claimed (a worker that crashed mid-handler makes it grow without a
    failure being recorded).
    """

    id: str
    envelope: Envelope
    attempt: int = 1
    deliveries: int = 1
    last_error: str | None = None

    @property
    def key(self) -> str:
        return self.envelope.key


@dataclass(frozen=True)
class DeadLetter:
    """An event that kept failing. ``error`` is the last handler error (type and message)."""

    id: str
    envelope: Envelope
    attempts: int
    error: str
    failed_at: float

    def to_dict(self) -> dict[str, Any]:
        data = self.envelope.meta()
        data.update(id=self.id, attempts=self.attempts, error=self.error, failedAt=self.failed_at)
        return data


@dataclass(frozen=True)
class QueueStats:
    """A snapshot of a queue.

    ``ready`` wait for a worker, ``in_flight`` are claimed, ``delayed`` wait for a retry,
    ``dead`` are dead letters. ``oldest_pending_age`` (seconds) is the age of the oldest event
    not yet processed (dead letters excluded), None when there is none.
    """

    ready: int
    in_flight: int
    delayed: int
    dead: int
    oldest_pending_age: float | None
    paused: bool

    @property
    def depth(self) -> int:
        """Events accepted and not processed yet (ready + in flight + delayed)."""
        return self.ready + self.in_flight + self.delayed

    def to_dict(self) -> dict[str, Any]:
        return {"depth": self.depth, **asdict(self)}


@dataclass(frozen=True)
class ReplayProgress:
    """Reported while replaying dead letters: ``done`` of ``total`` so far."""

    done: int
    total: int
