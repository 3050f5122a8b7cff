"""Reading a few named headers of an ``httpx.Headers`` in one pass. Pure.

``headers.get(name)`` scans every header and decodes each one it passes, and so does
``headers.items()`` (for all of them); a layer that wants three names would pay that three
times. :func:`pick` reads the raw bytes once and decodes only the values asked for, giving
each exactly what ``headers.get`` gives: the lower-case name, repeated headers joined by
``", "``.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpx

__all__ = ["HeaderNames", "pick"]


class HeaderNames:
    """The names :func:`pick` looks for: lower-cased and encoded once, with their lengths
    (a header whose name has none of them is passed over without lower-casing it)."""

    __slots__ = ("lengths", "names")

    def __init__(self, names: Iterable[str]) -> None:
        self.names = frozenset(name.lower().encode("ascii") for name in names)
        self.lengths = frozenset(len(name) for name in self.names)


def pick(headers: httpx.Headers, names: HeaderNames) -> dict[str, str]:
    """The headers named in ``names`` that ``headers`` has, by lower-case name, in the order
    they first appear; each value as ``headers.get`` gives it."""
    wanted, lengths = names.names, names.lengths
    found: dict[bytes, bytes] = {}
    for raw_name, value in headers.raw:
        if len(raw_name) in lengths:
            name = raw_name.lower()
            if name in wanted:
                found[name] = found[name] + b", " + value if name in found else value
    if not found:
        return {}
    encoding = headers.encoding
    return {name.decode(encoding): value.decode(encoding) for name, value in found.items()}
