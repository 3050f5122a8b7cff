"""Fixtures of the fleet tests: the shared Redis (db 15, skipped when unreachable unless
``MAINTAINX_REQUIRE_REDIS=1``) and a fleet name unique to each test, whose keys are deleted
afterwards."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.webhooks.conftest import require_redis


@pytest.fixture
def redis_url() -> str:
    return require_redis()


@pytest.fixture
def fleet_name(redis_url: str) -> Iterator[str]:
    import redis

    name = f"t{uuid.uuid4().hex[:12]}"
    yield name
    client = redis.Redis.from_url(redis_url)
    try:
        keys = list(client.scan_iter(f"mx:{{{name}}}:*"))
        if keys:
            client.delete(*keys)
    finally:
        client.close()
