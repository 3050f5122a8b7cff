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
    """The names :func:`pick` looks for, given as they are usually spelled (``Retry-After``):
    encoded once in that spelling and lower-cased, so the usual spellings are found without
    lower-casing anything; a header whose name has none of their lengths is passed over."""

    __slots__ = ("lengths", "names")

    def __init__(self, names: Iterable[str]) -> None:
        #: a raw name (usual spelling or lower-case) -> the lower-case name ``pick`` gives
        self.names: dict[bytes, str] = {}
        for name in names:
            for spelled in (name, name.lower()):
                self.names[spelled.encode("ascii")] = name.lower()
        self.lengths = frozenset(len(name) for name in self.names)


def pick(headers: httpx.Headers, names: HeaderNames) -> dict[str, str]:
    """The headers named in ``names`` that ``headers`` has, by lower-case name, in the order
    they first appear; each value as ``headers.get`` gives it."""
    wanted, lengths = names.names, names.lengths
    picked: dict[str, str] = {}
    for raw_name, value in headers.raw:
        name = wanted.get(raw_name)
        if name is None and len(raw_name) in lengths:
            name = wanted.get(raw_name.lower())
        if name is not None:
            # ASCII (nearly every header) reads the same in any of the encodings httpx picks;
            # only otherwise ask for the headers' encoding (it tries to decode all of them)
            text = value.decode("ascii" if value.isascii() else headers.encoding)
            picked[name] = f"{picked[name]}, {text}" if name in picked else text
    return picked
