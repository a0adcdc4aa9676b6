"""Signing values with the secret key so they come back untampered (HMAC-SHA256).

A signed value is ``value:signature`` (``value:timestamp:signature`` when timestamped), in
URL-safe characters, so it fits in a cookie, a URL or a form field. Signatures are checked
with ``hmac.compare_digest`` only: comparing them with ``==`` would leak through timing how
many leading bytes of a forged signature are right.

Each purpose uses its own ``salt``, from which a separate key is derived, so a value signed
for one purpose (a password-reset link) is refused for another (an e-mail change link).
Rotating the secret key: move the old key to ``secret_key_fallbacks``; values signed with it
still verify, new ones are signed with the new key.

    signer = TimestampSigner.from_settings(settings, salt="tidal.auth.reset")
    token = signer.sign("42")
    user_id = signer.unsign(token, max_age=3600)      # raises BadSignature / SignatureExpired
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Self

import msgspec

from tidal.exceptions import ImproperlyConfigured, TidalError

if TYPE_CHECKING:
    from tidal.conf.settings import Settings

SEPARATOR = ":"
_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"


class BadSignature(TidalError, ValueError):
    """The signature does not match the value: it was forged, altered, or signed with a key
    (or salt) this application no longer accepts."""

    code = "bad-signature"


class SignatureExpired(BadSignature):
    """The signature is valid but older than the ``max_age`` asked for."""

    code = "signature-expired"


def b64encode(data: bytes) -> str:
    """URL-safe base64 without padding."""
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64decode(text: str) -> bytes:
    """The inverse of ``b64encode``; raises ``BadSignature`` on malformed input."""
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (ValueError, TypeError):
        raise BadSignature("Malformed base64 data.") from None


def _base62(number: int) -> str:
    if number == 0:
        return "0"
    digits = []
    while number:
        number, rest = divmod(number, 62)
        digits.append(_BASE62[rest])
    return "".join(reversed(digits))


def _unbase62(text: str) -> int:
    if not text or len(text) > 12 or any(c not in _BASE62 for c in text):
        raise BadSignature("Malformed timestamp.")
    number = 0
    for char in text:
        number = number * 62 + _BASE62.index(char)
    return number


def derive_key(secret: str | bytes, salt: str) -> bytes:
    """A key for one purpose: different salts give unrelated keys from the same secret."""
    secret_bytes = secret.encode() if isinstance(secret, str) else secret
    return hashlib.sha256(b"tidal.signing:" + salt.encode() + b":" + secret_bytes).digest()


def mac(key: bytes, message: bytes) -> bytes:
    """HMAC-SHA256 of ``message``."""
    return hmac.new(key, message, hashlib.sha256).digest()


class Signer:
    """Signs strings with HMAC-SHA256; ``unsign`` returns the value or raises.

    Args:
        key: the secret key (``settings.secret_key``).
        fallback_keys: older keys still accepted by ``unsign``, never used by ``sign``.
        salt: the purpose of the signatures; each purpose gets its own derived key.
    """

    def __init__(
        self, key: str | bytes, *, fallback_keys: Sequence[str | bytes] = (), salt: str
    ) -> None:
        if not key:
            raise ImproperlyConfigured(
                "Signing needs a secret key: set TIDAL_SECRET_KEY to a long random value."
            )
        self.salt = salt
        self._key = derive_key(key, salt)
        self._verify_keys = [self._key, *(derive_key(k, salt) for k in fallback_keys if k)]

    @classmethod
    def from_settings(cls, settings: Settings, *, salt: str) -> Self:
        """A signer with the application's ``secret_key`` and ``secret_key_fallbacks``."""
        return cls(settings.secret_key, fallback_keys=settings.secret_key_fallbacks, salt=salt)

    def signature(self, value: str, key: bytes | None = None) -> str:
        return b64encode(mac(key or self._key, value.encode()))

    def sign(self, value: str) -> str:
        return f"{value}{SEPARATOR}{self.signature(value)}"

    def _verify(self, signed: str) -> str:
        value, sep, signature = signed.rpartition(SEPARATOR)
        if not sep:
            raise BadSignature("No signature found.")
        given = signature.encode()
        for key in self._verify_keys:
            if hmac.compare_digest(given, self.signature(value, key).encode()):
                return value
        raise BadSignature("Signature does not match.")

    def unsign(self, signed: str) -> str:
        """The original value; raises ``BadSignature`` if ``signed`` was tampered with."""
        return self._verify(signed)


class TimestampSigner(Signer):
    """A ``Signer`` whose signatures carry their time, so ``unsign`` can refuse old ones."""

    def sign(self, value: str, *, now: float | None = None) -> str:
        stamp = _base62(int(time.time() if now is None else now))
        return super().sign(f"{value}{SEPARATOR}{stamp}")

    def unsign(self, signed: str, *, max_age: float | None = None, now: float | None = None) -> str:
        """The original value; raises ``SignatureExpired`` when older than ``max_age``
        seconds, ``BadSignature`` when tampered with."""
        value, sep, stamp = self._verify(signed).rpartition(SEPARATOR)
        if not sep:
            raise BadSignature("No timestamp found.")
        signed_at = _unbase62(stamp)
        if max_age is not None:
            age = (time.time() if now is None else now) - signed_at
            if age > max_age:
                raise SignatureExpired(f"Signature age {age:.0f}s > {max_age:.0f}s.")
        return value


def dumps(
    obj: Any, *, key: str | bytes, salt: str, fallback_keys: Sequence[str | bytes] = ()
) -> str:
    """``obj`` (JSON-encodable) as a signed, timestamped, URL-safe string. Not encrypted:
    anyone can read the contents, no one can change them."""
    payload = b64encode(msgspec.json.encode(obj))
    return TimestampSigner(key, fallback_keys=fallback_keys, salt=salt).sign(payload)


def loads(
    token: str,
    *,
    key: str | bytes,
    salt: str,
    max_age: float | None = None,
    fallback_keys: Sequence[str | bytes] = (),
) -> Any:
    """The object ``dumps`` signed; raises ``BadSignature`` or ``SignatureExpired``."""
    signer = TimestampSigner(key, fallback_keys=fallback_keys, salt=salt)
    payload = signer.unsign(token, max_age=max_age)
    try:
        return msgspec.json.decode(b64decode(payload))
    except msgspec.DecodeError:
        raise BadSignature("Signed payload is not valid JSON.") from None


__all__ = [
    "BadSignature",
    "SignatureExpired",
    "Signer",
    "TimestampSigner",
    "b64decode",
    "b64encode",
    "derive_key",
    "dumps",
    "loads",
    "mac",
]
