"""Every MaintainX error shape and status maps to its exception class, with its messages."""

from __future__ import annotations

import httpx
import pytest

from maintainx_resilient import (
    APIStatusError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    DecodeError,
    MaintainXClient,
    MaintainXError,
    NotFoundError,
    PayloadTooLargeError,
    PermissionDeniedError,
    RateLimitError,
    ServerError,
    ThrottledError,
)
from maintainx_resilient import ConnectionError as MXConnectionError
from maintainx_resilient import TimeoutError as MXTimeoutError
from maintainx_resilient.policies.retry import RetryConfig

from .conftest import CANARY_KEY, NO_POLICIES


def client_answering(response: httpx.Response | Exception) -> MaintainXClient:
    def handler(request: httpx.Request) -> httpx.Response:
        if isinstance(response, Exception):
            raise response
        return response

    # Only the mapping is under test here: no retries, no fallback.
    return MaintainXClient(
        api_key=CANARY_KEY, transport=httpx.MockTransport(handler), **NO_POLICIES
    )


@pytest.mark.parametrize(
    ("status", "cls"),
    [
        (400, BadRequestError),
        (401, AuthenticationError),
        (403, PermissionDeniedError),
        (404, NotFoundError),
        (409, ConflictError),
        (413, PayloadTooLargeError),
        (429, RateLimitError),
        (500, ServerError),
        (502, ServerError),
        (503, ServerError),
        (418, APIStatusError),
    ],
)
def test_status_maps_to_class(status: int, cls: type[APIStatusError]) -> None:
    """Each meaningful status raises its own class, all under MaintainXError."""
    client = client_answering(httpx.Response(status, json={"error": f"boom {status}"}))
    with pytest.raises(cls) as info:
        client.work_orders.get(1)
    err = info.value
    assert type(err) is cls
    assert isinstance(err, MaintainXError)
    assert err.status_code == status
    assert err.errors[0].message == f"boom {status}"
    assert (err.method, err.path) == ("GET", "/workorders/1")
    assert f"boom {status}" in str(err)


def test_shape_a_errors_keep_field_paths() -> None:
    """Shape A bodies give one detail per entry, with fieldPath and fieldValue."""
    body = {
        "errors": [
            {"error": "must be a string", "fieldPath": "title", "fieldValue": 5},
            {"error": "unknown asset", "fieldPath": "assetId", "fieldValue": 99},
        ]
    }
    client = client_answering(httpx.Response(400, json=body))
    with pytest.raises(BadRequestError) as info:
        client.work_orders.create(title="x")
    err = info.value
    assert err.field_paths == ("title", "assetId")
    assert err.errors[1].field_value == 99
    assert "title: must be a string" in str(err)
    assert err.body == body


def test_missing_org_header_error_is_bad_request() -> None:
    """The multi-org 400 (shape A without a field path) reads as a plain message."""
    body = {"errors": [{"error": "Missing x-organization-id header."}]}
    client = client_answering(httpx.Response(400, json=body))
    with pytest.raises(BadRequestError, match="Missing x-organization-id header"):
        client.work_orders.get(1)


def test_html_502_page_is_a_typed_server_error() -> None:
    """A proxy's HTML 502 page raises ServerError with an excerpt, not a JSON error."""
    html = "<html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>"
    client = client_answering(httpx.Response(502, text=html, headers={"content-type": "text/html"}))
    with pytest.raises(ServerError) as info:
        client.work_orders.get(1)
    assert "502 Bad Gateway" in str(info.value)
    assert "text/html" in str(info.value)
    assert info.value.body is None


def test_json_error_body_of_an_unknown_shape_is_not_called_non_json() -> None:
    """A JSON error body that names no message is kept whole and not described as non-JSON
    (the on-call reader would look for a proxy that is not there)."""
    client = client_answering(httpx.Response(404, json={"errors": "nope"}))
    with pytest.raises(NotFoundError) as info:
        client.work_orders.get(1)
    assert "non-JSON" not in str(info.value)
    assert "without a message" in str(info.value)
    assert info.value.body == {"errors": "nope"}


def test_html_401_without_auth_header_is_authentication_error() -> None:
    """The text/html 401 MaintainX sends without an Authorization header still maps to 401."""
    client = client_answering(
        httpx.Response(
            401, text="Invalid authentication token", headers={"content-type": "text/html"}
        )
    )
    with pytest.raises(AuthenticationError, match="Invalid authentication token"):
        client.work_orders.get(1)


@pytest.mark.parametrize(
    "content",
    [b'{"workOrder": {"id": 1, "title": "tr', b"<html>oops</html>", b"", b'{"workOrder": "no"}'],
)
def test_bad_success_bodies_raise_decode_error(content: bytes) -> None:
    """Truncated JSON, HTML and wrongly typed bodies on a 200 raise DecodeError, no leaks."""
    client = client_answering(httpx.Response(200, content=content))
    with pytest.raises(DecodeError) as info:
        client.work_orders.get(1)
    assert info.value.status_code == 200
    assert not isinstance(info.value.__cause__, ValueError)


def test_rate_limit_error_reads_retry_after_then_reset() -> None:
    """429 carries retry_after from Retry-After, else from X-Rate-Limit-Reset."""
    client = client_answering(
        httpx.Response(429, json={"error": "Too many requests"}, headers={"Retry-After": "7"})
    )
    with pytest.raises(RateLimitError) as info:
        client.work_orders.get(1)
    assert info.value.retry_after == 7.0

    client = client_answering(
        httpx.Response(429, json={"error": "x"}, headers={"X-Rate-Limit-Reset": "12"})
    )
    with pytest.raises(RateLimitError) as info:
        client.work_orders.get(1)
    assert info.value.retry_after == 12.0
    assert info.value.headers["x-rate-limit-reset"] == "12"


def test_request_id_is_kept() -> None:
    """A request id sent by the server appears on the error."""
    client = client_answering(
        httpx.Response(500, json={"error": "x"}, headers={"x-request-id": "req-42"})
    )
    with pytest.raises(ServerError) as info:
        client.work_orders.get(1)
    assert info.value.request_id == "req-42"
    assert "req-42" in str(info.value)


def test_connect_failure_is_connection_error_not_sent() -> None:
    """A refused connection raises our ConnectionError with sent=False."""
    client = client_answering(httpx.ConnectError("refused"))
    with pytest.raises(MXConnectionError) as info:
        client.work_orders.get(1)
    assert info.value.sent is False


def test_read_failure_is_connection_error_maybe_sent() -> None:
    """A broken connection after sending raises ConnectionError with sent=True."""
    client = client_answering(httpx.ReadError("reset"))
    with pytest.raises(MXConnectionError) as info:
        client.work_orders.get(1)
    assert info.value.sent is True


@pytest.mark.parametrize(
    ("exc", "phase", "sent"),
    [
        (httpx.ConnectTimeout("t"), "connect", False),
        (httpx.ReadTimeout("t"), "read", True),
        (httpx.WriteTimeout("t"), "write", True),
        (httpx.PoolTimeout("t"), "pool", False),
    ],
)
def test_timeouts_are_typed_with_phase(exc: Exception, phase: str, sent: bool) -> None:
    """Each httpx timeout becomes our TimeoutError with its phase."""
    client = client_answering(exc)
    with pytest.raises(MXTimeoutError) as info:
        client.work_orders.get(1)
    assert info.value.phase == phase
    assert info.value.sent is sent


def test_transport_errors_are_the_builtin_ones_too() -> None:
    """``except TimeoutError`` / ``except ConnectionError`` with the built-in names catch
    ours (and asyncio's TimeoutError from 3.11), while they stay in our tree."""
    import asyncio
    import builtins
    import sys

    from maintainx_resilient import DeadlineExceededError, TransportError

    for cls, builtin in (
        (MXTimeoutError, builtins.TimeoutError),
        (DeadlineExceededError, builtins.TimeoutError),
        (MXConnectionError, builtins.ConnectionError),
    ):
        assert issubclass(cls, builtin)
        assert issubclass(cls, OSError)
        assert issubclass(cls, TransportError)
    if sys.version_info >= (3, 11):
        assert issubclass(MXTimeoutError, asyncio.TimeoutError)

    client = client_answering(httpx.ReadTimeout("slow"))
    with pytest.raises(builtins.TimeoutError) as timeout:
        client.work_orders.get(1)
    assert isinstance(timeout.value, MXTimeoutError)
    assert timeout.value.phase == "read"
    assert str(timeout.value) == "GET /workorders/1: read timeout"

    client = client_answering(httpx.ConnectError("refused"))
    with pytest.raises(builtins.ConnectionError) as refused:
        client.work_orders.get(1)
    assert isinstance(refused.value, MXConnectionError)
    assert refused.value.sent is False
    assert str(refused.value).startswith("GET /workorders/1: could not connect")


def test_errors_never_contain_the_key() -> None:
    """No exception text or repr carries the API key."""
    for response in (
        httpx.Response(401, json={"error": "Invalid token"}),
        httpx.Response(500, text="<html/>"),
        httpx.Response(200, content=b"{"),
    ):
        client = client_answering(response)
        with pytest.raises(MaintainXError) as info:
            client.work_orders.get(1)
        assert CANARY_KEY not in str(info.value)
        assert CANARY_KEY not in repr(info.value)
        assert CANARY_KEY not in repr(vars(info.value))


def test_retried_error_carries_attempts_and_wait() -> None:
    """With retries on, the final 503 error says how many attempts and how long they took."""
    from maintainx_resilient._clock import FakeClock

    clock = FakeClock()
    client = MaintainXClient(
        api_key=CANARY_KEY,
        transport=httpx.MockTransport(lambda r: httpx.Response(503, json={"error": "down"})),
        clock=clock,
        **{**NO_POLICIES, "retry": RetryConfig()},
    )
    with pytest.raises(ServerError) as info:
        client.work_orders.get(1)
    assert info.value.attempts == 3
    assert info.value.waited == pytest.approx(sum(clock.sleeps))


def test_a_throttle_refusal_does_not_read_as_an_answer() -> None:
    """ThrottledError is a RateLimitError (429) for handlers of MaintainX's 429s, but its
    message says nothing was sent instead of ``-> 429`` (QA pass 2)."""
    err = ThrottledError(
        "rate limit of key:ab12 (window): the next slot is 30.00s away",
        method="GET",
        path="/workorders",
        status_code=429,
        retry_after=30.0,
    )
    assert isinstance(err, RateLimitError) and err.status_code == 429
    text = str(err)
    assert text.startswith("GET /workorders: not sent (client-side throttle): rate limit")
    assert "-> 429" not in text


def test_transport_errors_name_the_path_as_api_errors_do() -> None:
    """Both kinds of error name the call's path the same way (``/workorders/1``), not one
    ``/v1/workorders/1`` and the other ``/workorders/1`` (QA pass 1)."""
    refused = client_answering(httpx.ConnectError("refused"))
    with pytest.raises(MXConnectionError) as transport:
        refused.work_orders.get(1)
    missing = client_answering(httpx.Response(404, json={"error": "gone"}))
    with pytest.raises(NotFoundError) as api:
        missing.work_orders.get(1)
    assert transport.value.path == api.value.path == "/workorders/1"
    assert str(transport.value).startswith("GET /workorders/1: ")
