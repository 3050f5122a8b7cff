"""The resources a local copy can hold, and what each supports. Pure data.

Names are the API's list keys (``workOrders``, as in ``{"workOrders": [...]}`` and in
``Simulator.records("workOrders")``); :func:`resolve` also accepts ``workorders``,
``work-orders`` and ``work_orders``.

- ``incremental``: the list takes ``updatedAt[gte]`` and ``sort=updatedAt`` (so incremental
  sync and the full sync's starting high-water mark work);
- ``by_created``: the list takes ``createdAt[gte]`` and ``sort=createdAt`` (sampled
  reconciliation reads random windows of creation time);
- ``offset_paged``: the API documents offset pagination behind the cursor (parts, assets and
  purchase orders): records can move between pages while one pages through them.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["RESOURCES", "SyncResource", "canonical_name", "resolve"]


@dataclass(frozen=True)
class SyncResource:
    """One resource family as the sync engine sees it."""

    name: str
    #: the client attribute (``client.work_orders``)
    attribute: str
    incremental: bool = True
    by_created: bool = True
    offset_paged: bool = False

    @property
    def label(self) -> str:
        """Human name for messages: ``work orders``."""
        return self.attribute.replace("_", " ")


RESOURCES: dict[str, SyncResource] = {
    r.name: r
    for r in (
        SyncResource("workOrders", "work_orders"),
        SyncResource("assets", "assets", offset_paged=True),
        SyncResource("parts", "parts", offset_paged=True),
        SyncResource("purchaseOrders", "purchase_orders", offset_paged=True),
        SyncResource("locations", "locations", incremental=False, by_created=False),
    )
}


def _key(name: str) -> str:
    return name.replace("-", "").replace("_", "").lower()


_BY_KEY = {_key(r.name): r for r in RESOURCES.values()}


def resolve(name: str | SyncResource) -> SyncResource:
    """The resource called ``name`` (``workOrders``, ``workorders``, ``work-orders``...)."""
    if isinstance(name, SyncResource):
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
