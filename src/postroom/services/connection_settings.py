"""What channels and SMTP servers share about their connection settings: a CA file judged
before anything is stored (an add stores a complete record or nothing), and, after a
failed check, which setting to change (the `set` command's options that fix it)."""

from __future__ import annotations

from pathlib import Path

from postroom.diagnostics import CheckReport, StepName
from postroom.errors import InputError, UserError
from postroom.net.connection import tls_context

_FIX = {
    StepName.DNS: "--url URL (the host name)",
    StepName.TCP: "--url URL (the host and port)",
    StepName.TLS: "--url URL (the port and TLS mode) or --ca-file FILE",
    StepName.CERTIFICATE: "--ca-file FILE (the CA that signed the server's certificate)",
    StepName.GREETING: "--url URL (the port and protocol)",
    StepName.CAPABILITIES: "--url URL (the port and protocol)",
    StepName.AUTH: "--password-stdin (or --password-env VAR, --authzid ADDRESS)",
    StepName.MAILBOX: "--url URL or --authzid ADDRESS (the mailbox)",
    StepName.SEND: "--url URL or --authzid ADDRESS (who may send)",
}


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
    failed)."""
    if report is None:
        return ""
    for step in report.steps:
        if step.ok is False:
            if step.name is StepName.MAILBOX and "folders" in step.detail:
                return "--folder NAME (a folder the server has)"
            if step.name is StepName.AUTH and "oauth2" in step.detail:
                return "--client-id ID, --scope S (OAuth2), or sign in again (authorize)"
            return _FIX[step.name]
    return ""
