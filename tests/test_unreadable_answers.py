"""A 200 whose body is not the API's JSON (an HTML login page from a proxy, truncated JSON,
the wrong shape) fails every call with DecodeError: the statistics, RB-002 and health() must
say so instead of "healthy, 0 % errors" (QA finding 1)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from maintainx_resilient import AsyncMaintainXClient, DecodeError, MaintainXClient
from maintainx_resilient.cli import main
from maintainx_resilient.diagnostics import DiagnosticsConfig
from maintainx_resilient.diagnostics import rb001_unreachable as rb001
from maintainx_resilient.diagnostics import rb002_errors as rb002
from maintainx_resilient.diagnostics._model import Severity
from maintainx_resilient.diagnostics._network import skipped
from maintainx_resilient.diagnostics.desk import probe_result
from maintainx_resilient.diagnostics.health import assess
from maintainx_resilient.diagnostics.status_page import StatusPageReport
from maintainx_resilient.testing import Simulator

SKIP = skipped("step", "in-process transport")

PROXY_PAGE = "<html><body>Please log in to the corporate proxy</body></html>"


def _proxy(sim: Simulator) -> None:
    sim.faults.fail_next(1000, status=200, headers={"Content-Type": "text/html"}, body=PROXY_PAGE)


def _async_client(sim: Simulator) -> AsyncMaintainXClient:
    return AsyncMaintainXClient(
        api_key=Simulator.API_KEY,
        transport=sim.transport(),
        diagnostics=DiagnosticsConfig(status_page_url=None),
    )


def _client(sim: Simulator) -> MaintainXClient:
    return MaintainXClient(
        api_key=Simulator.API_KEY,
        transport=sim.transport(),
        diagnostics=DiagnosticsConfig(status_page_url=None),
    )


def _after_twelve_proxy_pages() -> MaintainXClient:
    """A client whose last 12 calls were answered with a proxy's HTML page (DecodeError)."""
    sim = Simulator(seed=1, work_orders=30)
    client = _client(sim)
    _proxy(sim)
    for i in range(12):
        with pytest.raises(DecodeError):
            client.work_orders.get(i + 1)
    return client


def test_decode_errors_count_as_failed_calls_in_rb002() -> None:
    client = _after_twelve_proxy_pages()
    snap = client.stats.snapshot()
    assert (snap.requests, snap.errors) == (12, 12)
    assert dict(snap.error_distribution) == {"DecodeError:GET /workorders/{id}": 12}
    report = client.diagnose(only=["RB-002"])
    codes = {f.code for f in report.findings}
    assert {rb002.CODE_ERROR_RATE, rb002.CODE_UNREADABLE_ANSWERS} <= codes
    assert "100.0% of 12 calls failed" in report.results[0].detail
    client.close()


@pytest.mark.parametrize("kind", ["truncated", "wrong_type"])
def test_malformed_json_counts_as_failed(kind: Any) -> None:
    sim = Simulator(seed=1, work_orders=30)
    client = _client(sim)
    sim.faults.malformed(n=1000, kind=kind)
    for _ in range(3):
        with pytest.raises(DecodeError):
            client.work_orders.list(limit=5)
    snap = client.stats.snapshot()
    assert (snap.requests, snap.errors) == (3, 3)
    client.close()


async def test_async_client_counts_decode_errors_too() -> None:
    sim = Simulator(seed=1, work_orders=30)
    client = _async_client(sim)
    _proxy(sim)
    for i in range(3):
        with pytest.raises(DecodeError):
            await client.work_orders.get(i + 1)
    snap = client.stats.snapshot()
    assert (snap.requests, snap.errors) == (3, 3)
    await client.aclose()


# ---- the probe: a 2xx must be the API's JSON ---------------------------------------------


def _answer(body: bytes, content_type: str = "application/json", status: int = 200) -> Any:
    return httpx.Response(status, headers={"content-type": content_type}, content=body)


@pytest.mark.parametrize(
    ("body", "content_type", "problem"),
    [
        (PROXY_PAGE.encode(), "text/html", "an HTML page (text/html)"),
        (b"<html>login</html>", "application/json", "an HTML page"),
        (b'{"organizations": [{"id": 1', "application/json", "not JSON"),
        (b"", "application/json", "not JSON"),
        (b"[]", "application/json", "an array, not an object"),
        (b'{"error": "OK"}', "application/json", "no list of organizations"),
        (b'{"organizations": "x"}', "application/json", "no list of organizations"),
    ],
)
def test_a_2xx_probe_answer_that_is_not_the_api_json_fails(
    body: bytes, content_type: str, problem: str
) -> None:
    result = probe_result("GET", rb001.PROBE_PATH, 0.01, _answer(body, content_type))
    assert result.status == 200
    assert result.error == "DecodeError"
    assert not result.ok
    assert problem in result.detail


def test_the_api_json_with_unknown_fields_is_a_good_probe() -> None:
    body = b'{"organizations": [{"id": 1, "name": "a", "newField": 2}], "nextCursor": null, "x": 1}'
    result = probe_result("GET", rb001.PROBE_PATH, 0.01, _answer(body))
    assert (result.ok, result.error, result.detail) == (True, None, "200 OK")
    listed = probe_result("GET", "/workorders?limit=10", 0.01, _answer(b'{"workOrders": []}'))
    assert listed.ok
    assert probe_result("DELETE", "/workorders/1", 0.01, _answer(b"", status=204)).ok


def test_the_excerpt_of_a_bad_answer_never_shows_the_key() -> None:
    secret = "Bearer sk-live-" + "x" * 24
    result = probe_result("GET", rb001.PROBE_PATH, 0.01, _answer(secret.encode(), "text/plain"))
    assert "sk-live-" not in result.detail


def test_rb001_names_a_proxy_answering_html_sev1() -> None:
    probe = probe_result("GET", rb001.PROBE_PATH, 0.01, _answer(PROXY_PAGE.encode(), "text/html"))
    obs = rb001.Observations(SKIP, SKIP, SKIP, probe, StatusPageReport(state="unknown"))
    (finding,) = rb001.classify_reachability(obs)
    assert finding.code == rb001.NOT_API_ANSWER
    assert finding.severity is Severity.SEV1
    assert "answers HTML instead of the API" in finding.title
    assert "proxy" in finding.title
    assert finding.mitigations[0].code == "check_proxy"
    assert finding.evidence["probe"]["error"] == "DecodeError"


def test_rb001_names_malformed_json_sev1() -> None:
    probe = probe_result("GET", rb001.PROBE_PATH, 0.01, _answer(b'{"organi'))
    obs = rb001.Observations(SKIP, SKIP, SKIP, probe, StatusPageReport(state="unknown"))
    (finding,) = rb001.classify_reachability(obs)
    assert finding.code == rb001.NOT_API_ANSWER
    assert finding.severity is Severity.SEV1
    assert "not its JSON" in finding.title


def test_health_assess_is_unhealthy_for_an_html_probe_answer() -> None:
    probe = probe_result("GET", rb001.PROBE_PATH, 0.01, _answer(PROXY_PAGE.encode(), "text/html"))
    status, reasons = assess(probe)
    assert status == "unhealthy"
    assert "HTML page" in reasons[0]


def test_health_and_diagnose_see_a_proxy_page_sync() -> None:
    """The QA reproduction: health() was healthy and diagnose() had no findings."""
    client = _after_twelve_proxy_pages()
    report = client.health()
    assert report.status == "unhealthy"
    assert (report.probe_status, report.probe_error) == (200, "DecodeError")
    diagnosis = client.diagnose()
    assert diagnosis.severity is Severity.SEV1
    codes = {f.code for f in diagnosis.findings}
    assert {rb001.NOT_API_ANSWER, rb002.CODE_UNREADABLE_ANSWERS} <= codes
    client.close()


async def test_health_and_diagnose_see_a_proxy_page_async() -> None:
    sim = Simulator(seed=1, work_orders=30)
    client = _async_client(sim)
    sim.faults.malformed(n=1000, kind="truncated")
    report = await client.health()
    assert report.status == "unhealthy"
    assert report.probe_error == "DecodeError"
    diagnosis = await client.diagnose(only=["RB-001"])
    assert [f.code for f in diagnosis.findings] == [rb001.NOT_API_ANSWER]
    await client.aclose()


def test_cli_health_is_unhealthy_behind_a_proxy_page(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    sim = Simulator(seed=1, work_orders=30)
    with sim.serve() as server:
        monkeypatch.setenv("MAINTAINX_API_KEY", Simulator.API_KEY)
        monkeypatch.setenv("MAINTAINX_BASE_URL", server.base_url)
        _proxy(sim)
        code = main(["health"])
    out = capsys.readouterr().out
    assert code != 0
    assert "HEALTHY" not in out.replace("UNHEALTHY", "")
    assert "HTML page" in out
    assert Simulator.API_KEY not in out


def test_a_proxy_page_is_answered_with_the_last_good_answer_labelled_stale() -> None:
    """A 200 that does not parse is an outage for the caller: the fallback cache answers with
    the last good answer (reason ``undecodable``), and the statistics still count the try as
    failed. Without a cached answer the DecodeError goes through."""
    sim = Simulator(seed=1, work_orders=30)
    client = _client(sim)
    good = client.work_orders.get(1)
    page = client.work_orders.list(limit=5)
    _proxy(sim)
    stale = client.work_orders.get(1)
    assert stale.id == good.id and stale.title == good.title
    meta = stale.response_meta
    assert meta is not None and (meta.stale, meta.reason) == (True, "undecodable")
    stale_page = client.work_orders.list(limit=5)
    assert [wo.id for wo in stale_page.items] == [wo.id for wo in page.items]
    assert stale_page.response_meta is not None and stale_page.response_meta.stale
    with pytest.raises(DecodeError):
        client.work_orders.get(2)  # never fetched: nothing to fall back on
    snap = client.stats.snapshot()
    assert snap.errors == 3  # the two stale answers hid failed tries, and the statistics know
    client.close()


async def test_the_async_client_answers_a_proxy_page_stale_too() -> None:
    sim = Simulator(seed=1, work_orders=30)
    async with _async_client(sim) as client:
        await client.work_orders.get(1)
        _proxy(sim)
        stale = await client.work_orders.get(1)
        assert stale.response_meta is not None and stale.response_meta.reason == "undecodable"


def test_without_the_fallback_cache_a_proxy_page_raises() -> None:
    sim = Simulator(seed=1, work_orders=30)
    client = MaintainXClient(api_key=Simulator.API_KEY, transport=sim.transport(), fallback=None)
    client.work_orders.get(1)
    _proxy(sim)
    with pytest.raises(DecodeError):
        client.work_orders.get(1)
    client.close()
