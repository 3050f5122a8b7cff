"""Fault controls, through the in-process transport (sync and async)."""

from __future__ import annotations

import json
import threading

import httpx
import pytest

from maintainx_resilient.testing import FaultControls

from ._support import FakeClock, client, make_sim


def test_fail_next_answers_n_errors_in_shape_b_then_recovers() -> None:
    """fail_next(2) gives two 503 {"error": ...} answers, then the real one."""
    sim = make_sim()
    sim.faults.fail_next(2)
    with client(sim) as http:
        answers = [http.get("/workorders", params={"limit": 1}) for _ in range(3)]
    assert [a.status_code for a in answers] == [503, 503, 200]
    assert answers[0].json() == {"error": "Service Unavailable"}
    assert "x-request-id" in answers[0].headers
    assert sim.stats.faults == {"fail_next": 2}


def test_fail_next_takes_any_status_body_and_headers() -> None:
    """A custom status, raw body and extra headers are sent as given."""
    sim = make_sim()
    sim.faults.fail_next(1, status=429, headers={"Retry-After": "3"})
    sim.faults.fail_next(1, status=500, body=b"oops")
    sim.faults.fail_next(1, status=502, body={"error": "Bad gateway", "extra": 1})
    with client(sim) as http:
        limited, raw, custom = (http.get("/teams") for _ in range(3))
    assert limited.status_code == 429 and limited.headers["Retry-After"] == "3"
    assert limited.json() == {"error": "Too many requests. Please retry in 10 seconds"}
    assert raw.status_code == 500 and raw.content == b"oops"
    assert custom.json() == {"error": "Bad gateway", "extra": 1}


def test_faults_can_target_a_method_and_path() -> None:
    """A fault restricted to POST /workorders leaves other requests alone."""
    sim = make_sim()
    sim.faults.fail_next(1, status=500, method="POST", path="/workorders")
    with client(sim) as http:
        assert http.get("/workorders").status_code == 200
        assert http.post("/assets", json={"name": "A"}).status_code == 201
        assert http.post("/workorders", json={"title": "T"}).status_code == 500
        assert http.post("/workorders", json={"title": "T"}).status_code == 200
    assert sim.stats.created == {"assets": 1, "workOrders": 1}


def test_a_failed_request_is_not_processed() -> None:
    """An injected error happens before the API: the create does not happen."""
    sim = make_sim()
    before = len(sim.records("workOrders"))
    sim.faults.fail_next(1)
    with client(sim) as http:
        assert http.post("/workorders", json={"title": "T"}).status_code == 503
    assert len(sim.records("workOrders")) == before
    assert sim.stats.route("POST", "/workorders") == 1
    assert sim.stats.created == {}


def test_error_rate_is_seeded_and_zero_turns_it_off() -> None:
    """The same seed fails the same requests; error_rate(0) stops the failures."""

    def pattern() -> list[int]:
        sim = make_sim()
        sim.faults.error_rate(0.6, status=500)
        with client(sim) as http:
            statuses = [http.get("/categories").status_code for _ in range(40)]
            sim.faults.error_rate(0)
            assert http.get("/categories").status_code == 200
        return statuses

    first, second = pattern(), pattern()
    assert first == second
    assert 10 < first.count(500) < 35 and set(first) == {200, 500}


def test_latency_uses_the_injected_sleep() -> None:
    """latency(2.5) makes each answer wait 2.5 s on the simulator's sleep, not the wall clock."""
    clock = FakeClock()
    sim = make_sim(clock)
    sim.faults.latency(2.5)
    with client(sim) as http:
        assert http.get("/teams").status_code == 200
        assert http.get("/teams").status_code == 200
    assert clock.slept == [2.5, 2.5]


def test_latency_beyond_the_read_timeout_is_a_read_timeout() -> None:
    """An answer slower than the client's read timeout raises ReadTimeout after that timeout."""
    clock = FakeClock()
    sim = make_sim(clock)
    sim.faults.latency(30)
    with client(sim, timeout=httpx.Timeout(5.0)) as http, pytest.raises(httpx.ReadTimeout):
        http.post("/workorders", json={"title": "slow"})
    assert clock.slept == [5.0]
    assert sim.stats.created == {"workOrders": 1}, "the server did the work; the client gave up"


def test_hang_never_answers_the_client_times_out() -> None:
    """hang(1): no answer, the request is not processed, the client's read timeout fires."""
    clock = FakeClock()
    sim = make_sim(clock)
    sim.faults.hang(1)
    with client(sim, timeout=2.0) as http:
        with pytest.raises(httpx.ReadTimeout):
            http.post("/workorders", json={"title": "never"})
        assert http.get("/teams").status_code == 200
    assert clock.slept == [2.0]
    assert sim.stats.created == {}


def test_dropped_connections_raise_a_read_error_without_processing() -> None:
    """drop_connections(1): the client sees ReadError and nothing was created."""
    sim = make_sim()
    sim.faults.drop_connections(1)
    with client(sim) as http:
        with pytest.raises(httpx.ReadError):
            http.post("/workorders", json={"title": "lost"})
        assert http.get("/teams").status_code == 200
    assert sim.stats.created == {}
    assert sim.stats.faults == {"drop_connections": 1}


def test_a_drop_after_processing_loses_only_the_answer() -> None:
    """drop_connections(after_processing=True): the create happened, the answer is lost."""
    sim = make_sim()
    sim.faults.drop_connections(1, after_processing=True, method="POST")
    with client(sim) as http, pytest.raises(httpx.ReadError):
        http.post("/workorders", json={"title": "created anyway"})
    assert sim.stats.created == {"workOrders": 1}
    assert sim.records("workOrders")[-1]["title"] == "created anyway"


def test_malformed_html_is_a_proxy_502_page() -> None:
    """malformed(kind="html"): a text/html 502 from a proxy, not JSON."""
    sim = make_sim()
    sim.faults.malformed(1, kind="html")
    with client(sim) as http:
        answer = http.get("/workorders")
    assert answer.status_code == 502
    assert answer.headers["content-type"].startswith("text/html")
    assert b"502 Bad Gateway" in answer.content


def test_malformed_truncated_is_a_200_with_broken_json() -> None:
    """malformed(kind="truncated"): status 200, a body that is not valid JSON."""
    sim = make_sim()
    sim.faults.malformed(1, kind="truncated")
    with client(sim) as http:
        answer = http.get("/workorders")
    assert answer.status_code == 200
    with pytest.raises(json.JSONDecodeError):
        answer.json()


def test_malformed_wrong_type_keeps_keys_but_changes_every_type() -> None:
    """malformed(kind="wrong_type"): valid JSON, same keys, values of the wrong JSON types."""
    sim = make_sim()
    sim.faults.malformed(1, kind="wrong_type")
    with client(sim) as http:
        broken = http.get("/workorders", params={"limit": 2}).json()
        good = http.get("/workorders", params={"limit": 2}).json()
    assert broken.keys() == good.keys()
    first_broken, first_good = broken["workOrders"][0], good["workOrders"][0]
    assert first_broken.keys() == first_good.keys()
    assert isinstance(first_good["id"], int) and isinstance(first_broken["id"], str)
    assert isinstance(first_good["title"], str) and isinstance(first_broken["title"], int)
    assert isinstance(broken["nextCursor"], int)


def test_outage_answers_503_everywhere_until_healed() -> None:
    """outage(): every request, even /versions, gets 503; heal() restores service."""
    sim = make_sim()
    sim.faults.outage()
    with client(sim) as http:
        assert http.get("/workorders").status_code == 503
        assert http.get("https://sim.test/versions").status_code == 503
        sim.faults.heal()
        assert http.get("/workorders").status_code == 200


def test_outage_refuse_raises_connect_errors() -> None:
    """outage(mode="refuse"): the client cannot connect at all."""
    sim = make_sim()
    sim.faults.outage(mode="refuse")
    with client(sim) as http, pytest.raises(httpx.ConnectError):
        http.get("/workorders")


def test_heal_clears_every_fault() -> None:
    """After heal() no counted fault, error rate, latency or outage remains."""
    clock = FakeClock()
    sim = make_sim(clock)
    faults = sim.faults
    faults.fail_next(5)
    faults.drop_connections(2)
    faults.malformed(3)
    faults.hang(1)
    faults.error_rate(1.0)
    faults.latency(1.0)
    faults.outage()
    armed = faults.active
    faults.heal()
    healed = faults.active
    assert armed and not healed
    with client(sim) as http:
        assert all(http.get("/teams").status_code == 200 for _ in range(5))
    assert clock.slept == []


async def test_faults_reach_async_clients_too() -> None:
    """The async path raises the same transport errors and awaits the injected sleep."""
    clock = FakeClock()
    sim = make_sim(clock)
    sim.faults.latency(1.0)
    sim.faults.drop_connections(1)
    sim.faults.outage(mode="refuse")
    headers = {"Authorization": f"Bearer {sim.API_KEY}"}
    async with httpx.AsyncClient(
        transport=sim.transport(), base_url="https://sim.test/v1", headers=headers
    ) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get("/teams")
        sim.faults.outage(mode="error", status=503)
        assert (await http.get("/teams")).status_code == 503
        sim.faults.heal()
        sim.faults.drop_connections(1)
        with pytest.raises(httpx.ReadError):
            await http.get("/teams")
        sim.faults.latency(0.5)
        assert (await http.get("/teams")).status_code == 200
    assert clock.slept == [1.0, 1.0, 0.5]


def test_fault_switches_are_thread_safe() -> None:
    """Counted faults set from many threads are each consumed exactly once."""
    faults = FaultControls(seed=1)

    def arm() -> None:
        for _ in range(100):
            faults.fail_next(1)

    threads = [threading.Thread(target=arm) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    fired = sum(faults.plan("GET", "/v1/teams").response is not None for _ in range(900))
    assert fired == 800


@pytest.mark.parametrize(
    "call",
    [
        lambda f: f.error_rate(1.5),
        lambda f: f.latency(-1),
        lambda f: f.fail_next(-1),
        lambda f: f.malformed(1, kind="xml"),
        lambda f: f.outage(mode="explode"),
    ],
)
def test_impossible_fault_settings_fail_fast(call: object) -> None:
    """Rates outside 0..1, negative latencies or counts and unknown kinds are ValueErrors."""
    with pytest.raises(ValueError):
        call(FaultControls())  # type: ignore[operator]
