"""Signing: tampering, wrong keys and salts, expiry, key rotation, constant-time compare."""

from __future__ import annotations

import hmac
from unittest import mock

import pytest

from tests.conftest import make_settings
from tidal.exceptions import ImproperlyConfigured
from tidal.security.signing import (
    BadSignature,
    SignatureExpired,
    Signer,
    TimestampSigner,
    dumps,
    loads,
)

KEY = "k" * 20 + "-signing-key-0123456789-abcdefghijklmnop"
OLD_KEY = "o" * 20 + "-old-signing-key-0123456789-abcdefghijkl"


def test_round_trip_and_format() -> None:
    signer = Signer(KEY, salt="test")
    signed = signer.sign("user:42")
    value, _, signature = signed.rpartition(":")
    assert value == "user:42"
    assert len(signature) == 43  # SHA-256, URL-safe base64 without padding
    assert signer.unsign(signed) == "user:42"


@pytest.mark.parametrize(
    "forge",
    [
        lambda s: s.replace("42", "43"),  # changed value
        lambda s: s[:-1] + ("A" if s[-1] != "A" else "B"),  # changed signature
        lambda s: s.rpartition(":")[0],  # signature dropped
        lambda s: "admin:" + s.rpartition(":")[2],  # signature moved onto another value
        lambda s: s + "x",
        lambda s: "",
    ],
)
def test_tampering_is_detected(forge) -> None:  # type: ignore[no-untyped-def]
    signer = Signer(KEY, salt="test")
    with pytest.raises(BadSignature):
        signer.unsign(forge(signer.sign("user:42")))


def test_salt_and_key_separate_purposes() -> None:
    signed = Signer(KEY, salt="password-reset").sign("42")
    with pytest.raises(BadSignature):
        Signer(KEY, salt="email-change").unsign(signed)
    with pytest.raises(BadSignature):
        Signer(OLD_KEY, salt="password-reset").unsign(signed)


def test_key_rotation_with_fallbacks() -> None:
    old_token = Signer(OLD_KEY, salt="s").sign("v")
    rotated = Signer(KEY, fallback_keys=[OLD_KEY], salt="s")
    assert rotated.unsign(old_token) == "v"
    new_token = rotated.sign("v")
    with pytest.raises(BadSignature):  # new values are signed with the new key only
        Signer(OLD_KEY, salt="s").unsign(new_token)
    settings = make_settings(secret_key=KEY, secret_key_fallbacks=[OLD_KEY])
    assert Signer.from_settings(settings, salt="s").unsign(old_token) == "v"


def test_timestamps_and_max_age() -> None:
    signer = TimestampSigner(KEY, salt="t")
    signed = signer.sign("42", now=1_000_000)
    assert signer.unsign(signed, max_age=60, now=1_000_059) == "42"
    with pytest.raises(SignatureExpired):
        signer.unsign(signed, max_age=60, now=1_000_061)
    assert signer.unsign(signed) == "42"  # no max_age: age not checked
    _value, _, stamp_and_sig = signed.partition(":")
    stamp = stamp_and_sig.partition(":")[0]
    forged = signed.replace(f":{stamp}:", ":ZZZZ:")  # pushing the time forward breaks it
    with pytest.raises(BadSignature):
        signer.unsign(forged, max_age=60, now=1_000_061)
    with pytest.raises(BadSignature):  # a plain signature has no timestamp
        signer.unsign(Signer(KEY, salt="t").sign("42"))


def test_dumps_and_loads() -> None:
    token = dumps({"user": 42, "scope": ["reset"]}, key=KEY, salt="reset")
    assert ":" in token
    assert "{" not in token
    assert loads(token, key=KEY, salt="reset", max_age=60) == {"user": 42, "scope": ["reset"]}
    with pytest.raises(BadSignature):
        loads(token, key=KEY, salt="other")
    with pytest.raises(BadSignature):
        loads(token.replace(token[2], "A" if token[2] != "A" else "B", 1), key=KEY, salt="reset")


def test_signatures_are_compared_in_constant_time() -> None:
    signer = Signer(KEY, salt="t")
    signed = signer.sign("42")
    with mock.patch("hmac.compare_digest", wraps=hmac.compare_digest) as spy:
        assert signer.unsign(signed) == "42"
        with pytest.raises(BadSignature):
            signer.unsign(signed[:-2] + "AA")
    assert spy.call_count >= 2


def test_empty_key_is_refused() -> None:
    with pytest.raises(ImproperlyConfigured, match="TIDAL_SECRET_KEY"):
        Signer("", salt="x")
