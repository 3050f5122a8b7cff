"""Progress of a sync, and how long it will take under the rate limit. Pure (except
:func:`rate_limit_of`, which only reads the client's throttle settings).

A full sync sends one request per page of 200 records, and MaintainX allows 100 requests
per 60 s per user, so a large organization takes as long as the rate limit says, not as long
as the network would allow: 100,000 records are 500 pages, i.e. five minutes at best. The ETA
is therefore computed from the rate limit (or from the observed pace, when that is slower).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

from .._pagination import MAX_PAGE_SIZE

__all__ = [
    "DOCUMENTED_RATE_LIMIT",
    "Progress",
    "ProgressHook",
    "RateLimit",
    "estimate_duration",
    "pages_for",
    "rate_limit_of",
]

Phase = Literal["full", "incremental", "reconcile", "repair", "webhooks"]


@dataclass(frozen=True)
class RateLimit:
    """``requests`` per ``window`` seconds, and where the figure came from."""

    requests: float
    window: float
    source: str = "MaintainX's documented per-user limit"

    @property
    def seconds_per_request(self) -> float:
        return self.window / self.requests if self.requests > 0 else 0.0

    def describe(self) -> str:
        """``100 requests / 60 s (MaintainX's documented per-user limit)``."""
        return f"{self.requests:g} requests / {self.window:g} s ({self.source})"


#: MaintainX's documented per-user limit, assumed when the client has no throttle.
DOCUMENTED_RATE_LIMIT = RateLimit(100, 60.0)


def _positive(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if value > 0 and math.isfinite(value) else None


def rate_limit_of(client: Any) -> RateLimit:
    """The pace ``client`` will keep, read defensively from ``client.policies.throttle``.

    Uses the throttle's ``config.per_user`` minus ``config.safety_margin`` per
    ``config.window``, lowered to ``override_per_minute`` when the "enable throttling" cap is
    on. Anything missing or odd: MaintainX's documented 100 requests / 60 s.
    """
    policies = getattr(client, "policies", None)
    throttle = getattr(policies, "throttle", None)
    config = getattr(throttle, "config", None)
    per_user = _positive(getattr(config, "per_user", None))
    window = _positive(getattr(config, "window", None))
    if per_user is None or window is None:
        return DOCUMENTED_RATE_LIMIT
    margin = _positive(getattr(config, "safety_margin", None)) or 0.0
    requests = max(1.0, per_user - margin)
    limit = RateLimit(requests, window, "the client's throttle")
    cap = _positive(getattr(throttle, "override_per_minute", None))
    if cap is not None and cap / 60.0 < requests / window:
        limit = RateLimit(cap, 60.0, "the client's throttling cap")
    return limit


def pages_for(records: int, page_size: int = MAX_PAGE_SIZE) -> int:
    """Pages needed to list ``records`` (an empty list still takes one request)."""
    return max(1, math.ceil(records / page_size))


def estimate_duration(
    records: int, rate: RateLimit = DOCUMENTED_RATE_LIMIT, page_size: int = MAX_PAGE_SIZE
) -> float:
    """Seconds a full sync of ``records`` needs at least under ``rate`` (one request a page,
    plus the high-water probe). A computed figure, not a measurement."""
    return (pages_for(records, page_size) + 1) * rate.seconds_per_request


@dataclass(frozen=True)
class Progress:
    """Where a run stands, reported after every page.

    ``pages``/``records`` count the whole run, resumed parts included; ``pages_this_run``
    and ``elapsed`` only this process. ``expected_records`` is an estimate of the total (the
    local count before the run, or the caller's); None when unknown.
    """

    resource: str
    phase: Phase
    pages: int
    records: int
    elapsed: float
    pages_this_run: int
    rate: RateLimit = DOCUMENTED_RATE_LIMIT
    page_size: int = MAX_PAGE_SIZE
    expected_records: int | None = None
    done: bool = False

    @property
    def seconds_per_page(self) -> float:
        """The slower of the observed pace and the rate limit's."""
        observed = self.elapsed / self.pages_this_run if self.pages_this_run else 0.0
        return max(observed, self.rate.seconds_per_request)

    @property
    def fraction(self) -> float | None:
        """0..1 when the total is known (capped at 0.99 until done), else None."""
        if self.done:
            return 1.0
        if not self.expected_records:
            return None
        return min(0.99, self.records / self.expected_records)

    @property
    def eta(self) -> float | None:
        """Seconds left, or None when the total is unknown."""
        if self.done:
            return 0.0
        if self.expected_records is None:
            return None
        left = max(0, self.expected_records - self.records)
        return math.ceil(left / self.page_size) * self.seconds_per_page

    def to_dict(self) -> dict[str, Any]:
        return {
            "resource": self.resource,
            "phase": self.phase,
            "pages": self.pages,
            "records": self.records,
            "elapsed": round(self.elapsed, 3),
            "expected_records": self.expected_records,
            "eta": None if self.eta is None else round(self.eta, 1),
            "done": self.done,
        }


#: What a sync run calls with each :class:`Progress` (``on_progress=``).
ProgressHook = Callable[[Progress], None]
