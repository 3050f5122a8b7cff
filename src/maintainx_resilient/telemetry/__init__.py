"""Telemetry: a span per attempt, metrics from the client's events, redacted logs, and the
rolling statistics the diagnostics read.

OpenTelemetry is used through ``opentelemetry-api`` only: everything here is a no-op until
the application installs an SDK (or passes providers to :class:`Observer`).

Where things sit::

    ... retry -> breaker -> auth -> throttle -> AttemptLayer -> HTTP

:class:`AttemptLayer` (and :class:`AsyncAttemptLayer`) sits directly above the HTTP layer,
so it sees every attempt, retries and the auth layer's resend included. Per attempt it opens
a CLIENT span named ``"{METHOD} {route}"`` (``route`` is the spec's path template, so span
names have low cardinality) following the OpenTelemetry HTTP client semantic conventions,
records ``http.client.request.duration`` and emits a
:class:`~maintainx_resilient._events.RequestCompleted` event. The :class:`Observer` listens
to the event bus and turns the events into the metrics below and into log lines.

Metrics, each ``OpenTelemetry name`` -> ``Prometheus name`` (as the Prometheus exporter spells
it; attributes become labels with dots turned into underscores, ``http.route`` ->
``http_route``), then what it counts and its attributes:

- ``http.client.request.duration`` -> ``http_client_request_duration_seconds`` (histogram,
  seconds, one sample per attempt): method, route, status code or ``error.type``,
  ``server.address``, ``server.port``.
- ``maintainx.client.requests`` -> ``maintainx_client_requests_total`` (counter, attempts
  that finished): method, route, status class.
- ``maintainx.client.errors`` -> ``maintainx_client_errors_total`` (counter, attempts answered
  >= 400 or with no response): method, route, ``error.type``.
- ``maintainx.client.rate_limited`` -> ``maintainx_client_rate_limited_total`` (counter, 429
  answers): method, route.
- ``maintainx.client.retries`` -> ``maintainx_client_retries_total`` (counter, retries
  scheduled): method, route, reason (``status 503``, ``ConnectionError``, ``timeout``).
- ``maintainx.client.throttle.wait`` -> ``maintainx_client_throttle_wait_seconds``
  (histogram, seconds waited for the client-side rate limiter): scope, reason.
- ``maintainx.client.breaker.state`` -> ``maintainx_client_breaker_state`` (up-down counter:
  the breakers in each state other than closed, so 1 while a scope is open): scope, state.
- ``maintainx.client.breaker.transitions`` -> ``maintainx_client_breaker_transitions_total``
  (counter, state changes): scope, from, to.
- ``maintainx.client.fallback.served`` -> ``maintainx_client_fallback_served_total``
  (counter, answers served from the fallback cache): method, route, reason.
- ``maintainx.client.fallback.age`` -> ``maintainx_client_fallback_age_seconds`` (histogram,
  seconds, age of those answers): method, route.
- ``maintainx.client.key.rotations`` -> ``maintainx_client_key_rotations_total`` (counter, API
  key rotations after a 401): reason.

Attribute keys: ``http.request.method``, ``http.route``, ``http.response.status_code``,
``error.type`` (the status code as a string for a response >= 400, else the exception's
class name, e.g. ``ConnectionError``), ``server.address``, ``server.port``,
``maintainx.status_class`` (``2xx``..``5xx`` or ``error``), ``maintainx.reason``,
``maintainx.scope``, ``maintainx.breaker.state``, ``maintainx.breaker.from`` /
``maintainx.breaker.to`` (``closed``, ``open``, ``half_open``, ``isolated``).

Requests and errors count *attempts* (a retried call counts once per attempt), so the
error rate of ``MaintainXHighErrorRate`` (runbook RB-002, > 5 %) is::

    sum(rate(maintainx_client_errors_total[5m]))
      / sum(rate(maintainx_client_requests_total[5m])) > 0.05

and an open breaker is ``maintainx_client_breaker_state{maintainx_breaker_state="open"} > 0``.

Spans carry ``http.request.method``, ``server.address``, ``server.port``, ``url.full`` (user
info and credential-like query values replaced by ``REDACTED``; headers are never read),
``http.route`` and ``url.template``, ``http.response.status_code``, ``error.type`` on
failure (span status ERROR, exceptions recorded) and ``http.request.resend_count`` from the
second attempt of a request on (counted in ``request.extensions["maintainx_resend_count"]``).

Logs go to ``logging.getLogger("maintainx_resilient")`` (:func:`get_logger`) through a
:class:`RedactingFilter`: each attempt at DEBUG, retries and breaker recoveries at INFO,
breaker trips, fallback answers and key rotations at WARNING. Keys appear only as
fingerprints.

:class:`RollingStats` (``client.stats``) keeps per-endpoint counts, latencies and policy
totals over a rolling window; :meth:`RollingStats.snapshot` gives the frozen
:class:`StatsSnapshot` the diagnostics (RB-002, RB-005, ``health()``) read.

Inside: ``_names`` (the names above), ``_observer`` (spans, metrics, log lines, the attempt
layer), ``_logging`` (redaction and the library's logger), ``_stats`` (rolling statistics).
"""

from __future__ import annotations

from ._logging import (
    LOGGER_NAME,
    RedactingFilter,
    get_logger,
    redact,
    register_secret,
)
from ._names import (
    ALL_METRICS,
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
)
from ._observer import AsyncAttemptLayer, Attempt, AttemptLayer, Observer
from ._stats import EndpointStats, RollingStats, StatsSnapshot, StatsTotals

__all__ = [
    "ALL_METRICS",
    "ATTR_BREAKER_FROM",
    "ATTR_BREAKER_STATE",
    "ATTR_BREAKER_TO",
    "ATTR_ERROR_TYPE",
    "ATTR_METHOD",
    "ATTR_REASON",
    "ATTR_RESEND_COUNT",
    "ATTR_ROUTE",
    "ATTR_SCOPE",
    "ATTR_SERVER_ADDRESS",
    "ATTR_SERVER_PORT",
    "ATTR_STATUS_CLASS",
    "ATTR_STATUS_CODE",
    "ATTR_URL_FULL",
    "ATTR_URL_TEMPLATE",
    "LOGGER_NAME",
    "METRIC_BREAKER_STATE",
    "METRIC_BREAKER_TRANSITIONS",
    "METRIC_ERRORS",
    "METRIC_FALLBACK_AGE",
    "METRIC_FALLBACK_SERVED",
    "METRIC_KEY_ROTATIONS",
    "METRIC_RATE_LIMITED",
    "METRIC_REQUESTS",
    "METRIC_REQUEST_DURATION",
    "METRIC_RETRIES",
    "METRIC_THROTTLE_WAIT",
    "AsyncAttemptLayer",
    "Attempt",
    "AttemptLayer",
    "EndpointStats",
    "Observer",
    "RedactingFilter",
    "RollingStats",
    "StatsSnapshot",
    "StatsTotals",
    "get_logger",
    "redact",
    "register_secret",
]
