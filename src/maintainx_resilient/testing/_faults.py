"""Fault controls: the failures a MaintainX client must survive, switched on from tests.

``FaultControls`` is thread-safe (tests flip faults while a server thread serves requests).
For each request the simulator asks ``plan(request)``, which consumes at most one counted
fault and says whether to answer instead of processing (an error status, an HTML proxy page, a
dropped or refused connection, a connection left hanging), what to do to the real answer
after processing (drop it, truncate it, scramble its types), and how long to wait first.
"""

from __future__ import annotations

import json
import random
import threading
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Any, Literal

from ._messages import JSON_CONTENT_TYPE, SimResponse, json_response

__all__ = ["FaultControls", "FaultPlan", "MalformedKind", "mangle"]

MalformedKind = Literal["html", "truncated", "wrong_type"]
After = Literal["drop", "truncated", "wrong_type"]

PROXY_502_HTML = (
    b"<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
    b"<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n"
    b"</body>\r\n</html>\r\n"
)


@dataclass(frozen=True)
class FaultPlan:
    """What the faults decided for one request."""

    response: SimResponse | None = None  # answer this instead of processing the request
    after: After | None = None  # then do this to the real answer
    delay: float = 0.0  # wait this long (seconds) before answering
    fault: str | None = None  # name of the fault that fired, for stats


@dataclass
class _Counted:
    remaining: int
    method: str | None
    path: str | None
    payload: dict[str, Any] = field(default_factory=dict)

    def matches(self, method: str, path: str) -> bool:
        return (self.method is None or self.method.upper() == method.upper()) and (
            self.path is None or self.path in path
        )


class FaultControls:
    """Switches for injected failures; every method is safe to call from any thread.

    ``method``/``path`` arguments restrict a fault to requests with that HTTP method and
    whose path contains ``path`` (e.g. ``path="/workorders"``).
    """

    def __init__(self, seed: int | str = 0) -> None:
        self._lock = threading.Lock()
        self._rng = random.Random(f"faults:{seed}")
        self._queue: list[tuple[str, _Counted]] = []
        self._error_rate = 0.0
        self._error_status = 500
        self._error_body: Any = None
        self._latency = 0.0
        self._outage: Literal["error", "refuse"] | None = None
        self._outage_status = 503

    # -- switches ----------------------------------------------------------------------------

    def fail_next(
        self,
        n: int = 1,
        status: int = 503,
        body: Any = None,
        *,
        headers: dict[str, str] | None = None,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Answer the next ``n`` (matching) requests with ``status`` without processing them.

        ``body`` is JSON-encoded (bytes/str are sent as they are); by default it is the error
        "shape B" ``{"error": <reason>}``. ``headers`` are added (e.g. ``{"Retry-After": "2"}``).
        """
        payload = {"status": status, "body": body, "headers": dict(headers or {})}
        self._add("fail", n, method, path, payload)

    def drop_connections(
        self,
        n: int = 1,
        *,
        after_processing: bool = False,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Close the connection without an answer on the next ``n`` requests.

        With ``after_processing=True`` the request takes effect first (a create creates), and
        only the answer is lost: what makes a retried POST create a duplicate.
        """
        self._add("drop", n, method, path, {"after": after_processing})

    def malformed(
        self,
        n: int = 1,
        kind: MalformedKind = "html",
        *,
        method: str | None = None,
        path: str | None = None,
    ) -> None:
        """Corrupt the next ``n`` answers.

        ``html``: an HTML 502 page from a proxy, the request never reaches the API.
        ``truncated``: the real answer (status 200 for a good request) with its JSON body cut
        in half. ``wrong_type``: the real answer with every JSON value of the wrong type.
        """
        if kind not in ("html", "truncated", "wrong_type"):
            raise ValueError(f"unknown malformed kind {kind!r}")
        self._add("malformed", n, method, path, {"kind": kind})

    def hang(self, n: int = 1, *, method: str | None = None, path: str | None = None) -> None:
        """Never answer the next ``n`` requests (the client's read timeout fires)."""
        self._add("hang", n, method, path, {})

    def error_rate(self, rate: float, status: int = 500, body: Any = None) -> None:
        """Fail this fraction of requests (seeded, reproducible); 0 turns it off."""
        if not 0.0 <= rate <= 1.0:
            raise ValueError("error rate must be between 0 and 1")
        with self._lock:
            self._error_rate, self._error_status, self._error_body = rate, status, body

    def latency(self, seconds: float) -> None:
        """Delay every answer by ``seconds`` (with the simulator's injected sleep); 0 = off."""
        if seconds < 0:
            raise ValueError("latency must be >= 0")
        with self._lock:
            self._latency = seconds

    def outage(self, mode: Literal["error", "refuse"] = "error", status: int = 503) -> None:
        """Full outage: every request answers ``status`` (or is refused with ``"refuse"``)."""
        if mode not in ("error", "refuse"):
            raise ValueError("outage mode must be 'error' or 'refuse'")
        with self._lock:
            self._outage, self._outage_status = mode, status

    def heal(self) -> None:
        """Clear every fault: counted ones, error rate, latency and outage."""
        with self._lock:
            self._queue.clear()
            self._error_rate = 0.0
            self._latency = 0.0
            self._outage = None

    @property
    def active(self) -> bool:
        """Whether any fault is switched on."""
        with self._lock:
            return bool(self._queue or self._error_rate or self._latency or self._outage)

    def _add(
        self, kind: str, n: int, method: str | None, path: str | None, payload: dict[str, Any]
    ) -> None:
        if n < 0:
            raise ValueError("n must be >= 0")
        if n:
            with self._lock:
                self._queue.append((kind, _Counted(n, method, path, payload)))

    # -- decision ----------------------------------------------------------------------------

    def plan(self, method: str, path: str) -> FaultPlan:
        """Decide the faults for one request (consumes at most one counted fault)."""
        with self._lock:
            delay = self._latency
            if self._outage == "refuse":
                return FaultPlan(SimResponse(0, action="refuse"), delay=delay, fault="outage")
            if self._outage == "error":
                return FaultPlan(_error(self._outage_status), delay=delay, fault="outage")
            for index, (kind, counted) in enumerate(self._queue):
                if not counted.matches(method, path):
                    continue
                counted.remaining -= 1
                if counted.remaining <= 0:
                    del self._queue[index]
                return self._counted_plan(kind, counted.payload, delay)
            if self._error_rate and self._rng.random() < self._error_rate:
                return FaultPlan(
                    _error(self._error_status, self._error_body), delay=delay, fault="error_rate"
                )
            return FaultPlan(delay=delay)

    @staticmethod
    def _counted_plan(kind: str, payload: dict[str, Any], delay: float) -> FaultPlan:
        if kind == "fail":
            response = _error(payload["status"], payload["body"])
            response.headers.update(payload["headers"])
            return FaultPlan(response, delay=delay, fault="fail_next")
        if kind == "drop":
            if payload["after"]:
                return FaultPlan(after="drop", delay=delay, fault="drop_connections")
            return FaultPlan(SimResponse(0, action="drop"), delay=delay, fault="drop_connections")
        if kind == "hang":
            return FaultPlan(SimResponse(0, action="hang"), delay=delay, fault="hang")
        malformed: MalformedKind = payload["kind"]
        if malformed == "html":
            page = SimResponse(502, {"Content-Type": "text/html"}, PROXY_502_HTML)
            return FaultPlan(page, delay=delay, fault="malformed")
        return FaultPlan(after=malformed, delay=delay, fault="malformed")


def _error(status: int, body: Any = None) -> SimResponse:
    if body is None:
        try:
            reason = HTTPStatus(status).phrase
        except ValueError:
            reason = "Error"
        if status == 429:
            reason = "Too many requests. Please retry in 10 seconds"
        return json_response(status, {"error": reason})
    if isinstance(body, (bytes, str)):
        raw = body.encode() if isinstance(body, str) else body
        return SimResponse(status, {"Content-Type": JSON_CONTENT_TYPE}, raw)
    return json_response(status, body)


def mangle(response: SimResponse, kind: After) -> SimResponse:
    """Apply an after-processing fault to a real answer."""
    if kind == "drop":
        return SimResponse(0, action="drop")
    if kind == "truncated":
        body = response.body[: max(1, len(response.body) // 2)] if response.body else b"{"
        return SimResponse(response.status, dict(response.headers), body)
    try:
        decoded = json.loads(response.body) if response.body else {}
    except ValueError:
        decoded = {}
    body = json.dumps(_wrong_types(decoded), separators=(",", ":")).encode()
    headers = dict(response.headers)
    headers["Content-Type"] = JSON_CONTENT_TYPE
    return SimResponse(response.status, headers, body)


def _wrong_types(value: Any) -> Any:
    """Same keys, every leaf of another JSON type (strings become numbers and so on)."""
    if isinstance(value, dict):
        return {key: _wrong_types(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_wrong_types(item) for item in value] or {"unexpected": "object"}
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (int, float)):
        return str(value)
    if isinstance(value, str):
        return len(value)
    return ["null"]
