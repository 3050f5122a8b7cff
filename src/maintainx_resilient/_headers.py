"""Reading a few named headers of an ``httpx.Headers`` in one pass. Pure.

``headers.get(name)`` scans every header and decodes each one it passes, and so does
``headers.items()`` (for all of them); a layer that wants three names would pay that three
times. :func:`pick` goes over the headers once and decodes only the values asked for, giving
each exactly what ``headers.get`` gives: the lower-case name, repeated headers joined by
``", "``.

It reads the ``(name, lower-case name, value)`` entries ``httpx.Headers`` keeps (its
``_list``, the same since httpx 0.18) instead of ``headers.raw``, which builds a new list of
pairs on every read and left the lower-casing to us: half the cost, and a request goes
through five such reads. A ``Headers`` without that list (a future httpx) is read through
``headers.raw``, with the same result; a test pins both ways to ``headers.get``.
"""

from __future__ import annotations

from collections.abc import Iterable

import httpx

__all__ = ["HeaderNames", "pick"]


class HeaderNames:
    """The names :func:`pick` looks for (given in any case: ``Retry-After``), kept as
    lower-case bytes, the form httpx keeps beside each header."""

    __slots__ = ("names",)

    def __init__(self, names: Iterable[str]) -> None:
        #: a lower-case raw name -> the lower-case name ``pick`` gives
        self.names: dict[bytes, str] = {n.lower().encode("ascii"): n.lower() for n in names}


def _entries(headers: httpx.Headers) -> Iterable[tuple[bytes, bytes, bytes]]:
    """``(name, lower-case name, value)`` per header, in order."""
    kept = getattr(headers, "_list", None)
    if isinstance(kept, list):
        return kept
    return [(name, name.lower(), value) for name, value in headers.raw]


def pick(headers: httpx.Headers, names: HeaderNames) -> dict[str, str]:
    """The headers named in ``names`` that ``headers`` has, by lower-case name, in the order
    they first appear; each value as ``headers.get`` gives it."""
    wanted = names.names
    picked: dict[str, str] = {}
    for _, lowered, value in _entries(headers):
        name = wanted.get(lowered)
        if name is not None:
            # ASCII (nearly every header) reads the same in any of the encodings httpx picks;
            # only otherwise ask for the headers' encoding (it tries to decode all of them)
            text = value.decode("ascii" if value.isascii() else headers.encoding)
            picked[name] = f"{picked[name]}, {text}" if name in picked else text
    return picked
