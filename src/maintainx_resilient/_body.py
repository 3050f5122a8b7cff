"""Reading a response body within a size cap, decoding it as it arrives. Pure: no I/O.

The HTTP layer feeds :class:`BodyReader` the raw chunks off the wire, one at a time. It
counts them (raw and decoded) against ``limit`` and stops at the first chunk that passes it,
so a 300 MB answer costs about ``limit`` bytes of memory, not 300 MB. A declared
``Content-Length`` above the limit is refused before anything is read.

``Content-Encoding`` is decoded here rather than by httpx, for two reasons: the output of
each chunk is capped too (``zlib``'s ``max_length``), so a small gzip bomb cannot expand
into gigabytes before the cap is checked; and a body its encoding cannot decode (``gzip``
announced on a plain body) is reported as :class:`BodyUndecodable`, which the HTTP layer
turns into the library's :class:`~maintainx_resilient.DecodeError` instead of letting
``httpx.DecodingError`` escape. The client asks only for what this module decodes
(:data:`ACCEPT_ENCODING`); an encoding it does not know is left as it is, like httpx does.
"""

from __future__ import annotations

import zlib
from typing import Protocol

__all__ = [
    "ACCEPT_ENCODING",
    "DEFAULT_MAX_RESPONSE_BYTES",
    "BodyReader",
    "BodyTooLarge",
    "BodyUndecodable",
]

#: The default cap on one answer's body (decoded): far above any MaintainX page (200
#: records), far below what would hurt a worker's memory.
DEFAULT_MAX_RESPONSE_BYTES = 50 * 1024 * 1024
#: The encodings :class:`BodyReader` decodes, sent as ``Accept-Encoding``.
ACCEPT_ENCODING = "gzip, deflate"

_EXCERPT = 200


class BodyTooLarge(Exception):
    """The body passed the limit (``seen`` bytes so far, or the declared length)."""

    def __init__(self, seen: int, *, declared: bool) -> None:
        super().__init__(seen)
        self.seen = seen
        self.declared = declared


class BodyUndecodable(Exception):
    """The body is not valid for its ``Content-Encoding``."""


class _Decoder(Protocol):
    def decode(self, data: bytes, max_length: int) -> bytes: ...

    def flush(self) -> bytes: ...


class _Zlib:
    """gzip (``wbits=31``) or deflate; for deflate both the zlib-wrapped form (RFC 1950,
    what the standard says) and the raw form (what some servers send) are accepted."""

    def __init__(self, wbits: int, *, raw_fallback: bool = False) -> None:
        self._d = zlib.decompressobj(wbits)
        self._raw_fallback = raw_fallback
        self._started = False

    def decode(self, data: bytes, max_length: int) -> bytes:
        try:
            out = self._d.decompress(data, max_length)
        except zlib.error as exc:
            if self._raw_fallback and not self._started:
                self._d = zlib.decompressobj(-zlib.MAX_WBITS)
                self._raw_fallback = False
                return self.decode(data, max_length)
            raise BodyUndecodable(str(exc)) from None
        self._started = True
        return out

    def flush(self) -> bytes:
        try:
            return self._d.flush()
        except zlib.error as exc:  # pragma: no cover - flush after a valid stream
            raise BodyUndecodable(str(exc)) from None


def _decoder(name: str) -> _Decoder | None:
    if name in ("gzip", "x-gzip"):
        return _Zlib(zlib.MAX_WBITS | 16)
    if name == "deflate":
        return _Zlib(zlib.MAX_WBITS, raw_fallback=True)
    return None  # identity, or an encoding nobody asked for: left as it is


class BodyReader:
    """Counts and decodes one body. ``feed`` each raw chunk, then ``finish`` for the bytes."""

    __slots__ = ("_chunks", "_decoders", "decoded", "excerpt", "limit", "raw")

    def __init__(
        self, limit: int, content_encoding: str | None = None, content_length: str | None = None
    ) -> None:
        self.limit = limit
        self.raw = 0
        self.decoded = 0
        self.excerpt = b""
        self._chunks: list[bytes] = []
        self._decoders: list[_Decoder] = []
        if content_encoding:
            names = [n.strip().lower() for n in content_encoding.split(",") if n.strip()]
            # Encodings are listed in the order they were applied: undo the last one first.
            self._decoders = [d for d in (_decoder(n) for n in reversed(names)) if d is not None]
        if content_length is not None:
            try:
                declared = int(content_length.strip())
            except ValueError:
                declared = -1
            if declared > limit:
                raise BodyTooLarge(declared, declared=True)

    @property
    def encoded(self) -> bool:
        """Whether the body is being decoded (gzip or deflate)."""
        return bool(self._decoders)

    def feed(self, chunk: bytes) -> None:
        if not chunk:
            return
        if len(self.excerpt) < _EXCERPT:
            self.excerpt += chunk[: _EXCERPT - len(self.excerpt)]
        self.raw += len(chunk)
        if self.raw > self.limit:
            raise BodyTooLarge(self.raw, declared=False)
        data = chunk
        room = self.limit - self.decoded
        for decoder in self._decoders:
            data = decoder.decode(data, room + 1)
        self._keep(data)

    def finish(self) -> bytes:
        data = b""
        for decoder in self._decoders:
            if data:
                data = decoder.decode(data, self.limit - self.decoded + 1)
            data += decoder.flush()
        self._keep(data)
        return b"".join(self._chunks)

    def _keep(self, data: bytes) -> None:
        if not data:
            return
        self.decoded += len(data)
        if self.decoded > self.limit:
            raise BodyTooLarge(self.decoded, declared=False)
        self._chunks.append(data)
