"""The names the telemetry is published under: metrics and attributes.

One place, so the Prometheus alert rules, the dashboards and the code agree. The public list,
with the Prometheus spelling of each name, is in :mod:`maintainx_resilient.telemetry`
(request extension keys are in :mod:`maintainx_resilient._extensions`).
"""

from __future__ import annotations

#: The semantic-conventions schema the span and metric attributes follow.
SCHEMA_URL = "https://opentelemetry.io/schemas/1.26.0"
#: The instrumentation scope of the client's spans and metrics.
SCOPE_NAME = "maintainx_resilient.telemetry"

# ---- metrics ---------------------------------------------------------------------------
METRIC_REQUEST_DURATION = "http.client.request.duration"
METRIC_REQUESTS = "maintainx.client.requests"
METRIC_ERRORS = "maintainx.client.errors"
METRIC_RETRIES = "maintainx.client.retries"
METRIC_RATE_LIMITED = "maintainx.client.rate_limited"
METRIC_THROTTLE_WAIT = "maintainx.client.throttle.wait"
METRIC_BREAKER_STATE = "maintainx.client.breaker.state"
METRIC_BREAKER_TRANSITIONS = "maintainx.client.breaker.transitions"
METRIC_FALLBACK_SERVED = "maintainx.client.fallback.served"
METRIC_FALLBACK_AGE = "maintainx.client.fallback.age"
METRIC_KEY_ROTATIONS = "maintainx.client.key.rotations"

#: ``http.client.request.duration`` buckets recommended by the HTTP semantic conventions.
DURATION_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10)

# ---- attributes (span and metric) --------------------------------------------------------
ATTR_METHOD = "http.request.method"
ATTR_ROUTE = "http.route"
ATTR_URL_TEMPLATE = "url.template"
ATTR_URL_FULL = "url.full"
ATTR_SERVER_ADDRESS = "server.address"
ATTR_SERVER_PORT = "server.port"
ATTR_STATUS_CODE = "http.response.status_code"
ATTR_RESEND_COUNT = "http.request.resend_count"
ATTR_ERROR_TYPE = "error.type"
ATTR_STATUS_CLASS = "maintainx.status_class"
ATTR_REASON = "maintainx.reason"
ATTR_SCOPE = "maintainx.scope"
ATTR_BREAKER_STATE = "maintainx.breaker.state"
ATTR_BREAKER_FROM = "maintainx.breaker.from"
ATTR_BREAKER_TO = "maintainx.breaker.to"

# ---- the webhook receiver and workers (maintainx_resilient.webhooks.metrics) -------------
WEBHOOKS_SCOPE_NAME = "maintainx_resilient.webhooks"
ATTR_WEBHOOK_ROUTE = "maintainx.webhook.route"
ATTR_WEBHOOK_EVENT_TYPE = "maintainx.webhook.event_type"
ATTR_WEBHOOK_STAGE = "maintainx.webhook.stage"

#: Every metric the library publishes.
ALL_METRICS = (
    METRIC_REQUEST_DURATION,
    METRIC_REQUESTS,
    METRIC_ERRORS,
    METRIC_RATE_LIMITED,
    METRIC_RETRIES,
    METRIC_THROTTLE_WAIT,
    METRIC_BREAKER_STATE,
    METRIC_BREAKER_TRANSITIONS,
    METRIC_FALLBACK_SERVED,
    METRIC_FALLBACK_AGE,
    METRIC_KEY_ROTATIONS,
)
