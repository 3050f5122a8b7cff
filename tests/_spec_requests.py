"""Checking recorded requests against MaintainX's OpenAPI document, and making spec-valid
sample bodies. Built on :mod:`tests.spec_tools` (spec loading, path matching, validation).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime
from typing import Any
from urllib.parse import unquote

import httpx
from openapi_schema_validator import OAS30Validator, oas30_format_checker

from . import spec_tools
from .spec_tools import load_spec, match_path, operation, request_body_schema

__all__ = [
    "BASE_PATH",
    "item_schema",
    "iter_operations",
    "query_params",
    "request_problems",
    "response_schema",
    "sample",
    "sample_datetime",
    "schema_errors",
    "schema_properties",
    "success_status",
]

#: The path of the spec's server URL (``https://api.getmaintainx.com/v1``).
BASE_PATH = "/v1"
_SAMPLE_DATETIME = "2024-01-02T03:04:05.000Z"


def _params(path_template: str, method: str, where: str) -> dict[str, dict[str, Any]]:
    path_item = load_spec()["paths"][path_template]
    merged = {p["name"]: p for p in path_item.get("parameters", []) if p["in"] == where}
    for p in operation(path_template, method).get("parameters", []):
        if p["in"] == where:
            merged[p["name"]] = p
    return merged


def query_params(path_template: str, method: str) -> dict[str, dict[str, Any]]:
    """Query parameters by name (``cursor``, ``limit``, ``updatedAt[gte]``, ``skipWebhook``...)."""
    return _params(path_template, method, "query")


def success_status(path_template: str, method: str) -> str:
    """The documented 2xx status of an operation (``200``, ``201`` or ``204``)."""
    codes = sorted(c for c in operation(path_template, method)["responses"] if c.startswith("2"))
    return str(codes[0])


def response_schema(path_template: str, method: str) -> dict[str, Any] | None:
    """The JSON schema of the documented 2xx answer; None when it has no body."""
    return spec_tools.response_schema(
        path_template, method, int(success_status(path_template, method))
    )


def item_schema(path_template: str, method: str, key: str) -> dict[str, Any]:
    """The record schema inside a wrapped answer: ``{key: {...}}`` or ``{key: [{...}]}``."""
    schema = response_schema(path_template, method)
    assert schema is not None, (method, path_template)
    inner: dict[str, Any] = schema["properties"][key]
    if inner.get("type") == "array":
        items: dict[str, Any] = inner["items"]
        return items
    return inner


def schema_properties(schema: Mapping[str, Any]) -> dict[str, Any]:
    """The properties an object schema allows (the union over ``oneOf``/``anyOf``/``allOf``)."""
    props: dict[str, Any] = dict(schema.get("properties", {}))
    for key in ("oneOf", "anyOf", "allOf"):
        for branch in schema.get(key, []):
            for name, sub in schema_properties(branch).items():
                props.setdefault(name, sub)
    return props


def schema_errors(schema: Mapping[str, Any], instance: Any, *, strict: bool = False) -> list[str]:
    """Every way ``instance`` breaks ``schema``: OpenAPI 3.0 rules with formats checked
    (``date-time``...), and with ``strict`` no property the schema does not list."""
    validator = OAS30Validator(dict(schema), format_checker=oas30_format_checker)
    problems = [
        f"{'/'.join(str(p) for p in e.absolute_path) or '<root>'}: {e.message}"
        for e in validator.iter_errors(instance)
        if not strict or e.validator == "format"
    ]
    if strict:
        problems += spec_tools.errors(dict(schema), instance, strict=True)
    return problems


# ---- checking a recorded request ------------------------------------------------------------


def _coerce_query_value(raw: str, schema: Mapping[str, Any]) -> Any:
    kind = schema.get("type")
    if kind == "integer":
        try:
            return int(raw)
        except ValueError:
            return raw
    if kind == "number":
        try:
            return float(raw)
        except ValueError:
            return raw
    if kind == "boolean":
        return {"true": True, "false": False}.get(raw, raw)
    return raw


def request_problems(request: httpx.Request) -> list[str]:
    """Everything about ``request`` that the spec does not allow; empty when it conforms."""
    path = request.url.path
    template = match_path(path)
    if template is None:
        return [f"no spec path matches {path}"]
    method = request.method.lower()
    if method not in load_spec()["paths"][template]:
        return [f"{request.method} is not a method of {template}"]
    problems: list[str] = []

    # path parameters
    relative = path[len(BASE_PATH) :] if path.startswith(BASE_PATH + "/") else path
    path_params = _params(template, method, "path")
    for tseg, cseg in zip(template.split("/"), relative.split("/"), strict=True):
        if tseg.startswith("{"):
            name = tseg[1:-1]
            schema = path_params.get(name, {}).get("schema", {"type": "string"})
            value = _coerce_query_value(unquote(cseg), schema)
            problems += [f"path {name}={cseg!r}: {e}" for e in schema_errors(schema, value)]

    # query parameters: known names, valid values, repeated only when an array
    known = query_params(template, method)
    seen: dict[str, list[str]] = {}
    for name, raw in request.url.params.multi_items():
        seen.setdefault(name, []).append(raw)
    for name, values in seen.items():
        param = known.get(name)
        if param is None:
            problems.append(f"query parameter {name!r} is not in the spec for {method} {template}")
            continue
        schema = param.get("schema", {})
        if schema.get("type") == "array":
            item = schema.get("items", {})
            instance: Any = [_coerce_query_value(v, item) for v in values]
        elif len(values) > 1:
            problems.append(f"query parameter {name!r} is repeated but is not an array")
            continue
        else:
            instance = _coerce_query_value(values[0], schema)
        problems += [f"query {name}: {e}" for e in schema_errors(schema, instance)]

    # body
    body_schema = request_body_schema(template, method)
    content = request.content
    if body_schema is None:
        if content:
            problems.append(f"{method} {template} takes no body, got {content[:80]!r}")
    elif not content:
        if operation(template, method)["requestBody"].get("required"):
            problems.append(f"{method} {template} requires a body")
    else:
        if not request.headers.get("content-type", "").startswith("application/json"):
            problems.append(f"body content-type is {request.headers.get('content-type')!r}")
        body = json.loads(content)
        problems += [f"body {e}" for e in schema_errors(body_schema, body, strict=True)]
    return problems


# ---- sample instances -----------------------------------------------------------------------


def _looks_like_timestamp(name: str | None) -> bool:
    return name is not None and name.endswith(("At", "Date"))


def sample(schema: Mapping[str, Any], *, name: str | None = None, depth: int = 0) -> Any:
    """A spec-valid instance of ``schema`` with every property filled (first branch of a
    union, first enum value, never null; past a few levels of nesting only the required
    properties). Untyped strings named ``...At``/``...Date`` get a timestamp: the spec leaves
    a few of those without ``format: date-time``."""
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return sample(schema[key][0], name=name, depth=depth)
    if "allOf" in schema:
        merged: dict[str, Any] = {}
        for branch in schema["allOf"]:
            value = sample(branch, name=name, depth=depth)
            if isinstance(value, dict):
                merged.update(value)
        return merged
    if "enum" in schema:
        return schema["enum"][0]
    kind = schema.get("type")
    if kind == "object" or "properties" in schema:
        props = schema.get("properties", {})
        required = set(schema.get("required", []))
        return {
            prop: sample(sub, name=prop, depth=depth + 1)
            for prop, sub in props.items()
            if depth < 6 or prop in required
        }
    if kind == "array":
        return [sample(schema.get("items", {}), name=name, depth=depth + 1)]
    if kind in ("integer", "number"):
        for candidate in (schema.get("default"), schema.get("minimum"), 1):
            if isinstance(candidate, int | float) and not schema_errors(schema, candidate):
                return int(candidate) if kind == "integer" else candidate
        return schema.get("maximum", 1)
    if kind == "boolean":
        return True
    if kind == "string":
        fmt = schema.get("format")
        if fmt == "date-time" or (fmt is None and _looks_like_timestamp(name)):
            return _SAMPLE_DATETIME
        if fmt == "date":
            return _SAMPLE_DATETIME[:10]
        example = schema.get("example")
        if isinstance(example, str) and not schema_errors(schema, example):
            return example
        return "x"
    return "x"


def sample_datetime() -> datetime:
    return datetime.fromisoformat(_SAMPLE_DATETIME.replace("Z", "+00:00"))


def iter_operations() -> Iterator[tuple[str, str]]:
    for template, method, _ in spec_tools.operations():
        yield template, method
