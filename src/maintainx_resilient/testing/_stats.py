"""Request counters, so a test can prove what reached the API (e.g. no POST was sent twice)."""

from __future__ import annotations

import threading
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["RequestRecord", "SimStats", "StatsRecorder"]


@dataclass(frozen=True)
class RequestRecord:
    """One request as the simulator saw it. ``status`` is 0 when no answer was sent."""

    request_id: str
    method: str
    path: str
    route: str | None
    status: int
    action: str
    fault: str | None


@dataclass(frozen=True)
class SimStats:
    """A snapshot of the counters.

    ``by_route`` is keyed by ``(method, spec path template)``, e.g. ``("POST", "/workorders")``;
    ``created`` counts records created per resource (``workOrders``, ``comments``...);
    ``rate_limited`` counts the 429s the rate limiter sent; ``faults`` counts injected faults by
    kind (``fail_next``, ``drop_connections``, ``outage``...).
    """

    requests_total: int = 0
    by_route: Mapping[tuple[str, str], int] = field(default_factory=dict)
    by_status: Mapping[int, int] = field(default_factory=dict)
    created: Mapping[str, int] = field(default_factory=dict)
    rate_limited: int = 0
    faults: Mapping[str, int] = field(default_factory=dict)

    def route(self, method: str, template: str) -> int:
        """How many requests hit ``method template`` (e.g. ``"POST", "/workorders"``)."""
        return self.by_route.get((method.upper(), template), 0)


class StatsRecorder:
    """The live counters behind ``Simulator.stats`` (thread-safe)."""

    def __init__(self, log_size: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._log: deque[RequestRecord] = deque(maxlen=log_size)
        self.reset()

    def reset(self) -> None:
        with self._lock:
            self._total = 0
            self._routes: Counter[tuple[str, str]] = Counter()
            self._statuses: Counter[int] = Counter()
            self._created: Counter[str] = Counter()
            self._faults: Counter[str] = Counter()
            self._rate_limited = 0
            self._log.clear()

    def record(self, entry: RequestRecord, *, rate_limited: bool = False) -> None:
        with self._lock:
            self._total += 1
            self._routes[(entry.method, entry.route or "<unknown>")] += 1
            if entry.action == "respond":
                self._statuses[entry.status] += 1
            if entry.fault:
                self._faults[entry.fault] += 1
            if rate_limited:
                self._rate_limited += 1
            self._log.append(entry)

    def created(self, resource: str) -> None:
        with self._lock:
            self._created[resource] += 1

    def snapshot(self) -> SimStats:
        with self._lock:
            return SimStats(
                requests_total=self._total,
                by_route=dict(self._routes),
                by_status=dict(self._statuses),
                created=dict(self._created),
                rate_limited=self._rate_limited,
                faults=dict(self._faults),
            )

    def log(self) -> list[RequestRecord]:
        with self._lock:
            return list(self._log)
