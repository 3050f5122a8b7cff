"""``_headers.pick`` reads named headers in one pass and gives what ``headers.get`` gives."""

from __future__ import annotations

import httpx
import pytest

from maintainx_resilient._headers import HeaderNames, pick

NAMES = HeaderNames(["Content-Type", "x-request-id", "etag"])


@pytest.mark.parametrize(
    "raw",
    [
        [],
        [(b"Content-Type", b"application/json"), (b"X-Other", b"1")],
        [(b"ETag", b"a"), (b"etag", b"b"), (b"X-REQUEST-ID", b"r1")],  # repeats are joined
        [(b"content-type", "café".encode())],  # utf-8 values decode as httpx decodes them
        [(b"content-type", b"\xff\xfe"), (b"x-request-id", b"r")],  # latin-1 fallback too
        [(b"Content-Typ", b"no"), (b"x-request-ids", b"no")],  # names of other lengths
    ],
)
@pytest.mark.parametrize("kept_list", [True, False], ids=["httpx-list", "raw-fallback"])
def test_pick_gives_what_get_gives(
    raw: list[tuple[bytes, bytes]], kept_list: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = httpx.Headers(raw)
    expected = {
        name: headers[name] for name in ("content-type", "x-request-id", "etag") if name in headers
    }
    if not kept_list:  # a Headers without the list httpx keeps today: read through .raw
        monkeypatch.setattr(httpx.Headers, "_list", property(lambda self: None), raising=False)
        monkeypatch.setattr(
            httpx.Headers, "raw", property(lambda self: [(k, v) for k, v in raw]), raising=False
        )
    assert pick(headers, NAMES) == expected


def test_httpx_still_keeps_the_list_pick_reads() -> None:
    # the fast path's premise: (name, lower-case name, value) per header, in order
    headers = httpx.Headers([(b"ETag", b"a"), (b"X-Two", b"b")])
    assert headers._list == [(b"ETag", b"etag", b"a"), (b"X-Two", b"x-two", b"b")]


def test_pick_keeps_the_order_of_first_appearance() -> None:
    headers = httpx.Headers([(b"etag", b"1"), (b"content-type", b"t"), (b"ETag", b"2")])
    assert list(pick(headers, NAMES).items()) == [("etag", "1, 2"), ("content-type", "t")]
