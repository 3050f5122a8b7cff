"""Network primitives for RB-001: DNS resolution, TCP connect, TLS handshake, and a probe.

Each primitive is timed with the injected clock and bounded by a timeout, and reports what
happened as a :class:`StepResult` instead of raising: a diagnosis must never hang on, or crash
because of, the thing it diagnoses. Timeouts run on the event loop's own (real) time, so a
fake clock in tests changes the measured durations, never how long anything may wait.

- :func:`resolve_host` is ``nslookup``: ``loop.getaddrinfo`` in the loop's resolver thread.
- :func:`connect` is ``nc -z`` followed, for ``https``, by the TLS handshake that ``curl``
  would do, over the same connection (``loop.start_tls``), each step timed on its own.
- :func:`httpx_probe` builds the :class:`~._context.DiagnosticContext` ``probe`` callable
  over an ``httpx.AsyncClient`` (what the tests use, and a ready-made probe for callers that
  have a client configured with auth headers and a base URL).
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import socket
import ssl
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

import httpx

from .._clock import SYSTEM_CLOCK, Clock
from ._context import Probe, ProbeResult
from ._model import Check

__all__ = [
    "Budget",
    "ConnectOutcome",
    "StepError",
    "StepResult",
    "Target",
    "connect",
    "httpx_probe",
    "parse_target",
    "resolve_host",
    "skipped",
]

#: Why a step failed. ``dns_failed``: the name did not resolve_host; ``refused``: nothing listens
#: (RST); ``timeout``: no answer in time (SYNs dropped by a firewall, a resolver or a peer that
#: never answers); ``unreachable``: no route to the host or network; ``tls_failed``: the
#: handshake failed (wrong protocol, certificate, interception proxy); ``error``: anything else.
StepError = Literal["dns_failed", "refused", "timeout", "unreachable", "tls_failed", "error"]

_UNREACHABLE_ERRNOS = frozenset(
    code
    for code in (
        getattr(errno, "ENETUNREACH", None),
        getattr(errno, "EHOSTUNREACH", None),
        getattr(errno, "ENETDOWN", None),
        getattr(errno, "EHOSTDOWN", None),
        getattr(errno, "EADDRNOTAVAIL", None),
    )
    if code is not None
)


@dataclass(frozen=True)
class Target:
    """Where the API lives: the host and port a connection goes to, and whether it is TLS."""

    scheme: str
    host: str
    port: int

    @property
    def tls(self) -> bool:
        return self.scheme == "https"

    def __str__(self) -> str:
        return f"{self.host}:{self.port}"


def parse_target(base_url: str) -> Target:
    """The host and port of ``base_url`` (default port from the scheme). ValueError if none."""
    parts = urlsplit(base_url)
    scheme = (parts.scheme or "https").lower()
    if scheme not in ("http", "https"):
        raise ValueError(f"base URL scheme must be http or https, got {base_url!r}")
    host = parts.hostname
    if not host:
        raise ValueError(f"base URL has no host: {base_url!r}")
    port = parts.port or (443 if scheme == "https" else 80)
    return Target(scheme=scheme, host=host, port=port)


@dataclass(frozen=True)
class StepResult:
    """One timed network step. ``ok`` is None when the step was skipped."""

    name: str
    ok: bool | None
    duration: float = 0.0
    error: StepError | None = None
    detail: str = ""
    addresses: tuple[str, ...] = ()

    def to_check(self) -> Check:
        return Check(name=self.name, ok=self.ok, duration=self.duration, detail=self.detail)


def skipped(name: str, why: str) -> StepResult:
    """A step that was not run (``ok`` None), e.g. ``skipped("TLS handshake", "http")``."""
    return StepResult(name=name, ok=None, detail=f"skipped: {why}")


class Budget:
    """What is left of a diagnosis deadline, on the event loop's clock (the one timeouts use).

    ``step(share)`` is the timeout for one step: ``share`` of the whole deadline, never more
    than what is left (minus a small reserve for the bookkeeping after the last step).
    """

    def __init__(self, total: float, *, reserve: float = 0.02) -> None:
        self.total = max(0.0, float(total))
        self._loop = asyncio.get_running_loop()
        self._start = self._loop.time()
        self._reserve = min(reserve * self.total, 0.25)

    def elapsed(self) -> float:
        return self._loop.time() - self._start

    def remaining(self) -> float:
        return max(0.0, self.total - self._reserve - self.elapsed())

    def step(self, share: float) -> float:
        return max(0.0, min(self.total * share, self.remaining()))


def _describe(exc: BaseException) -> str:
    text = str(exc).strip()
    name = type(exc).__name__
    return f"{name}: {text}" if text else name


def _os_error_kind(exc: OSError) -> StepError:
    if isinstance(exc, ConnectionRefusedError):
        return "refused"
    if isinstance(exc, TimeoutError):
        return "timeout"
    if exc.errno in _UNREACHABLE_ERRNOS:
        return "unreachable"
    return "error"


async def resolve_host(
    host: str,
    port: int,
    *,
    timeout: float,
    clock: Clock = SYSTEM_CLOCK,
    name: str = "DNS resolution",
) -> StepResult:
    """Resolve ``host`` (``nslookup``); the addresses found, or why not. An IP address
    resolves to itself without asking the resolver."""
    loop = asyncio.get_running_loop()
    start = clock.monotonic()
    try:
        literal = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        pass
    else:
        return StepResult(name, True, 0.0, None, f"{host} is an IP address", (str(literal),))
    try:
        infos = await asyncio.wait_for(
            loop.getaddrinfo(host, port, type=socket.SOCK_STREAM), timeout=timeout
        )
    except asyncio.TimeoutError:
        detail = f"{host}: no answer from the resolver within {timeout:.2f} s"
        return StepResult(name, False, clock.monotonic() - start, "timeout", detail)
    except (OSError, UnicodeError) as exc:  # socket.gaierror among them
        detail = f"{host}: {_describe(exc)}"
        return StepResult(name, False, clock.monotonic() - start, "dns_failed", detail)
    addresses: list[str] = []
    for info in infos:
        address = str(info[4][0])
        if address not in addresses:
            addresses.append(address)
    duration = clock.monotonic() - start
    if not addresses:
        return StepResult(name, False, duration, "dns_failed", f"{host}: no addresses")
    return StepResult(
        name, True, duration, None, f"{host} -> {', '.join(addresses)}", tuple(addresses)
    )


class _Recorder(asyncio.Protocol):
    """Remembers what the peer did before the TLS handshake (a TLS server waits silently)."""

    def __init__(self) -> None:
        self.received = b""
        self.closed = False

    def data_received(self, data: bytes) -> None:
        self.received = (self.received + data)[:64]

    def eof_received(self) -> bool | None:
        self.closed = True
        return None

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True


@dataclass(frozen=True)
class ConnectOutcome:
    """The TCP step, and the TLS step (None when the target is not TLS or TCP failed)."""

    tcp: StepResult
    tls: StepResult | None


async def connect(
    target: Target,
    addresses: tuple[str, ...],
    *,
    tcp_timeout: float,
    tls_timeout: float,
    clock: Clock = SYSTEM_CLOCK,
    ssl_context: ssl.SSLContext | None = None,
) -> ConnectOutcome:
    """Open a TCP connection to the first address that accepts (``nc -zv host port``) and,
    for ``https``, do the TLS handshake over it; then close it. Never raises.

    ``addresses`` are tried in order within ``tcp_timeout`` overall (the host name itself when
    empty). The handshake verifies the certificate against ``target.host`` (the default
    context, unless ``ssl_context`` is given).
    """
    loop = asyncio.get_running_loop()
    candidates = addresses or (target.host,)
    start = clock.monotonic()
    deadline = loop.time() + tcp_timeout
    transport: asyncio.Transport | None = None
    protocol: _Recorder | None = None
    failures: list[tuple[str, StepError, str]] = []
    connected_to = ""
    for address in candidates:
        left = deadline - loop.time()
        if left <= 0:
            failures.append((address, "timeout", "no time left"))
            break
        try:
            transport, protocol = await asyncio.wait_for(
                loop.create_connection(_Recorder, address, target.port), timeout=left
            )
        except asyncio.TimeoutError:
            failures.append((address, "timeout", f"no answer within {tcp_timeout:.2f} s"))
            continue
        except OSError as exc:
            failures.append((address, _os_error_kind(exc), _describe(exc)))
            continue
        connected_to = address
        break
    tcp_duration = clock.monotonic() - start
    name = "TCP connect"
    if transport is None or protocol is None:
        kind = _worst_failure([f[1] for f in failures])
        detail = "; ".join(f"{a}:{target.port} {why}" for a, _, why in failures)
        return ConnectOutcome(StepResult(name, False, tcp_duration, kind, detail), None)
    tcp = StepResult(name, True, tcp_duration, None, f"connected to {connected_to}:{target.port}")
    if not target.tls:
        transport.close()
        return ConnectOutcome(tcp, None)
    tls = await _handshake(transport, protocol, target, tls_timeout, clock, ssl_context)
    return ConnectOutcome(tcp, tls)


def _worst_failure(kinds: list[StepError]) -> StepError:
    """The most telling failure over several addresses: one that answered beats silence."""
    for kind in ("refused", "timeout", "unreachable", "error"):
        if kind in kinds:
            return kind
    return "error"


async def _handshake(
    transport: asyncio.Transport,
    protocol: _Recorder,
    target: Target,
    timeout: float,
    clock: Clock,
    ssl_context: ssl.SSLContext | None,
) -> StepResult:
    loop = asyncio.get_running_loop()
    context = ssl_context or ssl.create_default_context()
    name = "TLS handshake"
    start = clock.monotonic()

    def failed(detail: str) -> StepResult:
        transport.abort()
        return StepResult(name, False, clock.monotonic() - start, "tls_failed", detail)

    await asyncio.sleep(0)  # let anything the peer sent unasked arrive first
    if protocol.received or protocol.closed or transport.is_closing():
        what = f"sent {protocol.received!r} unasked" if protocol.received else "closed"
        return failed(f"{target} {what} before the TLS handshake: not a TLS server")
    try:
        secured = await asyncio.wait_for(
            loop.start_tls(
                transport,
                protocol,
                context,
                server_hostname=target.host,
                ssl_handshake_timeout=max(timeout, 0.001),
            ),
            timeout=timeout,
        )
    except (asyncio.TimeoutError, TimeoutError):
        return failed(f"no TLS answer from {target} within {timeout:.2f} s")
    except ssl.SSLCertVerificationError as exc:
        return failed(
            f"certificate of {target.host} rejected: {exc.verify_message or _describe(exc)}"
        )
    except (ssl.SSLError, OSError, EOFError) as exc:
        return failed(f"{target}: {_describe(exc)}")
    duration = clock.monotonic() - start
    ssl_object = secured.get_extra_info("ssl_object") if secured is not None else None
    if secured is not None:
        secured.abort()
    transport.abort()
    if not isinstance(ssl_object, ssl.SSLObject):
        detail = f"{target}: the connection closed during the TLS handshake"
        return StepResult(name, False, duration, "tls_failed", detail)
    version = str(ssl_object.version() or "")
    detail = f"handshake with {target.host} ok" + (f" ({version})" if version else "")
    return StepResult(name, True, duration, None, detail)


def httpx_probe(client: httpx.AsyncClient, *, clock: Clock = SYSTEM_CLOCK) -> Probe:
    """A ``DiagnosticContext.probe`` over ``client`` (its base URL, auth and timeouts).

    Answers become ``ProbeResult(status=...)``; no answer becomes ``error="TimeoutError"``
    (any httpx timeout) or ``"ConnectionError"`` (any other transport error). Response headers
    are kept except ``set-cookie``; request headers (the key) are never recorded.
    """

    async def probe(method: str, path: str, headers: Mapping[str, str]) -> ProbeResult:
        start = clock.monotonic()
        try:
            response = await client.request(method, path, headers=dict(headers))
        except httpx.TimeoutException as exc:
            return ProbeResult(
                method, path, clock.monotonic() - start, None, "TimeoutError", _describe(exc)
            )
        except httpx.TransportError as exc:
            return ProbeResult(
                method, path, clock.monotonic() - start, None, "ConnectionError", _describe(exc)
            )
        kept = {k: v for k, v in response.headers.items() if k.lower() != "set-cookie"}
        reason = response.reason_phrase or ""
        return ProbeResult(
            method,
            path,
            clock.monotonic() - start,
            status=response.status_code,
            detail=f"{response.status_code} {reason}".strip(),
            headers=kept,
        )

    return probe
