"""Fixtures of the fleet tests: the shared Redis (db 15, skipped when unreachable unless
``MAINTAINX_REQUIRE_REDIS=1``) and a fleet name unique to each test, deleted afterwards."""

from tests._redis import fleet_name, redis_client, redis_url

__all__ = ["fleet_name", "redis_client", "redis_url"]
