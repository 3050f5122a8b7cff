"""Operations encode queries and bodies exactly as the API expects."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any

import httpx
import pytest

from maintainx_resilient._extensions import (
    BASE_EXTENSION,
    CACHEABLE_EXTENSION,
    IDEMPOTENT_EXTENSION,
    ROUTE_EXTENSION,
)
from maintainx_resilient._operation import Operation, encode_query, expect_json
from maintainx_resilient.models import WorkOrderStatus
from maintainx_resilient.resources._base import to_wire_body, wire_name
from maintainx_resilient.resources.work_orders import WORK_ORDERS


def test_sequences_become_repeated_keys() -> None:
    """statuses=[OPEN, DONE] is sent as statuses=OPEN&statuses=DONE."""
    pairs = encode_query({"statuses": ["OPEN", WorkOrderStatus.DONE], "assets": (1, 2), "x": None})
    assert pairs == [("statuses", "OPEN"), ("statuses", "DONE"), ("assets", "1"), ("assets", "2")]


def test_aware_datetimes_are_utc_millis_and_naive_ones_refused() -> None:
    """Filters are ISO-8601 UTC with milliseconds; a naive datetime is an error, not a guess."""
    when = datetime(2024, 1, 2, 5, 4, 5, 678901, tzinfo=timezone(timedelta(hours=2)))
    assert encode_query({"t": when}) == [("t", "2024-01-02T03:04:05.678Z")]
    with pytest.raises(ValueError, match="naive datetime"):
        encode_query({"t": datetime(2024, 1, 1)})


@pytest.mark.parametrize(
    ("python", "wire"),
    [
        ("updated_at_gte", "updatedAt[gte]"),
        ("created_at_lte", "createdAt[lte]"),
        ("asset_id", "assetId"),
        ("not_assets", "notAssets"),
        ("limit", "limit"),
    ],
)
def test_wire_names(python: str, wire: str) -> None:
    """snake_case Python names map to the spec's wire names."""
    assert wire_name(python) == wire


def test_overrides_win() -> None:
    """A family's overrides keep names that do not follow the rule (show_upcoming)."""
    assert WORK_ORDERS.query({"show_upcoming": True}) == [("show_upcoming", "true")]


def test_limit_out_of_range_is_refused_before_sending() -> None:
    """limit must be 1..200, checked before any request."""
    with pytest.raises(ValueError, match="between 1 and 200"):
        WORK_ORDERS.list_op({"limit": 201})
    with pytest.raises(ValueError, match="between 1 and 200"):
        WORK_ORDERS.list_op({"limit": 0})


def test_body_names_and_extra_body() -> None:
    """Create bodies use wire names; extra_body passes raw wire fields through."""
    body = to_wire_body({"asset_id": 3, "title": "t"}, extra_body={"newApiField": 1})
    assert body == {"assetId": 3, "title": "t", "newApiField": 1}


def test_set_status_refuses_skipped() -> None:
    """SKIPPED cannot be set through the status endpoint (the spec's enum excludes it)."""
    with pytest.raises(ValueError, match="SKIPPED"):
        WORK_ORDERS.set_status_op(1, "SKIPPED")  # type: ignore[arg-type]


def test_path_parameters_are_escaped() -> None:
    """A path parameter cannot smuggle extra path segments."""
    with pytest.raises(ValueError, match="invalid path parameter"):
        WORK_ORDERS.get_op("1/../../users")  # type: ignore[arg-type]


def test_post_is_not_idempotent_unless_marked() -> None:
    """Creates are non-idempotent by default; GET/PATCH/DELETE are idempotent."""
    assert WORK_ORDERS.create_op({"title": "x"}).idempotent is False
    assert WORK_ORDERS.create_op({"title": "x"}, idempotent=True).idempotent is True
    assert WORK_ORDERS.get_op(1).idempotent is True
    assert WORK_ORDERS.update_op(1, {"title": "x"}).idempotent is True
    assert WORK_ORDERS.delete_op(1).idempotent is True


def _wire(request: httpx.Request) -> tuple[object, ...]:
    return (
        request.method,
        str(request.url),
        request.headers.raw,
        request.read(),
        dict(request.extensions),
    )


@pytest.mark.parametrize(
    ("base", "client_kwargs"),
    [
        ("https://api.example.com/v1/", {}),
        ("https://api.example.com/v1/", {"timeout": 3.0, "headers": {"X-Extra": "1"}}),
        ("https://api.example.com/v1/?k=1", {}),  # a base with a query: httpx joins it
        ("https://api.example.com/v1/", {"params": {"debug": "1"}}),  # client-wide params
        ("https://api.example.com/v1/", {"cookies": {"session": "s"}}),  # client cookies
    ],
)
@pytest.mark.parametrize("async_client", [False, True])
def test_build_request_is_what_httpx_builds(
    base: str, client_kwargs: dict[str, Any], async_client: bool
) -> None:
    """Operation.build_request builds the request itself when httpx would only merge the
    client's headers and timeout in; it must equal ``client.build_request`` every time."""
    cls: Any = httpx.AsyncClient if async_client else httpx.Client
    client = cls(base_url=base, **client_kwargs)
    op = Operation.make(
        "POST",
        "/workorders/{id}/comments",
        expect_json,
        path_params={"id": 7},
        params=[("b", "2"), ("a", "1")],
        json={"body": "hi"},
    )
    built = op.build_request(client)
    expected = client.build_request(
        "POST",
        op.path.lstrip("/"),
        params=op.params,
        json=op.json,
        extensions={
            ROUTE_EXTENSION: op.route,
            IDEMPOTENT_EXTENSION: op.idempotent,
            CACHEABLE_EXTENSION: op.cacheable,
        },
    )
    base_text = built.extensions.pop(BASE_EXTENSION, None)
    if base_text is not None:  # built directly: the base it was built on, for the layers
        assert base_text == str(client.base_url) and str(built.url).startswith(base_text)
    assert _wire(built) == _wire(expected)
    # The client's headers are copied, never shared: a layer may change the request's.
    built.headers["X-Changed"] = "1"
    assert "x-changed" not in client.headers


def test_a_base_with_credentials_is_not_shared_with_the_layers() -> None:
    client = httpx.Client(base_url="https://user:s3cret@proxy.example/v1/")
    op = Operation.make("GET", "/workorders/{id}", expect_json, path_params={"id": 1})
    assert BASE_EXTENSION not in op.build_request(client).extensions
    plain = op.build_request(httpx.Client(base_url="https://api.example.com/v1/"))
    assert plain.extensions[BASE_EXTENSION] == "https://api.example.com/v1/"
