"""Outbound SMTP servers as use cases: add (with its check), list, enable, disable, check.

A server is added disabled and enabled by `check_then_enable` (services/enabling.py), the
same rule as input channels. Its password is sealed here and opened only to connect.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from postroom.clock import utcnow
from postroom.credentials import Secret, SecretBox
from postroom.diagnostics import CheckReport
from postroom.errors import UserError
from postroom.net.connection import MailUrl
from postroom.records.config import SmtpServerRecord
from postroom.services.enabling import Admission, ConnectionCheck, check_then_enable
from postroom.storage.unit import Storage, UnitOfWork


def smtp_url(text: str) -> MailUrl:
    """An SMTP server's URL as a person typed it; UserError for another protocol."""
    url = MailUrl.parse(text)
    if url.protocol != "smtp":
        raise UserError("SMTP servers take smtps://, submission:// or smtp:// URLs")
    return url


@dataclass(frozen=True, slots=True)
class NewServer:
    """What `postroom smtp add` (or a form) asks for; the password is still open."""

    name: str
    url: str
    password: Secret | None
    authzid: str | None = None
    ca_file: Path | None = None
    send_as: bool = False
    """It may send for any From address."""
    default: bool = False
    """The server-wide server."""


@dataclass(frozen=True, slots=True)
class ServerAdded:
    server: SmtpServerRecord
    """As stored before its check (disabled)."""
    admission: Admission


class ServerService:
    def __init__(
        self,
        storage: Storage,
        secrets: SecretBox,
        check: ConnectionCheck,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.storage = storage
        self.secrets = secrets
        self._check = check
        self._clock = clock

    def add(self, new: NewServer, *, force: bool = False) -> ServerAdded:
        """Store the server disabled, then enable it once its connection check passes (or
        anyway with ``force``)."""
        parsed = smtp_url(new.url)
        if new.ca_file is not None and not new.ca_file.is_file():
            raise UserError(f"CA file {new.ca_file} does not exist")
        password = new.password
        if parsed.user and password is None:
            raise UserError("give the password with --password-env VAR or --password-stdin")
        if password is not None and not parsed.user:
            raise UserError("a password needs a user in the URL: smtps://USER@HOST:PORT")
        if new.authzid and not parsed.user:
            raise UserError("--authzid needs a user in the URL")
        with self.storage.writing() as uow:
            server = uow.servers.add(
                name=new.name,
                url=str(parsed),
                password_enc=self.secrets.seal(password) if password else None,
                authzid=new.authzid,
                ca_file=str(new.ca_file.resolve()) if new.ca_file else None,
                send_as=new.send_as,
                is_default=new.default,
                now=self._clock(),
            )
        admission = check_then_enable(
            self.storage,
            _ServerSwitch(server.name),
            lambda: self._check(server, password, None),
            force=force,
        )
        return ServerAdded(server, admission)

    def list(self) -> list[SmtpServerRecord]:
        """The configured servers, by name."""
        with self.storage.reading() as uow:
            return uow.servers.all()

    def enable(self, name: str, *, force: bool = False) -> Admission:
        """Use this server once its connection check passes (``force``: without a check)."""
        with self.storage.reading() as uow:
            server = uow.servers.get(name)
        return check_then_enable(
            self.storage,
            _ServerSwitch(name),
            None if force else lambda: self._check(server, self._password(server), None),
            force=force,
        )

    def disable(self, name: str) -> None:
        """Stop using it (its mail waits in the outbox or goes through another server)."""
        with self.storage.writing() as uow:
            uow.servers.set_enabled(name, False)

    def check(self, name: str, send_to: str | None = None) -> CheckReport:
        """Run the connection check with the stored settings (and, given ``send_to``, send
        a test message there); keeps its report."""
        with self.storage.reading() as uow:
            server = uow.servers.get(name)
        report = self._check(server, self._password(server), send_to)
        with self.storage.writing() as uow:
            _ServerSwitch(name).keep(uow, report)
        return report

    def _password(self, server: SmtpServerRecord) -> Secret | None:
        return self.secrets.open(server.password_enc) if server.password_enc else None


@dataclass(frozen=True, slots=True)
class _ServerSwitch:
    name: str

    def keep(self, uow: UnitOfWork, report: CheckReport) -> None:
        uow.servers.record_check(self.name, report.to_json(), report.ok)

    def switch_on(self, uow: UnitOfWork, *, after_failed_check: bool) -> None:
        uow.servers.set_enabled(self.name, True)
