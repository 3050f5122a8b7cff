"""The :class:`Observer`: spans per attempt, and events turned into metrics and log lines;
:class:`AttemptLayer`, the pipeline layer that shows it every attempt.

The public description (metric names, attributes, PromQL) is in
:mod:`maintainx_resilient.telemetry`.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Any

import httpx
from opentelemetry import context as otel_context
from opentelemetry import metrics, trace
from opentelemetry.trace import SpanKind, Status, StatusCode

from .._clock import SYSTEM_CLOCK, Clock
from .._events import (
    BreakerStateChanged,
    Event,
    EventBus,
    FallbackServed,
    KeyRotated,
    RequestCompleted,
    ResponseUnreadable,
    RetryScheduled,
    ThrottleWaited,
    ThrottleWarning,
)
from .._extensions import RESEND_COUNT_EXTENSION, ROUTE_EXTENSION
from .._http import route_of
from .._layer import AsyncLayer, Layer
from .._version import __version__
from ._logging import get_logger, redact
from ._names import (
    ATTR_BREAKER_FROM,
    ATTR_BREAKER_STATE,
    ATTR_BREAKER_TO,
    ATTR_ERROR_TYPE,
    ATTR_METHOD,
    ATTR_REASON,
    ATTR_RESEND_COUNT,
    ATTR_ROUTE,
    ATTR_SCOPE,
    ATTR_SERVER_ADDRESS,
    ATTR_SERVER_PORT,
    ATTR_STATUS_CLASS,
    ATTR_STATUS_CODE,
    ATTR_URL_FULL,
    ATTR_URL_TEMPLATE,
    DURATION_BUCKETS,
    METRIC_BREAKER_STATE,
    METRIC_BREAKER_TRANSITIONS,
    METRIC_ERRORS,
    METRIC_FALLBACK_AGE,
    METRIC_FALLBACK_SERVED,
    METRIC_KEY_ROTATIONS,
    METRIC_RATE_LIMITED,
    METRIC_REQUEST_DURATION,
    METRIC_REQUESTS,
    METRIC_RETRIES,
    METRIC_THROTTLE_WAIT,
    SCHEMA_URL,
    SCOPE_NAME,
)

__all__ = [
    "AsyncAttemptLayer",
    "Attempt",
    "AttemptLayer",
    "Observer",
    "full_url",
    "status_class",
]


#: Query parameters whose values are replaced by ``REDACTED`` in ``url.full`` (the HTTP
#: semantic conventions' list, plus the usual names of credentials).
_SENSITIVE_PARAMS = frozenset(
    {
        "awsaccesskeyid",
        "signature",
        "sig",
        "x-goog-signature",
        "access_token",
        "api_key",
        "apikey",
        "key",
        "token",
        "secret",
        "client_secret",
        "password",
    }
)

_Attrs = dict[str, Any]


def full_url(url: httpx.URL) -> str:
    """``url`` for ``url.full``: no user info, no credential-like query values, no secrets."""
    if url.userinfo:
        url = url.copy_with(username="REDACTED", password="REDACTED")
    if url.query:
        pairs = url.params.multi_items()
        if any(k.lower() in _SENSITIVE_PARAMS for k, _ in pairs):
            url = url.copy_with(
                params=[(k, "REDACTED" if k.lower() in _SENSITIVE_PARAMS else v) for k, v in pairs]
            )
    return redact(str(url))


def status_class(status: int | None) -> str:
    """``"2xx"``..``"5xx"`` for a status, ``"error"`` when no response came."""
    return f"{status // 100}xx" if status is not None else "error"


def _normal_state(state: str) -> str:
    name = state.strip().lower().replace("-", "_").replace(" ", "_")
    return "half_open" if name == "halfopen" else name


class Attempt:
    """One attempt in flight: its span and its start time. Made by :meth:`Observer.attempt`;
    finish it exactly once with :meth:`succeeded` or :meth:`failed`."""

    __slots__ = (
        "_address",
        "_observer",
        "_port",
        "_span",
        "_start_ns",
        "_started",
        "_token",
        "method",
        "request",
        "resend_count",
        "route",
        "template",
    )

    def __init__(self, observer: Observer, request: httpx.Request) -> None:
        self._observer = observer
        self.request = request
        extensions = request.extensions
        previous = extensions.get(RESEND_COUNT_EXTENSION)
        resend_count = previous + 1 if isinstance(previous, int) else 0
        extensions[RESEND_COUNT_EXTENSION] = self.resend_count = resend_count
        method = self.method = request.method
        template = extensions.get(ROUTE_EXTENSION)
        if not isinstance(template, str):
            template = None
        self.template: str | None = template
        self.route = template or route_of(request)
        clock = observer.clock
        start_ns = self._start_ns = int(clock.time() * 1e9)
        self._started = clock.monotonic()
        url = request.url
        address = self._address = url.host
        port = self._port = url.port or (443 if url.scheme == "https" else 80)
        attributes: _Attrs = {
            ATTR_METHOD: method,
            ATTR_SERVER_ADDRESS: address,
            ATTR_SERVER_PORT: port,
        }
        if template is not None:
            attributes[ATTR_ROUTE] = attributes[ATTR_URL_TEMPLATE] = template
        if resend_count:
            attributes[ATTR_RESEND_COUNT] = resend_count
        span = observer.tracer.start_span(
            f"{method} {template}" if template else method,
            kind=SpanKind.CLIENT,
            attributes=attributes,
            start_time=start_ns,
            record_exception=False,
            set_status_on_exception=False,
        )
        if span.is_recording():
            span.set_attribute(ATTR_URL_FULL, full_url(url))
        self._span = span
        # Make the attempt the current span, so instrumentation below nests under it.
        self._token = (
            otel_context.attach(trace.set_span_in_context(span))
            if span.get_span_context().is_valid
            else None
        )

    def succeeded(self, response: httpx.Response) -> None:
        status = response.status_code
        self._finish(status, str(status) if status >= 400 else None, None)

    def failed(self, exc: BaseException) -> None:
        self._finish(None, type(exc).__name__, exc)

    def _finish(
        self, status: int | None, error_type: str | None, exc: BaseException | None
    ) -> None:
        observer = self._observer
        clock = observer.clock
        now = clock.monotonic()
        duration = max(0.0, now - self._started)
        span = self._span
        if self._token is not None:
            otel_context.detach(self._token)
        if span.is_recording():
            if status is not None:
                span.set_attribute(ATTR_STATUS_CODE, status)
            if error_type is not None:
                span.set_attribute(ATTR_ERROR_TYPE, error_type)
                span.set_status(Status(StatusCode.ERROR, error_type if exc else None))
            if exc is not None:
                span.record_exception(exc)
        span.end(end_time=self._start_ns + int(duration * 1e9))
        if exc is not None and not isinstance(exc, Exception):
            return  # cancelled or interrupted: not an outcome of the API
        method, template = self.method, self.template
        attributes: _Attrs = {
            ATTR_METHOD: method,
            ATTR_SERVER_ADDRESS: self._address,
            ATTR_SERVER_PORT: self._port,
        }
        if template is not None:
            attributes[ATTR_ROUTE] = template
        if status is not None:
            attributes[ATTR_STATUS_CODE] = status
        if error_type is not None:
            attributes[ATTR_ERROR_TYPE] = error_type
        observer._duration.record(duration, attributes)
        events = observer.events
        if events.active:
            events.emit(
                RequestCompleted(
                    at=now,
                    wall=clock.time(),
                    method=method,
                    route=self.route,
                    status=status,
                    error=error_type if exc is not None else None,
                    duration=duration,
                    attempt=self.resend_count + 1,
                )
            )


class Observer:
    """Traces attempts and turns the client's events into metrics and log lines.

    ``tracer_provider`` / ``meter_provider`` default to the global ones of the OpenTelemetry
    API: no-ops until the application installs an SDK. The observer subscribes to
    ``events`` at once; :meth:`close` unsubscribes it.
    """

    def __init__(
        self,
        *,
        clock: Clock = SYSTEM_CLOCK,
        events: EventBus | None = None,
        tracer_provider: trace.TracerProvider | None = None,
        meter_provider: metrics.MeterProvider | None = None,
        logger: logging.Logger | None = None,
    ) -> None:
        self.clock = clock
        self.events = events if events is not None else EventBus()
        self.logger = logger if logger is not None else get_logger()
        self.tracer = trace.get_tracer(SCOPE_NAME, __version__, tracer_provider, SCHEMA_URL)
        meter = metrics.get_meter(SCOPE_NAME, __version__, meter_provider, SCHEMA_URL)
        self.meter = meter
        try:
            self._duration = meter.create_histogram(
                METRIC_REQUEST_DURATION,
                unit="s",
                description="Duration of HTTP client requests (one per attempt).",
                explicit_bucket_boundaries_advisory=DURATION_BUCKETS,
            )
        except TypeError:  # pragma: no cover - opentelemetry-api < 1.23
            self._duration = meter.create_histogram(METRIC_REQUEST_DURATION, unit="s")
        self._requests = meter.create_counter(
            METRIC_REQUESTS, "{request}", "Attempts that finished, by status class."
        )
        self._errors = meter.create_counter(
            METRIC_ERRORS, "{request}", "Attempts answered >= 400 or with no response."
        )
        self._rate_limited = meter.create_counter(
            METRIC_RATE_LIMITED, "{request}", "Attempts answered 429 Too Many Requests."
        )
        self._retries = meter.create_counter(
            METRIC_RETRIES, "{retry}", "Retries scheduled, by reason."
        )
        self._throttle_wait = meter.create_histogram(
            METRIC_THROTTLE_WAIT, "s", "Time spent waiting for the client-side rate limiter."
        )
        self._breaker_state = meter.create_up_down_counter(
            METRIC_BREAKER_STATE, "{breaker}", "Circuit breakers in each non-closed state."
        )
        self._breaker_transitions = meter.create_counter(
            METRIC_BREAKER_TRANSITIONS, "{transition}", "Circuit breaker state changes."
        )
        self._fallback_served = meter.create_counter(
            METRIC_FALLBACK_SERVED, "{response}", "Answers served from the fallback cache."
        )
        self._fallback_age = meter.create_histogram(
            METRIC_FALLBACK_AGE, "s", "Age of the answers served from the fallback cache."
        )
        self._key_rotations = meter.create_counter(
            METRIC_KEY_ROTATIONS, "{rotation}", "API key rotations after a 401."
        )
        self._lock = threading.Lock()
        self._breakers: dict[str, str] = {}
        self._handlers: dict[type[Event], Callable[[Any], None]] = {
            RequestCompleted: self._on_request,
            ResponseUnreadable: self._on_unreadable,
            RetryScheduled: self._on_retry,
            ThrottleWaited: self._on_throttle,
            ThrottleWarning: self._on_throttle_warning,
            BreakerStateChanged: self._on_breaker,
            FallbackServed: self._on_fallback,
            KeyRotated: self._on_rotation,
        }
        self._unsubscribe: Callable[[], None] | None = self.events.subscribe(self.handle)

    def attempt(self, request: httpx.Request) -> Attempt:
        """Start observing one attempt of ``request`` (opens its span)."""
        return Attempt(self, request)

    def close(self) -> None:
        """Stop listening to the event bus (idempotent)."""
        if self._unsubscribe is not None:
            self._unsubscribe()
            self._unsubscribe = None

    def handle(self, event: Event) -> None:
        """The event-bus hook: one event into metrics and a log line.

        Free-text fields (reasons, scopes) pass through :func:`redact` first: an emitter that
        put a key in one would still not leak it.
        """
        handler = self._handlers.get(type(event))
        if handler is not None:
            handler(event)

    # -- one handler per event kind ------------------------------------------------------

    def _on_request(self, e: RequestCompleted) -> None:
        status = e.status
        attributes: _Attrs = {
            ATTR_METHOD: e.method,
            ATTR_ROUTE: e.route,
            ATTR_STATUS_CLASS: status_class(status),
        }
        self._requests.add(1, attributes)
        if status is None or status >= 400:
            kind = str(status) if status is not None else (e.error or "unknown")
            self._errors.add(1, {ATTR_METHOD: e.method, ATTR_ROUTE: e.route, ATTR_ERROR_TYPE: kind})
            if status == 429:
                self._rate_limited.add(1, {ATTR_METHOD: e.method, ATTR_ROUTE: e.route})
        logger = self.logger
        if logger.isEnabledFor(logging.DEBUG):
            logger.debug(
                "%s %s -> %s in %.3fs (attempt %d)",
                e.method,
                e.route,
                status if status is not None else e.error,
                e.duration,
                e.attempt,
            )

    def _on_unreadable(self, e: ResponseUnreadable) -> None:
        self.logger.debug(
            "%s %s -> %d, the answer could not be read (%s)", e.method, e.route, e.status, e.kind
        )

    def _on_retry(self, e: RetryScheduled) -> None:
        reason = redact(e.reason)
        self._retries.add(1, {ATTR_METHOD: e.method, ATTR_ROUTE: e.route, ATTR_REASON: reason})
        self.logger.info(
            "retrying %s %s in %.2fs after attempt %d (%s)",
            e.method,
            e.route,
            e.delay,
            e.attempt,
            reason,
        )

    def _on_throttle(self, e: ThrottleWaited) -> None:
        scope, reason = redact(e.scope), redact(e.reason)
        self._throttle_wait.record(e.wait, {ATTR_SCOPE: scope, ATTR_REASON: reason})
        self.logger.debug("throttled %s for %.2fs (%s)", scope, e.wait, reason)

    def _on_throttle_warning(self, e: ThrottleWarning) -> None:
        self.logger.warning(
            "rate limit answer not taken at its word, %s: %s", redact(e.scope), e.detail
        )

    def _on_breaker(self, e: BreakerStateChanged) -> None:
        scope = redact(e.scope)
        old, new = _normal_state(e.old), _normal_state(e.new)
        with self._lock:
            known = self._breakers.get(scope)
            self._breakers[scope] = new
        # Count the breakers in each state other than closed: 1 while a scope is open.
        if known is not None and known != "closed":
            self._breaker_state.add(-1, {ATTR_SCOPE: scope, ATTR_BREAKER_STATE: known})
        if new != "closed":
            self._breaker_state.add(1, {ATTR_SCOPE: scope, ATTR_BREAKER_STATE: new})
        self._breaker_transitions.add(
            1, {ATTR_SCOPE: scope, ATTR_BREAKER_FROM: old, ATTR_BREAKER_TO: new}
        )
        level = logging.INFO if new in ("closed", "half_open") else logging.WARNING
        self.logger.log(level, "circuit breaker %s: %s -> %s", scope, old, new)

    def _on_fallback(self, e: FallbackServed) -> None:
        reason = redact(e.reason)
        attributes: _Attrs = {ATTR_METHOD: e.method, ATTR_ROUTE: e.route, ATTR_REASON: reason}
        self._fallback_served.add(1, attributes)
        self._fallback_age.record(e.age, {ATTR_METHOD: e.method, ATTR_ROUTE: e.route})
        self.logger.warning(
            "served %s %s from the fallback cache (%.0fs old) (%s)",
            e.method,
            e.route,
            e.age,
            reason,
        )

    def _on_rotation(self, e: KeyRotated) -> None:
        reason = redact(e.reason)
        self._key_rotations.add(1, {ATTR_REASON: reason})
        self.logger.warning(
            "API key rotated from %s to %s (%s)", e.old_fingerprint, e.new_fingerprint, reason
        )

    def __repr__(self) -> str:
        return f"Observer(clock={self.clock!r}, subscribed={self._unsubscribe is not None})"


class AttemptLayer(Layer[Observer]):
    """Observes every attempt that reaches the HTTP layer below it. Errors pass unchanged."""

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        attempt = self.policy.attempt(request)
        try:
            response = self.inner.handle_request(request)
        except BaseException as exc:
            attempt.failed(exc)
            raise
        attempt.succeeded(response)
        return response


class AsyncAttemptLayer(AsyncLayer[Observer]):
    """The async twin of :class:`AttemptLayer`."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        attempt = self.policy.attempt(request)
        try:
            response = await self.inner.handle_async_request(request)
        except BaseException as exc:
            attempt.failed(exc)
            raise
        attempt.succeeded(response)
        return response
