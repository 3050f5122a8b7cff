"""Fixtures of the shared breaker's tests (imported explicitly by them): the shared Redis
(db 15, skipped when unreachable unless ``MAINTAINX_REQUIRE_REDIS=1``) and a fleet name unique
to each test, whose keys are deleted afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.webhooks.conftest import require_redis


@pytest.fixture
def breaker_redis_url() -> str:
    return require_redis()


@pytest.fixture
def breaker_fleet_name(breaker_redis_url: str) -> Iterator[str]:
    import redis

    name = f"b{uuid.uuid4().hex[:12]}"
    yield name
    client = redis.Redis.from_url(breaker_redis_url)
    try:
        keys = list(client.scan_iter(f"mx:{{{name}}}:*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
