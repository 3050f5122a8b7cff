"""Request bodies checked against the spec's own schemas, and the API's 400 "shape A" entries.

``check(body, schema)`` understands the part of OpenAPI 3.0 that MaintainX's document uses:
``type`` (and ``format: integer``/``date-time``), ``nullable``, ``enum``, ``pattern``,
``minimum``/``maximum``, ``required``, ``properties``, ``items`` and ``oneOf``/``anyOf``/
``allOf``. A required string may not be empty (``title=""`` is a 400, as on the API), and
properties the schema does not list are ignored (the API grows; so do its clients).

A ``oneOf``/``anyOf`` of objects that all carry an ``enum`` (or a literal ``pattern``) on the
same property is a discriminated union (``POST /subscriptions`` by ``type``): the value of that
property picks the branch, so errors name the real problem. Otherwise the branch with the
fewest errors reports them. Checking is bounded: at most ``MAX_ERRORS`` entries, the first bad
item of each array, and only as deep as the schema goes.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ._timeutil import parse_iso_ms

__all__ = [
    "MAX_ERRORS",
    "FieldError",
    "Schema",
    "check",
    "conform",
    "copy_json",
    "default_value",
    "is_nullable",
    "is_object",
]

Schema = Mapping[str, Any]
MAX_ERRORS = 20
_UNIONS = ("oneOf", "anyOf")
_NAMES: dict[str, str] = {
    "string": "a string",
    "integer": "an integer",
    "number": "a number",
    "boolean": "a boolean",
    "object": "an object",
    "array": "an array",
}


@dataclass(frozen=True)
class FieldError:
    """One entry of a 400 shape A body: ``{"error", "fieldPath", "fieldValue"}``."""

    error: str
    field_path: str | None = None
    field_value: Any = None

    def as_json(self) -> dict[str, Any]:
        value = self.field_value
        if not (value is None or isinstance(value, (str, int, float, bool))):
            value = None  # the API reports scalars only
        return {"error": self.error, "fieldPath": self.field_path, "fieldValue": value}


def is_nullable(schema: Schema) -> bool:
    """Whether null is a valid value (``nullable``, or a schema that constrains nothing)."""
    return bool(schema.get("nullable")) or not any(
        key in schema for key in ("type", "enum", "properties", "items", *_UNIONS, "allOf")
    )


def check(
    value: Any, schema: Schema, path: str = "", *, non_empty: Sequence[str] = ()
) -> list[FieldError]:
    """Every way ``value`` breaks ``schema`` (empty when valid), with API-style field paths
    (``title``, ``assignees[0].id``). ``non_empty`` names top-level strings that may not be
    empty although this schema does not require them (an update of a required field)."""
    errors = _check(value, schema, path)
    if isinstance(value, dict):
        errors += [
            FieldError(f'"{name}" must not be empty', name, value[name])
            for name in non_empty
            if _blank(value.get(name)) and not any(e.field_path == name for e in errors)
        ]
    return errors[:MAX_ERRORS]


def _blank(value: Any) -> bool:
    return isinstance(value, str) and not value.strip()


def _label(path: str) -> str:
    return f'"{path}"' if path else "The request body"


def _check(value: Any, schema: Schema, path: str) -> list[FieldError]:
    if value is None and is_nullable(schema):
        return []
    for key in _UNIONS:
        if key in schema:
            return _union(value, schema[key], path)
    if value is None:
        return [FieldError(f"{_label(path)} must not be null", path or None, None)]
    errors = [e for branch in schema.get("allOf", ()) for e in _check(value, branch, path)]
    if errors:
        return errors
    if "enum" in schema:
        choices = [c for c in schema["enum"] if c is not None]
        if value not in choices:
            listed = ", ".join(str(c) for c in choices)
            return [FieldError(f"{_label(path)} must be one of {listed}", path or None, value)]
        return []
    kind = schema.get("type")
    if kind is not None and not _is_type(value, kind, schema.get("format")):
        name = "an integer" if schema.get("format") == "integer" else _NAMES.get(kind, kind)
        return [FieldError(f"{_label(path)} must be {name}", path or None, value)]
    if isinstance(value, str):
        return _string(value, schema, path)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return _number(value, schema, path)
    if isinstance(value, dict):
        return _object(value, schema, path)
    if isinstance(value, list) and "items" in schema:
        for index, item in enumerate(value):
            found = _check(item, schema["items"], f"{path}[{index}]")
            if found:
                return found
    return []


def _is_type(value: Any, kind: str, fmt: str | None) -> bool:
    if kind == "string":
        return isinstance(value, str)
    if kind == "boolean":
        return isinstance(value, bool)
    if kind == "object":
        return isinstance(value, dict)
    if kind == "array":
        return isinstance(value, list)
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    return isinstance(value, int) if kind == "integer" or fmt == "integer" else True


@functools.lru_cache(maxsize=256)
def _regex(pattern: str) -> re.Pattern[str]:
    return re.compile(pattern)


def _string(value: str, schema: Schema, path: str) -> list[FieldError]:
    if schema.get("format") == "date-time":
        try:
            parse_iso_ms(value)
        except ValueError:
            return [
                FieldError(f"{_label(path)} must be an ISO-8601 date-time", path or None, value)
            ]
    pattern = schema.get("pattern")
    if isinstance(pattern, str) and _regex(pattern).search(value) is None:
        return [FieldError(f"{_label(path)} must match {pattern}", path or None, value)]
    return []


def _number(value: float, schema: Schema, path: str) -> list[FieldError]:
    low, high = schema.get("minimum"), schema.get("maximum")
    if isinstance(low, (int, float)) and value < low:
        return [FieldError(f"{_label(path)} must be at least {low}", path or None, value)]
    if isinstance(high, (int, float)) and value > high:
        return [FieldError(f"{_label(path)} must be at most {high}", path or None, value)]
    return []


def _object(value: dict[str, Any], schema: Schema, path: str) -> list[FieldError]:
    prefix = f"{path}." if path else ""
    properties: Mapping[str, Schema] = schema.get("properties") or {}
    errors: list[FieldError] = []
    for name in schema.get("required", ()):
        where = prefix + name
        if name not in value:
            errors.append(FieldError(f'"{where}" is required', where, None))
        elif _blank(value[name]) and properties.get(name, {}).get("type") == "string":
            errors.append(FieldError(f'"{where}" must not be empty', where, value[name]))
    for name, sub in properties.items():
        if name in value and not any(e.field_path == prefix + name for e in errors):
            errors += _check(value[name], sub, prefix + name)
        if len(errors) >= MAX_ERRORS:
            break
    return errors


def _discriminator(branches: Sequence[Schema]) -> str | None:
    """The property every (object) branch pins to literal values, if there is one."""
    shared: set[str] | None = None
    for branch in branches:
        pinned = {
            name
            for name, sub in (branch.get("properties") or {}).items()
            if "enum" in sub or _literal(sub.get("pattern"))
        }
        shared = pinned if shared is None else shared & pinned
    return min(shared) if shared else None


def _literal(pattern: Any) -> bool:
    return isinstance(pattern, str) and pattern.isalnum()


def _pins(sub: Schema) -> list[Any]:
    return list(sub["enum"]) if "enum" in sub else [sub.get("pattern")]


def _union(value: Any, branches: Sequence[Schema], path: str) -> list[FieldError]:
    tag = _discriminator(branches) if isinstance(value, dict) else None
    if tag is not None:
        chosen = [b for b in branches if value.get(tag) in _pins(b["properties"][tag])]
        if not chosen:
            where = f"{path}.{tag}" if path else tag
            choices = list(dict.fromkeys(c for b in branches for c in _pins(b["properties"][tag])))
            if tag not in value:
                return [FieldError(f'"{where}" is required', where, None)]
            listed = ", ".join(str(c) for c in choices)
            return [FieldError(f'"{where}" must be one of {listed}', where, value.get(tag))]
        branches = chosen
    best: list[FieldError] | None = None
    for branch in branches:
        errors = _check(value, branch, path)
        if not errors:
            return []
        if best is None or len(errors) < len(best):
            best = errors
    return best or []


def default_value(schema: Schema, now: str) -> Any:
    """The value a new record holds for a field of this schema: the spec's ``default``, else
    an empty array, else null when allowed, else the first enum value, an empty string, zero,
    false, the current time for a date-time, or an object of its required properties'
    defaults."""
    if "default" in schema:
        return copy_json(schema["default"])
    if schema.get("type") == "array":
        return []
    if schema.get("nullable"):
        return None
    if "enum" in schema:
        return schema["enum"][0]
    for key in _UNIONS:
        if key in schema:
            return default_value(schema[key][0], now) if schema[key] else None
    kind = schema.get("type")
    if kind == "object":
        properties: Mapping[str, Schema] = schema.get("properties") or {}
        return {
            name: default_value(properties.get(name, {}), now)
            for name in schema.get("required", ())
        }
    if kind == "array":
        return []
    if kind == "string":
        return now if schema.get("format") == "date-time" else ""
    if kind in ("integer", "number"):
        return 0
    if kind == "boolean":
        return False
    return None


def conform(value: Any, schema: Schema, now: str, new_id: Callable[[], int]) -> Any:
    """``value`` (from a request body) in the shape a view schema gives it: objects keep only
    the properties the schema lists and get its required ones (a new ``id``, else defaults);
    free-form objects and scalars are kept as they are."""
    if value is None:
        return None
    for key in _UNIONS:
        if key in schema:
            branches = [b for b in schema[key] if isinstance(value, dict) == is_object(b)]
            fitting = [b for b in branches if set(b.get("required", ())) <= set(value or ())]
            chosen = (fitting or branches or [{}])[0]
            return conform(value, chosen, now, new_id)
    if isinstance(value, list):
        items = schema.get("items")
        return [conform(v, items, now, new_id) for v in value] if items else copy_json(value)
    properties: Mapping[str, Schema] = schema.get("properties") or {}
    if not isinstance(value, dict) or not properties:
        return copy_json(value)
    shaped = {k: conform(value[k], properties[k], now, new_id) for k in properties if k in value}
    for name in schema.get("required", ()):
        if name not in shaped:
            sub = properties.get(name, {})
            shaped[name] = new_id() if name == "id" else default_value(sub, now)
    return shaped


def is_object(schema: Schema) -> bool:
    """Whether ``schema`` describes a JSON object."""
    return schema.get("type") == "object" or "properties" in schema


def copy_json(value: Any) -> Any:
    """A deep copy of a JSON value (faster than ``copy.deepcopy`` for dicts and lists)."""
    if isinstance(value, dict):
        return {k: copy_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_json(v) for v in value]
    return value
