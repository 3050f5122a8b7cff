"""The retry schedule stays within its bounds, and decisions follow attempts and error kinds."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from maintainx_resilient.webhooks.backoff import (
    Decision,
    PermanentError,
    RetrySchedule,
    decide,
    describe,
)


@given(
    failures=st.integers(min_value=0, max_value=10_000),
    rand=st.floats(min_value=0, max_value=1),
    base=st.floats(min_value=0, max_value=100),
    cap=st.floats(min_value=0, max_value=10_000),
    jitter=st.floats(min_value=0, max_value=1),
)
def test_delay_stays_within_bounds(
    failures: int, rand: float, base: float, cap: float, jitter: float
) -> None:
    policy = RetrySchedule(base_delay=base, max_delay=cap, jitter=jitter)
    delay = policy.delay(failures, rand)
    full = min(cap, base * 2 ** max(0, failures - 1)) if failures < 64 else cap
    assert 0.0 <= delay <= cap + 1e-9
    assert delay >= full * (1 - jitter) - 1e-9
    assert delay <= full + 1e-9


def test_schedule_doubles_without_jitter() -> None:
    policy = RetrySchedule(base_delay=1, max_delay=10, jitter=0)
    assert [policy.delay(n, 0.5) for n in range(1, 7)] == [1, 2, 4, 8, 10, 10]


def test_decide() -> None:
    policy = RetrySchedule(max_attempts=3, base_delay=1, jitter=0)
    assert decide(policy, 1, None, 0.0) == Decision("ack")
    retry = decide(policy, 1, ValueError("boom"), 0.0)
    assert retry.action == "retry"
    assert retry.delay == 1
    assert retry.error == "ValueError: boom"
    assert decide(policy, 2, ValueError("x"), 0.0).delay == 2
    assert decide(policy, 3, ValueError("x"), 0.0).action == "dead"
    assert decide(policy, 1, PermanentError("no"), 0.0).action == "dead"


def test_describe_truncates() -> None:
    text = describe(RuntimeError("x" * 5000))
    assert len(text) == 2000
    assert text.endswith("...")


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"base_delay": -1},
        {"multiplier": 0.5},
        {"jitter": 2},
        {"max_attempts": 10, "max_deliveries": 5},
    ],
)
def test_bad_policies_fail_at_construction(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError):
        RetrySchedule(**kwargs)  # type: ignore[arg-type]
