"""`postroom check URL`: a connection check of a server given by its URL, before anything
is stored (a person trying settings out); nothing is kept. Stored channels and servers are
checked by their services, which keep the report (services/channels.py, servers.py)."""

from __future__ import annotations

from pathlib import Path

from postroom.diagnostics import CheckReport, run_check
from postroom.net.connection import MailUrl


def check_url(
    url: MailUrl,
    password: str | None,
    authzid: str | None = None,
    ca_file: Path | None = None,
    send_to: str | None = None,
    timeout: float = 10.0,
) -> CheckReport:
    """DNS, TCP, TLS, certificate, greeting, capabilities, login, then the mailbox (or, for
    SMTP given ``send_to``, a test message); UserError for settings that cannot work."""
    return run_check(url, password, authzid, ca_file, send_to, timeout)
