"""The retry policy retries what is safe to retry, waits as told, and gives the last error."""

from __future__ import annotations

import random
from collections.abc import Sequence

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from maintainx_resilient import ConfigurationError, MaintainXClient, ServerError
from maintainx_resilient import ConnectionError as MXConnectionError
from maintainx_resilient._clock import FakeClock
from maintainx_resilient._events import RetryScheduled
from maintainx_resilient._extensions import (
    ATTEMPTS_EXTENSION,
    IDEMPOTENT_EXTENSION,
    ROUTE_EXTENSION,
)
from maintainx_resilient._http import AsyncHTTPLayer, HTTPLayer
from maintainx_resilient.policies.retry import (
    AsyncRetryLayer,
    RetryBudget,
    RetryConfig,
    RetryLayer,
    RetryPolicy,
)
from maintainx_resilient.testing import Simulator

Answer = int | Exception | httpx.Response


def scripted(answers: Sequence[Answer], sent: list[httpx.Request]) -> httpx.MockTransport:
    """A transport that gives the answers in order (status codes, responses or errors)."""
    queue = list(answers)

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        answer = queue.pop(0)
        if isinstance(answer, Exception):
            raise answer
        if isinstance(answer, httpx.Response):
            return answer
        return httpx.Response(answer, json={"error": f"status {answer}"})

    return httpx.MockTransport(handler)


def request(method: str = "GET", *, idempotent: bool | None = None) -> httpx.Request:
    return httpx.Request(
        method,
        "https://api.example/v1/workorders",
        extensions={
            ROUTE_EXTENSION: "/workorders",
            IDEMPOTENT_EXTENSION: method != "POST" if idempotent is None else idempotent,
        },
    )


def make_layer(
    answers: Sequence[Answer], config: RetryConfig | None = None
) -> tuple[RetryLayer, list[httpx.Request], FakeClock, RetryPolicy]:
    sent: list[httpx.Request] = []
    clock = FakeClock()
    policy = RetryPolicy(config, clock=clock, rng=random.Random(7))
    return RetryLayer(HTTPLayer(scripted(answers, sent)), policy), sent, clock, policy


def test_503_503_200_succeeds_on_third_attempt() -> None:
    """A GET answered [503, 503, 200] returns the 200 after two waits, labelled with attempts."""
    layer, sent, clock, _ = make_layer([503, 503, 200])
    response = layer.handle_request(request())
    assert response.status_code == 200
    assert len(sent) == 3
    attempts, waited = response.extensions[ATTEMPTS_EXTENSION]
    assert attempts == 3
    assert waited == pytest.approx(sum(clock.sleeps))
    assert 0.375 <= clock.sleeps[0] <= 0.5 and 0.75 <= clock.sleeps[1] <= 1.0


def test_exhausted_retries_return_the_last_real_response() -> None:
    """After max_attempts the last 503 itself comes back (no RetryError wrapper)."""
    layer, sent, _, _ = make_layer([503, 502, 500])
    response = layer.handle_request(request())
    assert response.status_code == 500
    assert len(sent) == 3


def test_post_response_is_never_retried() -> None:
    """A POST answered 503 is not resent: the API has no idempotency key."""
    layer, sent, _, _ = make_layer([503, 200])
    assert layer.handle_request(request("POST")).status_code == 503
    assert len(sent) == 1


def test_post_answered_429_is_retried_after_the_wait() -> None:
    """A 429 means MaintainX refused the POST before processing it: resent after the wait
    the server asked for, like a GET."""
    limited = httpx.Response(429, json={"error": "slow down"}, headers={"Retry-After": "3"})
    layer, sent, clock, _ = make_layer([limited, 201])
    response = layer.handle_request(request("POST"))
    assert response.status_code == 201
    assert len(sent) == 2
    assert clock.sleeps == [3.0]
    assert response.extensions[ATTEMPTS_EXTENSION] == (2, 3.0)


@pytest.mark.parametrize("status", [408, 500, 502, 503, 504])
def test_post_answered_408_or_5xx_is_still_not_retried(status: int) -> None:
    """408 and 5xx leave a POST's fate unknown: never resent."""
    layer, sent, _, _ = make_layer([status, 201])
    assert layer.handle_request(request("POST")).status_code == status
    assert len(sent) == 1


def test_retry_reason_table_for_a_post() -> None:
    """The pure decision for a non-idempotent request: 429 yes; 408, 5xx, 4xx no."""
    post = request("POST")
    assert RetryPolicy.reason(post, httpx.Response(429)) == "status 429"
    for status in (408, 500, 503, 400, 409):
        assert RetryPolicy.reason(post, httpx.Response(status)) is None


def test_create_refused_with_429_goes_through_once_and_the_throttle_sees_it() -> None:
    """Through the whole client: a create answered 429 is resent after Retry-After and
    creates exactly one record; the throttle (below the retry) still counted the 429. A
    create answered 503 is not resent (its fate is unknown)."""
    clock = FakeClock()
    sim = Simulator(seed=2, work_orders=5, rate_limit=None, clock=clock)
    with MaintainXClient(
        api_key=sim.API_KEY, base_url="https://mx.test/v1", transport=sim.transport(), clock=clock
    ) as client:
        before = len(sim.records("workorders"))
        sim.faults.fail_next(1, status=429, headers={"Retry-After": "2"}, method="POST")
        assert client.work_orders.create(title="after the wait") > 0
        assert len(sim.records("workorders")) == before + 1
        assert sim.stats.by_status[429] == 1
        assert 2.0 in clock.sleeps
        assert client.policies.throttle is not None
        assert sum(s.throttled for s in client.policies.throttle.snapshot().scopes) == 1
        sim.faults.fail_next(1, status=503, method="POST")
        with pytest.raises(ServerError) as info:
            client.work_orders.create(title="fate unknown")
        assert info.value.attempts == 1


def test_post_read_error_is_not_retried_but_connect_error_is() -> None:
    """A POST is resent only when it provably never left (connect failure)."""
    layer, sent, _, _ = make_layer([httpx.ReadError("reset"), 200])
    with pytest.raises(MXConnectionError) as info:
        layer.handle_request(request("POST"))
    assert info.value.sent is True and info.value.attempts == 1
    assert len(sent) == 1

    layer, sent, _, _ = make_layer([httpx.ConnectError("refused"), 200])
    assert layer.handle_request(request("POST")).status_code == 200
    assert len(sent) == 2


def test_post_marked_idempotent_is_retried() -> None:
    """The caller can mark a POST idempotent; then 5xx answers are retried."""
    layer, sent, _, _ = make_layer([503, 200])
    assert layer.handle_request(request("POST", idempotent=True)).status_code == 200
    assert len(sent) == 2


def test_last_exception_reaches_caller_with_attempts() -> None:
    """When every attempt fails to connect, the last ConnectionError is raised with metadata."""
    layer, _, clock, _ = make_layer(
        [httpx.ConnectError("a"), httpx.ConnectError("b"), httpx.ConnectError("c")]
    )
    with pytest.raises(MXConnectionError, match="c") as info:
        layer.handle_request(request())
    assert info.value.attempts == 3
    assert info.value.waited == pytest.approx(sum(clock.sleeps))


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413])
def test_client_errors_are_not_retried(status: int) -> None:
    """4xx other than 408/429 is final."""
    layer, sent, _, _ = make_layer([status, 200])
    assert layer.handle_request(request()).status_code == status
    assert len(sent) == 1


def test_429_waits_retry_after_seconds() -> None:
    """Retry-After in seconds sets the wait."""
    limited = httpx.Response(429, json={"error": "slow down"}, headers={"Retry-After": "3"})
    layer, _, clock, _ = make_layer([limited, 200])
    assert layer.handle_request(request()).status_code == 200
    assert clock.sleeps == [3.0]


def test_429_waits_retry_after_http_date() -> None:
    """Retry-After as an HTTP date is measured against the injected wall clock."""
    clock_probe = FakeClock()
    from email.utils import formatdate

    when = formatdate(clock_probe.time() + 5, usegmt=True)
    limited = httpx.Response(429, json={"error": "x"}, headers={"Retry-After": when})
    layer, _, clock, _ = make_layer([limited, 200])
    layer.handle_request(request())
    assert 4.0 <= clock.sleeps[0] <= 5.0


def test_429_without_retry_after_uses_reset_header() -> None:
    """Without Retry-After, a 429 waits X-Rate-Limit-Reset."""
    limited = httpx.Response(429, json={"error": "x"}, headers={"X-Rate-Limit-Reset": "4"})
    layer, _, clock, _ = make_layer([limited, 200])
    layer.handle_request(request())
    assert clock.sleeps == [4.0]


def test_reset_header_is_ignored_on_5xx() -> None:
    """The rate-limit reset header on a 503 does not turn into a 60 s wait."""
    failing = httpx.Response(503, json={"error": "x"}, headers={"X-Rate-Limit-Reset": "60"})
    layer, _, clock, _ = make_layer([failing, 200])
    layer.handle_request(request())
    assert clock.sleeps[0] <= 0.5


def test_retry_after_beyond_cap_surfaces_at_once() -> None:
    """A Retry-After longer than max_retry_after is not waited: the 429 comes back."""
    limited = httpx.Response(429, json={"error": "x"}, headers={"Retry-After": "3600"})
    layer, sent, clock, _ = make_layer([limited, 200])
    assert layer.handle_request(request()).status_code == 429
    assert clock.sleeps == [] and len(sent) == 1


def test_total_timeout_stops_retries() -> None:
    """No retry starts once the total time budget would be passed."""
    config = RetryConfig(max_attempts=10, initial_delay=4, max_delay=8, total_timeout=10)
    layer, sent, _, _ = make_layer([503] * 10, config)
    layer.handle_request(request())
    assert len(sent) == 3  # waits ~3-4 s then ~6-8 s; a third wait would pass 10 s


def test_shared_budget_stops_retry_storms() -> None:
    """With the retry budget spent, failures surface after one attempt."""
    config = RetryConfig(budget=10, retry_cost=5, success_refund=1)
    layer, sent, _, policy = make_layer([503] * 20, config)
    layer.handle_request(request())  # 3 attempts: spends 10
    layer.handle_request(request())  # budget empty: 1 attempt
    assert len(sent) == 4
    assert policy.budget.tokens == 0


def test_retry_events_are_emitted() -> None:
    """Each scheduled retry is announced on the event bus with its delay and reason."""
    layer, _, _, policy = make_layer([503, 200])
    seen: list[RetryScheduled] = []
    policy.events.subscribe(lambda e: seen.append(e) if isinstance(e, RetryScheduled) else None)
    layer.handle_request(request())
    assert len(seen) == 1
    assert seen[0].reason == "status 503" and seen[0].route == "/workorders"


async def test_async_layer_matches_sync() -> None:
    """The async layer follows the same policy: [503, 503, 200] -> 200 after 3 attempts."""
    sent: list[httpx.Request] = []
    clock = FakeClock()
    policy = RetryPolicy(clock=clock, rng=random.Random(7))
    layer = AsyncRetryLayer(AsyncHTTPLayer(scripted([503, 503, 200], sent)), policy)
    response = await layer.handle_async_request(request())
    assert response.status_code == 200
    assert response.extensions[ATTEMPTS_EXTENSION][0] == 3


async def test_async_last_error_is_raised() -> None:
    """Async: the last ConnectionError is raised itself."""
    sent: list[httpx.Request] = []
    policy = RetryPolicy(clock=FakeClock())
    layer = AsyncRetryLayer(AsyncHTTPLayer(scripted([httpx.ConnectError("x")] * 3, sent)), policy)
    with pytest.raises(MXConnectionError):
        await layer.handle_async_request(request())
    assert len(sent) == 3


@given(
    attempt=st.integers(min_value=1, max_value=30),
    seed=st.integers(min_value=0, max_value=2**32),
    initial=st.floats(min_value=0.01, max_value=5),
    cap=st.floats(min_value=5, max_value=60),
)
def test_backoff_stays_in_bounds(attempt: int, seed: int, initial: float, cap: float) -> None:
    """Backoff is never negative, never above max_delay, never below low-jitter x backoff."""
    config = RetryConfig(initial_delay=initial, max_delay=cap)
    policy = RetryPolicy(config, clock=FakeClock(), rng=random.Random(seed))
    delay = policy.delay(attempt, MXConnectionError("x", sent=False))
    base = min(cap, initial * 2 ** (attempt - 1))
    assert 0 <= delay <= cap
    assert base * config.jitter[0] - 1e-9 <= delay <= base + 1e-9


@given(ops=st.lists(st.booleans(), max_size=200))
def test_budget_never_negative_nor_above_capacity(ops: list[bool]) -> None:
    """The retry budget stays within [0, capacity] whatever the sequence."""
    budget = RetryBudget(capacity=20, cost=5, refund=1)
    for withdraw in ops:
        budget.withdraw() if withdraw else budget.deposit()
        assert 0 <= budget.tokens <= 20


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attempts": 0},
        {"initial_delay": 5, "max_delay": 1},
        {"jitter": (0.0, 1.0)},
        {"budget": -1},
    ],
)
def test_bad_config_is_refused(kwargs: dict[str, object]) -> None:
    """Impossible retry settings fail at construction with a ConfigurationError."""
    with pytest.raises(ConfigurationError):
        RetryConfig(**kwargs)  # type: ignore[arg-type]
