"""The resources a local copy can hold, and what each supports: read from each family's
declaration (:class:`~maintainx_resilient.resources.ResourceSpec` with ``sync`` set).

Names are the API's list keys (``workOrders``, as in ``{"workOrders": [...]}`` and in
``Simulator.records("workOrders")``); :func:`resolve` also accepts ``workorders``,
``work-orders`` and ``work_orders``.

What each supports is its :class:`~maintainx_resilient.resources.SyncSupport`.
"""

from __future__ import annotations

from typing import Any

from ..resources import FAMILIES, ResourceSpec, SyncSupport

__all__ = ["RESOURCES", "SyncResource", "canonical_name", "resolve", "support"]

#: A family as the sync engine sees it: its declaration (``ResourceSpec.sync`` set).
SyncResource = ResourceSpec

#: Every family a local copy can hold, by name, read from the families' declarations.
RESOURCES: dict[str, ResourceSpec[Any]] = {
    family.spec.name: family.spec for family in FAMILIES if family.spec.sync is not None
}


def support(resource: ResourceSpec[Any]) -> SyncSupport:
    """What the sync engine may do with ``resource`` (a family of :data:`RESOURCES`)."""
    if resource.sync is None:
        raise ValueError(f"{resource.name} is not kept in a local copy")
    return resource.sync


def _key(name: str) -> str:
    return name.replace("-", "").replace("_", "").lower()


_BY_KEY = {_key(r.name): r for r in RESOURCES.values()}


def resolve(name: str | ResourceSpec[Any]) -> ResourceSpec[Any]:
    """The resource called ``name`` (``workOrders``, ``workorders``, ``work-orders``...)."""
    if isinstance(name, ResourceSpec):
        return name
    found = _BY_KEY.get(_key(name))
    if found is None:
        known = ", ".join(RESOURCES)
        raise ValueError(f"cannot sync {name!r}: known resources are {known}")
    return found


def canonical_name(name: str) -> str:
    """``resolve(name).name`` for a known resource (``"workorders"`` -> ``"workOrders"``);
    any other name unchanged (a store may hold resources the engine does not know)."""
    found = _BY_KEY.get(_key(name))
    return found.name if found is not None else name
