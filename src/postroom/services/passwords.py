"""Passwords: Argon2id hashes (argon2-cffi), the one place a password is checked or hashed.

A password is never stored, logged or returned: only its PHC-format hash, whose parameters
travel with it, so a hash made with older parameters still verifies and is replaced at the
next sign-in (`needs_rehash`). Length is bounded (1 to 1,024 characters) before any hashing:
Argon2 takes any length, and a megabyte password is work a caller should not be able to buy.
"""

from __future__ import annotations

import secrets
from functools import cached_property

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

from postroom.errors import UserError

MAX_PASSWORD = 1024
"""Characters; a passphrase fits, a denial of service does not."""


def checked_password(password: str) -> str:
    """``password`` as given; UserError when it is empty or too long (never echoing it)."""
    if not password:
        raise UserError("the password is empty: give one of at least 1 character")
    if len(password) > MAX_PASSWORD:
        raise UserError(
            f"the password is longer than {MAX_PASSWORD} characters: give a shorter one"
        )
    return password


class Passwords:
    """Hashes and checks passwords with one Argon2id parameter set."""

    def __init__(self, hasher: PasswordHasher | None = None) -> None:
        self._hasher = hasher or PasswordHasher()

    def hash(self, password: str) -> str:
        """The Argon2id hash of a checked password (UserError when it is not acceptable)."""
        return self._hasher.hash(checked_password(password))

    def matches(self, password_hash: str | None, password: str) -> bool:
        """Whether ``password`` is the one hashed; a missing hash costs the same time."""
        if not password or len(password) > MAX_PASSWORD:
            return False
        try:
            return self._hasher.verify(password_hash or self._dummy, password)
        except (VerificationError, InvalidHashError):
            return False

    def needs_rehash(self, password_hash: str) -> bool:
        """The hash was made with other parameters than today's: hash the password again."""
        try:
            return self._hasher.check_needs_rehash(password_hash)
        except InvalidHashError:
            return True

    @cached_property
    def _dummy(self) -> str:
        """A hash of nothing anyone knows, checked when a user has none (same time spent)."""
        return self._hasher.hash(secrets.token_urlsafe(32))
