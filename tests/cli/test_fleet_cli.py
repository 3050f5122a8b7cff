"""`maintainx-resilient fleet ...`: the fleet's mitigations from the command line. No API
key needed (the commands talk to Redis only); every worker applies a change within a
second; Redis unreachable is exit status 1 with a clear error and no password; mistakes are
64 with a hint; ``--fleet`` puts the clients of the other commands in the fleet too."""

from __future__ import annotations

import json
import os
import socket
from typing import Any

import pytest

from maintainx_resilient.cli import main
from maintainx_resilient.cli._output import schema

from .._redis import fleet_name, redis_client, redis_url
from ..fleet._fleet_clients import Clients, beat, clients, sim, wait_for
from .conftest import World

__all__ = [
    "clients",
    "fleet_name",
    "redis_client",
    "redis_url",
    "sim",
]  # fixtures, imported explicitly

pytestmark = [pytest.mark.redis, pytest.mark.socket]

jsonschema: Any = pytest.importorskip("jsonschema")
HOST = socket.gethostname()[:64]
SCOPE = "https://api.example.test/v1/workorders"


@pytest.fixture
def no_key(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MAINTAINX_API_KEY", "MAINTAINX_FLEET", "MAINTAINX_FLEET_NAME", "NO_COLOR"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("COLUMNS", "80")


def _run(
    capsys: pytest.CaptureFixture[str], *argv: str, code: int = 0, doc: str | None = None
) -> Any:
    """Run the command in process; its JSON document (validated) or its text output."""
    assert main(list(argv)) == code, capsys.readouterr().err
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    if doc is None:
        return captured.out
    data = json.loads(captured.out)
    jsonschema.validate(data, schema(doc))
    return data


def _fleet_args(url: str, name: str) -> list[str]:
    return ["--fleet", url, "--fleet-name", name]


def _fallback(client: Any) -> bool:
    return bool(client.policies.fallback.fallback_mode)


@pytest.mark.usefixtures("no_key")
def test_fallback_mode_switched_on_from_the_cli_reaches_a_worker_within_a_second(
    clients: Clients, redis_url: str, fleet_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    worker = clients(heartbeat=0.5)
    fleet = _fleet_args(redis_url, fleet_name)
    data = _run(
        capsys, *fleet, "fleet", "fallback", "on", "--reason", "INC-5", "--json",
        doc="fleet-change",
    )  # fmt: skip
    assert data["command"] == "fleet fallback" and data["fleet"] == fleet_name
    change = data["change"]
    assert change["action"] == "enable_fallback_mode" and change["reason"] == "INC-5"
    assert change["by"]["host"] == HOST and change["by"]["pid"] == os.getpid()
    assert [m["name"] for m in data["mitigations"]] == ["fallback_mode"]
    took = wait_for(lambda: _fallback(worker), within=1.0)
    assert took < 1.0
    line = next(e.text for e in worker.incident.timeline.entries() if "fleet enable" in e.text)
    assert "INC-5" in line and f"{HOST} pid {os.getpid()}" in line

    text = _run(capsys, "fleet", "fallback", "off", *fleet)  # the flags after the command too
    assert "fallback mode off" in text and "no fleet-wide mitigation in force" in text
    wait_for(lambda: not _fallback(worker), within=1.0)


@pytest.mark.usefixtures("no_key")
def test_status_lists_the_workers_and_the_mitigations_with_who_and_when(
    clients: Clients,
    redis_url: str,
    fleet_name: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    a, b = clients(), clients()
    monkeypatch.setenv("MAINTAINX_FLEET", redis_url)
    monkeypatch.setenv("MAINTAINX_FLEET_NAME", fleet_name)
    _run(capsys, "fleet", "throttle", "90", "--reason", "429 storm")
    _run(capsys, "fleet", "breaker", "isolate", "--scope", SCOPE)
    beat(a, b)
    assert a.policies.throttle.override_per_minute == 90  # type: ignore[union-attr]
    assert b.policies.breakers.states()[SCOPE].state == "isolated"  # type: ignore[union-attr]

    data = _run(capsys, "fleet", "status", "--json", doc="fleet-status")
    assert data["state"] == "joined" and data["workers_alive"] == 2
    assert {w["worker"] for w in data["workers"]} == {
        x.policies.fleet.worker.id  # type: ignore[union-attr]
        for x in (a, b)
    }
    assert {(w["host"], w["pid"]) for w in data["workers"]} == {(HOST, os.getpid())}
    by_name = {m["name"]: m for m in data["mitigations"]}
    assert by_name["throttling"]["value"] == 90 and by_name["throttling"]["reason"] == "429 storm"
    assert by_name[f"breaker:{SCOPE}"]["scope"] == SCOPE
    assert by_name["throttling"]["set_at"].endswith("Z")

    text = _run(capsys, "fleet", "status")
    assert f"fleet {fleet_name!r} at {redis_url}: joined" in text
    assert "workers alive: 2" in text and "throttling capped at 90/min" in text
    assert all(len(line) <= 80 for line in text.splitlines())

    _run(capsys, "fleet", "throttle", "off")
    _run(capsys, "fleet", "breaker", "close")
    beat(a, b)
    assert a.policies.throttle.override_per_minute is None  # type: ignore[union-attr]
    assert b.policies.breakers.states()[SCOPE].state == "closed"  # type: ignore[union-attr]

    timeline = _run(capsys, "fleet", "timeline", "--json", doc="fleet-timeline")
    assert [e["action"] for e in timeline["entries"]] == [
        "close_breaker",
        "disable_throttling",
        "isolate_breaker",
        "enable_throttling",
    ]
    text = _run(capsys, "fleet", "timeline", "--limit", "1")
    assert "every breaker closed by hand" in text and "429 storm" not in text


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.usefixtures("no_key")
@pytest.mark.parametrize(
    "argv",
    [
        ["fleet", "status"],
        ["fleet", "status", "--json"],
        ["fleet", "fallback", "on"],
        ["fleet", "throttle", "60", "--json"],
        ["fleet", "timeline"],
    ],
)
def test_redis_unreachable_is_status_1_with_a_clear_error(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    password = "pw-not-to-be-shown"
    url = f"redis://ops:{password}@127.0.0.1:{_closed_port()}/0"
    assert main(["--fleet", url, *argv]) == 1
    captured = capsys.readouterr()
    if "--json" in argv:  # one error document, no password in it
        doc = json.loads(captured.out)
        assert doc["ok"] is False and doc["error"]["type"] == "StorageError"
        assert password not in captured.out
    else:
        assert captured.out == ""
    err = " ".join(captured.err.split())  # as wrapped for an 80-column terminal
    assert "did not answer" in err and "redis://ops:***@127.0.0.1" in err
    assert "Check that Redis is up" in err
    assert password not in err and "Traceback" not in err
    if argv[1] not in ("status", "timeline"):
        assert "Nothing was changed" in err


@pytest.mark.usefixtures("no_key")
@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["fleet", "status"], "export MAINTAINX_FLEET"),
        (["--fleet-name", "x", "fleet", "status"], "add --fleet"),
        (["--fleet", "ftp://example.com", "fleet", "status"], "fleet URL must start"),
        (["--fleet", "redis://127.0.0.1:1/0", "--fleet-name", "a b", "fleet", "status"], "name"),
        (["--fleet", "redis://127.0.0.1:1/0", "--fleet-name", "", "fleet", "status"], "empty"),
        (["--fleet", "redis://127.0.0.1:1/0", "fleet", "status", "--fleet-name", " "], "empty"),
        (["--fleet", "redis://127.0.0.1:1/0", "--fleet-name", "", "health"], "--fleet-name"),
        (["--fleet", "redis://127.0.0.1:1/0", "fleet", "throttle", "0"], "'off'"),
        (["--fleet", "redis://127.0.0.1:1/0", "fleet", "throttle", "fast"], "'off'"),
        (["--fleet", "redis://127.0.0.1:1/0", "fleet", "fallback", "maybe"], "invalid choice"),
        (["--fleet", "redis://127.0.0.1:1/0", "fleet", "timeline", "--limit", "0"], "--limit"),
    ],
)
def test_mistakes_exit_64_with_a_hint(
    argv: list[str], says: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == 64
    captured = capsys.readouterr()
    assert captured.out == ""
    err = " ".join(captured.err.split())
    assert says in err and "hint" in err
    assert "Traceback" not in err


@pytest.mark.usefixtures("no_key")
def test_a_bad_scope_or_reason_is_64_and_changes_nothing(
    redis_url: str, fleet_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    fleet = _fleet_args(redis_url, fleet_name)
    for argv in (
        ["fleet", "breaker", "isolate", "--scope", "*"],
        ["fleet", "breaker", "isolate", "--scope", "nonsense"],
        ["fleet", "breaker", "isolate", "--scope", "workorders"],
        ["fleet", "breaker", "close", "--scope", "/v1/workorders"],
        ["fleet", "breaker", "isolate", "--scope", f"{SCOPE}/"],
        ["fleet", "fallback", "on", "--reason", "x" * 201],
    ):
        assert main([*fleet, *argv]) == 64
        err = capsys.readouterr().err
        assert "hint" in err and "Traceback" not in err
        if "--scope" in argv:  # the hint shows the form, with an example
            assert "--scope https://api.getmaintainx.com/v1/workorders" in " ".join(err.split())
    assert (
        _run(capsys, *fleet, "fleet", "timeline", "--json", doc="fleet-timeline")["entries"] == []
    )


@pytest.mark.usefixtures("no_key")
def test_an_empty_fleet_name_in_the_environment_is_64(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """MAINTAINX_FLEET_NAME="" (an unset variable in an env file) does not mean 'default'."""
    monkeypatch.setenv("MAINTAINX_FLEET", "redis://127.0.0.1:1/0")
    monkeypatch.setenv("MAINTAINX_FLEET_NAME", "")
    assert main(["fleet", "status"]) == 64
    monkeypatch.setenv("MAINTAINX_API_KEY", "k" * 20)
    assert main(["health"]) == 64
    err = capsys.readouterr().err
    assert err.count("MAINTAINX_FLEET_NAME is set but empty") == 2 and "Traceback" not in err


@pytest.mark.usefixtures("no_key")
def test_a_bad_scope_is_64_even_when_redis_is_down(capsys: pytest.CaptureFixture[str]) -> None:
    """The scope is checked before Redis is reached: a typo is a usage error, not exit 1."""
    fleet = ["--fleet", "redis://127.0.0.1:1/0", "--fleet-name", "qa2-unreachable"]
    assert main([*fleet, "fleet", "breaker", "isolate", "--scope", "workorders"]) == 64
    assert "a breaker scope is the base URL" in capsys.readouterr().err


def test_the_fleet_option_puts_the_other_commands_clients_in_the_fleet(
    in_world: World, redis_url: str, fleet_name: str, capsys: pytest.CaptureFixture[str]
) -> None:
    """`--fleet` before `health` (or `diagnose`): the command's client joins the fleet,
    reports it, and leaves the list of workers when it is done."""
    import redis

    fleet = _fleet_args(redis_url, fleet_name)
    _run(capsys, *fleet, "fleet", "fallback", "on", "--reason", "drill")
    data = _run(capsys, *fleet, "health", "--json", code=1, doc="health")  # degraded
    assert data["fleet"]["name"] == fleet_name and data["fleet"]["state"] == "joined"
    assert [m["name"] for m in data["fleet"]["mitigations"]] == ["fallback_mode"]
    assert any("fallback mode is on" in r for r in data["reasons"])
    report = _run(
        capsys, *fleet, "diagnose", "--runbook", "RB-005", "--no-status-page", "--json",
        doc="diagnose",
    )  # fmt: skip
    assert report["fleet"]["workers_alive"] == 1
    assert "RB005.FLEET_MITIGATIONS" in json.dumps(report["results"])
    client = redis.Redis.from_url(redis_url)
    try:
        assert client.zcard(f"mx:{{{fleet_name}}}:workers") == 0
    finally:
        client.close()


@pytest.mark.usefixtures("no_key")
def test_a_key_typed_into_a_reason_is_masked_before_it_reaches_redis(
    redis_url: str,
    fleet_name: str,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import redis

    from ..conftest import CANARY_KEY

    monkeypatch.setenv("MAINTAINX_API_KEY", CANARY_KEY)
    fleet = _fleet_args(redis_url, fleet_name)
    reason = f"is {CANARY_KEY} revoked?"
    data = _run(
        capsys, *fleet, "fleet", "fallback", "on", "--reason", reason, "--json", doc="fleet-change"
    )
    assert CANARY_KEY not in json.dumps(data) and "<redacted sha256:" in data["change"]["reason"]
    client = redis.Redis.from_url(redis_url)
    try:
        stored = repr(client.hgetall(f"mx:{{{fleet_name}}}:mitigations"))
        stored += repr(client.lrange(f"mx:{{{fleet_name}}}:timeline", 0, -1))
    finally:
        client.close()
    assert CANARY_KEY not in stored and "redacted" in stored
