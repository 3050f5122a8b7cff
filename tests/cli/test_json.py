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
    covered = {c.schema for c in WITH_JSON} | {"progress-line"}
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
