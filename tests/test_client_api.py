"""The client's one entry point (``send``), per-call options (``with_options``), the async
families made from the sync ones, the incident desk as the home of mitigations, and the
probe stack built from the layer table."""

from __future__ import annotations

import inspect
import warnings
from typing import Any

import httpx
import pytest

from maintainx_resilient import (
    AsyncMaintainXClient,
    AsyncPager,
    ClientClosedError,
    ConfigurationError,
    MaintainXClient,
    NotFoundError,
    Operation,
    RateLimitError,
    ServerError,
    ThrottledError,
    expect_json,
)
from maintainx_resilient._clock import FakeClock
from maintainx_resilient._deadline import deadline_of
from maintainx_resilient._http import HTTPLayer
from maintainx_resilient.policies.auth import AuthLayer
from maintainx_resilient.resources import FAMILIES, Families
from maintainx_resilient.resources._async import ASYNC_FAMILIES
from maintainx_resilient.resources._twins import _declarations, render_stub
from maintainx_resilient.resources._twins import main as stub_main
from maintainx_resilient.testing import Simulator

from .conftest import CANARY_KEY, NO_POLICIES

KEY = Simulator.API_KEY


def simulator_client(**options: Any) -> tuple[Simulator, MaintainXClient]:
    sim = Simulator(seed=5, work_orders=12)
    return sim, MaintainXClient(api_key=KEY, transport=sim.transport(), **options)


class Seen(httpx.BaseTransport):
    """Answers from ``status``; records every request."""

    def __init__(self, status: int = 200, body: Any = None) -> None:
        self.status, self.body = status, body
        self.requests: list[httpx.Request] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return httpx.Response(self.status, json=self.body if self.body is not None else {})


# ---- one way to send -------------------------------------------------------------------------


def test_a_raw_call_goes_through_send_like_every_family_method() -> None:
    """A user's own operation (a route the families do not wrap) is sent, parsed and
    labelled like any other call."""
    sim, client = simulator_client()
    with client:
        op = Operation.make("GET", "/workorders/{id}", expect_json, path_params={"id": 3})
        body = client.send(op)
        assert isinstance(body, dict) and isinstance(body["workOrder"], dict)
        assert body["workOrder"]["id"] == 3
        assert client.work_orders.get(3).id == 3
    assert sim.stats.by_route[("GET", "/workorders/{id}")] == 2


async def test_the_async_client_sends_the_same_way() -> None:
    sim = Simulator(seed=5, work_orders=12)
    async with AsyncMaintainXClient(api_key=KEY, transport=sim.transport()) as client:
        op = Operation.make("GET", "/workorders/{id}", expect_json, path_params={"id": 4})
        body = await client.send(op)
        assert isinstance(body, dict) and isinstance(body["workOrder"], dict)
        assert body["workOrder"]["id"] == 4
        assert (await client.work_orders.get(4)).id == 4


def test_a_closed_client_refuses_calls_with_a_typed_error_and_sends_nothing() -> None:
    """The pipeline is called directly (not through ``httpx.Client.send``), so the client
    itself refuses a call after ``close()``: ours, and still a ``RuntimeError`` as httpx's
    was. A copy from ``with_options`` shares the closed pool and refuses too."""
    seen = Seen(body={"workOrder": {"id": 1}})
    client = MaintainXClient(api_key=CANARY_KEY, transport=seen, **NO_POLICIES)
    assert client.work_orders.get(1).id == 1
    twin = client.with_options(timeout=3)
    assert not client.is_closed
    client.close()
    assert client.is_closed and twin.is_closed
    for closed in (client, twin):
        with pytest.raises(ClientClosedError, match="closed") as info:
            closed.work_orders.get(1)
        assert isinstance(info.value, RuntimeError)
    assert len(seen.requests) == 1


async def test_a_closed_async_client_refuses_calls_too() -> None:
    sim = Simulator(seed=5, work_orders=12)
    client = AsyncMaintainXClient(api_key=KEY, transport=sim.transport())
    assert (await client.work_orders.get(2)).id == 2
    await client.aclose()
    with pytest.raises(ClientClosedError):
        await client.work_orders.get(2)
    assert sim.stats.requests_total == 1


def test_an_answer_carries_its_request() -> None:
    """A parser of one's own may read ``response.request`` (``raise_for_status()`` needs it),
    which ``httpx.Client.send`` used to set: the client sets it."""
    seen = Seen(body={"ok": True})
    client = MaintainXClient(api_key=CANARY_KEY, transport=seen, **NO_POLICIES)

    def parse(response: httpx.Response, op: Operation[Any]) -> str:
        response.raise_for_status()
        return f"{response.request.method} {response.request.url.path}"

    assert client.send(Operation.make("GET", "/things/{id}", parse, path_params={"id": 7})) == (
        "GET /v1/things/7"
    )
    with pytest.raises(NotFoundError):  # and the typed errors are unchanged
        MaintainXClient(api_key=CANARY_KEY, transport=Seen(404), **NO_POLICIES).work_orders.get(7)


# ---- the families, declared once -------------------------------------------------------------


def test_every_family_is_an_attribute_of_both_clients_with_its_declared_name() -> None:
    client = MaintainXClient(api_key=CANARY_KEY, transport=Seen())
    aclient = AsyncMaintainXClient(
        api_key=CANARY_KEY, transport=httpx.MockTransport(lambda r: httpx.Response(200))
    )
    assert list(Families.__annotations__) == [f.spec.attribute for f in FAMILIES]
    for family in FAMILIES:
        assert type(getattr(client, family.spec.attribute)) is family
        twin = type(getattr(aclient, family.spec.attribute))
        assert twin is ASYNC_FAMILIES[f"Async{family.__name__}"]
        assert issubclass(twin, family)


def test_the_async_families_are_coroutine_functions_and_pagers_stay_plain() -> None:
    """Each sending method of an async family is an ``async def``; ``iter`` returns an
    AsyncPager at once."""
    for twin in ASYNC_FAMILIES.values():
        for name in ("get", "delete", "create", "update", "list"):
            method = getattr(twin, name, None)
            if method is not None:
                assert inspect.iscoroutinefunction(method), (twin, name)
    pager = AsyncMaintainXClient(api_key=CANARY_KEY).work_orders.iter(limit=5)
    assert isinstance(pager, AsyncPager)
    comments = AsyncMaintainXClient(api_key=CANARY_KEY).work_orders.comments(1)
    assert isinstance(comments, AsyncPager)


def test_the_generated_stub_is_current(capsys: pytest.CaptureFixture[str]) -> None:
    """``python -m maintainx_resilient.resources --check`` passes on the committed stub
    (nox -s lint runs it too), and would fail on a stub that declares something else."""
    assert stub_main(["--check"]) == 0
    assert capsys.readouterr().err == ""
    text = render_stub(FAMILIES)
    assert _declarations(text) == _declarations(text.replace('"""', '"""Reworded. ', 1))
    assert _declarations(text) != _declarations(text.replace("async def get(", "def get("))


# ---- per-call options ------------------------------------------------------------------------


def test_with_options_shares_the_pool_and_the_policies() -> None:
    client = MaintainXClient(api_key=CANARY_KEY, transport=Seen())
    quick = client.with_options(timeout=2.0, max_retries=0)
    assert quick.policies is client.policies
    assert quick._http is client._http
    assert quick.incident is client.incident
    assert quick.work_orders._client is quick
    assert client.work_orders._client is client


def test_per_call_timeout_headers_and_deadline_reach_the_request() -> None:
    seen = Seen(body={"organizations": []})
    client = MaintainXClient(api_key=CANARY_KEY, transport=seen, **NO_POLICIES)
    tuned = client.with_options(timeout=2.5, headers={"X-Trace": "abc"}, deadline=7.0)
    tuned.organizations.list()
    client.organizations.list()
    first, second = seen.requests
    assert first.extensions["timeout"]["read"] == 2.5
    assert first.headers["x-trace"] == "abc"
    assert "x-trace" not in second.headers
    assert second.extensions["timeout"]["read"] == 30.0


def test_max_retries_zero_sends_once() -> None:
    """The client retries a 503 twice by default; ``max_retries=0`` sends once."""
    seen = Seen(status=503, body={"error": "down"})
    client = MaintainXClient(api_key=CANARY_KEY, transport=seen, breaker=None, fallback=None)
    with pytest.raises(ServerError):
        client.with_options(max_retries=0).organizations.list()
    assert len(seen.requests) == 1


def test_a_per_call_deadline_of_none_lifts_the_bound() -> None:
    seen = Seen(body={"organizations": []})
    client = MaintainXClient(api_key=CANARY_KEY, transport=seen, **NO_POLICIES)
    client.with_options(deadline=None).organizations.list()
    deadline = deadline_of(seen.requests[0])
    assert deadline is not None and deadline.left() == float("inf")


def test_max_wait_lets_a_call_wait_longer_than_the_configured_max_wait() -> None:
    """A 429 closes the scope for 90 s: a plain call refuses (max_wait 75 s), a call given
    max_wait=100 waits it out (on the fake clock) and goes."""
    clock = FakeClock()
    answers = iter([httpx.Response(429, headers={"Retry-After": "90"}, json={"error": "x"})])
    transport = httpx.MockTransport(
        lambda r: next(answers, None) or httpx.Response(200, json={"organizations": []})
    )
    client = MaintainXClient(api_key=CANARY_KEY, transport=transport, clock=clock, retry=None)
    with pytest.raises(RateLimitError):
        client.organizations.list()
    with pytest.raises(ThrottledError):
        client.organizations.list()
    client.with_options(max_wait=100.0, deadline=200.0).organizations.list()
    assert clock.sleeps == pytest.approx([90.0])


@pytest.mark.parametrize(
    ("options", "hint"),
    [
        ({"timeout": -1}, "timeout must be positive"),
        ({"deadline": 0}, "deadline must be positive"),
        ({"max_retries": -1}, "max_retries must be a whole number"),
        ({"max_wait": float("nan")}, "max_wait must be finite"),
        ({"headers": {"Authorization": "x"}}, "use api_key"),
    ],
)
def test_bad_per_call_options_fail_with_a_hint(options: dict[str, Any], hint: str) -> None:
    client = MaintainXClient(api_key=CANARY_KEY, transport=Seen())
    with pytest.raises(ConfigurationError, match=hint):
        client.with_options(**options)


# ---- the incident desk -----------------------------------------------------------------------


def test_mitigations_are_the_desks_and_recorded_there() -> None:
    client = MaintainXClient(api_key=CANARY_KEY, transport=Seen())
    client.enable_fallback_mode()
    client.incident.disable_fallback_mode()
    texts = [entry.text for entry in client.incident.timeline.entries()]
    assert any("enable_fallback_mode" in text for text in texts)
    assert any("disable_fallback_mode" in text for text in texts)


def test_a_breaker_scope_that_names_no_breaker_is_refused_before_anything_changes() -> None:
    client = MaintainXClient(
        api_key=CANARY_KEY, base_url="https://api.example.test/v1", transport=Seen()
    )
    for scope in ("workorders", "/v1/workorders", "https://api.example.test/v1/workorders/"):
        for mitigation in (client.incident.isolate_breaker, client.incident.close_breaker):
            with pytest.raises(ConfigurationError, match="breaker scope"):
                mitigation(scope)
    assert client.incident.timeline.entries() == ()  # nothing was recorded as done
    client.incident.isolate_breaker("https://api.example.test/v1/workorders")
    breakers = client.policies.breakers
    assert breakers is not None
    assert breakers.states()["https://api.example.test/v1/workorders"].state == "isolated"


def test_names_that_moved_to_the_desk_still_answer_with_a_warning() -> None:
    client = MaintainXClient(api_key=CANARY_KEY, transport=Seen())
    with pytest.warns(DeprecationWarning, match="client.incident.attach_sync_store"):
        attach = client.attach_sync_store
    assert attach == client.incident.attach_sync_store
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert not hasattr(client, "no_such_thing")


def test_a_switched_off_policy_says_so() -> None:
    client = MaintainXClient(api_key=CANARY_KEY, transport=Seen(), fallback=None)
    with pytest.raises(ConfigurationError, match=r"fallback=None"):
        client.enable_fallback_mode()


def test_probes_go_through_auth_and_http_only() -> None:
    """The probe stack is the layer table's auth layer over the HTTP layer: no fallback,
    retry, breaker or throttle between a probe and MaintainX."""
    client = MaintainXClient(api_key=CANARY_KEY, transport=Seen())
    stack = client._probe_http._transport
    assert isinstance(stack, AuthLayer)
    assert isinstance(stack.inner, HTTPLayer)


# ---- the answer behind every result ------------------------------------------------------------


def test_records_and_pages_carry_the_answer_the_same_way() -> None:
    """``response_meta`` on a record and on a page: status, headers, request id, and the
    stale label; ``Page.meta`` still answers, with a warning."""
    _sim, client = simulator_client()
    with client:
        record = client.work_orders.get(2)
        page = client.work_orders.list(limit=3)
    for meta in (record.response_meta, page.response_meta):
        assert meta is not None
        assert meta.status_code == 200 and meta.stale is False
        assert meta.headers["content-type"].startswith("application/json")
        assert meta.request_id == meta.headers.get("x-request-id")
    with pytest.warns(DeprecationWarning, match="response_meta"):
        assert page.meta is page.response_meta


# ---- client options in the style of openai-python ------------------------------------------------


def test_max_retries_is_a_client_option() -> None:
    seen = Seen(status=503, body={"error": "down"})
    client = MaintainXClient(
        api_key=CANARY_KEY, transport=seen, breaker=None, fallback=None, max_retries=4
    )
    with pytest.raises(ServerError) as info:
        client.with_options(deadline=None).organizations.list()
    assert len(seen.requests) == 5 and info.value.attempts == 5
    with pytest.raises(ConfigurationError, match="max_retries or retry=None"):
        MaintainXClient(api_key=CANARY_KEY, retry=None, max_retries=2)
    with pytest.raises(ConfigurationError, match="whole number"):
        MaintainXClient(api_key=CANARY_KEY, max_retries=-1)


def test_an_http_client_of_your_own_carries_the_calls() -> None:
    """Your httpx.Client (its mounts, hooks, TLS and proxy settings) sends every call,
    under the whole pipeline; you close it."""
    seen = Seen(body={"organizations": []})
    hooked: list[str] = []
    mine = httpx.Client(
        mounts={"https://": seen},
        auth=("someone", "else"),  # never replaces the bearer key
        event_hooks={"request": [lambda request: hooked.append(request.url.path)]},
    )
    with MaintainXClient(api_key=CANARY_KEY, http_client=mine, **NO_POLICIES) as client:
        client.organizations.list()
    assert hooked == ["/v1/organizations"]
    assert seen.requests[0].headers["authorization"] == f"Bearer {CANARY_KEY}"
    assert not mine.is_closed
    mine.close()


async def test_an_async_http_client_of_your_own() -> None:
    seen: list[httpx.Request] = []

    async def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(200, json={"organizations": []})

    mine = httpx.AsyncClient(transport=httpx.MockTransport(handler))
    async with mine, AsyncMaintainXClient(api_key=CANARY_KEY, http_client=mine) as client:
        await client.organizations.list()
    assert len(seen) == 1


def test_http_client_is_checked() -> None:
    with pytest.raises(ConfigurationError, match="transport= or http_client="):
        MaintainXClient(api_key=CANARY_KEY, transport=Seen(), http_client=httpx.Client())
    with pytest.raises(ConfigurationError, match=r"httpx\.Client"):
        MaintainXClient(api_key=CANARY_KEY, http_client=httpx.AsyncClient())
