"""Redis fixtures of the fleet tests (``tests/fleet/conftest.py`` uses them; tests elsewhere
import them explicitly).

A fleet name unique per test (``t-<hex>``), so tests never see each other's keys; every key
of it is deleted afterwards. Redis is ``MAINTAINX_TEST_REDIS_URL`` (default
``redis://127.0.0.1:6379/15``): the tests skip when it is unreachable, or fail when
``MAINTAINX_REQUIRE_REDIS=1``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING

import pytest

from tests.webhooks.conftest import require_redis

if TYPE_CHECKING:
    import redis


@pytest.fixture
def redis_url() -> str:
    return require_redis()


@pytest.fixture
def redis_client(redis_url: str) -> Iterator[redis.Redis]:
    """A plain client of the test Redis, to look at (and tamper with) what the fleet wrote."""
    import redis as redis_module

    client = redis_module.Redis.from_url(redis_url, socket_timeout=2)
    try:
        yield client
    finally:
        client.close()


@pytest.fixture
def fleet_name(redis_client: redis.Redis) -> Iterator[str]:
    name = f"t-{uuid.uuid4().hex[:12]}"
    try:
        yield name
    finally:
        keys = list(redis_client.scan_iter(match=f"mx:{{{name}}}:*", count=500))
        if keys:
            redis_client.delete(*keys)


def fleet_keys(client: redis.Redis, name: str) -> list[bytes]:
    """Every key of the fleet ``name``."""
    return sorted(client.scan_iter(match=f"mx:{{{name}}}:*", count=500))
