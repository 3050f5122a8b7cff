"""Shared fixtures. ``CANARY_KEY`` is the API key every test uses where a key could leak:
tests assert it never shows up in logs, reprs, exceptions, spans or reports."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import httpx
import pytest

pytest_plugins = ("pytester",)  # tests of the pytest plugin run pytest in a sandbox

CANARY_KEY = "mx-canary-7f3c9b1e-DO-NOT-LEAK"

Handler = Callable[[httpx.Request], httpx.Response]

#: Client keyword arguments that switch every resilience policy off (for tests of the core).
NO_POLICIES: dict[str, Any] = {"throttle": None, "retry": None, "breaker": None, "fallback": None}


@pytest.fixture
def canary_key() -> str:
    return CANARY_KEY


@pytest.fixture(autouse=True)
def _no_ambient_maintainx_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never pick up a developer's real MaintainX settings from the environment."""
    for name in ("MAINTAINX_API_KEY", "MAINTAINX_ORG_ID", "MAINTAINX_BASE_URL", "MAINTAINX_LOG"):
        monkeypatch.delenv(name, raising=False)
