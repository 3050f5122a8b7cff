"""The hostile-server matrix: every way a server can misbehave, against both clients with
their default policies, over real loopback sockets. Each case must end in the expected
error of ours (never an httpx or builtin exception) within the call's deadline plus half a
second, and the oversized ones must not be read to the end."""

from __future__ import annotations

import time
from typing import Any

import pytest

from maintainx_resilient import (
    AsyncMaintainXClient,
    ConnectionError,
    CursorCycleError,
    DeadlineExceededError,
    DecodeError,
    MaintainXClient,
    MaintainXError,
    ResponseTooLargeError,
    ServerError,
    TimeoutError,
)

from . import _hostile as hostile
from .conftest import CANARY_KEY

pytestmark = pytest.mark.socket

MB = 1024 * 1024
DEADLINE = 1.0
CAP = MB
#: What a 300 MB answer may cost the server before the client hangs up: the cap plus what
#: the loopback socket buffers absorb.
SENT_BOUND = 40 * MB

CASES: dict[str, tuple[hostile.Behaviour, type[MaintainXError]]] = {
    "headers trickled a byte at a time": (hostile.trickle_all(every=0.1), DeadlineExceededError),
    "body trickled a byte at a time": (hostile.trickle_body(every=0.1), DeadlineExceededError),
    "no answer at all": (hostile.hang(), TimeoutError),
    "300 MB declared": (hostile.endless(300 * MB), ResponseTooLargeError),
    "300 MB chunked, undeclared": (hostile.endless(300 * MB, chunked=True), ResponseTooLargeError),
    "300 MB, no length, until close": (
        hostile.endless(300 * MB, declare=False),
        ResponseTooLargeError,
    ),
    "gzip announced, plain body": (hostile.gzip_lie(), DecodeError),
    "gzip announced on an error": (hostile.gzip_lie(b'{"error": "x"}', status=503), DecodeError),
    "JSON nested 100,000 deep": (hostile.deep_json(), DecodeError),
    "error JSON nested 100,000 deep": (hostile.deep_json(status=500), ServerError),
    "HTML 502 from a proxy": (hostile.html_502(), ServerError),
    "connection dropped mid-body": (hostile.drop_mid_body(), ConnectionError),
    "not HTTP at all": (hostile.garbage(), ConnectionError),
}

OPTIONS: dict[str, Any] = {"timeout": 0.3, "deadline": DEADLINE, "max_response_bytes": CAP}


def check(name: str, exc: BaseException | None, elapsed: float, sent: int) -> None:
    expected = CASES[name][1]
    assert isinstance(exc, expected), f"{name}: {exc!r}"
    assert isinstance(exc, MaintainXError)
    assert elapsed < DEADLINE + 0.5, f"{name}: {elapsed:.2f} s"
    assert sent < SENT_BOUND, f"{name}: the server sent {sent} bytes"
    assert CANARY_KEY not in str(exc) and CANARY_KEY not in repr(exc)
    if isinstance(exc, ResponseTooLargeError):  # names the cap and how to raise it
        assert exc.limit == CAP
        assert f"max_response_bytes={CAP}" in str(exc) and "MaintainXClient(" in str(exc)


@pytest.mark.parametrize("name", list(CASES))
def test_sync_client_against(name: str) -> None:
    with (
        hostile.HostileServer(CASES[name][0]) as server,
        MaintainXClient(api_key=CANARY_KEY, base_url=server.base_url, **OPTIONS) as client,
    ):
        started = time.monotonic()
        error: BaseException | None = None
        try:
            client.organizations.list()
        except Exception as exc:
            error = exc
        elapsed = time.monotonic() - started
    check(name, error, elapsed, server.sent)


@pytest.mark.parametrize("name", list(CASES))
async def test_async_client_against(name: str) -> None:
    with hostile.HostileServer(CASES[name][0]) as server:
        async with AsyncMaintainXClient(
            api_key=CANARY_KEY, base_url=server.base_url, **OPTIONS
        ) as client:
            started = time.monotonic()
            error: BaseException | None = None
            try:
                await client.organizations.list()
            except Exception as exc:
                error = exc
            elapsed = time.monotonic() - started
    check(name, error, elapsed, server.sent)


def test_sync_iter_against_a_cursor_cycle() -> None:
    """A -> B -> A over the wire: three pages, then CursorCycleError (not an endless walk)."""
    with (
        hostile.HostileServer(hostile.cursor_cycle()) as server,
        MaintainXClient(api_key=CANARY_KEY, base_url=server.base_url, **OPTIONS) as client,
        pytest.raises(CursorCycleError) as info,
    ):
        for _ in client.organizations.iter():
            pass
    assert len(server.requests) == 3
    assert (info.value.cursor, info.value.pages) == ("A", 3)


async def test_async_iter_against_a_cursor_cycle() -> None:
    with hostile.HostileServer(hostile.cursor_cycle()) as server:
        async with AsyncMaintainXClient(
            api_key=CANARY_KEY, base_url=server.base_url, **OPTIONS
        ) as client:
            with pytest.raises(CursorCycleError):
                async for _ in client.organizations.iter():
                    pass
    assert len(server.requests) == 3


def test_a_gzip_answer_within_the_cap_is_read_normally() -> None:
    """The control case: a well-behaved gzip server is decoded and parsed."""
    body = hostile.page(items=3)
    with (
        hostile.HostileServer(hostile.gzipped(body)) as server,
        MaintainXClient(api_key=CANARY_KEY, base_url=server.base_url, **OPTIONS) as client,
    ):
        assert [o.id for o in client.organizations.list().items] == [1, 2, 3]
