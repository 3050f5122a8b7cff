"""The MaintainX status page: fetch it, read it, print it.

``status.getmaintainx.com`` is a Better Stack page: ``GET /en/index.json`` is a JSON:API
document (served as ``text/html``) whose ``included[]`` items of type
``status_page_resource`` carry ``attributes.public_name`` (``REST API``, ``MaintainX App``,
``GraphQL API``, ``Website``) and ``status``/``explicit_status`` in ``operational |
degraded | downtime | maintenance``. The runbook assumes an Atlassian Statuspage instead
(``/api/v2/status.json``, ``status.indicator`` in ``none | minor | major | critical``); both
are understood, as is Atlassian's ``summary.json`` with its ``components[]``.

A page that cannot be fetched or read is reported as ``"unknown"``, never as down: the status
page being unreachable says nothing about the API (and is often the same local network
problem the diagnosis is looking for).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

import httpx

from .._clock import SYSTEM_CLOCK, Clock
from .._exceptions import MaintainXError
from .._version import __version__

if TYPE_CHECKING:
    from ._context import DiagnosticContext

__all__ = [
    "API_COMPONENT",
    "DEFAULT_STATUS_PAGE_URL",
    "DEFAULT_STATUS_TIMEOUT",
    "MAX_STATUS_BODY",
    "ComponentStatus",
    "StatusPageReport",
    "StatusSource",
    "StatusState",
    "fetch_status",
    "fetch_status_page",
    "parse_status_page",
    "render_status",
    "worst_state",
]

StatusState = Literal["operational", "degraded", "downtime", "maintenance", "unknown"]
StatusSource = Literal["betterstack", "atlassian", "none"]

DEFAULT_STATUS_PAGE_URL = "https://status.getmaintainx.com/en/index.json"
#: The component whose state decides whether an unreachable API is MaintainX's outage.
API_COMPONENT = "REST API"
#: A status document bigger than this is not read (the real one is a few tens of kB).
MAX_STATUS_BODY = 2_000_000
#: How long a status page fetch may take at most (less when the diagnosis deadline is short).
DEFAULT_STATUS_TIMEOUT = 5.0

#: Worse is bigger. ``unknown`` has no rank: it never makes anything look worse.
_RANK: dict[str, int] = {"operational": 0, "maintenance": 1, "degraded": 2, "downtime": 3}

_BETTERSTACK_STATES: dict[str, StatusState] = {
    "operational": "operational",
    "degraded": "degraded",
    "downtime": "downtime",
    "maintenance": "maintenance",
}
_ATLASSIAN_INDICATORS: dict[str, StatusState] = {
    "none": "operational",
    "minor": "degraded",
    "major": "downtime",
    "critical": "downtime",
    "maintenance": "maintenance",
}
_ATLASSIAN_COMPONENTS: dict[str, StatusState] = {
    "operational": "operational",
    "degraded_performance": "degraded",
    "partial_outage": "degraded",
    "major_outage": "downtime",
    "under_maintenance": "maintenance",
}


def worst_state(states: Sequence[StatusState]) -> StatusState:
    """The worst known state (``unknown`` entries are ignored; all unknown -> ``unknown``)."""
    known = [s for s in states if s in _RANK]
    if not known:
        return "unknown"
    return max(known, key=lambda s: _RANK[s])


@dataclass(frozen=True)
class ComponentStatus:
    """One component of the page (``REST API``...) and its state."""

    name: str
    state: StatusState

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "state": self.state}


@dataclass(frozen=True)
class StatusPageReport:
    """What the status page says. ``state`` is the overall state; ``detail`` says why it is
    ``unknown``, or what the page said (Atlassian's description)."""

    state: StatusState
    components: tuple[ComponentStatus, ...] = ()
    source: StatusSource = "none"
    url: str | None = None
    http_status: int | None = None
    detail: str = ""
    duration: float = 0.0

    def component(self, name: str) -> ComponentStatus | None:
        """The component called ``name`` (case-insensitive), if the page lists it."""
        wanted = name.casefold()
        return next((c for c in self.components if c.name.casefold() == wanted), None)

    @property
    def api_state(self) -> StatusState:
        """The ``REST API`` component's state when the page lists it, else the overall one."""
        api = self.component(API_COMPONENT)
        if api is not None and api.state != "unknown":
            return api.state
        return self.state

    @property
    def incident(self) -> bool:
        """True when the API (or the whole page) is ``degraded`` or ``downtime``."""
        return self.api_state in ("degraded", "downtime")

    def to_dict(self) -> dict[str, Any]:
        return {
            "state": self.state,
            "api_state": self.api_state,
            "source": self.source,
            "url": self.url,
            "http_status": self.http_status,
            "detail": self.detail,
            "duration_ms": round(self.duration * 1000, 1),
            "components": [c.to_dict() for c in self.components],
        }


# ---- parsing (pure) ---------------------------------------------------------------------------


def _unknown(status: int | None, url: str | None, detail: str) -> StatusPageReport:
    return StatusPageReport(state="unknown", url=url, http_status=status, detail=detail)


def parse_status_page(
    status: int | None,
    body: bytes | str,
    content_type: str = "",
    *,
    url: str | None = None,
) -> StatusPageReport:
    """Read a status page answer (Better Stack or Atlassian). Never raises: whatever cannot be
    read (no answer, an error status, HTML, truncated JSON, an unexpected shape) is
    ``unknown``, with the reason in ``detail``."""
    if status is None:
        return _unknown(None, url, "no answer from the status page")
    if not 200 <= status < 300:
        return _unknown(status, url, f"the status page answered HTTP {status}")
    if len(body) > MAX_STATUS_BODY:
        return _unknown(status, url, f"the status document is too large ({len(body)} bytes)")
    try:
        document = json.loads(body)
    except (ValueError, RecursionError):
        return _unknown(status, url, _not_json(body, content_type))
    try:
        report = _read_document(document)
    except Exception as exc:  # a shape we did not foresee must not break a diagnosis
        return _unknown(status, url, f"unexpected status document ({type(exc).__name__})")
    if report is None:
        return _unknown(status, url, "not a Better Stack or Atlassian status document")
    state, components, source, detail = report
    return StatusPageReport(
        state=state,
        components=components,
        source=source,
        url=url,
        http_status=status,
        detail=detail,
    )


def _not_json(body: bytes | str, content_type: str) -> str:
    head = body[:512].lstrip()
    head_text = head.decode("utf-8", "replace") if isinstance(head, bytes) else head
    kind = content_type.split(";", 1)[0].strip() or "no content type"
    if head_text.startswith("<"):
        return f"an HTML page ({kind}), not the JSON status document"
    if not head_text:
        return "an empty answer"
    return f"an unreadable or truncated JSON document ({kind})"


_Read = tuple[StatusState, tuple[ComponentStatus, ...], StatusSource, str]


def _read_document(document: Any) -> _Read | None:
    if not isinstance(document, Mapping):
        return None
    if isinstance(document.get("included"), list) or _is_betterstack_page(document.get("data")):
        return _read_betterstack(document)
    if isinstance(document.get("status"), Mapping) or isinstance(document.get("components"), list):
        return _read_atlassian(document)
    return None


def _is_betterstack_page(data: Any) -> bool:
    return isinstance(data, Mapping) and data.get("type") == "status_page"


def _text(value: Any) -> str:
    return value.strip() if isinstance(value, str) else ""


def _read_betterstack(document: Mapping[str, Any]) -> _Read | None:
    components: list[ComponentStatus] = []
    included = document.get("included")
    for item in included if isinstance(included, list) else ():
        if not isinstance(item, Mapping) or item.get("type") != "status_page_resource":
            continue
        attributes = item.get("attributes")
        if not isinstance(attributes, Mapping):
            continue
        name = _text(attributes.get("public_name")) or _text(attributes.get("name"))
        if not name:
            continue
        states = [
            _BETTERSTACK_STATES.get(_text(attributes.get(key)).lower(), "unknown")
            for key in ("status", "explicit_status")
            if attributes.get(key) is not None
        ]
        components.append(ComponentStatus(name, worst_state(states)))
    aggregate: StatusState = "unknown"
    data = document.get("data")
    if isinstance(data, Mapping) and isinstance(data.get("attributes"), Mapping):
        raw = _text(data["attributes"].get("aggregate_state")).lower()
        aggregate = _BETTERSTACK_STATES.get(raw, "unknown")
    if not components and aggregate == "unknown":
        return None
    state = worst_state([aggregate, *(c.state for c in components)])
    return state, tuple(components), "betterstack", ""


def _read_atlassian(document: Mapping[str, Any]) -> _Read | None:
    overall: StatusState = "unknown"
    description = ""
    status = document.get("status")
    if isinstance(status, Mapping):
        overall = _ATLASSIAN_INDICATORS.get(_text(status.get("indicator")).lower(), "unknown")
        description = _text(status.get("description"))
    components: list[ComponentStatus] = []
    listed = document.get("components")
    for item in listed if isinstance(listed, list) else ():
        if not isinstance(item, Mapping) or item.get("group") is True:
            continue
        name = _text(item.get("name"))
        if name:
            state = _ATLASSIAN_COMPONENTS.get(_text(item.get("status")).lower(), "unknown")
            components.append(ComponentStatus(name, state))
    if overall == "unknown" and not components:
        return None
    state = worst_state([overall, *(c.state for c in components)])
    return state, tuple(components), "atlassian", description


# ---- fetching (thin I/O) ------------------------------------------------------------------------


async def fetch_status_page(
    url: str, *, timeout: float = DEFAULT_STATUS_TIMEOUT
) -> tuple[int | None, bytes, str]:
    """GET ``url`` with a short timeout; ``(status, body, content_type)``. Raises httpx errors.

    The body is read up to :data:`MAX_STATUS_BODY` + 1 bytes (enough to tell it is too big).
    Proxy settings come from the environment, as for any httpx client.
    """
    headers = {"Accept": "application/json, text/html;q=0.5", "User-Agent": _user_agent()}
    async with (
        httpx.AsyncClient(timeout=timeout, follow_redirects=True, headers=headers) as client,
        client.stream("GET", url) as response,
    ):
        chunks: list[bytes] = []
        size = 0
        async for chunk in response.aiter_bytes():
            chunks.append(chunk)
            size += len(chunk)
            if size > MAX_STATUS_BODY:
                break
        content_type = response.headers.get("content-type", "")
        return response.status_code, b"".join(chunks), content_type


def _user_agent() -> str:
    return f"maintainx-resilient/{__version__} diagnostics"


async def fetch_status(
    ctx: DiagnosticContext,
    *,
    timeout: float | None = None,
    clock: Clock | None = None,
) -> StatusPageReport:
    """Fetch and read ``ctx.status_page_url``; never raises, never waits past ``timeout``.

    Uses ``ctx.fetch_status_page`` when given (tests, a proxy-aware fetcher), else
    :func:`fetch_status_page`. ``timeout`` defaults to half the diagnosis deadline, at most
    :data:`DEFAULT_STATUS_TIMEOUT`. Any failure is an ``unknown`` report saying why.
    """
    url = ctx.status_page_url
    clock = clock or ctx.clock or SYSTEM_CLOCK
    if not url:
        return _unknown(None, None, "no status page configured")
    limit = timeout if timeout is not None else min(DEFAULT_STATUS_TIMEOUT, ctx.deadline / 2)
    limit = max(0.0, limit)
    fetcher = ctx.fetch_status_page
    start = clock.monotonic()
    try:
        if fetcher is not None:
            answer = await asyncio.wait_for(fetcher(url), timeout=limit)
        else:
            answer = await asyncio.wait_for(
                fetch_status_page(url, timeout=max(limit, 0.001)), timeout=limit
            )
        status, body, content_type = answer
        report = parse_status_page(status, body, content_type, url=url)
    except Exception as exc:  # a fetch failure is "unknown", whatever it is
        if isinstance(exc, asyncio.TimeoutError) and not isinstance(exc, MaintainXError):
            why = f"the status page did not answer within {limit:.2f} s"
        else:  # the fetcher's own error (our TimeoutError is a built-in one too)
            why = f"could not fetch the status page ({_error_text(exc)})"
        report = _unknown(None, url, why)
    return replace(report, duration=clock.monotonic() - start)


def _error_text(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


# ---- rendering ----------------------------------------------------------------------------------


def _human_page(url: str | None) -> str:
    if not url:
        return "https://status.getmaintainx.com"
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else url


def render_status(report: StatusPageReport) -> str:
    """The report as a few lines of text, for the CLI's ``status`` command."""
    page = _human_page(report.url)
    lines: list[str] = []
    if report.state == "unknown":
        lines.append(f"MaintainX status: UNKNOWN ({report.detail or 'no information'})")
        lines.append(f"  This does not mean MaintainX is down. Check {page} in a browser.")
        return "\n".join(lines)
    source = {"betterstack": "Better Stack", "atlassian": "Statuspage"}.get(report.source, "")
    suffix = f" [{source}, {page}]" if source else f" [{page}]"
    lines.append(f"MaintainX status: {report.state.upper()}{suffix}")
    if report.detail:
        lines.append(f"  {report.detail}")
    if report.components:
        width = max(len(c.name) for c in report.components)
        lines.extend(f"  {c.name.ljust(width)}  {c.state}" for c in report.components)
    return "\n".join(lines)
