"""Signature verification follows MaintainX's documented algorithm on independently signed
payloads, and gives the right reason code for every way a delivery can be wrong."""

from __future__ import annotations

import hmac
import json
import pickle
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from maintainx_resilient._secrets import Secret
from maintainx_resilient.webhooks.verify import (
    RejectReason,
    SigningKeys,
    WebhookVerificationError,
    compute_signature,
    parse_signature_header,
    sign_header,
    timestamp_seconds,
    verify_delivery,
)

from ._support import BODY, URI, hex_hmac, signed_headers

SECRET = "e3b0c44298fc1c149afbf4c8996fb924"
NOW = 1_750_000_000.0
URL = "https://app.example.com/webhooks/maintainx/wo?tenant=7"
BODY_BYTES = b'{"workOrderId":123456,"orgId":321,"occurredAt":"2022-01-01T00:00:00.000Z"}'


def check(headers: dict[str, str], body: bytes = BODY_BYTES, **options: Any) -> Any:
    options.setdefault("now", NOW)
    options.setdefault("uris", [URL])
    secrets = options.pop("secrets", [SECRET])
    return verify_delivery(headers, body, secrets, **options)


def test_independently_signed_delivery_passes_both_signatures() -> None:
    result = check(signed_headers(SECRET, BODY_BYTES, URL, int(NOW)))
    assert result.ok
    assert result.uri_checked
    assert result.secret_fingerprint == Secret(SECRET).fingerprint
    assert result.timestamp == NOW


def test_the_library_signer_matches_the_documented_algorithm() -> None:
    assert compute_signature(SECRET, "1700000000", BODY_BYTES) == hex_hmac(
        SECRET, "1700000000", BODY_BYTES
    )
    assert sign_header(SECRET, 5, b"x") == f"t=5,v1={hex_hmac(SECRET, '5', b'x')}"


def test_headers_are_case_insensitive() -> None:
    headers = {k.upper(): v for k, v in signed_headers(SECRET, BODY_BYTES, URL, int(NOW)).items()}
    assert check(headers).ok


def test_timestamp_in_milliseconds_is_accepted() -> None:
    stamp = int(NOW * 1000)
    result = check(signed_headers(SECRET, BODY_BYTES, URL, stamp))
    assert result.ok
    assert result.timestamp == NOW
    assert timestamp_seconds("1750000000123") == pytest.approx(1_750_000_000.123)
    assert timestamp_seconds("1750000000") == 1_750_000_000.0


def test_signed_timestamp_text_is_used_as_sent() -> None:
    # "0001750000000" is the same number, but MaintainX signed the text: so must we.
    stamp = "0001750000000"
    headers = {BODY: f"t={stamp},v1={hex_hmac(SECRET, stamp, BODY_BYTES)}"}
    assert check(headers).ok
    wrong = {BODY: f"t={stamp},v1={hex_hmac(SECRET, '1750000000', BODY_BYTES)}"}
    assert check(wrong).reason is RejectReason.BAD_SIGNATURE


@pytest.mark.parametrize(
    ("header", "reason"),
    [
        ("", RejectReason.MALFORMED_HEADER),
        ("garbage", RejectReason.MALFORMED_HEADER),
        ("t=abc,v1={sig}", RejectReason.MALFORMED_HEADER),
        ("t=,v1={sig}", RejectReason.MALFORMED_HEADER),
        ("t=-5,v1={sig}", RejectReason.MALFORMED_HEADER),
        ("t=1.5,v1={sig}", RejectReason.MALFORMED_HEADER),
        ("v1={sig}", RejectReason.MALFORMED_HEADER),
        ("t={t}", RejectReason.MALFORMED_HEADER),
        ("t={t},v0={sig}", RejectReason.MALFORMED_HEADER),
        ("t={t},v1=", RejectReason.MALFORMED_HEADER),
        ("t={t},v1=nothex", RejectReason.MALFORMED_HEADER),
        ("t={t},v1={sig}00", RejectReason.MALFORMED_HEADER),
        ("t={t},t={t},v1={sig}", RejectReason.MALFORMED_HEADER),
        ("t={t},,v1={sig}", RejectReason.MALFORMED_HEADER),
        ("t={t};v1={sig}", RejectReason.MALFORMED_HEADER),
        ("=5,t={t},v1={sig}", RejectReason.MALFORMED_HEADER),
        ("t={t},v1=" + "0" * 64, RejectReason.BAD_SIGNATURE),
    ],
)
def test_malformed_header_variants(header: str, reason: RejectReason) -> None:
    stamp = str(int(NOW))
    value = header.format(t=stamp, sig=hex_hmac(SECRET, stamp, BODY_BYTES))
    result = check({BODY: value})
    assert not result.ok
    assert result.reason is reason
    assert result.header == BODY


def test_missing_body_header() -> None:
    result = check({URI: signed_headers(SECRET, BODY_BYTES, URL, int(NOW))[URI]})
    assert result.reason is RejectReason.MISSING_HEADER
    assert result.header == BODY


def test_unknown_schemes_are_ignored_and_several_v1_accepted() -> None:
    stamp = str(int(NOW))
    good = hex_hmac(SECRET, stamp, BODY_BYTES)
    header = f" t={stamp} , v0=deadbeef , v1={'a' * 64} , v2=zzz , v1={good.upper()} "
    assert check({BODY: header}).ok


def test_tampered_body_is_a_bad_signature() -> None:
    headers = signed_headers(SECRET, BODY_BYTES, URL, int(NOW))
    tampered = BODY_BYTES.replace(b"123456", b"123457")
    assert check(headers, tampered).reason is RejectReason.BAD_SIGNATURE
    # Same JSON, other bytes: the raw bytes are verified, never re-serialised JSON.
    reserialised = json.dumps(json.loads(BODY_BYTES)).encode()
    assert reserialised != BODY_BYTES
    assert check(headers, reserialised).reason is RejectReason.BAD_SIGNATURE


def test_wrong_secret_is_a_bad_signature() -> None:
    headers = signed_headers("another-secret", BODY_BYTES, URL, int(NOW))
    result = check(headers)
    assert result.reason is RejectReason.BAD_SIGNATURE
    assert "another-secret" not in repr(result)


@pytest.mark.parametrize(
    ("offset", "reason"),
    [
        (-301, RejectReason.TOO_OLD),
        (-3600, RejectReason.TOO_OLD),
        (301, RejectReason.FROM_FUTURE),
        (86400, RejectReason.FROM_FUTURE),
        (-300, None),
        (300, None),
        (0, None),
    ],
)
def test_tolerance_applies_both_ways(offset: int, reason: RejectReason | None) -> None:
    result = check(signed_headers(SECRET, BODY_BYTES, URL, int(NOW) + offset))
    assert result.reason is reason
    assert result.ok is (reason is None)


def test_stale_timestamp_in_milliseconds_is_too_old() -> None:
    stamp = int((NOW - 600) * 1000)
    assert check(signed_headers(SECRET, BODY_BYTES, URL, stamp)).reason is RejectReason.TOO_OLD


def test_tolerance_is_configurable() -> None:
    headers = signed_headers(SECRET, BODY_BYTES, URL, int(NOW) - 30)
    assert check(headers, tolerance=10).reason is RejectReason.TOO_OLD
    assert check(headers, tolerance=60).ok
    with pytest.raises(ValueError, match="tolerance"):
        check(headers, tolerance=-1)


def test_forged_signature_is_bad_signature_whatever_its_age() -> None:
    headers = signed_headers("wrong", BODY_BYTES, URL, int(NOW) - 7200)
    assert check(headers).reason is RejectReason.BAD_SIGNATURE


def test_several_secrets_during_rotation() -> None:
    old, new = "old-secret", "new-secret"
    for signer in (old, new):
        result = check(signed_headers(signer, BODY_BYTES, URL, int(NOW)), secrets=[new, old])
        assert result.ok
        assert result.secret_fingerprint == Secret(signer).fingerprint
    result = check(signed_headers("third", BODY_BYTES, URL, int(NOW)), secrets=[new, old])
    assert result.reason is RejectReason.BAD_SIGNATURE


def test_no_secret_configured_rejects() -> None:
    result = check(signed_headers(SECRET, BODY_BYTES, URL, int(NOW)), secrets=[])
    assert result.reason is RejectReason.BAD_SIGNATURE


def test_uri_signature_checked_when_present() -> None:
    headers = signed_headers(SECRET, BODY_BYTES, "https://elsewhere.example/hook", int(NOW))
    result = check(headers)
    assert result.reason is RejectReason.BAD_SIGNATURE
    assert result.header == URI
    # The registered URL is one of the candidates: passes when it matches any of them.
    assert check(headers, uris=[URL, "https://elsewhere.example/hook"]).ok


def test_uri_check_modes() -> None:
    body_only = signed_headers(SECRET, BODY_BYTES, None, int(NOW))
    assert check(body_only).ok  # if_present
    assert not check(body_only).uri_checked
    required = check(body_only, uri_check="require")
    assert required.reason is RejectReason.MISSING_HEADER
    assert required.header == URI
    bad_uri = signed_headers(SECRET, BODY_BYTES, "https://other", int(NOW))
    assert check(bad_uri, uri_check="ignore").ok
    stale_uri = {**body_only, URI: signed_headers(SECRET, b"", URL, int(NOW) - 999)[URI]}
    assert check(stale_uri).reason is RejectReason.TOO_OLD
    malformed_uri = {**body_only, URI: "t=x"}
    assert check(malformed_uri).reason is RejectReason.MALFORMED_HEADER


def test_comparison_is_constant_time(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, str]] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append((a, b))
        return real(a, b)

    monkeypatch.setattr(hmac, "compare_digest", spy)
    headers = signed_headers("wrong", BODY_BYTES, URL, int(NOW))
    assert check(headers, secrets=["a", "b"]).reason is RejectReason.BAD_SIGNATURE
    assert len(calls) == 2  # every (secret, signature) pair compared with compare_digest


def test_parse_and_raise_api() -> None:
    parsed = parse_signature_header(f"t=12,v1={'ab' * 32}")
    assert parsed.timestamp == "12"
    assert parsed.signatures == ("ab" * 32,)
    with pytest.raises(WebhookVerificationError) as info:
        parse_signature_header("nope")
    assert info.value.reason is RejectReason.MALFORMED_HEADER
    result = check({})
    with pytest.raises(WebhookVerificationError, match="missing_header"):
        result.raise_for_rejection()


def test_signing_keys_never_show_the_secret() -> None:
    keys = SigningKeys([SECRET, Secret("other")])
    assert SECRET not in repr(keys)
    assert keys.fingerprints[0] == Secret(SECRET).fingerprint
    with pytest.raises(TypeError):
        pickle.dumps(keys)


@settings(max_examples=300, deadline=None)
@given(
    header=st.one_of(
        st.text(max_size=200),
        st.lists(
            st.tuples(
                st.sampled_from(["t", "v1", "v0", "", " t", "v1 ", "x"]),
                st.text(alphabet="0123456789abcdefABCDEF=,. -", max_size=80),
            ),
            max_size=6,
        ).map(lambda items: ",".join(f"{k}={v}" for k, v in items)),
    ),
    uri_header=st.one_of(st.none(), st.text(max_size=100)),
    body=st.binary(max_size=300),
    now=st.floats(min_value=0, max_value=1e13, allow_nan=False),
)
def test_fuzzed_headers_and_bodies_never_raise(
    header: str, uri_header: str | None, body: bytes, now: float
) -> None:
    headers = {BODY: header}
    if uri_header is not None:
        headers[URI] = uri_header
    result = verify_delivery(headers, body, [SECRET], now=now, uris=[URL])
    assert result.ok is False or result.reason is None
    if not result.ok:
        assert isinstance(result.reason, RejectReason)
        assert SECRET not in result.detail


@settings(max_examples=100, deadline=None)
@given(body=st.binary(max_size=500), offset=st.integers(min_value=-299, max_value=299))
def test_fuzzed_valid_deliveries_pass(body: bytes, offset: int) -> None:
    stamp = int(NOW) + offset
    assert check(signed_headers(SECRET, body, URL, stamp), body).ok
