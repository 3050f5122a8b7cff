"""Splitting a list page into its records, each with its exact JSON text. Pure.

A local copy keeps each record's JSON as MaintainX sent it. Decoding a page and encoding
every record again would cost more than fetching it, so :func:`split_list` walks the page
with the standard library's own JSON scanner (the one ``json.loads`` uses) and cuts each
record's text out of the page: every value is decoded exactly once and nothing is encoded.
Any page it cannot walk (not an object, odd nesting) makes it return None, and the caller
decodes the page the ordinary way.
"""

from __future__ import annotations

import json
import re
from typing import Any

__all__ = ["split_list"]

_SCAN: Any = json.JSONDecoder().scan_once  # type: ignore[attr-defined]  # the C scanner
_SPACE = re.compile(r"[ \t\n\r]*")
_BLANKS = frozenset(" \t\n\r")


def _skip(text: str, index: int) -> int:
    if index < len(text) and text[index] not in _BLANKS:
        return index  # compact JSON (what APIs send): no regex at all
    match = _SPACE.match(text, index)
    return match.end() if match else index


def split_list(text: str, key: str) -> tuple[list[tuple[Any, str]], dict[str, Any]] | None:
    """``(records, others)`` for a JSON object page ``{key: [...], ...}``: each record as
    ``(decoded value, its JSON text)``, and the object's other members decoded. None when
    ``text`` is not such an object (the caller then decodes it normally, errors included)."""
    try:
        return _split(text, key)
    except (StopIteration, IndexError, ValueError):
        return None


def _split(text: str, key: str) -> tuple[list[tuple[Any, str]], dict[str, Any]] | None:
    scan, skip, blanks = _SCAN, _skip, _BLANKS
    index = skip(text, 0)
    if text[index] != "{":
        return None
    index = skip(text, index + 1)
    records: list[tuple[Any, str]] | None = None
    others: dict[str, Any] = {}
    if text[index] == "}":
        return None
    while True:
        if text[index] != '"':
            return None
        name, index = scan(text, index)
        index = skip(text, index)
        if text[index] != ":":
            return None
        index = skip(text, index + 1)
        if name == key and text[index] == "[":
            records = []
            append = records.append
            index = skip(text, index + 1)
            if text[index] == "]":
                index += 1
            else:
                while True:  # the hot loop: one record per turn
                    start = index
                    value, index = scan(text, index)
                    append((value, text[start:index]))
                    mark = text[index]
                    if mark in blanks:
                        index = skip(text, index)
                        mark = text[index]
                    index += 1
                    if mark == "]":
                        break
                    if mark != ",":
                        return None
                    if text[index] in blanks:
                        index = skip(text, index)
        else:
            others[name], index = scan(text, index)
        index = skip(text, index)
        mark = text[index]
        index = skip(text, index + 1)
        if mark == "}":
            break
        if mark != ",":
            return None
    if index != len(text) or records is None:
        return None
    return records, others
