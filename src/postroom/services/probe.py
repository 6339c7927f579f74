"""`postroom check URL`: a connection check of a server given by its URL, before anything
is stored (a person trying settings out); nothing is kept. Stored channels and servers are
checked by their services, which keep the report (services/channels.py, servers.py)."""

from __future__ import annotations

from pathlib import Path

from postroom.diagnostics import CheckReport, run_check
from postroom.net.connection import MailUrl
from postroom.net.sasl import AuthMechanism


def check_url(
    url: MailUrl,
    password: str | None,
    authzid: str | None = None,
    ca_file: Path | None = None,
    send_to: str | None = None,
    timeout: float = 10.0,
    *,
    folder: str | None = None,
    mechanism: AuthMechanism = AuthMechanism.AUTO,
) -> CheckReport:
    """DNS, TCP, TLS, certificate, greeting, capabilities, login, then the mailbox (IMAP:
    ``folder``, read-only) or, for SMTP given ``send_to``, a test message; UserError for
    settings that cannot work. ``mechanism`` XOAUTH2 or OAUTHBEARER: ``password`` is an
    OAuth2 access token."""
    return run_check(
        url, password, authzid, ca_file, send_to, timeout, folder=folder, mechanism=mechanism
    )
