"""One JSON convention for every ``--json``: one document on stdout, ``schema_version``,
``generator`` and ``command`` first, snake_case keys, ISO-8601 UTC times, and a JSON Schema
per command that the output validates against."""

from __future__ import annotations

import importlib
import json
import re
from collections.abc import Iterator
from typing import Any

import pytest

from maintainx_resilient.cli import main
from maintainx_resilient.cli._output import SCHEMA_DIR, schema

from ._commands import COMMANDS, Command
from .conftest import World

pytestmark = pytest.mark.socket

jsonschema: Any = importlib.import_module("jsonschema")
WITH_JSON = [c for c in COMMANDS if c.schema is not None]
SNAKE = re.compile(r"^[a-z][a-z0-9_]*$")


@pytest.mark.parametrize("command", WITH_JSON, ids=lambda c: c.name)
def test_every_json_document_validates_against_its_schema(
    command: Command, in_world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    """The whole of stdout is one JSON document that the command's schema accepts."""
    assert main([*command.argv(in_world), "--json"]) == command.code
    captured = capsys.readouterr()
    doc = json.loads(captured.out)  # one document, nothing before or after it
    assert command.schema is not None
    jsonschema.validate(doc, schema(command.schema))
    assert list(doc)[:3] == ["schema_version", "generator", "command"]
    assert doc["schema_version"] == 1 and doc["command"] == command.name
    assert "Traceback" not in captured.err


def _schemas() -> Iterator[tuple[str, dict[str, Any]]]:
    yield "diagnose", schema("diagnose")
    for path in sorted(SCHEMA_DIR.glob("*.json")):
        yield path.stem, json.loads(path.read_text("utf-8"))


def _properties(node: Any, path: str = "$") -> Iterator[tuple[str, str, dict[str, Any]]]:
    if isinstance(node, dict):
        for name, sub in node.get("properties", {}).items():
            yield path, name, sub
            yield from _properties(sub, f"{path}.{name}")
        for key, sub in node.items():
            if key != "properties":
                yield from _properties(sub, f"{path}.{key}")
    elif isinstance(node, list):
        for item in node:
            yield from _properties(item, path)


@pytest.mark.parametrize(("name", "document"), list(_schemas()), ids=lambda v: str(v)[:20])
def test_schemas_state_the_convention(name: str, document: dict[str, Any]) -> None:
    """Each schema is valid draft 2020-12, describes every field, names them in snake_case,
    types every ``*_at`` as an ISO-8601 UTC string and closes its objects."""
    jsonschema.Draft202012Validator.check_schema(document)
    for path, prop, sub in _properties(document):
        assert SNAKE.match(prop), f"{name}: {path}.{prop} is not snake_case"
        assert "description" in sub, f"{name}: {path}.{prop} has no description"
        if prop.endswith("_at"):
            text = json.dumps(sub)
            assert "Z$" in text and '"string"' in text, f"{name}: {path}.{prop} is not ISO"
    if name != "progress-line":
        assert document["additionalProperties"] is False
        assert {"schema_version", "generator", "command"} <= set(document["properties"])


def test_every_command_with_a_result_has_json() -> None:
    """Every schema file belongs to a command in the table (nothing documented is untested)."""
    covered = {c.schema for c in WITH_JSON} | {"progress-line", "error"}
    assert {p.stem for p in SCHEMA_DIR.glob("*.json")} | {"diagnose"} == covered


def test_json_progress_lines_validate(in_world: World, capsys: pytest.CaptureFixture[str]) -> None:
    """`--progress json` writes one line per step on stderr, each valid; stdout stays one
    document."""
    argv = ["sync", "full", "--db", str(in_world.db), "--rate-limit", "0"]
    assert main([*argv, "--json", "--progress", "json"]) == 0
    captured = capsys.readouterr()
    assert json.loads(captured.out)["command"] == "sync full"
    lines = [json.loads(line) for line in captured.err.splitlines()]
    assert lines and all(line["event"] == "page" for line in lines)
    for line in lines:
        jsonschema.validate(line, schema("progress-line"))
        assert "elapsed_s" in line and "elapsed" not in line


def _error_document(captured: Any, command: str, code: int) -> dict[str, Any]:
    """stdout is one error document (schema ``error``); stderr has the human error line."""
    doc: dict[str, Any] = json.loads(captured.out)
    jsonschema.validate(doc, schema("error"))
    assert list(doc)[:3] == ["schema_version", "generator", "command"]
    assert doc["command"] == command and doc["ok"] is False
    assert doc["error"]["exit_code"] == code
    assert "maintainx-resilient: error: " in captured.err and "Traceback" not in captured.err
    assert " ".join(doc["error"]["message"].split()) in " ".join(captured.err.split())
    return doc


def test_a_failed_sync_prints_one_error_document(
    in_world: World, tmp_path: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    """`sync incremental --json` during a 503 outage: stdout was empty, now the error
    document; exit status 1 and the error line on stderr as before."""
    db = tmp_path / "copy.db"
    db.write_bytes(in_world.db.read_bytes())
    in_world.sim.faults.outage(status=503)
    try:
        code = main(["sync", "incremental", "--db", str(db), "--rate-limit", "0", "--json"])
    finally:
        in_world.sim.faults.heal()
    captured = capsys.readouterr()
    assert code == 1
    doc = _error_document(captured, "sync incremental", 1)
    assert doc["error"]["type"] == "ServerError" and "503" in doc["error"]["message"]
    assert in_world.env["MAINTAINX_API_KEY"] not in captured.out + captured.err


def test_a_fleet_command_with_redis_down_prints_one_error_document(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """`fleet status --json` with Redis unreachable: the error document, no password."""
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    password = "pw-not-to-be-shown"
    url = f"redis://ops:{password}@127.0.0.1:{port}/0"
    monkeypatch.delenv("MAINTAINX_FLEET_NAME", raising=False)
    assert main(["--fleet", url, "fleet", "status", "--json"]) == 1
    captured = capsys.readouterr()
    doc = _error_document(captured, "fleet status", 1)
    assert doc["error"]["type"] == "StorageError"
    assert "redis://ops:***@127.0.0.1" in doc["error"]["message"]
    assert password not in captured.out + captured.err


def test_a_usage_error_of_a_json_command_is_an_error_document(
    in_world: World, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """A mistake found once the options are read (no API key) is a document too, with the
    hint; without --json stdout stays empty (tests/cli/test_usage.py)."""
    monkeypatch.setenv("MAINTAINX_API_KEY", "")
    assert main(["health", "--json"]) == 64
    doc = _error_document(capsys.readouterr(), "health", 64)
    assert doc["error"]["type"] == "UsageError" and "MAINTAINX_API_KEY" in doc["error"]["hint"]
