"""Public names that were renamed keep working for a while, with a ``DeprecationWarning``.

A module lists its renamed names and answers them from its ``__getattr__``::

    _RENAMED = {"RetryPolicy": "RetrySchedule"}

    def __getattr__(name: str) -> Any:
        return renamed(__name__, name, _RENAMED, globals())
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

__all__ = ["renamed"]


def renamed(module: str, name: str, names: Mapping[str, str], namespace: Mapping[str, Any]) -> Any:
    """The value of the old ``name`` in ``module`` (``names`` maps old to new), after a
    ``DeprecationWarning`` that names the new one; ``AttributeError`` for any other name."""
    new = names.get(name)
    if new is None:
        raise AttributeError(f"module {module!r} has no attribute {name!r}")
    warnings.warn(
        f"{module}.{name} is deprecated: it was renamed {new}",
        DeprecationWarning,
        stacklevel=3,
    )
    return namespace[new]
