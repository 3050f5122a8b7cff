"""The framework-agnostic receiver: ``(method, url, headers, raw body)`` in, a status and a
body out.

Routes (prefix ``/webhooks/maintainx`` by default)::

    POST /webhooks/maintainx           the route named ""      (one subscription, or several
    POST /webhooks/maintainx/<route>   the route named <route>  of one event type each)
    GET  /webhooks/maintainx/health    200 while the queue answers, else 503

A POST is answered 2xx **only after the event is stored durably**:

1. the route is looked up (404 ``unknown_route``), the body size checked (413);
2. the signatures are verified (:mod:`.verify`; 401 with the reason code);
3. the dedupe key is computed (:mod:`.dedupe`) and the envelope handed to the queue through a
   group-commit thread; the answer waits for the write (503 if it fails or takes longer than
   ``store_timeout``, 1.5 s, so MaintainX, which gives up after 10 s, knows within 2 s that
   the event was not taken and retries);
4. 200 ``{"status": "accepted"}``, or 200 ``{"status": "duplicate"}`` for a redelivery.

The health check pings the queue on a thread of its own and waits at most ``health_timeout``
(1 s; 503 if no answer came): a queue that hangs (Redis stopped) never blocks the event loop
or the deliveries behind it.

Nothing is logged but the route, the reason code and fingerprints: never the body, never a
secret. :meth:`WebhookReceiver.handle` is for threaded servers (WSGI...);
:meth:`WebhookReceiver.ahandle` for asyncio (the ASGI app in :mod:`.asgi`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import Future
from concurrent.futures import TimeoutError as FutureTimeout
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable
from urllib.parse import urlsplit

from .._clock import SYSTEM_CLOCK, Clock
from .._deprecated import renamed
from .._secrets import Secret
from .dedupe import dedupe_key
from .metrics import WebhookMetrics
from .queue import GroupCommitter, WebhookQueue
from .records import Envelope, ReplayProgress
from .verify import (
    BODY_SIGNATURE_HEADER,
    DEFAULT_TOLERANCE,
    URI_SIGNATURE_HEADER,
    SigningKeys,
    UriCheck,
    Verification,
    sign_header,
    verify_delivery,
)

if TYPE_CHECKING:
    from .replay import ReplayResult

__all__ = [
    "DEFAULT_MAX_BODY",
    "DEFAULT_PATH_PREFIX",
    "DEFAULT_RECEIVER_HEALTH_TIMEOUT",
    "DEFAULT_STORE_TIMEOUT",
    "RouteSource",
    "StaticRoutes",
    "WebhookReceiver",
    "WebhookResponse",
    "WebhookRoute",
]

logger = logging.getLogger("maintainx_resilient.webhooks")

DEFAULT_PATH_PREFIX = "/webhooks/maintainx"
#: MaintainX payloads are a few kilobytes; anything above 1 MiB is refused (413).
DEFAULT_MAX_BODY = 1 << 20
#: The route label of deliveries to routes that do not exist.
UNKNOWN_ROUTE_LABEL = "<unknown>"
#: How long a delivery waits for its write before the receiver answers 503 (MaintainX waits
#: 10 s for an answer, then counts the delivery failed: a 503 well before that is retried).
DEFAULT_STORE_TIMEOUT = 1.5
#: How long the health check waits for the queue's ping before answering 503.
DEFAULT_RECEIVER_HEALTH_TIMEOUT = 1.0

_JSON = (("content-type", "application/json"),)


@dataclass(frozen=True)
class WebhookRoute:
    """Where one subscription delivers: its route name, event type, secrets (the current one
    first; older ones are still accepted during a rotation), subscription id and URL."""

    name: str
    event_type: str | None
    secrets: tuple[Secret, ...] = ()
    subscription_id: int | None = None
    url: str | None = field(default=None)

    @classmethod
    def create(
        cls,
        name: str,
        event_type: str | None,
        secrets: Iterable[str | Secret],
        *,
        subscription_id: int | None = None,
        url: str | None = None,
    ) -> WebhookRoute:
        """A route from plain secret strings (wrapped in :class:`Secret`)."""
        wrapped = tuple(s if isinstance(s, Secret) else Secret(s) for s in secrets)
        return cls(name, event_type, wrapped, subscription_id, url)

    @cached_property
    def keys(self) -> SigningKeys:
        return SigningKeys(self.secrets)


@runtime_checkable
class RouteSource(Protocol):
    """Where the receiver finds routes: :class:`StaticRoutes`, or the subscription registry
    (:class:`~maintainx_resilient.webhooks.registry.SubscriptionRegistry`), which follows
    changes to its file."""

    def route(self, name: str) -> WebhookRoute | None: ...

    def routes(self) -> Sequence[WebhookRoute]: ...


class StaticRoutes:
    """A fixed set of routes."""

    def __init__(self, routes: Iterable[WebhookRoute]) -> None:
        self._routes = {route.name: route for route in routes}

    def route(self, name: str) -> WebhookRoute | None:
        return self._routes.get(name)

    def routes(self) -> Sequence[WebhookRoute]:
        return list(self._routes.values())


@dataclass(frozen=True)
class WebhookResponse:
    """What to answer. ``outcome`` is ``accepted``, ``duplicate``, ``health``, or the reason
    code of a refusal (``bad_signature``, ``unknown_route``, ``store_failed``...)."""

    status: int
    body: bytes = b""
    headers: tuple[tuple[str, str], ...] = _JSON
    outcome: str = ""

    def json(self) -> Any:
        return json.loads(self.body) if self.body else None


def _response(
    status: int, payload: Mapping[str, Any], outcome: str, extra: Sequence[tuple[str, str]] = ()
) -> WebhookResponse:
    body = json.dumps(payload, separators=(",", ":")).encode()
    return WebhookResponse(status, body, (*_JSON, *extra), outcome)


@dataclass(frozen=True)
class _Accepted:
    """A request whose envelope is on its way to the queue: ``stored`` answers whether it
    was new."""

    route: WebhookRoute
    stored: Future[bool]


@dataclass(frozen=True)
class _Health:
    head: bool


class _HealthProbe:
    """Runs the queue's ``ping`` on a thread of its own, one at a time. Callers get a future
    and wait as long as they choose; while a ping hangs, later callers share it (pings never
    pile up, and a SQLite queue keeps one connection for them)."""

    def __init__(self, ping: Callable[[], bool]) -> None:
        self._ping = ping
        self._lock = threading.Lock()
        self._wanted = threading.Condition(self._lock)
        self._current: Future[bool] | None = None
        self._thread: threading.Thread | None = None
        self._closed = False

    def start(self) -> Future[bool]:
        """The answer of the ping in flight, or of a new one."""
        with self._lock:
            if self._closed:
                done: Future[bool] = Future()
                done.set_result(False)
                return done
            if self._current is None:
                self._current = Future()
                self._current.set_running_or_notify_cancel()  # a waiter's cancel cannot undo it
                self._wanted.notify()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="maintainx-webhook-health", daemon=True
                )
                self._thread.start()
            return self._current

    def _run(self) -> None:
        while True:
            with self._lock:
                while self._current is None and not self._closed:
                    self._wanted.wait()
                future = self._current
            if future is None:
                return
            try:
                ok = bool(self._ping())
            except Exception:
                ok = False
            with self._lock:
                self._current = None
            future.set_result(ok)

    def close(self) -> None:
        """Stop the thread once the ping in flight (if any) returns."""
        with self._lock:
            self._closed = True
            self._wanted.notify()


class WebhookReceiver:
    """Verify, durably enqueue, answer. See the module docstring.

    ``routes`` is a :class:`RouteSource` (e.g. the subscription registry) or routes.
    ``public_url`` is the scheme and host MaintainX calls (``https://example.com``) when a
    proxy in front changes them; it is used to rebuild the URI for the URI signature.
    ``health_url`` (your public ``.../health`` URL) is probed by :meth:`webhook_health`;
    ``client`` (a :class:`~maintainx_resilient.MaintainXClient`) lets it compare the
    configured secrets with MaintainX's.
    """

    def __init__(
        self,
        queue: WebhookQueue,
        routes: RouteSource | Iterable[WebhookRoute],
        *,
        prefix: str = DEFAULT_PATH_PREFIX,
        tolerance: float = DEFAULT_TOLERANCE,
        uri_check: UriCheck = "if_present",
        public_url: str | None = None,
        max_body: int = DEFAULT_MAX_BODY,
        store_timeout: float = DEFAULT_STORE_TIMEOUT,
        health_timeout: float = DEFAULT_RECEIVER_HEALTH_TIMEOUT,
        clock: Clock = SYSTEM_CLOCK,
        metrics: WebhookMetrics | None = None,
        commit_batch: int = 256,
        health_url: str | None = None,
        client: Any = None,
    ) -> None:
        if tolerance < 0:
            raise ValueError("tolerance must be >= 0 seconds")
        if store_timeout <= 0:
            raise ValueError("store_timeout must be > 0 seconds")
        if health_timeout <= 0:
            raise ValueError("health_timeout must be > 0 seconds")
        if uri_check not in ("if_present", "require", "ignore"):
            raise ValueError("uri_check must be 'if_present', 'require' or 'ignore'")
        self.queue = queue
        self.routes: RouteSource = (
            routes if isinstance(routes, RouteSource) else StaticRoutes(routes)
        )
        self.prefix = "/" + prefix.strip("/") if prefix.strip("/") else ""
        self.tolerance = tolerance
        self.uri_check: UriCheck = uri_check
        self.public_url = public_url.rstrip("/") if public_url else None
        self.max_body = max_body
        self.store_timeout = store_timeout
        self.health_timeout = health_timeout
        self.clock = clock
        self.metrics = metrics or WebhookMetrics()
        self.metrics.observe_queue(queue)
        self.health_url = health_url
        self.client = client
        self._committer = GroupCommitter(queue.enqueue, max_batch=commit_batch)
        self._probe = _HealthProbe(queue.ping)

    def __repr__(self) -> str:
        return f"WebhookReceiver(prefix={self.prefix!r}, queue={self.queue!r})"

    # -- the core ---------------------------------------------------------------------------

    def relative_path(self, path: str) -> str | None:
        """The part of ``path`` after the prefix (``""``, ``"/health"``, ``"/<route>"``), or
        None if ``path`` is not under the prefix."""
        if self.prefix and not (path == self.prefix or path.startswith(self.prefix + "/")):
            return None
        rest = path[len(self.prefix) :]
        return "" if rest == "/" else rest

    def uri_candidates(self, route: WebhookRoute, url: str) -> list[str]:
        """The full URIs MaintainX may have signed for a request that arrived at ``url``."""
        candidates = [route.url] if route.url else []
        parts = urlsplit(url)
        if parts.scheme and parts.netloc:
            candidates.append(url)
        if self.public_url:
            tail = parts.path + (f"?{parts.query}" if parts.query else "")
            candidates.append(self.public_url + tail)
        return candidates

    def verify(
        self, route: WebhookRoute, url: str, headers: Mapping[str, str], body: bytes
    ) -> Verification:
        """The signature check alone (nothing stored)."""
        return verify_delivery(
            headers,
            body,
            route.keys,
            now=self.clock.time(),
            uris=self.uri_candidates(route, url),
            tolerance=self.tolerance,
            uri_check=self.uri_check,
        )

    def _accept(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        route_path: str | None = None,
    ) -> WebhookResponse | _Accepted | _Health:
        """Route, check and hand to the queue: the answer at once, a health request, or the
        accepted request waiting for its store."""
        path = route_path if route_path is not None else (urlsplit(url).path or "/")
        rest = self.relative_path(path)
        method = method.upper()
        if rest is None:
            return _response(404, {"error": "not found"}, "not_found")
        if rest == "/health":
            if method not in ("GET", "HEAD"):
                return _response(
                    405, {"error": "method not allowed"}, "method", (("allow", "GET, HEAD"),)
                )
            return _Health(head=method == "HEAD")
        name = rest[1:] if rest else ""
        if method != "POST":
            return _response(405, {"error": "method not allowed"}, "method", (("allow", "POST"),))
        route = self.routes.route(name) if "/" not in name else None
        if route is None:
            # the name comes from the URL: never a metric label (unbounded cardinality)
            self.metrics.received(UNKNOWN_ROUTE_LABEL)
            self.metrics.rejected(UNKNOWN_ROUTE_LABEL, "unknown_route")
            logger.warning("webhook rejected: unknown_route (route %r)", name[:100])
            return _response(404, {"error": "unknown webhook route"}, "unknown_route")
        self.metrics.received(name)
        if len(body) > self.max_body:
            self.metrics.rejected(name, "body_too_large")
            logger.warning("webhook rejected: body_too_large (route %r)", name)
            return _response(413, {"error": "payload too large"}, "body_too_large")
        verdict = self.verify(route, url, headers, body)
        if not verdict.ok:
            reason = verdict.reason.value if verdict.reason else "rejected"
            self.metrics.rejected(name, reason)
            logger.warning(
                "webhook rejected: %s (route %r, header %s: %s)",
                reason,
                name,
                verdict.header,
                verdict.detail,
            )
            return _response(
                401, {"error": "signature verification failed", "reason": reason}, reason
            )
        envelope = Envelope(
            key=dedupe_key(name, route.event_type or "", body),
            route=name,
            event_type=route.event_type or "",
            body=body,
            received_at=self.clock.time(),
            subscription_id=route.subscription_id,
        )
        try:
            return _Accepted(route, self._committer.submit(envelope))
        except RuntimeError:  # closed
            return self._store_failed(route, RuntimeError("closed"))

    def _stored(self, route: WebhookRoute, stored: bool) -> WebhookResponse:
        name = route.name
        if stored:
            self.metrics.stored(name)
            return _response(200, {"status": "accepted"}, "accepted")
        self.metrics.duplicate(name)
        return _response(200, {"status": "duplicate"}, "duplicate")

    def _store_failed(self, route: WebhookRoute, exc: BaseException | None) -> WebhookResponse:
        kind = "timeout" if exc is None else type(exc).__name__
        self.metrics.store_failed(route.name, kind)
        logger.error("webhook not stored (route %r): %s; answered 503", route.name, kind)
        return _response(503, {"error": "the event could not be stored"}, "store_failed")

    # -- the shells -------------------------------------------------------------------------

    def handle(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        route_path: str | None = None,
    ) -> WebhookResponse:
        """Answer one request, blocking until the event is stored (threaded servers).

        ``url`` is the full URL the request arrived at (``https://host/webhooks/maintainx/x``;
        a bare path works when the subscription URL is known or ``public_url`` is set).
        ``headers`` may use any case. ``route_path`` routes by another path than the URL's
        (an app mounted below a prefix).
        """
        prepared = self._accept(method, url, headers, body, route_path)
        if isinstance(prepared, WebhookResponse):
            return prepared
        if isinstance(prepared, _Health):
            return self.health_response(head=prepared.head)
        try:
            stored = prepared.stored.result(timeout=self.store_timeout)
        except FutureTimeout:
            prepared.stored.cancel()
            return self._store_failed(prepared.route, None)
        except Exception as exc:
            return self._store_failed(prepared.route, exc)
        return self._stored(prepared.route, stored)

    async def ahandle(
        self,
        method: str,
        url: str,
        headers: Mapping[str, str],
        body: bytes,
        *,
        route_path: str | None = None,
    ) -> WebhookResponse:
        """Answer one request without blocking the event loop (the write runs on the
        group-commit thread). Arguments as :meth:`handle`."""
        prepared = self._accept(method, url, headers, body, route_path)
        if isinstance(prepared, WebhookResponse):
            return prepared
        if isinstance(prepared, _Health):
            return await self.ahealth_response(head=prepared.head)
        waiter = asyncio.wrap_future(prepared.stored)
        timed_out = False

        def expire() -> None:  # cheaper than asyncio.wait_for, which makes a task per call
            nonlocal timed_out
            timed_out = waiter.cancel()

        timer = asyncio.get_running_loop().call_later(self.store_timeout, expire)
        try:
            stored = await waiter
        except asyncio.CancelledError:
            if not timed_out:
                raise
            return self._store_failed(prepared.route, None)
        except Exception as exc:
            return self._store_failed(prepared.route, exc)
        finally:
            timer.cancel()
        return self._stored(prepared.route, stored)

    # -- health -----------------------------------------------------------------------------

    def health_response(self, *, head: bool = False) -> WebhookResponse:
        """``GET .../health``: 200 while the queue answers its ping within
        ``health_timeout``, 503 otherwise. Says nothing that would help an attacker (no
        counts, no routes)."""
        try:
            ok = self._probe.start().result(timeout=self.health_timeout)
        except FutureTimeout:
            ok = False
        return self._health(ok, head)

    async def ahealth_response(self, *, head: bool = False) -> WebhookResponse:
        """:meth:`health_response` without blocking the event loop."""
        try:
            ok = await asyncio.wait_for(
                asyncio.wrap_future(self._probe.start()), self.health_timeout
            )
        except asyncio.TimeoutError:
            ok = False
        return self._health(ok, head)

    def _health(self, ok: bool, head: bool) -> WebhookResponse:
        payload = {"status": "ok" if ok else "unavailable", "queue": self.queue.backend}
        response = _response(200 if ok else 503, payload, "health")
        if head:
            return WebhookResponse(response.status, b"", response.headers, "health")
        return response

    def self_test(self) -> bool | None:
        """Sign a probe with each route's current secret and verify it the way a delivery
        is verified (nothing stored). None when no route has a secret."""
        results = []
        now = self.clock.time()
        body = json.dumps({"selfTest": True, "occurredAt": now}).encode()
        for route in self.routes.routes():
            if not route.secrets:
                continue
            stamp = str(int(now))
            url = route.url or f"{self.public_url or 'http://localhost'}{self.prefix}/{route.name}"
            headers = {
                BODY_SIGNATURE_HEADER: sign_header(route.secrets[0], stamp, body),
                URI_SIGNATURE_HEADER: sign_header(route.secrets[0], stamp, url.encode()),
            }
            results.append(self.verify(route, url, headers, body).ok)
        return all(results) if results else None

    def webhook_health(self) -> dict[str, Any]:
        """What RB-003 reads (:class:`~maintainx_resilient.diagnostics._context.
        WebhookHealthSource`); see :func:`.health.collect`."""
        from .health import collect

        return collect(self)

    # -- RB-003 mitigations -----------------------------------------------------------------

    def pause(self) -> None:
        """Stop every worker of the queue taking events ("temporarily pause webhook processing
        if overwhelmed"); deliveries are still verified, stored and acknowledged."""
        self.queue.pause()

    def resume(self) -> None:
        self.queue.resume()

    def replay_failed(
        self,
        *,
        ids: Sequence[str] | None = None,
        older_than: float | None = None,
        newer_than: float | None = None,
        progress: Callable[[ReplayProgress], None] | None = None,
    ) -> ReplayResult:
        """Move dead letters back to the queue ("replay failed webhooks"): all of them, or
        those selected by id and/or failure age (seconds)."""
        from .replay import replay_dead_letters

        everything = ids is None and older_than is None and newer_than is None
        return replay_dead_letters(
            self.queue,
            all=everything,
            ids=ids,
            older_than=older_than,
            newer_than=newer_than,
            progress=progress,
        )

    # -- lifecycle --------------------------------------------------------------------------

    def close(self) -> None:
        """Finish the writes in progress and stop the group-commit thread (the queue stays
        open: it belongs to the caller)."""
        self._committer.close()
        self._probe.close()

    def __enter__(self) -> WebhookReceiver:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


#: Renamed public names, still answered (with a DeprecationWarning).
_RENAMED = {
    "DEFAULT_PREFIX": "DEFAULT_PATH_PREFIX",
    "DEFAULT_HEALTH_TIMEOUT": "DEFAULT_RECEIVER_HEALTH_TIMEOUT",
}


def __getattr__(name: str) -> Any:
    return renamed(__name__, name, _RENAMED, globals())
