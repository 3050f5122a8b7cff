"""Key rotation on 401: one rotate() for all concurrent callers, one resend, no key shown."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from maintainx_resilient import AuthenticationError, ConfigurationError, MaintainXClient
from maintainx_resilient._events import Event, KeyRotated
from maintainx_resilient._secrets import fingerprint
from maintainx_resilient.policies.auth import KeyRing

from ..conftest import CANARY_KEY, NO_POLICIES

NEXT_KEY = "mx-next-key-2"


class Server:
    """A fake API whose set of valid keys can change; counts requests per key."""

    def __init__(self, valid: set[str]) -> None:
        self.valid = valid
        self.lock = threading.Lock()
        self.seen: list[str] = []

    def handler(self, request: httpx.Request) -> httpx.Response:
        key = request.headers["authorization"].removeprefix("Bearer ")
        with self.lock:
            self.seen.append(key)
        if key not in self.valid:
            return httpx.Response(401, json={"error": "Invalid token"})
        return httpx.Response(200, json={"workOrder": {"id": 1}})


class Provider:
    """A KeyProvider that hands out NEXT_KEY once and counts rotations."""

    def __init__(self, server: Server) -> None:
        self.server = server
        self.calls = 0
        self.key = CANARY_KEY

    def get(self) -> str:
        return self.key

    def rotate(self, failed: str) -> str:
        self.calls += 1
        self.key = NEXT_KEY
        return self.key


def test_twenty_threads_one_rotation_no_failure() -> None:
    """A key revoked under 20 concurrent callers leads to exactly one rotate() and no error."""
    server = Server(valid={CANARY_KEY})
    provider = Provider(server)
    client = MaintainXClient(
        api_key=provider, transport=httpx.MockTransport(server.handler), **NO_POLICIES
    )
    client.work_orders.get(1)
    server.valid = {NEXT_KEY}  # revoke the canary, allow the next key
    start = threading.Barrier(20)

    def call() -> int:
        start.wait()
        return client.work_orders.get(1).id

    with ThreadPoolExecutor(20) as pool:
        results = list(pool.map(lambda _: call(), range(20)))
    assert results == [1] * 20
    assert provider.calls == 1
    assert client.policies.keys.rotations == 1


async def test_twenty_tasks_one_rotation_with_async_provider() -> None:
    """Async: 20 tasks hit the revoked key; an async rotate() is awaited exactly once."""
    from maintainx_resilient import AsyncMaintainXClient

    server = Server(valid={NEXT_KEY})

    class AsyncProvider:
        calls = 0

        def get(self) -> str:
            return CANARY_KEY if self.calls == 0 else NEXT_KEY

        async def rotate(self, failed: str) -> str:
            self.calls += 1
            await asyncio.sleep(0)
            return NEXT_KEY

    provider = AsyncProvider()
    async with AsyncMaintainXClient(
        api_key=provider, transport=httpx.MockTransport(server.handler), **NO_POLICIES
    ) as client:
        results = await asyncio.gather(*(client.work_orders.get(1) for _ in range(20)))
    assert [r.id for r in results] == [1] * 20
    assert provider.calls == 1


def test_new_key_failing_too_raises_authentication_error() -> None:
    """If the rotated key is refused as well, the caller gets AuthenticationError (one resend)."""
    server = Server(valid=set())
    provider = Provider(server)
    client = MaintainXClient(
        api_key=provider, transport=httpx.MockTransport(server.handler), **NO_POLICIES
    )
    with pytest.raises(AuthenticationError) as info:
        client.work_orders.get(1)
    assert server.seen == [CANARY_KEY, NEXT_KEY]
    assert CANARY_KEY not in str(info.value)


def test_static_key_is_not_rotated() -> None:
    """A plain string key has no rotation: the 401 surfaces after one attempt."""
    server = Server(valid=set())
    client = MaintainXClient(
        api_key=CANARY_KEY, transport=httpx.MockTransport(server.handler), **NO_POLICIES
    )
    with pytest.raises(AuthenticationError):
        client.work_orders.get(1)
    assert server.seen == [CANARY_KEY]


def test_callable_key_is_reread_on_401() -> None:
    """A callable source is asked again after a 401, and the request resent with its answer."""
    server = Server(valid={NEXT_KEY})
    answers = iter([CANARY_KEY, CANARY_KEY, NEXT_KEY, NEXT_KEY])
    client = MaintainXClient(
        api_key=lambda: next(answers),
        transport=httpx.MockTransport(server.handler),
        **NO_POLICIES,
    )
    assert client.work_orders.get(1).id == 1
    assert server.seen == [CANARY_KEY, NEXT_KEY]


def test_rotation_event_has_fingerprints_only() -> None:
    """The key-rotated event names the keys by fingerprint; the key itself appears nowhere."""
    server = Server(valid={NEXT_KEY})
    events: list[Event] = []
    client = MaintainXClient(
        api_key=Provider(server),
        transport=httpx.MockTransport(server.handler),
        hooks=[events.append],
        **NO_POLICIES,
    )
    client.work_orders.get(1)
    rotated = [e for e in events if isinstance(e, KeyRotated)]
    assert len(rotated) == 1
    assert rotated[0].old_fingerprint == fingerprint(CANARY_KEY)
    assert rotated[0].new_fingerprint == fingerprint(NEXT_KEY)
    assert CANARY_KEY not in repr(events)
    assert CANARY_KEY not in repr(client)
    assert CANARY_KEY not in repr(client.policies.keys)


def test_only_the_failed_key_is_given_up() -> None:
    """A caller whose request used an older key resends with the current one, no rotate()."""
    ring = KeyRing(Provider(Server(set())))
    assert ring.rotate(CANARY_KEY) == NEXT_KEY
    assert ring.rotate(CANARY_KEY) == NEXT_KEY  # stale failure: no second rotation
    assert ring.rotations == 1


def test_bad_key_sources_are_refused() -> None:
    """An empty key or a wrong type fails at construction."""
    with pytest.raises(ConfigurationError):
        KeyRing(lambda: "")
    with pytest.raises(ConfigurationError):
        KeyRing(42)  # type: ignore[arg-type]
