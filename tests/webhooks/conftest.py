"""Fixtures of the webhook tests: an injected clock, queues of both backends, signed requests.

Redis tests use ``MAINTAINX_TEST_REDIS_URL`` (default ``redis://127.0.0.1:6379/15``) and a
key prefix unique per test, deleted afterwards. They skip when Redis is unreachable, and fail
instead when ``MAINTAINX_REQUIRE_REDIS=1`` (CI).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from maintainx_resilient._clock import FakeClock
from maintainx_resilient.webhooks import SqliteQueue, WebhookQueue

if TYPE_CHECKING:
    from maintainx_resilient.webhooks.queue.redis import RedisQueue

REDIS_URL = os.environ.get("MAINTAINX_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def require_redis() -> str:
    """The Redis URL, after checking the server answers (skip, or fail in CI)."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        if os.environ.get("MAINTAINX_REQUIRE_REDIS") == "1":
            pytest.fail(f"MAINTAINX_REQUIRE_REDIS=1 but Redis at {REDIS_URL} is unreachable: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} is unreachable: {exc}")
    finally:
        client.close()
    return REDIS_URL


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def redis_url() -> str:
    return require_redis()


@pytest.fixture
def redis_queue(redis_url: str, clock: FakeClock) -> Iterator[RedisQueue]:
    from maintainx_resilient.webhooks.queue.redis import RedisQueue

    queue = RedisQueue(redis_url, prefix=f"mxtest:{uuid.uuid4().hex}", clock=clock)
    try:
        yield queue
    finally:
        queue.clear()
        queue.close()


@pytest.fixture
def sqlite_queue(tmp_path: Path, clock: FakeClock) -> Iterator[SqliteQueue]:
    queue = SqliteQueue(tmp_path / "queue.db", synchronous="NORMAL", clock=clock)
    try:
        yield queue
    finally:
        queue.close()


@pytest.fixture(params=["sqlite", pytest.param("redis", marks=pytest.mark.redis)])
def any_queue(
    request: pytest.FixtureRequest, tmp_path: Path, clock: FakeClock
) -> Iterator[WebhookQueue]:
    """Each backend in turn: the contract tests run against both."""
    if request.param == "sqlite":
        queue: WebhookQueue = SqliteQueue(tmp_path / "queue.db", synchronous="NORMAL", clock=clock)
        try:
            yield queue
        finally:
            queue.close()
        return
    from maintainx_resilient.webhooks.queue.redis import RedisQueue

    redis_queue = RedisQueue(require_redis(), prefix=f"mxtest:{uuid.uuid4().hex}", clock=clock)
    try:
        yield redis_queue
    finally:
        redis_queue.clear()
        redis_queue.close()
