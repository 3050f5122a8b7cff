"""The plain request/response values the simulator core works on (no I/O, no httpx)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal

__all__ = [
    "SimAction",
    "SimRequest",
    "SimResponse",
    "json_response",
]

#: What the I/O shell must do with a response: send it, close the connection without an
#: answer ("drop"), refuse the connection ("refuse"), or keep it open unanswered ("hang").
SimAction = Literal["respond", "drop", "refuse", "hang"]

JSON_CONTENT_TYPE = "application/json; charset=utf-8"


@dataclass(frozen=True)
class SimRequest:
    """One HTTP request, as the simulator sees it.

    ``path`` is the URL path (``/v1/workorders``), ``query`` the decoded query pairs in order
    (repeated keys kept), ``headers`` uses lower-case names.
    """

    method: str
    path: str
    query: list[tuple[str, str]] = field(default_factory=list)
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""

    def param(self, name: str) -> str | None:
        """The last value of a query parameter, or None."""
        found = None
        for key, value in self.query:
            if key == name:
                found = value
        return found

    def params(self, name: str) -> list[str]:
        """Every value of a repeated query parameter, in order."""
        return [value for key, value in self.query if key == name]


@dataclass
class SimResponse:
    """One HTTP response plus what the transport must do with it.

    ``delay`` is the latency (seconds) the I/O shell waits before answering, with the
    simulator's injected sleep. With ``action != "respond"`` status, headers and body are unused.
    """

    status: int
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes = b""
    action: SimAction = "respond"
    delay: float = 0.0

    def json(self) -> Any:
        """The body decoded as JSON (for tests)."""
        return json.loads(self.body)


def json_response(status: int, payload: Any, headers: dict[str, str] | None = None) -> SimResponse:
    """A JSON response with compact encoding."""
    body = json.dumps(payload, separators=(",", ":")).encode()
    merged = {"Content-Type": JSON_CONTENT_TYPE}
    if headers:
        merged.update(headers)
    return SimResponse(status, merged, body)
