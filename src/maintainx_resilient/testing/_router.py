"""Path matching over the catalog's routes.

Templates are the OpenAPI spec's own (relative to ``/v1``, e.g. ``/workorders/{id}/status``),
so statistics and conformance tests speak the spec's language. Literal segments win over
parameters (``/maintenanceplans/workorderblueprints`` is not ``/maintenanceplans/{id}``).
"""

from __future__ import annotations

import functools
from collections.abc import Sequence

from ._catalog import Route, catalog

__all__ = ["VERSIONS_ROUTE", "Route", "Router", "default_router"]


class Router:
    """Finds the route of a ``(method, path)`` under ``/v1`` and its path parameters."""

    def __init__(self, routes: Sequence[Route] | None = None) -> None:
        if routes is None:
            routes = [r for r in catalog().routes if r.handler != "versions"]
        self.routes = list(routes)
        # By method, number of segments and first segment (every template starts with a
        # literal), most literal segments first.
        self._table: dict[tuple[str, int, str], list[tuple[tuple[str, ...], Route]]] = {}
        for route in self.routes:
            segments = route.segments
            key = (route.method, len(segments), segments[0] if segments else "")
            self._table.setdefault(key, []).append((segments, route))
        for candidates in self._table.values():
            candidates.sort(key=lambda item: -sum(not s.startswith("{") for s in item[0]))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route for a path relative to ``/v1``, with its parameters; None if unknown."""
        segments = tuple(path.strip("/").split("/"))
        for pattern, route in self._table.get((method, len(segments), segments[0]), ()):
            params: dict[str, str] = {}
            for expected, actual in zip(pattern, segments, strict=True):
                if expected.startswith("{"):
                    params[expected[1:-1]] = actual
                elif expected != actual:
                    break
            else:
                return route, params
        return None


@functools.lru_cache(maxsize=1)
def default_router() -> Router:
    """The router of every operation of the spec (immutable: shared by all simulators)."""
    return Router()


#: ``GET /versions`` lives outside ``/v1`` and needs no authentication.
VERSIONS_ROUTE = Route("GET", "/versions", "versions")
