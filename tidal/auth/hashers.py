"""Password hashing with Argon2id (argon2-cffi).

Hashing is deliberately slow (tens of milliseconds, tens of MiB), so the async helpers run
it in a worker thread: a login never stalls the event loop for the other requests.
"""

from __future__ import annotations

import asyncio
import contextlib
import secrets

from argon2 import PasswordHasher as _Argon2
from argon2 import Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from tidal.auth.config import AuthConfig

UNUSABLE_PREFIX = "!"


class PasswordHasher:
    """Argon2id with the configured parameters.

    ``verify`` is constant-work whether or not the hash is usable (so an attacker cannot
    tell "no such user" from "wrong password" by timing); ``needs_rehash`` says a stored
    hash was made with other parameters than the current ones.
    """

    def __init__(self, config: AuthConfig | None = None) -> None:
        config = config or AuthConfig()
        self._argon2 = _Argon2(
            time_cost=config.argon2_time_cost,
            memory_cost=config.argon2_memory_cost,
            parallelism=config.argon2_parallelism,
            type=Type.ID,
        )
        self._dummy: str | None = None

    def hash(self, password: str) -> str:
        return self._argon2.hash(password)

    def verify(self, encoded: str, password: str) -> bool:
        if not encoded or encoded.startswith(UNUSABLE_PREFIX):
            self.burn(password)
            return False
        try:
            return self._argon2.verify(encoded, password)
        except (VerifyMismatchError, VerificationError, InvalidHashError):
            return False

    def burn(self, password: str) -> None:
        """Spend the time of one verification (for unknown users and unusable hashes)."""
        if self._dummy is None:
            self._dummy = self._argon2.hash(secrets.token_hex(8))
        with contextlib.suppress(VerifyMismatchError, VerificationError, InvalidHashError):
            self._argon2.verify(self._dummy, password)

    def needs_rehash(self, encoded: str) -> bool:
        if not encoded or encoded.startswith(UNUSABLE_PREFIX):
            return False
        try:
            return self._argon2.check_needs_rehash(encoded)
        except InvalidHashError:
            return True

    async def hash_async(self, password: str) -> str:
        return await asyncio.to_thread(self.hash, password)

    async def verify_async(self, encoded: str, password: str) -> bool:
        return await asyncio.to_thread(self.verify, encoded, password)


def unusable_password() -> str:
    """A value no password verifies against (accounts that may not log in by password)."""
    return UNUSABLE_PREFIX + secrets.token_urlsafe(30)


__all__ = ["UNUSABLE_PREFIX", "PasswordHasher", "unusable_password"]
