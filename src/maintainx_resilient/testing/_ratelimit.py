"""Rate-limit accounting as MaintainX documents it: fixed windows, pure, clock passed in.

A request is admitted only if every bucket it falls in (the user's, the organization's, the
meter-readings endpoint's...) has room; then it counts in all of them. A rejected request
counts nowhere. The headers describe the bucket closest to its limit.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Sequence
from dataclasses import dataclass

__all__ = ["Bucket", "FixedWindowLimiter", "RateDecision", "RateLimitConfig"]


@dataclass(frozen=True)
class RateLimitConfig:
    """The simulator's rate limits; pass ``rate_limit=None`` to the simulator to disable them.

    ``per_user`` and ``per_org`` requests per ``window`` seconds; ``meter_readings`` per window
    on ``POST /meterreadings``; one reading per ``single_meter_per`` seconds and meter on
    ``POST /meters/{meterId}/readings``. ``headers`` adds the ``X-Rate-Limit-*`` headers to
    every authenticated response; ``retry_after`` adds ``Retry-After`` to 429s (undocumented
    by MaintainX, so off by default).
    """

    per_user: int = 100
    per_org: int = 500
    window: float = 60.0
    meter_readings: int = 100
    single_meter_per: float = 10.0
    headers: bool = True
    retry_after: bool = False

    def __post_init__(self) -> None:
        for name in ("per_user", "per_org", "meter_readings"):
            if getattr(self, name) < 1:
                raise ValueError(f"RateLimitConfig.{name} must be >= 1")
        for name in ("window", "single_meter_per"):
            if not getattr(self, name) > 0:
                raise ValueError(f"RateLimitConfig.{name} must be > 0 seconds")


@dataclass(frozen=True)
class Bucket:
    """One counter a request falls in: ``limit`` requests per ``window`` seconds."""

    key: Hashable
    limit: int
    window: float


@dataclass(frozen=True)
class RateDecision:
    """Whether a request is admitted, and what the ``X-Rate-Limit-*`` headers say."""

    allowed: bool
    limit: int
    remaining: int
    reset: int  # whole seconds until the reported bucket's window ends, rounded up

    def headers(self) -> dict[str, str]:
        return {
            "X-Rate-Limit-Limit": str(self.limit),
            "X-Rate-Limit-Remaining": str(self.remaining),
            "X-Rate-Limit-Reset": str(self.reset),
        }


class FixedWindowLimiter:
    """Counts per bucket in windows aligned on multiples of the window length.

    Not thread-safe by itself: the simulator calls it under its lock.
    """

    def __init__(self) -> None:
        self._counts: dict[Hashable, tuple[float, int, float]] = {}

    def _state(self, bucket: Bucket, now: float) -> tuple[float, int]:
        start = math.floor(now / bucket.window) * bucket.window
        window_start, count, _ = self._counts.get(bucket.key, (start, 0, bucket.window))
        if window_start != start:
            return start, 0
        return window_start, count

    def check(self, buckets: Sequence[Bucket], now: float) -> RateDecision:
        """Admit (and count) the request if every bucket has room; else reject it."""
        states = [self._state(bucket, now) for bucket in buckets]
        for bucket, (start, count) in zip(buckets, states, strict=True):
            if count >= bucket.limit:
                return RateDecision(False, bucket.limit, 0, _reset(start, bucket, now))
        best: RateDecision | None = None
        for bucket, (start, count) in zip(buckets, states, strict=True):
            self._counts[bucket.key] = (start, count + 1, bucket.window)
            decision = RateDecision(
                True, bucket.limit, bucket.limit - count - 1, _reset(start, bucket, now)
            )
            if best is None or decision.remaining < best.remaining:
                best = decision
        if len(self._counts) > 10_000:
            self._prune(now)
        return best if best is not None else RateDecision(True, 0, 0, 0)

    def _prune(self, now: float) -> None:
        # Windows that have ended cannot affect any decision.
        for key in [k for k, (s, _, w) in self._counts.items() if s + w <= now]:
            del self._counts[key]


def _reset(start: float, bucket: Bucket, now: float) -> int:
    return max(1, math.ceil(start + bucket.window - now))
