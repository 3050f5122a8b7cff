"""In-process httpx transport: ``httpx.Client(transport=sim.transport())`` talks to a simulator.

One class serves both ``httpx.Client`` and ``httpx.AsyncClient``. Connection faults become the
exceptions a real network would raise: a refused connection ``httpx.ConnectError``, a dropped
one ``httpx.ReadError``, an unanswered request or a latency longer than the client's read
timeout ``httpx.ReadTimeout`` (after waiting that timeout with the simulator's sleep).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import httpx

from ._messages import SimRequest, SimResponse

if TYPE_CHECKING:
    from ._simulator import Simulator

__all__ = ["SimulatorTransport"]


def _to_sim(request: httpx.Request, body: bytes) -> SimRequest:
    return SimRequest(
        method=request.method,
        path=request.url.path,
        query=list(request.url.params.multi_items()),
        headers={k.decode("latin-1").lower(): v.decode("latin-1") for k, v in request.headers.raw},
        body=body,
    )


def _read_timeout(request: httpx.Request) -> float | None:
    timeouts = request.extensions.get("timeout")
    if isinstance(timeouts, dict):
        value = timeouts.get("read")
        return float(value) if isinstance(value, (int, float)) else None
    return None


def _wait_plan(response: SimResponse, request: httpx.Request, hang: float) -> tuple[float, bool]:
    """How long to wait, and whether the client's read timeout fires instead of an answer."""
    timeout = _read_timeout(request)
    wait = response.delay + (hang if response.action == "hang" else 0.0)
    if timeout is not None and wait > timeout:
        return timeout, True
    return wait, response.action == "hang"


def _to_httpx(response: SimResponse, request: httpx.Request) -> httpx.Response:
    if response.action == "refuse":
        raise httpx.ConnectError("[Errno 111] Connection refused (simulated)", request=request)
    if response.action == "drop":
        raise httpx.ReadError(
            "Server disconnected without sending a response (simulated)", request=request
        )
    return httpx.Response(
        response.status,
        headers=list(response.headers.items()),
        content=response.body,
        request=request,
        extensions={"http_version": b"HTTP/1.1"},
    )


class SimulatorTransport(httpx.BaseTransport, httpx.AsyncBaseTransport):
    """An httpx transport (sync and async) that answers from a ``Simulator`` in process."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()
        response = self.simulator.handle(_to_sim(request, body))
        wait, timed_out = _wait_plan(response, request, self.simulator.hang_seconds)
        if wait > 0:
            self.simulator.sleep(wait)
        if timed_out:
            raise httpx.ReadTimeout("timed out (simulated)", request=request)
        return _to_httpx(response, request)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        body = await request.aread()
        response = self.simulator.handle(_to_sim(request, body))
        wait, timed_out = _wait_plan(response, request, self.simulator.hang_seconds)
        if wait > 0:
            await self.simulator.async_sleep(wait)
        if timed_out:
            raise httpx.ReadTimeout("timed out (simulated)", request=request)
        return _to_httpx(response, request)
