"""Names a package hands on, imported on first use (PEP 562): ``import maintainx_resilient``
costs almost nothing, and a program pays only for what it uses.

A package's ``__init__`` maps each public name to the module that defines it, and takes its
``__getattr__``/``__dir__`` from :func:`lazy_names`; a ``TYPE_CHECKING`` block repeats the
imports for type checkers and IDEs.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Iterable, Mapping
from typing import Any

__all__ = ["lazy_names"]


def lazy_names(
    package: str, homes: Mapping[str, str], listed: Iterable[str] = ()
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """``(__getattr__, __dir__)`` for ``package``: a name of ``homes`` is imported from its
    module (relative to the package) the first time it is asked for, then kept in the
    package's namespace; ``__dir__`` lists ``homes``, ``listed`` and the private names."""

    def __getattr__(name: str) -> Any:
        home = homes.get(name)
        if home is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        value = getattr(importlib.import_module(home, package), name)
        vars(sys.modules[package])[name] = value
        return value

    def __dir__() -> list[str]:
        private = {name for name in vars(sys.modules[package]) if name.startswith("_")}
        return sorted(private | set(homes) | set(listed))

    return __getattr__, __dir__
