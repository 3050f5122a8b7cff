"""Telemetry: a span per attempt, metrics from events, redacted logs, and no key anywhere."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

from maintainx_resilient import ConnectionError
from maintainx_resilient._clock import FakeClock
from maintainx_resilient._events import (
    BreakerStateChanged,
    Event,
    EventBus,
    FallbackServed,
    KeyRotated,
    RequestCompleted,
    RetryScheduled,
    ThrottleWaited,
)
from maintainx_resilient._extensions import (
    IDEMPOTENT_EXTENSION,
    RESEND_COUNT_EXTENSION,
    ROUTE_EXTENSION,
)
from maintainx_resilient._http import AsyncHTTPLayer, HTTPLayer
from maintainx_resilient._secrets import Secret, fingerprint
from maintainx_resilient.policies.auth import AuthLayer, KeyRing
from maintainx_resilient.policies.retry import RetryLayer, RetryPolicy
from maintainx_resilient.telemetry import (
    ALL_METRICS,
    ATTR_BREAKER_STATE,
    ATTR_BREAKER_TO,
    ATTR_ERROR_TYPE,
    ATTR_REASON,
    ATTR_ROUTE,
    ATTR_SCOPE,
    ATTR_STATUS_CLASS,
    ATTR_STATUS_CODE,
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
    AsyncAttemptLayer,
    AttemptLayer,
    Observer,
    RedactingFilter,
    get_logger,
    redact,
    register_secret,
)

from .conftest import CANARY_KEY

BASE_URL = "https://api.getmaintainx.com/v1/"
ATTRIBUTES = {
    name.replace(".", "_"): name
    for name in (
        ATTR_BREAKER_STATE,
        ATTR_BREAKER_TO,
        ATTR_ERROR_TYPE,
        ATTR_REASON,
        ATTR_ROUTE,
        ATTR_SCOPE,
        ATTR_STATUS_CLASS,
        ATTR_STATUS_CODE,
    )
}
Handler = Callable[[httpx.Request], httpx.Response]


class Telemetry:
    """An observer wired to in-memory span and metric exporters and a fake clock."""

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.events = EventBus()
        self.spans = InMemorySpanExporter()
        tracer_provider = TracerProvider(shutdown_on_exit=False)
        tracer_provider.add_span_processor(SimpleSpanProcessor(self.spans))
        self.reader = InMemoryMetricReader()
        meter_provider = MeterProvider(metric_readers=[self.reader], shutdown_on_exit=False)
        self.observer = Observer(
            clock=self.clock,
            events=self.events,
            tracer_provider=tracer_provider,
            meter_provider=meter_provider,
        )
        self.seen: list[Event] = []
        self.events.subscribe(self.seen.append)

    def finished(self) -> tuple[ReadableSpan, ...]:
        return self.spans.get_finished_spans()

    def points(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        found: list[Any] = []
        for resource in data.resource_metrics if data is not None else ():
            for scope in resource.scope_metrics:
                for metric in scope.metrics:
                    if metric.name == name:
                        found.extend(metric.data.data_points)
        return found

    def value(self, name: str, **labels: object) -> float:
        """Sum (counters) or count (histograms) of the points whose attributes include these
        (given by their Prometheus label names: ``http_route`` for ``http.route``)."""
        wanted = {ATTRIBUTES[label]: v for label, v in labels.items()}
        total = 0.0
        for point in self.points(name):
            if all(point.attributes.get(k) == v for k, v in wanted.items()):
                total += point.count if hasattr(point, "count") else point.value
        return total

    def completed(self) -> list[RequestCompleted]:
        return [e for e in self.seen if isinstance(e, RequestCompleted)]


@pytest.fixture
def registered_canary() -> Iterator[str]:
    """The canary registered as a secret for this test only (the registry is process-wide)."""
    unregister = register_secret(CANARY_KEY)
    yield CANARY_KEY
    unregister()


@pytest.fixture
def tel() -> Iterator[Telemetry]:
    telemetry = Telemetry()
    yield telemetry
    telemetry.observer.close()


def statuses(clock: FakeClock, codes: list[int], seconds: float = 0.25) -> Handler:
    """A handler answering ``codes`` in turn, each after ``seconds`` of fake time."""
    answers = iter(codes)

    def handler(request: httpx.Request) -> httpx.Response:
        clock.advance(seconds)
        return httpx.Response(next(answers), json={})

    return handler


def get_workorders(transport: httpx.BaseTransport, **extensions: Any) -> httpx.Response:
    with httpx.Client(transport=transport, base_url=BASE_URL) as client:
        request = client.build_request(
            "GET",
            "workorders",
            params={"limit": 2, "statuses": "OPEN"},
            extensions={ROUTE_EXTENSION: "/workorders", IDEMPOTENT_EXTENSION: True, **extensions},
        )
        return client.send(request)


def retrying(tel: Telemetry, inner: httpx.BaseTransport) -> RetryLayer:
    policy = RetryPolicy(clock=tel.clock, events=tel.events, rng=random.Random(7))
    return RetryLayer(inner, policy)


def attempt_stack(tel: Telemetry, handler: Handler) -> httpx.BaseTransport:
    return AttemptLayer(HTTPLayer(httpx.MockTransport(handler)), tel.observer)


# ---- spans ----------------------------------------------------------------------------


def test_one_client_span_per_attempt_with_semconv_attributes(tel: Telemetry) -> None:
    """[503, 503, 200] through the real retry layer gives three CLIENT spans named after the
    route, with the HTTP semantic-convention attributes and the resend count from the 2nd."""
    stack = retrying(tel, attempt_stack(tel, statuses(tel.clock, [503, 503, 200])))
    assert get_workorders(stack).status_code == 200

    spans = tel.finished()
    assert [s.name for s in spans] == ["GET /workorders"] * 3
    assert all(s.kind is SpanKind.CLIENT for s in spans)
    for n, span in enumerate(spans):
        attrs = dict(span.attributes or {})
        assert attrs["http.request.method"] == "GET"
        assert attrs["server.address"] == "api.getmaintainx.com"
        assert attrs["server.port"] == 443
        assert attrs["http.route"] == "/workorders"
        assert attrs["url.template"] == "/workorders"
        assert attrs["url.full"] == (
            "https://api.getmaintainx.com/v1/workorders?limit=2&statuses=OPEN"
        )
        assert attrs.get("http.request.resend_count") == (n or None)
    codes = [dict(s.attributes or {})["http.response.status_code"] for s in spans]
    assert codes == [503, 503, 200]
    assert [dict(s.attributes or {}).get("error.type") for s in spans] == ["503", "503", None]
    assert [s.status.status_code for s in spans] == [
        StatusCode.ERROR,
        StatusCode.ERROR,
        StatusCode.UNSET,
    ]


def test_span_times_come_from_the_injected_clock(tel: Telemetry) -> None:
    """A span lasts exactly the fake time its attempt took."""
    get_workorders(attempt_stack(tel, statuses(tel.clock, [200], seconds=1.5)))
    (span,) = tel.finished()
    assert span.start_time is not None and span.end_time is not None
    assert span.end_time - span.start_time == 1_500_000_000
    assert span.start_time == int((tel.clock.time() - 1.5) * 1e9)


def test_resend_count_is_kept_in_the_request_extensions(tel: Telemetry) -> None:
    """Each attempt of one request object bumps ``maintainx_resend_count``."""
    stack = attempt_stack(tel, statuses(tel.clock, [200, 200, 200]))
    request = httpx.Request("GET", BASE_URL + "users")
    for expected in (0, 1, 2):
        stack.handle_request(request)
        assert request.extensions[RESEND_COUNT_EXTENSION] == expected
    assert [e.attempt for e in tel.completed()] == [1, 2, 3]


def test_auth_resend_is_a_second_attempt(tel: Telemetry) -> None:
    """The auth layer's resend after a 401 shows as a second span with resend_count 1."""
    keys = iter(["key-one-aaaaaaaa", "key-two-bbbbbbbb"])
    current = {"key": next(keys)}

    def rotate() -> str:
        return current["key"]

    ring = KeyRing(rotate, clock=tel.clock, events=tel.events)

    def handler(request: httpx.Request) -> httpx.Response:
        if request.headers["Authorization"] == "Bearer key-one-aaaaaaaa":
            current["key"] = next(keys)
            return httpx.Response(401, json={"error": "Invalid token"})
        return httpx.Response(200, json={})

    stack = AuthLayer(attempt_stack(tel, handler), ring)
    assert get_workorders(stack).status_code == 200
    spans = tel.finished()
    assert [dict(s.attributes or {}).get("http.request.resend_count") for s in spans] == [
        None,
        1,
    ]
    assert tel.value(METRIC_KEY_ROTATIONS) == 1


def test_transport_error_is_recorded_on_the_span_and_propagates(tel: Telemetry) -> None:
    """A connection failure: span status ERROR, error.type, the exception event; the
    caller gets the HTTP layer's ConnectionError itself."""

    def handler(request: httpx.Request) -> httpx.Response:
        tel.clock.advance(0.5)
        raise httpx.ConnectError("connection refused")

    with pytest.raises(ConnectionError) as caught:
        get_workorders(attempt_stack(tel, handler))
    assert isinstance(caught.value.__cause__, httpx.ConnectError)

    (span,) = tel.finished()
    attrs = dict(span.attributes or {})
    assert attrs["error.type"] == "ConnectionError"
    assert "http.response.status_code" not in attrs
    assert span.status.status_code is StatusCode.ERROR
    assert [ev.name for ev in span.events] == ["exception"]
    (event,) = tel.completed()
    assert (event.status, event.error, event.duration) == (None, "ConnectionError", 0.5)
    assert tel.value(METRIC_REQUESTS, maintainx_status_class="error") == 1
    assert tel.value(METRIC_ERRORS, error_type="ConnectionError") == 1
    assert tel.value(METRIC_REQUEST_DURATION, error_type="ConnectionError") == 1


def test_exceptions_pass_through_unchanged(tel: Telemetry) -> None:
    """Whatever the inner transport raises reaches the caller as the very same object."""
    boom = RuntimeError("boom")

    class Failing(httpx.BaseTransport):
        def handle_request(self, request: httpx.Request) -> httpx.Response:
            raise boom

    with pytest.raises(RuntimeError) as caught:
        AttemptLayer(Failing(), tel.observer).handle_request(httpx.Request("GET", BASE_URL))
    assert caught.value is boom
    (span,) = tel.finished()
    assert span.name == "GET"  # no route template: the method alone, as the conventions say
    assert "http.route" not in dict(span.attributes or {})


def test_attempt_span_is_current_below_the_layer(tel: Telemetry) -> None:
    """Instrumentation under the layer (an httpx transport, a log correlator) sees the span."""
    seen: list[trace.Span] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(trace.get_current_span())
        return httpx.Response(204)

    get_workorders(attempt_stack(tel, handler))
    (span,) = tel.finished()
    assert seen[0].get_span_context().span_id == span.context.span_id
    assert not trace.get_current_span().get_span_context().is_valid


def test_url_full_hides_user_info_and_credential_query_values(tel: Telemetry) -> None:
    """``url.full`` never carries user info or credential-like query values."""
    stack = attempt_stack(tel, statuses(tel.clock, [200]))
    stack.handle_request(httpx.Request("GET", "https://u:pw@example.com/x?token=abc&limit=3"))
    (span,) = tel.finished()
    assert dict(span.attributes or {})["url.full"] == (
        "https://REDACTED:REDACTED@example.com/x?token=REDACTED&limit=3"
    )


async def test_async_layer_traces_and_emits(tel: Telemetry) -> None:
    """The async twin: one span and one RequestCompleted per attempt."""

    async def handler(request: httpx.Request) -> httpx.Response:
        await tel.clock.asleep(0.125)
        return httpx.Response(429, json={"error": "Too many requests"})

    stack = AsyncAttemptLayer(AsyncHTTPLayer(httpx.MockTransport(handler)), tel.observer)
    async with httpx.AsyncClient(transport=stack, base_url=BASE_URL) as client:
        request = client.build_request("GET", "assets", extensions={ROUTE_EXTENSION: "/assets"})
        response = await client.send(request)
    assert response.status_code == 429
    (span,) = tel.finished()
    assert span.name == "GET /assets"
    assert dict(span.attributes or {})["error.type"] == "429"
    (event,) = tel.completed()
    assert (event.status, event.duration, event.attempt) == (429, 0.125, 1)
    assert tel.value(METRIC_RATE_LIMITED, http_route="/assets") == 1


async def test_cancelled_attempt_ends_its_span_without_an_outcome(tel: Telemetry) -> None:
    """A cancelled attempt closes its span but is not counted as an API answer."""

    class Hanging(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            raise asyncio.CancelledError

    layer = AsyncAttemptLayer(Hanging(), tel.observer)
    with pytest.raises(asyncio.CancelledError):
        await layer.handle_async_request(httpx.Request("GET", BASE_URL + "parts"))
    (span,) = tel.finished()
    assert dict(span.attributes or {})["error.type"] == "CancelledError"
    assert tel.completed() == []


# ---- metrics ------------------------------------------------------------------------


def test_attempts_become_duration_request_and_error_metrics(tel: Telemetry) -> None:
    """Three attempts: three duration samples (0.25 s each), request counts by status
    class, errors by status, and the retries the retry layer scheduled."""
    stack = retrying(tel, attempt_stack(tel, statuses(tel.clock, [503, 503, 200])))
    get_workorders(stack)

    durations = tel.points(METRIC_REQUEST_DURATION)
    assert sum(p.count for p in durations) == 3
    assert sum(p.sum for p in durations) == pytest.approx(0.75)
    assert tel.value(METRIC_REQUEST_DURATION, http_response_status_code=503) == 2
    assert tel.value(METRIC_REQUESTS, http_route="/workorders") == 3
    assert tel.value(METRIC_REQUESTS, maintainx_status_class="5xx") == 2
    assert tel.value(METRIC_REQUESTS, maintainx_status_class="2xx") == 1
    assert tel.value(METRIC_ERRORS, error_type="503", http_route="/workorders") == 2
    assert tel.value(METRIC_RETRIES, maintainx_reason="status 503") == 2


def emit_one_of_each(tel: Telemetry, reason: str = "test", scope: str = "global") -> None:
    clock, bus = tel.clock, tel.events
    at, wall = clock.monotonic(), clock.time()
    bus.emit(RequestCompleted(at, wall, "GET", "/parts", 429, None, 0.1))
    bus.emit(RetryScheduled(at, wall, "GET", "/parts", 1, 2.0, reason))
    bus.emit(ThrottleWaited(at, wall, scope, 1.5, reason))
    bus.emit(BreakerStateChanged(at, wall, scope, "closed", "open"))
    bus.emit(FallbackServed(at, wall, "GET", "/parts", 42.0, reason))
    bus.emit(KeyRotated(at, wall, fingerprint("old-key-1"), fingerprint("new-key-2"), reason))


def test_every_event_kind_becomes_metrics(tel: Telemetry) -> None:
    """Each event kind increments its own instrument with its attributes."""
    emit_one_of_each(tel)
    assert tel.value(METRIC_REQUESTS, maintainx_status_class="4xx") == 1
    assert tel.value(METRIC_ERRORS, error_type="429") == 1
    assert tel.value(METRIC_RATE_LIMITED, http_route="/parts") == 1
    assert tel.value(METRIC_RETRIES, http_route="/parts", maintainx_reason="test") == 1
    (wait,) = tel.points(METRIC_THROTTLE_WAIT)
    assert (wait.count, wait.sum) == (1, 1.5)
    assert tel.value(METRIC_BREAKER_STATE, maintainx_scope="global") == 1
    assert tel.value(METRIC_BREAKER_TRANSITIONS, maintainx_breaker_to="open") == 1
    assert tel.value(METRIC_FALLBACK_SERVED, maintainx_reason="test") == 1
    (age,) = tel.points(METRIC_FALLBACK_AGE)
    assert age.sum == 42.0
    assert tel.value(METRIC_KEY_ROTATIONS, maintainx_reason="test") == 1
    assert {name for name in ALL_METRICS if tel.points(name)} == set(ALL_METRICS) - {
        METRIC_REQUEST_DURATION
    }


def test_breaker_state_counts_breakers_that_are_not_closed(tel: Telemetry) -> None:
    """open -> half-open -> closed moves the count between states and back to zero; a
    first event seen mid-way never drives a count negative."""
    clock, bus = tel.clock, tel.events

    def change(scope: str, old: str, new: str) -> None:
        bus.emit(BreakerStateChanged(clock.monotonic(), clock.time(), scope, old, new))

    def state(scope: str, name: str) -> float:
        return tel.value(METRIC_BREAKER_STATE, maintainx_scope=scope, maintainx_breaker_state=name)

    change("/workorders", "CLOSED", "OPEN")
    assert state("/workorders", "open") == 1
    change("/workorders", "OPEN", "HalfOpen")
    assert (state("/workorders", "open"), state("/workorders", "half_open")) == (0, 1)
    change("/workorders", "half-open", "closed")
    assert tel.value(METRIC_BREAKER_STATE, maintainx_scope="/workorders") == 0
    change("/assets", "half_open", "closed")  # joined late: nothing to take back
    assert tel.value(METRIC_BREAKER_STATE, maintainx_scope="/assets") == 0
    assert tel.value(METRIC_BREAKER_TRANSITIONS) == 4


def test_observer_close_stops_listening(tel: Telemetry) -> None:
    """After close() the observer counts nothing more; close() twice is fine."""
    tel.observer.close()
    tel.observer.close()
    emit_one_of_each(tel)
    assert tel.points(METRIC_REQUESTS) == []


def test_without_an_sdk_everything_is_a_no_op() -> None:
    """With the API's global no-op providers the layer still times attempts and emits."""
    clock, bus = FakeClock(), EventBus()
    seen: list[Event] = []
    bus.subscribe(seen.append)
    observer = Observer(clock=clock, events=bus)
    stack = AttemptLayer(HTTPLayer(httpx.MockTransport(statuses(clock, [200]))), observer)
    get_workorders(stack)
    (event,) = [e for e in seen if isinstance(e, RequestCompleted)]
    assert (event.route, event.status, event.duration) == ("/workorders", 200, 0.25)
    observer.close()


# ---- logs -----------------------------------------------------------------------------


def test_observer_logs_attempts_and_policy_events(
    tel: Telemetry, caplog: pytest.LogCaptureFixture
) -> None:
    """Attempts at DEBUG; retries INFO; breaker trips, fallbacks and rotations WARNING."""
    caplog.set_level(logging.DEBUG, logger="maintainx_resilient")
    emit_one_of_each(tel)
    levels = {r.getMessage().split(" ")[0]: r.levelno for r in caplog.records}
    assert levels["GET"] == logging.DEBUG
    assert levels["retrying"] == logging.INFO
    assert levels["throttled"] == logging.DEBUG
    assert levels["circuit"] == logging.WARNING
    assert levels["served"] == logging.WARNING
    assert levels["API"] == logging.WARNING
    assert fingerprint("new-key-2") in caplog.text


def _record(msg: str, *args: object, exc: BaseException | None = None) -> logging.LogRecord:
    exc_info = (type(exc), exc, exc.__traceback__) if exc is not None else None
    return logging.LogRecord("maintainx_resilient", logging.INFO, __file__, 1, msg, args, exc_info)


def test_redacting_filter_masks_bearer_tokens_and_registered_secrets() -> None:
    """Bearer tokens (message or args), registered secrets and exception text are masked
    with the value's fingerprint; records are never dropped."""
    flt = RedactingFilter(secrets=["s3cret-webhook-value"])
    assert redact("s3cret-webhook-value") == "s3cret-webhook-value"  # this filter's own
    record = _record("sent %s", {"Authorization": "Bearer abc.def-123"})
    assert flt.filter(record)
    assert "abc.def-123" not in record.getMessage()
    assert f"<redacted {fingerprint('abc.def-123')}>" in record.getMessage()

    record = _record("secret is s3cret-webhook-value, twice: %s", "s3cret-webhook-value")
    flt.filter(record)
    assert "s3cret-webhook-value" not in record.getMessage()
    assert record.getMessage().count("<redacted sha256:") == 2

    try:
        raise ValueError("bad key s3cret-webhook-value")
    except ValueError as error:
        record = _record("failed", exc=error)
    flt.filter(record)
    assert record.exc_text is not None and "s3cret-webhook-value" not in record.exc_text

    record = _record("untouched %d", 5)
    flt.filter(record)
    assert (record.msg, record.args) == ("untouched %d", (5,))


def test_redacting_filter_survives_a_bad_format_string() -> None:
    """A record whose args do not fit its message keeps only the template."""
    record = _record("two %s %s", "only-one")
    assert RedactingFilter().filter(record)
    assert record.getMessage() == "two %s %s"


def test_get_logger_installs_the_filter_once() -> None:
    """get_logger() is the library logger with exactly one redacting filter."""
    logger = get_logger()
    assert get_logger() is logger is logging.getLogger("maintainx_resilient")
    assert sum(isinstance(f, RedactingFilter) for f in logger.filters) == 1


# ---- the canary ---------------------------------------------------------------------


class CanaryProvider:
    """A key provider that starts with the canary and rotates to another canary-bearing key."""

    def get(self) -> str:
        return CANARY_KEY

    def rotate(self, failed: str) -> str:
        return CANARY_KEY + "-next"


def _texts_of_spans(spans: tuple[ReadableSpan, ...]) -> Iterator[str]:
    for span in spans:
        yield span.name
        yield str(span.status.description)
        yield repr(dict(span.attributes or {}))
        for event in span.events:
            yield event.name
            yield repr(dict(event.attributes or {}))


@pytest.mark.usefixtures("registered_canary")
def test_canary_key_never_reaches_spans_metrics_or_logs(
    tel: Telemetry, caplog: pytest.LogCaptureFixture
) -> None:
    """With the canary key on the wire (401 -> rotation -> 503 -> retry -> 200, a connection
    failure) and every event kind emitted, even with the key planted in free-text event
    fields, the canary is in no span, no metric attribute and no log line."""
    caplog.set_level(logging.DEBUG, logger="maintainx_resilient")
    sent_keys: list[str] = []
    answers = iter([401, 503, 200])

    def handler(request: httpx.Request) -> httpx.Response:
        sent_keys.append(request.headers["Authorization"])
        tel.clock.advance(0.01)
        return httpx.Response(next(answers), json={"error": "nope"})

    ring = KeyRing(CanaryProvider(), clock=tel.clock, events=tel.events)
    stack = retrying(tel, AuthLayer(attempt_stack(tel, handler), ring))
    assert get_workorders(stack).status_code == 200

    def refused(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError(f"refused for {request.headers['Authorization'][:7]}")

    with pytest.raises(ConnectionError):
        get_workorders(AuthLayer(attempt_stack(tel, refused), ring))

    honest_events = list(tel.seen)
    planted = f"Authorization: Bearer {CANARY_KEY}"
    emit_one_of_each(tel, reason=planted, scope=planted)
    get_logger().info("a careless line: %s", {"headers": {"Authorization": planted}})

    assert sent_keys[0] == f"Bearer {CANARY_KEY}"  # the canary really was on the wire
    assert {type(e) for e in tel.seen} >= {
        RequestCompleted,
        RetryScheduled,
        ThrottleWaited,
        BreakerStateChanged,
        FallbackServed,
        KeyRotated,
    }
    texts = list(_texts_of_spans(tel.finished()))
    assert len(tel.finished()) == 4
    for name in ALL_METRICS:
        texts.extend(repr(dict(p.attributes)) for p in tel.points(name))
    texts.extend(r.getMessage() for r in caplog.records)
    texts.append(caplog.text)
    texts.extend(repr(e) for e in honest_events)
    texts.append(repr(tel.observer))
    assert texts
    leaked = [t for t in texts if CANARY_KEY in t]
    assert leaked == []
    assert fingerprint(CANARY_KEY) in caplog.text  # the key is identified, not shown


def test_register_secret_until_unregistered() -> None:
    """redact() masks a registered value until every registration of it is withdrawn;
    masking twice changes nothing; short values are ignored."""
    value = "registry-only-secret-9d1f"  # not the shared canary: other tests register that
    masked = f"x <redacted {fingerprint(value)}> y"
    assert redact(f"x {value} y") == f"x {value} y"
    first, second = register_secret(value), register_secret(Secret(value))
    assert redact(f"x {value} y") == masked
    assert redact(masked) == masked
    first()
    first()  # withdrawing twice withdraws once
    assert redact(f"x {value} y") == masked
    second()
    assert redact(f"x {value} y") == f"x {value} y"
    register_secret("abc")()
    assert redact("abc") == "abc"


def test_redaction_is_idempotent_for_bearer_tokens() -> None:
    """A logger filter and a handler filter in a row give the same text as one."""
    once = redact("Authorization: Bearer tok-123")
    assert once == f"Authorization: Bearer <redacted {fingerprint('tok-123')}>"
    assert redact(once) == once
