"""Configuration comes from arguments, then the environment; bad values fail clearly."""

from __future__ import annotations

import httpx
import pytest

from maintainx_resilient import ConfigurationError, MaintainXClient
from maintainx_resilient._config import DEFAULT_BASE_URL, ClientConfig

from .conftest import CANARY_KEY


def test_missing_key_says_how_to_fix() -> None:
    """No key anywhere raises ConfigurationError naming MAINTAINX_API_KEY and where to get one."""
    with pytest.raises(ConfigurationError) as info:
        MaintainXClient()
    assert "MAINTAINX_API_KEY" in str(info.value)
    assert "HINT" in str(info.value)


def test_environment_is_read(monkeypatch: pytest.MonkeyPatch) -> None:
    """MAINTAINX_API_KEY, MAINTAINX_ORG_ID and MAINTAINX_BASE_URL configure the client."""
    monkeypatch.setenv("MAINTAINX_API_KEY", CANARY_KEY)
    monkeypatch.setenv("MAINTAINX_ORG_ID", "42")
    monkeypatch.setenv("MAINTAINX_BASE_URL", "http://localhost:9/v1/")
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"workOrder": {"id": 1}})

    with MaintainXClient(transport=httpx.MockTransport(handler)) as client:
        client.work_orders.get(1)
    request = seen[0]
    assert str(request.url) == "http://localhost:9/v1/workorders/1"
    assert request.headers["x-organization-id"] == "42"
    assert request.headers["authorization"] == f"Bearer {CANARY_KEY}"
    assert request.headers["user-agent"].startswith("maintainx-resilient/")


def test_arguments_beat_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """An explicit argument wins over the environment variable."""
    monkeypatch.setenv("MAINTAINX_BASE_URL", "http://env.invalid/v1")
    cfg = ClientConfig.resolve(api_key="k", base_url="http://arg.invalid/v1")
    assert cfg.base_url == "http://arg.invalid/v1"
    assert ClientConfig.resolve(api_key="k", environ={}).base_url == DEFAULT_BASE_URL


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"base_url": "ftp://x"}, "base_url must be an http"),
        ({"base_url": "https://api.example/v1?tenant=1"}, "must not carry a"),
        ({"base_url": "https://api.example/v1#top"}, "must not carry a"),
        ({"base_url": "http://[::1"}, r"base_url \(MAINTAINX_BASE_URL\) is not a valid URL"),
        ({"base_url": "http://127.0.0.1:99999/v1"}, "port 99999, outside 1-65535"),
        ({"base_url": "https://"}, "got 'https://'"),
        ({"organization_id": "acme"}, "must be an integer"),
        ({"organization_id": -3}, "positive"),
        ({"timeout": 0}, "timeout must be positive"),
        ({"organization_id": 1, "organization_ids": [2, 3]}, "not both"),
        ({"default_headers": {"Authorization": "x"}}, "use api_key"),
        ({"api_key": "   "}, "MAINTAINX_API_KEY"),
    ],
)
def test_bad_values_fail_at_construction(kwargs: dict[str, object], message: str) -> None:
    """Each wrong setting raises ConfigurationError with a message that says what to do."""
    kwargs.setdefault("api_key", "k")
    with pytest.raises(ConfigurationError, match=message):
        ClientConfig.resolve(environ={}, **kwargs)  # type: ignore[arg-type]


def test_malformed_base_url_from_the_environment_is_a_configuration_error(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A URL httpx cannot parse is a ConfigurationError naming MAINTAINX_BASE_URL (it was a
    raw httpx.InvalidURL)."""
    monkeypatch.setenv("MAINTAINX_BASE_URL", "http://[::1")
    with pytest.raises(ConfigurationError, match="MAINTAINX_BASE_URL") as info:
        MaintainXClient(api_key="k")
    assert "'http://[::1'" in str(info.value)


def test_multi_org_ids_header() -> None:
    """organization_ids is sent as x-organization-ids: 1,2,3."""
    cfg = ClientConfig.resolve(api_key="k", organization_ids=[1, 2, 3], environ={})
    assert cfg.base_headers()["x-organization-ids"] == "1,2,3"
    assert "x-organization-id" not in cfg.base_headers()


def test_reprs_show_only_the_fingerprint() -> None:
    """Client and config reprs show a key fingerprint, never the key."""
    client = MaintainXClient(api_key=CANARY_KEY)
    for text in (repr(client), str(client), repr(client.config), str(client.config)):
        assert CANARY_KEY not in text
        assert "sha256:" in text
    client.close()


def test_unknown_keyword_is_refused() -> None:
    """A misspelt option fails loudly instead of being ignored."""
    with pytest.raises(TypeError, match="retires"):
        MaintainXClient(api_key="k", retires=None)  # type: ignore[call-arg]
