"""Access to MaintainX's OpenAPI document for tests (shared by every test package).

The spec is looked up in ``$MAINTAINX_SPEC_DIR`` if set, else in the package
(``maintainx_resilient/testing/spec``: the one vendored copy, which the simulator is built
from; ``test_vendored_spec_is_current`` checks it against the team's ``shared/spec`` when that
is present).

    load_spec()                                  the whole document (cached)
    operation("/workorders/{id}", "get")         one operation object
    response_schema(path, method, status)        the JSON schema of a response body, or None
    request_body_schema(path, method)            the JSON schema of a request body, or None
    query_param_names(path, method)              the documented query parameter names
    match_path("/workorders/12/status")          "/workorders/{id}/status" (None if unknown)
    validate(schema, instance, strict=True)      OAS 3.0 validation; strict forbids properties
                                                 the schema does not list
"""

from __future__ import annotations

import copy
import functools
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from maintainx_resilient.testing._spec import OPENAPI_FILE, SPEC_DIR, openapi

SPEC_FILE = OPENAPI_FILE
HTTP_METHODS = ("get", "post", "put", "patch", "delete")


def spec_dir() -> Path:
    """The directory holding the spec files."""
    env = os.environ.get("MAINTAINX_SPEC_DIR")
    if env:
        return Path(env)
    return SPEC_DIR


@functools.lru_cache(maxsize=1)
def load_spec() -> dict[str, Any]:
    """The OpenAPI document (parsed once per process; shared with the simulator's copy)."""
    if spec_dir() == SPEC_DIR:
        return openapi()
    with (spec_dir() / SPEC_FILE).open(encoding="utf-8") as handle:
        spec: dict[str, Any] = json.load(handle)
    return spec


def operations() -> Iterator[tuple[str, str, dict[str, Any]]]:
    """Every ``(path template, method, operation)`` of the spec; methods in lower case."""
    for path, item in load_spec()["paths"].items():
        for method, op in item.items():
            if method in HTTP_METHODS:
                yield path, method, op


def operation(path_template: str, method: str) -> dict[str, Any]:
    """One operation; KeyError if the spec does not have it."""
    op: dict[str, Any] = load_spec()["paths"][path_template][method.lower()]
    return op


def has_operation(path_template: str, method: str) -> bool:
    return method.lower() in load_spec()["paths"].get(path_template, {})


def documented_statuses(path_template: str, method: str) -> set[int]:
    return {int(code) for code in operation(path_template, method).get("responses", {})}


def response_schema(path_template: str, method: str, status: int) -> dict[str, Any] | None:
    """The ``application/json`` schema of a response; None if the spec gives no body schema."""
    response = operation(path_template, method).get("responses", {}).get(str(status))
    if response is None:
        raise KeyError(f"{method.upper()} {path_template} documents no {status} response")
    schema = response.get("content", {}).get("application/json", {}).get("schema")
    return schema if isinstance(schema, dict) else None


def request_body_schema(path_template: str, method: str) -> dict[str, Any] | None:
    body = operation(path_template, method).get("requestBody")
    if not body:
        return None
    schema = body.get("content", {}).get("application/json", {}).get("schema")
    return schema if isinstance(schema, dict) else None


def query_param_names(path_template: str, method: str) -> set[str]:
    params = operation(path_template, method).get("parameters", [])
    return {p["name"] for p in params if p.get("in") == "query"}


def header_param_names(path_template: str, method: str) -> set[str]:
    params = operation(path_template, method).get("parameters", [])
    return {p["name"].lower() for p in params if p.get("in") == "header"}


def _segments(path: str) -> list[str]:
    return [segment for segment in path.strip("/").split("/") if segment]


def match_path(concrete_path: str) -> str | None:
    """The spec template of a concrete path (with or without the ``/v1`` prefix).

    Literal segments win over parameters, so ``/maintenanceplans/workorderblueprints`` does
    not match ``/maintenanceplans/{id}``.
    """
    path = concrete_path.split("?", 1)[0]
    if path.startswith("/v1/"):
        path = path[3:]
    actual = _segments(path)
    best: tuple[int, str] | None = None
    for template in load_spec()["paths"]:
        pattern = _segments(template)
        if len(pattern) != len(actual):
            continue
        literal = 0
        for expected, got in zip(pattern, actual, strict=True):
            if expected.startswith("{") and expected.endswith("}"):
                continue
            if expected != got:
                break
            literal += 1
        else:
            if best is None or literal > best[0]:
                best = (literal, template)
    return best[1] if best else None


def _without_nullable(schema: Any) -> Any:
    if not isinstance(schema, dict):
        return schema
    result = {key: value for key, value in schema.items() if key != "nullable"}
    for key in ("oneOf", "anyOf"):
        if key in result:
            result[key] = [_without_nullable(branch) for branch in result[key]]
    return result


def _normalize(schema: Any, strict: bool) -> Any:
    """A copy fixed for validation.

    - A nullable ``oneOf``/``anyOf`` (e.g. ``recurrenceInfo``) cannot accept null under OAS 3.0
      rules (null matches every nullable branch, or none of the others), although ``nullable``
      says it may be null: it becomes ``oneOf: [null, <the schema without nullable>]``.
    - A nullable ``enum`` (e.g. a work order's ``type``) accepts null: OAS 3.0.3 says null
      must also be listed in the enum, which this spec never does, though it means it.
    - ``strict``: objects with listed properties forbid unlisted ones.
    """
    if isinstance(schema, list):
        return [_normalize(item, strict) for item in schema]
    if not isinstance(schema, dict):
        return schema
    if schema.get("nullable") and ("oneOf" in schema or "anyOf" in schema):
        inner = _normalize(_without_nullable(schema), strict)
        return {"oneOf": [{"enum": [None]}, inner]}
    result = {key: _normalize(value, strict) for key, value in schema.items()}
    if (
        result.get("nullable")
        and isinstance(result.get("enum"), list)
        and None not in result["enum"]
    ):
        result["enum"] = [*result["enum"], None]
    if strict and "properties" in result and "additionalProperties" not in result:
        combinators = ("oneOf", "anyOf", "allOf")
        if not any(key in result for key in combinators):
            result["additionalProperties"] = False
    return result


_VALIDATORS: dict[tuple[int, bool], tuple[dict[str, Any], Any]] = {}


def _validator(schema: dict[str, Any], strict: bool) -> Any:
    """An OAS 3.0 validator for the normalized schema, cached per schema object."""
    from openapi_schema_validator import OAS30Validator

    key = (id(schema), strict)
    cached = _VALIDATORS.get(key)
    if cached is None or cached[0] is not schema:
        cached = (schema, OAS30Validator(_normalize(copy.deepcopy(schema), strict)))
        _VALIDATORS[key] = cached
    return cached[1]


def validate(schema: dict[str, Any], instance: Any, *, strict: bool = True) -> None:
    """Validate ``instance`` against an OAS 3.0 schema; raises ``ValidationError``."""
    _validator(schema, strict).validate(instance)


def errors(schema: dict[str, Any], instance: Any, *, strict: bool = True) -> list[str]:
    """Every validation problem, as readable strings (empty when valid)."""
    return [
        f"{'/'.join(str(p) for p in error.absolute_path)}: {error.message}"[:300]
        for error in _validator(schema, strict).iter_errors(instance)
    ]


def shared_spec_dir() -> Path | None:
    """The team's ``shared/spec`` beside or above the repository, when present."""
    for root in Path(__file__).resolve().parents:
        for candidate in (root / "shared" / "spec", root.parent / "shared" / "spec"):
            if (candidate / SPEC_FILE).is_file():
                return candidate
    return None
