"""Stored passwords, encrypted at rest (Fernet: AES-128-CBC + HMAC-SHA256).

The key is ``POSTROOM_SECRET_KEY`` when set, else the file ``secret.key`` in
the data folder, made on first use with mode 0600. A password is decrypted
only where a connection is opened, and never printed or logged: `Secret`
hides its value from ``repr`` and ``str``.
"""

from __future__ import annotations

import os
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from postroom.errors import InputError, SetupError, UserError


class Secret:
    """A password in memory: its text only through `reveal()`."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


class SecretBox:
    def __init__(self, key: bytes) -> None:
        try:
            self._fernet = Fernet(key)
        except (ValueError, TypeError):
            raise SetupError(
                "POSTROOM_SECRET_KEY is not a Fernet key (44 characters of URL-safe base64, "
                "as secret.key holds): give the key the passwords were stored with, or unset "
                "it to use secret.key in the data folder"
            ) from None

    @classmethod
    def for_home(cls, home: Path, env_key: str | None = None) -> SecretBox:
        if env_key:
            return cls(env_key.encode())
        path = home / "secret.key"
        if not path.exists():
            home.mkdir(mode=0o700, parents=True, exist_ok=True)  # App made it so already
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_CLOEXEC, 0o600)
            with os.fdopen(fd, "wb") as fh:
                os.fchmod(fd, 0o600)  # whatever the umask (storage/home.py)
                fh.write(Fernet.generate_key())
        return cls(path.read_bytes().strip())

    def seal(self, secret: Secret) -> str:
        return self._fernet.encrypt(secret.reveal().encode()).decode()

    def open(self, token: str) -> Secret:
        try:
            return Secret(self._fernet.decrypt(token.encode()).decode())
        except InvalidToken as exc:
            raise UserError(
                "a stored password cannot be decrypted with this key "
                "(was POSTROOM_SECRET_KEY or secret.key changed?)"
            ) from exc


def password_from(env_var: str | None, stdin_text: str | None) -> Secret | None:
    """A password from a named environment variable or from stdin's first line."""
    if env_var and stdin_text is not None:
        raise InputError("give the password with --password-env or --password-stdin, not both")
    if env_var:
        value = os.environ.get(env_var)
        if value is None:
            raise InputError(f"environment variable {env_var} is not set")
        return Secret(value)
    if stdin_text is not None:
        line = stdin_text.splitlines()[0] if stdin_text else ""
        if not line:
            raise InputError("no password on standard input")
        return Secret(line)
    return None
