"""The async resource families, made from the sync ones by :func:`._twins.async_twin`.

Type checkers read ``_async.pyi`` (generated) instead of this module.
"""

from typing import Any

from ._families import FAMILIES
from ._twins import async_twin

__all__ = ["ASYNC_FAMILIES", "AsyncFamilies"]

#: ``{"AsyncWorkOrders": AsyncWorkOrders, ...}``
ASYNC_FAMILIES: dict[str, type[Any]] = {f"Async{f.__name__}": async_twin(f) for f in FAMILIES}
globals().update(ASYNC_FAMILIES)
__all__ += sorted(ASYNC_FAMILIES)


class AsyncFamilies:
    """The resource families of an async client, as typed attributes (see the stub)."""
