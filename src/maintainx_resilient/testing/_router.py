"""The route table, built from the resource table, and path matching.

Templates are the OpenAPI spec's own (relative to ``/v1``, e.g. ``/workorders/{id}/status``),
so statistics and conformance tests speak the spec's language.
"""

from __future__ import annotations

from dataclasses import dataclass

from ._resources import RESOURCES

__all__ = ["VERSIONS_ROUTE", "Route", "Router"]

#: Handler names: the generic CRUD handlers and the special endpoints.
Handler = str


@dataclass(frozen=True)
class Route:
    """One operation: HTTP method, spec path template, handler and resource."""

    method: str
    template: str
    handler: Handler
    resource: str | None = None

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.template.strip("/").split("/"))


#: ``GET /versions`` lives outside ``/v1`` and needs no authentication.
VERSIONS_ROUTE = Route("GET", "/versions", "versions")

_CRUD: tuple[tuple[str, str, str], ...] = (
    ("list", "GET", ""),
    ("create", "POST", ""),
    ("get", "GET", "/{id}"),
    ("update", "PATCH", "/{id}"),
    ("delete", "DELETE", "/{id}"),
)

_SPECIAL: tuple[Route, ...] = (
    Route("PATCH", "/workorders/{id}/status", "work_order_status", "workOrders"),
    Route("GET", "/workorders/{id}/comments", "list_comments", "workOrders"),
    Route("POST", "/workorders/{id}/comments", "create_comment", "workOrders"),
    Route("GET", "/subscriptions/{id}/secret", "subscription_secret", "subscriptions"),
    Route("GET", "/organizations", "organizations"),
    Route("POST", "/meterreadings", "meter_readings", "meters"),
    Route("POST", "/meters/{meterId}/readings", "meter_reading", "meters"),
)


def build_routes() -> list[Route]:
    """Every operation the simulator serves (the ``/v1`` ones)."""
    routes = [
        Route(method, spec.path + suffix, op, spec.name)
        for spec in RESOURCES
        for op, method, suffix in _CRUD
        if op in spec.ops
    ]
    routes.extend(_SPECIAL)
    return routes


class Router:
    """Finds the route of a ``(method, path)`` and its path parameters."""

    def __init__(self, routes: list[Route] | None = None) -> None:
        self.routes = routes if routes is not None else build_routes()
        self._table: dict[tuple[str, int], list[Route]] = {}
        for route in self.routes:
            self._table.setdefault((route.method, len(route.segments)), []).append(route)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route for a path relative to ``/v1``, with its parameters; None if unknown."""
        segments = tuple(path.strip("/").split("/"))
        for route in self._table.get((method, len(segments)), ()):
            params: dict[str, str] = {}
            for pattern, actual in zip(route.segments, segments, strict=True):
                if pattern.startswith("{"):
                    params[pattern[1:-1]] = actual
                elif pattern != actual:
                    break
            else:
                return route, params
        return None
