"""Every call has a total deadline: connect, every read, every retry and every wait together.

The decisions are tested on a FakeClock (no sleeping); the trickling servers use real time,
bounded to a couple of seconds each.
"""

from __future__ import annotations

import math
import time
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from maintainx_resilient import (
    AsyncMaintainXClient,
    ConfigurationError,
    DeadlineExceededError,
    MaintainXClient,
    RetryConfig,
    ThrottledError,
    TimeoutError,
)
from maintainx_resilient._clock import FakeClock
from maintainx_resilient._deadline import Deadline, DeadlinePolicy, deadline_of
from maintainx_resilient._extensions import DEADLINE_EXTENSION, MAX_WAIT_EXTENSION
from maintainx_resilient._http import HTTPLayer
from maintainx_resilient._net import AsyncBoundedBackend, BoundedBackend
from maintainx_resilient.policies import throttle
from maintainx_resilient.policies.retry import RetryPolicy

from . import _hostile as hostile
from .conftest import CANARY_KEY, NO_POLICIES

ORG_PAGE: dict[str, Any] = {"organizations": [], "nextCursor": None}

# ---- the pure pieces -----------------------------------------------------------------------


def test_deadline_counts_down_on_the_injected_clock() -> None:
    """left() follows the clock, and goes negative once the deadline has passed."""
    clock = FakeClock()
    deadline = Deadline.after(5.0, clock)
    assert (deadline.left(), deadline.total) == (5.0, 5.0)
    clock.advance(6.0)
    assert deadline.left() == -1.0


@pytest.mark.parametrize("bad", [0, -1, math.nan, math.inf, "10", True])
def test_bad_deadlines_are_configuration_errors(bad: Any) -> None:
    """0, negative, nan, inf and non-numbers fail at construction with a clear message."""
    with pytest.raises(ConfigurationError, match="deadline"):
        MaintainXClient(api_key=CANARY_KEY, deadline=bad)


def test_deadline_none_switches_the_overall_bound_off() -> None:
    """deadline=None: no deadline layer, no stamp; the default is 120 s."""
    assert MaintainXClient(api_key=CANARY_KEY, deadline=None).policies.deadline is None
    default = MaintainXClient(api_key=CANARY_KEY).policies.deadline
    assert default is not None and default.seconds == 120.0


def test_stamp_keeps_an_existing_deadline_and_the_throttle_waits_only_what_is_left() -> None:
    """The stamp is set once per call; the throttle may make an attempt wait what is left of
    it, or the call's own allowance when shorter, never more."""
    clock = FakeClock()
    policy = DeadlinePolicy(10.0, clock=clock)
    request = httpx.Request("GET", "https://x/v1/workorders")
    first = policy.stamp(request)
    clock.advance(4.0)
    assert policy.stamp(request) is first
    assert throttle._max_wait_of(request, 75.0) == 6.0
    request.extensions[MAX_WAIT_EXTENSION] = 1.0
    assert throttle._max_wait_of(request, 75.0) == 1.0
    request.extensions[MAX_WAIT_EXTENSION] = 20.0
    assert throttle._max_wait_of(request, 75.0) == 6.0
    bare = httpx.Request("GET", "https://x/")
    assert deadline_of(bare) is None
    assert throttle._max_wait_of(bare, 75.0) == 75.0


def test_retry_gives_up_when_the_backoff_would_end_past_the_deadline() -> None:
    """The pure decision: a retry whose wait reaches the deadline is not started."""
    policy = RetryPolicy(RetryConfig(max_attempts=10))
    assert not policy.give_up(1, 0.0, 1.0, left=5.0)
    assert policy.give_up(1, 0.0, 1.0, left=1.0)
    assert policy.give_up(1, 0.0, 1.0, left=-0.5)
    assert not policy.give_up(1, 0.0, 1.0, left=None)


class Recording(httpx.BaseTransport):
    """Answers 503 every time, advancing the clock by ``cost`` per request, and keeps what
    was left of the deadline when each attempt started (what the throttle may wait)."""

    def __init__(self, clock: FakeClock, cost: float) -> None:
        self.clock = clock
        self.cost = cost
        self.max_waits: list[float] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        deadline = deadline_of(request)
        assert deadline is not None
        self.max_waits.append(deadline.left())
        self.clock.advance(self.cost)
        return httpx.Response(503, json={"error": "down"})


def test_retries_stop_at_the_deadline_and_the_throttle_hears_the_time_left() -> None:
    """With 10 attempts allowed, a 5 s deadline stops the retries early; each attempt
    starts with what was left of the deadline (what the throttle may wait), and the attempt
    that ran past it (this in-process transport cannot be interrupted) ends the call as
    DeadlineExceededError."""
    clock = FakeClock()
    transport = Recording(clock, cost=1.0)
    retry = RetryConfig(max_attempts=10, initial_delay=0.5, max_delay=0.5, jitter=(1.0, 1.0))
    options: dict[str, Any] = {**NO_POLICIES, "retry": retry}
    with (
        MaintainXClient(
            api_key=CANARY_KEY, transport=transport, clock=clock, deadline=5.0, **options
        ) as client,
        pytest.raises(DeadlineExceededError) as info,
    ):
        client.organizations.list()
    assert info.value.attempts == len(transport.max_waits) == 4
    assert transport.max_waits == [5.0, 3.5, 2.0, 0.5]


class SlowChunks(httpx.SyncByteStream):
    """A body of ``n`` chunks, each taking ``cost`` seconds on the fake clock."""

    def __init__(self, clock: FakeClock, n: int, cost: float) -> None:
        self.clock, self.n, self.cost = clock, n, cost
        self.read = 0

    def __iter__(self) -> Iterator[bytes]:
        for _ in range(self.n):
            self.clock.advance(self.cost)
            self.read += 1
            yield b" "


def test_http_layer_stops_reading_a_body_at_the_deadline() -> None:
    """Between chunks the HTTP layer checks the deadline: a 100-chunk body at 1 s a chunk
    stops after the third chunk of a 3 s deadline, as DeadlineExceededError (a TimeoutError)."""
    clock = FakeClock()
    stream = SlowChunks(clock, 100, 1.0)
    transport = httpx.MockTransport(lambda request: httpx.Response(200, stream=stream))
    request = httpx.Request("GET", "https://x/v1/organizations")
    request.extensions[DEADLINE_EXTENSION] = Deadline.after(3.0, clock)
    with pytest.raises(DeadlineExceededError) as info:
        HTTPLayer(transport).handle_request(request)
    assert stream.read == 3
    assert isinstance(info.value, TimeoutError)
    assert (info.value.phase, info.value.deadline, info.value.sent) == ("read", 3.0, True)
    assert "3 s deadline" in str(info.value)


def test_http_layer_cuts_every_phase_timeout_to_what_is_left() -> None:
    """connect/read/write/pool timeouts handed to the transport are at most the time left;
    a call whose deadline is already gone sends nothing."""
    clock = FakeClock()
    seen: list[dict[str, float]] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request.extensions["timeout"])
        return httpx.Response(200)

    request = httpx.Request(
        "GET", "https://x/", extensions={"timeout": httpx.Timeout(30).as_dict()}
    )
    request.extensions[DEADLINE_EXTENSION] = Deadline.after(2.0, clock)
    HTTPLayer(httpx.MockTransport(handler)).handle_request(request)
    assert seen == [{"connect": 2.0, "read": 2.0, "write": 2.0, "pool": 2.0}]
    clock.advance(2.0)
    with pytest.raises(DeadlineExceededError) as info:
        HTTPLayer(httpx.MockTransport(handler)).handle_request(request)
    assert len(seen) == 1
    assert (info.value.phase, info.value.sent) == ("pool", False)


def test_default_transports_get_the_bounded_network_backend() -> None:
    """Without transport=, both clients' connection pools wait on sockets through the
    deadline-aware backend (what stops a trickle inside the headers)."""
    sync_client = MaintainXClient(api_key=CANARY_KEY)
    async_client = AsyncMaintainXClient(api_key=CANARY_KEY)
    sync_pool: Any = getattr(sync_client._network, "_pool", None)
    async_pool: Any = getattr(async_client._network, "_pool", None)
    assert isinstance(sync_pool._network_backend, BoundedBackend)
    assert isinstance(async_pool._network_backend, AsyncBoundedBackend)
    sync_client.close()


# ---- trickling servers (real time, bounded) --------------------------------------------------

TRICKLES = {
    "headers": hostile.trickle_all(every=0.2),
    "body": hostile.trickle_body(every=0.2),
}


@pytest.mark.socket
@pytest.mark.parametrize("where", list(TRICKLES))
def test_a_trickling_server_cannot_stretch_a_call_past_its_deadline(where: str) -> None:
    """A server sending a byte every 0.2 s (each read well inside timeout=2) would take
    about 15 s; deadline=1 ends the call in 1 s (+ half a second at most), as
    DeadlineExceededError, whether the trickle is in the headers or in the body."""
    with (
        hostile.HostileServer(TRICKLES[where]) as server,
        MaintainXClient(
            api_key=CANARY_KEY, base_url=server.base_url, timeout=2, deadline=1.0, **NO_POLICIES
        ) as client,
    ):
        started = time.monotonic()
        with pytest.raises(DeadlineExceededError):
            client.organizations.list()
        elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 1.5, elapsed


@pytest.mark.socket
@pytest.mark.parametrize("where", list(TRICKLES))
async def test_async_trickle_is_bounded_the_same_way(where: str) -> None:
    """The async client: same server, same bound."""
    with hostile.HostileServer(TRICKLES[where]) as server:
        async with AsyncMaintainXClient(
            api_key=CANARY_KEY, base_url=server.base_url, timeout=2, deadline=1.0, **NO_POLICIES
        ) as client:
            started = time.monotonic()
            with pytest.raises(DeadlineExceededError):
                await client.organizations.list()
            elapsed = time.monotonic() - started
    assert 0.9 <= elapsed < 1.5, elapsed


@pytest.mark.socket
def test_retries_share_the_deadline_with_the_attempts() -> None:
    """With the default policies on, a silent server costs one deadline, not three read
    timeouts plus backoff (0.5 + 0.5 + 0.5 s + about 1.5 s of backoff): the retry starts,
    and the deadline ends it."""
    with (
        hostile.HostileServer(hostile.hang()) as server,
        MaintainXClient(
            api_key=CANARY_KEY, base_url=server.base_url, timeout=0.5, deadline=1.2
        ) as client,
    ):
        started = time.monotonic()
        with pytest.raises(TimeoutError) as info:
            client.organizations.list()
        elapsed = time.monotonic() - started
    assert info.value.attempts == 2
    assert isinstance(info.value, DeadlineExceededError)
    assert elapsed < 1.7, elapsed


def test_the_throttle_waits_only_as_long_as_the_deadline_allows() -> None:
    """Capped at 2 requests a minute, the second call would wait about 30 s for its slot;
    with a 5 s deadline it is refused at once (ThrottledError, nothing sent, no sleep),
    while without a deadline it waits."""
    clock = FakeClock()
    sent: list[str] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request.url.path)
        return httpx.Response(200, json=ORG_PAGE)

    def client(**options: Any) -> MaintainXClient:
        made = MaintainXClient(
            api_key=CANARY_KEY,
            transport=httpx.MockTransport(handler),
            clock=clock,
            retry=None,
            breaker=None,
            fallback=None,
            **options,
        )
        made.enable_throttling(2)
        return made

    with client(deadline=5.0) as bounded:
        bounded.organizations.list()
        with pytest.raises(ThrottledError):
            bounded.organizations.list()
    assert (len(sent), clock.sleeps) == (1, [])
    with client(deadline=None) as unbounded:
        unbounded.organizations.list()
        unbounded.organizations.list()
    assert len(sent) == 3
    assert sum(clock.sleeps) > 5.0
