"""Bodies are read within a size cap and decoded within it; a body its encoding cannot
decode, or JSON nested too deep, is a typed error of ours (sync and async)."""

from __future__ import annotations

import gzip
import tracemalloc
import zlib
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from maintainx_resilient import (
    BadRequestError,
    BreakerConfig,
    ConfigurationError,
    DecodeError,
    FallbackConfig,
    MaintainXClient,
    RetryConfig,
    ServerError,
)
from maintainx_resilient._body import BodyReader, BodyTooLarge, BodyUndecodable
from maintainx_resilient._clock import FakeClock
from maintainx_resilient._http import HTTPLayer

from .conftest import CANARY_KEY, NO_POLICIES

MB = 1024 * 1024
ORGS = b'{"organizations": [{"id": 1, "name": "Acme"}], "nextCursor": null}'

# ---- BodyReader (pure) -----------------------------------------------------------------------


def read_all(reader: BodyReader, data: bytes, chunk: int = 65536) -> bytes:
    for i in range(0, len(data), chunk):
        reader.feed(data[i : i + chunk])
    return reader.finish()


def test_plain_gzip_and_deflate_bodies_decode() -> None:
    """Identity, gzip, x-gzip, zlib-wrapped and raw deflate, and a stacked encoding."""
    assert read_all(BodyReader(MB), ORGS) == ORGS
    assert read_all(BodyReader(MB, "gzip"), gzip.compress(ORGS)) == ORGS
    assert read_all(BodyReader(MB, "x-gzip"), gzip.compress(ORGS)) == ORGS
    assert read_all(BodyReader(MB, "deflate"), zlib.compress(ORGS)) == ORGS
    raw = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    raw_deflate = raw.compress(ORGS) + raw.flush()
    assert read_all(BodyReader(MB, "deflate"), raw_deflate, chunk=7) == ORGS
    twice = gzip.compress(zlib.compress(ORGS))
    assert read_all(BodyReader(MB, "deflate, gzip"), twice) == ORGS
    assert read_all(BodyReader(MB, "br-nobody-asked-for"), ORGS) == ORGS  # left as is


def test_a_body_past_the_cap_stops_at_the_chunk_that_passes_it() -> None:
    """Counting is per chunk: the reader never keeps more than the cap."""
    reader = BodyReader(1000)
    reader.feed(b"x" * 600)
    with pytest.raises(BodyTooLarge) as info:
        reader.feed(b"x" * 600)
    assert (info.value.seen, info.value.declared) == (1200, False)


def test_a_declared_length_over_the_cap_is_refused_before_reading() -> None:
    with pytest.raises(BodyTooLarge) as info:
        BodyReader(1000, None, "300000000")
    assert (info.value.seen, info.value.declared) == (300_000_000, True)
    BodyReader(1000, None, "nonsense")  # an unreadable length is not a verdict


def test_a_gzip_bomb_is_stopped_at_the_cap_without_expanding() -> None:
    """200 MB of zeros gzip to about 200 KB; the decoded size is capped chunk by chunk, so
    memory stays near the cap instead of the expanded size."""
    bomb = gzip.compress(b"\0" * (200 * MB), compresslevel=9)
    assert len(bomb) < MB
    tracemalloc.start()
    with pytest.raises(BodyTooLarge):
        read_all(BodyReader(2 * MB, "gzip"), bomb)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert peak < 8 * MB, peak


def test_gzip_announced_on_a_plain_body_is_undecodable() -> None:
    with pytest.raises(BodyUndecodable):
        read_all(BodyReader(MB, "gzip"), ORGS)


# ---- through the clients (MockTransport) ----------------------------------------------------


@pytest.mark.parametrize("bad", [0, -5, 1.5, True, "10"])
def test_bad_caps_are_configuration_errors(bad: Any) -> None:
    with pytest.raises(ConfigurationError, match="max_response_bytes"):
        MaintainXClient(api_key=CANARY_KEY, max_response_bytes=bad)


def test_a_decoded_answer_loses_its_wire_headers() -> None:
    """A gzip answer reaches the caller decoded, without Content-Encoding, with the decoded
    Content-Length: what any layer above (the fallback cache included) can store and replay."""

    def handler(request: httpx.Request) -> httpx.Response:
        assert request.headers["accept-encoding"] == "gzip, deflate"
        return httpx.Response(
            200,
            headers={"content-encoding": "gzip", "x-request-id": "r1"},
            stream=httpx.ByteStream(gzip.compress(ORGS)),
        )

    response = HTTPLayer(httpx.MockTransport(handler)).handle_request(
        httpx.Request("GET", "https://x/", headers={"accept-encoding": "gzip, deflate"})
    )
    assert response.content == ORGS
    assert "content-encoding" not in response.headers
    assert response.headers["content-length"] == str(len(ORGS))
    assert response.headers["x-request-id"] == "r1"


Handler = Callable[[httpx.Request], httpx.Response]


def streaming(body: bytes, headers: dict[str, str] | None = None, status: int = 200) -> Handler:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, headers=headers, stream=httpx.ByteStream(body))

    return handler


def test_gzip_lie_goes_through_retry_breaker_and_fallback() -> None:
    """A body gzip cannot decode is a DecodeError inside the pipeline: a GET is retried
    (a proxy's fault may not repeat), the breaker counts it as a failure, and once cached
    the fallback answers with the stale copy labelled "undecodable"."""
    clock = FakeClock()
    calls: list[int] = []
    good = streaming(ORGS)
    bad = streaming(ORGS, {"content-encoding": "gzip"})

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(1)
        return good(request) if len(calls) == 1 else bad(request)

    retry = RetryConfig(max_attempts=3, jitter=(1.0, 1.0))
    with MaintainXClient(
        api_key=CANARY_KEY,
        transport=httpx.MockTransport(handler),
        clock=clock,
        retry=retry,
        breaker=BreakerConfig(fail_max=3),
        fallback=FallbackConfig(),
        throttle=None,
    ) as client:
        assert client.organizations.list().items[0].id == 1
        stale = client.organizations.list()
        assert stale.response_meta.stale and stale.response_meta.reason == "undecodable"
        assert len(calls) == 1 + 3  # retried to the limit
        states = client.policies.breakers.states() if client.policies.breakers else {}
        assert any(b.state == "open" for b in states.values())
    with (
        MaintainXClient(
            api_key=CANARY_KEY, transport=httpx.MockTransport(bad), **NO_POLICIES
        ) as plain,
        pytest.raises(DecodeError, match="not valid gzip") as info,
    ):
        plain.organizations.list()
    assert info.value.status_code == 200
    assert '"organizations"' in info.value.body_excerpt


def test_a_transport_that_decodes_itself_cannot_leak_httpx_decoding_error() -> None:
    """A mock transport building its response raises httpx.DecodingError itself; the
    caller still gets our DecodeError."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, headers={"content-encoding": "gzip"}, content=ORGS)

    with (
        MaintainXClient(
            api_key=CANARY_KEY, transport=httpx.MockTransport(handler), **NO_POLICIES
        ) as client,
        pytest.raises(DecodeError),
    ):
        client.organizations.list()


DEEP = b"[" * 100_000 + b"]" * 100_000


@pytest.mark.parametrize(
    ("status", "error"), [(200, DecodeError), (500, ServerError), (400, BadRequestError)]
)
def test_deep_json_is_a_typed_error_never_recursion(status: int, error: type[Exception]) -> None:
    """100,000 levels of nesting: DecodeError on a success, the status's own error (with
    the excerpt as message) on an error status; never RecursionError."""
    transport = httpx.MockTransport(streaming(DEEP, status=status))
    with (
        MaintainXClient(api_key=CANARY_KEY, transport=transport, **NO_POLICIES) as client,
        pytest.raises(error) as info,
    ):
        client.organizations.list()
    assert "[[[[" in str(info.value)


def test_deep_json_in_a_single_value_answer_is_a_decode_error() -> None:
    """The stdlib-free path of ``expect_value`` (webhook secret rotation) too."""
    from maintainx_resilient._operation import Operation, expect_value

    op = Operation.make("GET", "/x", expect_value("secret"))
    with pytest.raises(DecodeError, match="not valid JSON"):
        op.parse(httpx.Response(200, content=DEEP), op)
