"""What channels and SMTP servers share about their connection settings: a CA file judged
before anything is stored (an add stores a complete record or nothing), and, after a
failed check, the `set` command's options that fix it, for the web pages alone (the fix
itself, door-neutral, is services/setting_fixes.py's)."""

from __future__ import annotations

from pathlib import Path

from postroom.diagnostics import CheckReport
from postroom.errors import InputError, UserError
from postroom.net.connection import tls_context
from postroom.services.setting_fixes import Fix, fix_for

_CLI_WORDS = {
    Fix.HOST_NAME: "--url URL (the host name)",
    Fix.HOST_AND_PORT: "--url URL (the host and port)",
    Fix.TLS_MODE: "--url URL (the port and TLS mode) or --ca-file FILE",
    Fix.CERTIFICATE: "--ca-file FILE (the CA that signed the server's certificate)",
    Fix.PROTOCOL: "--url URL (the port and protocol)",
    Fix.LOGIN: "--password-stdin (or --password-env VAR, --authzid ADDRESS)",
    Fix.MAILBOX: "--url URL or --authzid ADDRESS (the mailbox)",
    Fix.SENDER: "--url URL or --authzid ADDRESS (who may send)",
    Fix.FOLDER: "--folder NAME (a folder the server has)",
    Fix.MOVE_FOLDER: "--after move:FOLDER (a folder the server has)",
    Fix.OAUTH: "--client-id ID, --scope S (OAuth2), or sign in again (authorize)",
}
"""Only for `fix_options` (the web pages' words until they word a `Fix` themselves); the
CLI words a fix with render/fixes.py, which holds the same table."""


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


def fix_options(report: CheckReport | None) -> str:
    """The `set` options that change what the first failed step depends on ('' when none
    failed). Kept for the web pages, which turn these options into their fields
    (web/ui/wording.py) until they word `fix_for`'s `Fix` with render.fixes.field_fix;
    delete it then. Every other door words the `Fix` itself."""
    fix = fix_for(report)
    return _CLI_WORDS[fix] if fix is not None else ""
