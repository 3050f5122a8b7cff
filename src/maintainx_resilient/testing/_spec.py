"""MaintainX's OpenAPI document, shipped inside the package (``spec/``) and parsed once.

This is the project's one vendored copy of the document (``maintainx-openapi.json``, with the
webhooks' ``maintainx-webhooks-asyncapi.yml`` beside it): the simulator derives its field
tables, request validation, wrapper keys, filters and routes from it, and the test suite reads
it from here too. Treat the parsed document as read-only: it is shared by every caller.
"""

from __future__ import annotations

import functools
import json
from pathlib import Path
from typing import Any

__all__ = ["ASYNCAPI_FILE", "OPENAPI_FILE", "SPEC_DIR", "openapi"]

#: The directory of the shipped spec files.
SPEC_DIR = Path(__file__).resolve().parent / "spec"
OPENAPI_FILE = "maintainx-openapi.json"
ASYNCAPI_FILE = "maintainx-webhooks-asyncapi.yml"


@functools.lru_cache(maxsize=1)
def openapi() -> dict[str, Any]:
    """The OpenAPI document (parsed on first use, ~10 ms, then cached for the process)."""
    document: dict[str, Any] = json.loads((SPEC_DIR / OPENAPI_FILE).read_bytes())
    return document
