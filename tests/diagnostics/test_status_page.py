"""The status page: Better Stack and Atlassian documents, garbage, fetch failures, rendering."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx
import pytest

from maintainx_resilient.diagnostics._context import DiagnosticContext, ProbeResult
from maintainx_resilient.diagnostics.status_page import (
    MAX_STATUS_BODY,
    StatusPageReport,
    fetch_status,
    parse_status_page,
    render_status,
    worst_state,
)

URL = "https://status.getmaintainx.com/en/index.json"
STATES = ("operational", "degraded", "downtime", "maintenance")


def betterstack(
    components: dict[str, str],
    *,
    aggregate: str | None = None,
    explicit: dict[str, str] | None = None,
) -> bytes:
    """A Better Stack ``/en/index.json`` document, as the real page shapes it."""
    included: list[dict[str, Any]] = [
        {"id": "9", "type": "status_page_section", "attributes": {"name": "Services"}},
    ]
    for index, (name, status) in enumerate(components.items()):
        included.append(
            {
                "id": str(index),
                "type": "status_page_resource",
                "attributes": {
                    "public_name": name,
                    "status": status,
                    "explicit_status": (explicit or {}).get(name),
                    "availability": 0.9995,
                },
            }
        )
    data: dict[str, Any] = {"id": "1", "type": "status_page", "attributes": {}}
    if aggregate is not None:
        data["attributes"]["aggregate_state"] = aggregate
    return json.dumps({"data": data, "included": included}).encode()


def components(api: str) -> dict[str, str]:
    return {
        "REST API": api,
        "MaintainX App": "operational",
        "GraphQL API": "operational",
        "Website": "operational",
    }


async def never_called(method: str, path: str, headers: Any) -> ProbeResult:
    raise AssertionError("the status page never probes the API")


def context(**kwargs: Any) -> DiagnosticContext:
    return DiagnosticContext(base_url="https://api.example/v1", probe=never_called, **kwargs)


# ---- Better Stack ---------------------------------------------------------------------------


@pytest.mark.parametrize("state", STATES)
def test_betterstack_every_state_served_as_html(state: str) -> None:
    """Each Better Stack state of the REST API component is read, though served as text/html."""
    report = parse_status_page(200, betterstack(components(state)), "text/html; charset=utf-8")
    assert report.source == "betterstack"
    assert report.state == state
    assert report.api_state == state
    assert report.component("REST API") is not None
    assert [c.name for c in report.components] == [
        "REST API",
        "MaintainX App",
        "GraphQL API",
        "Website",
    ]


def test_betterstack_overall_is_the_worst_component() -> None:
    """The overall state is the worst component, while the API component keeps its own state."""
    doc = betterstack({"REST API": "operational", "Website": "downtime"}, aggregate="degraded")
    report = parse_status_page(200, doc, "text/html")
    assert report.state == "downtime"
    assert report.api_state == "operational"
    assert report.incident is False


def test_betterstack_explicit_status_counts() -> None:
    """An ``explicit_status`` set by the page's admins is taken when it is worse."""
    doc = betterstack(components("operational"), explicit={"REST API": "maintenance"})
    assert parse_status_page(200, doc, "text/html").api_state == "maintenance"


def test_betterstack_aggregate_without_components() -> None:
    """A page with only ``aggregate_state`` is read from it."""
    doc = json.dumps(
        {"data": {"type": "status_page", "attributes": {"aggregate_state": "degraded"}}}
    )
    report = parse_status_page(200, doc.encode(), "text/html")
    assert (report.state, report.api_state, report.components) == ("degraded", "degraded", ())


def test_betterstack_unknown_component_state_is_unknown_not_down() -> None:
    """A state the parser does not know is ``unknown`` and never makes things look worse."""
    doc = betterstack({"REST API": "on-fire", "Website": "operational"})
    report = parse_status_page(200, doc, "text/html")
    assert report.component("REST API") is not None
    assert report.component("rest api").state == "unknown"  # type: ignore[union-attr]
    assert report.state == "operational"
    assert report.api_state == "operational"


# ---- Atlassian ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("indicator", "state"),
    [
        ("none", "operational"),
        ("minor", "degraded"),
        ("major", "downtime"),
        ("critical", "downtime"),
        ("maintenance", "maintenance"),
    ],
)
def test_atlassian_every_indicator(indicator: str, state: str) -> None:
    """The runbook's ``status.indicator`` values map to the states Better Stack uses."""
    doc = {"page": {"id": "x"}, "status": {"indicator": indicator, "description": "Words"}}
    report = parse_status_page(200, json.dumps(doc).encode(), "application/json")
    assert (report.source, report.state, report.detail) == ("atlassian", state, "Words")


def test_atlassian_summary_components() -> None:
    """Atlassian ``summary.json`` components are read, so the REST API state decides."""
    doc = {
        "status": {"indicator": "major"},
        "components": [
            {"name": "REST API", "status": "major_outage"},
            {"name": "Mobile", "status": "degraded_performance"},
            {"name": "Group", "status": "operational", "group": True},
        ],
    }
    report = parse_status_page(200, json.dumps(doc), "application/json")
    assert report.api_state == "downtime"
    assert [c.name for c in report.components] == ["REST API", "Mobile"]


def test_atlassian_unknown_indicator_is_unknown() -> None:
    """An indicator the parser does not know is ``unknown``."""
    doc = {"status": {"indicator": "purple"}}
    assert parse_status_page(200, json.dumps(doc), "").state == "unknown"


# ---- garbage is unknown, never down ---------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "body", "content_type", "reason"),
    [
        (200, b"<!DOCTYPE html><html><body>Status</body></html>", "text/html", "HTML"),
        (200, betterstack(components("downtime"))[:57], "text/html", "truncated"),
        (200, b"", "text/html", "empty"),
        (200, b"\xff\xfe\x00garbage", "application/octet-stream", "truncated"),
        (200, b"[1, 2, 3]", "application/json", "not a Better Stack"),
        (200, b'{"hello": "world"}', "application/json", "not a Better Stack"),
        (200, b'{"included": "nope", "data": {"type": "status_page"}}', "text/html", "not a"),
        (200, b'{"included": [null, 1, {"type": "status_page_resource"}]}', "", "not a"),
        (200, b'{"status": {"indicator": 7}}', "", "not a"),
        (200, b"[" * 100_000, "", "truncated"),
        (502, b"<html>502 Bad Gateway</html>", "text/html", "HTTP 502"),
        (404, betterstack(components("operational")), "text/html", "HTTP 404"),
        (None, b"", "", "no answer"),
    ],
)
def test_garbage_is_unknown(
    status: int | None, body: bytes, content_type: str, reason: str
) -> None:
    """HTML, truncated or odd JSON, error statuses and no answer all read as ``unknown``."""
    report = parse_status_page(status, body, content_type, url=URL)
    assert report.state == "unknown"
    assert report.api_state == "unknown"
    assert report.incident is False
    assert reason in report.detail
    assert report.url == URL


def test_oversized_document_is_unknown() -> None:
    """A status document larger than the limit is not parsed."""
    report = parse_status_page(200, b" " * (MAX_STATUS_BODY + 1), "text/html")
    assert report.state == "unknown"
    assert "too large" in report.detail


def test_worst_state_ignores_unknown() -> None:
    """``unknown`` never outranks a known state; all unknown stays unknown."""
    assert worst_state(["unknown", "maintenance", "operational"]) == "maintenance"
    assert worst_state(["degraded", "downtime"]) == "downtime"
    assert worst_state(["unknown"]) == "unknown"
    assert worst_state([]) == "unknown"


# ---- fetching -------------------------------------------------------------------------------


async def test_fetch_uses_the_context_fetcher() -> None:
    """``fetch_status`` calls ``ctx.fetch_status_page`` with the configured URL."""
    seen: list[str] = []

    async def fetcher(url: str) -> tuple[int | None, bytes, str]:
        seen.append(url)
        return 200, betterstack(components("degraded")), "text/html"

    report = await fetch_status(context(fetch_status_page=fetcher))
    assert seen == [URL]
    assert (report.state, report.http_status, report.url) == ("degraded", 200, URL)
    assert report.incident is True


@pytest.mark.parametrize(
    "failure",
    [httpx.ConnectError("refused"), OSError("network down"), ValueError("bad"), RuntimeError()],
)
async def test_fetch_failure_is_unknown(failure: Exception) -> None:
    """Whatever the fetcher raises, the report is ``unknown`` (never down)."""

    async def fetcher(url: str) -> tuple[int | None, bytes, str]:
        raise failure

    report = await fetch_status(context(fetch_status_page=fetcher))
    assert report.state == "unknown"
    assert "could not fetch" in report.detail


async def test_fetch_that_hangs_is_unknown_within_the_timeout() -> None:
    """A fetcher that never answers is cut off at the timeout and reported ``unknown``."""
    never = asyncio.Event()

    async def fetcher(url: str) -> tuple[int | None, bytes, str]:
        await never.wait()
        raise AssertionError("unreachable")

    report = await fetch_status(context(fetch_status_page=fetcher), timeout=0.05)
    assert report.state == "unknown"
    assert "did not answer within" in report.detail
    assert report.duration < 5.0


async def test_no_status_page_configured_is_unknown() -> None:
    """``status_page_url=None`` skips the fetch and says so."""
    report = await fetch_status(context(status_page_url=None))
    assert (report.state, report.detail) == ("unknown", "no status page configured")


@pytest.mark.socket
async def test_default_fetcher_against_a_closed_port_is_unknown() -> None:
    """Without a fetcher, httpx is used; a refused connection on loopback reads ``unknown``."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    ctx = context(status_page_url=f"http://127.0.0.1:{port}/en/index.json", deadline=2.0)
    report = await fetch_status(ctx)
    assert report.state == "unknown"
    assert "could not fetch" in report.detail


# ---- rendering ------------------------------------------------------------------------------


def test_render_lists_components() -> None:
    """The CLI text names the overall state, the source and each component."""
    report = parse_status_page(200, betterstack(components("degraded")), "text/html", url=URL)
    text = render_status(report)
    assert text.splitlines()[0] == (
        "MaintainX status: DEGRADED [Better Stack, https://status.getmaintainx.com]"
    )
    assert "  REST API       degraded" in text
    assert "Website" in text


def test_render_unknown_says_it_is_not_down() -> None:
    """An unknown page is rendered as UNKNOWN with a pointer to the page, never as down."""
    text = render_status(StatusPageReport(state="unknown", url=URL, detail="no answer"))
    assert text.startswith("MaintainX status: UNKNOWN (no answer)")
    assert "does not mean MaintainX is down" in text
    assert "DOWN" not in text


def test_report_to_dict_is_json() -> None:
    """The report's JSON form round-trips through ``json``."""
    report = parse_status_page(200, betterstack(components("maintenance")), "text/html", url=URL)
    data = json.loads(json.dumps(report.to_dict()))
    assert data["state"] == "maintenance"
    assert data["components"][0] == {"name": "REST API", "state": "maintenance"}
