"""What channels and SMTP servers share about their connection settings: a CA file judged
before anything is stored (an add stores a complete record or nothing). What to change
after a failed check is services/setting_fixes.py's (door-neutral)."""

from __future__ import annotations

from pathlib import Path

from postroom.errors import InputError, UserError
from postroom.net.connection import tls_context


def checked_ca_file(path: Path | None) -> str | None:
    """``path`` resolved, once it is known to hold PEM certificates that TLS can load;
    UserError naming what is wrong and what is expected."""
    if path is None:
        return None
    if not path.is_file():
        raise InputError(f"CA file {path} does not exist (give --ca-file a PEM file)")
    try:
        tls_context(path)
    except UserError:
        raise InputError(
            f"CA file {path} holds no certificate TLS can read: give the CA's certificate "
            "in PEM form (-----BEGIN CERTIFICATE-----)"
        ) from None
    return str(path.resolve())
