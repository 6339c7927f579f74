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
from postroom.services.connection_settings import checked_ca_file
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


@dataclass(frozen=True, slots=True)
class ServerChange:
    """What `postroom smtp set` (or a form) changes; None keeps the setting. An empty
    ``authzid`` removes it."""

    url: str | None = None
    password: Secret | None = None
    authzid: str | None = None
    ca_file: Path | None = None
    send_as: bool | None = None
    default: bool | None = None


@dataclass(frozen=True, slots=True)
class ServerChanged:
    server: SmtpServerRecord
    """As stored by the change (switched off when a connection setting changed)."""
    admission: Admission | None
    """The check after a connection change (None: nothing to check)."""


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
        ca_file = checked_ca_file(new.ca_file)
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
                ca_file=ca_file,
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

    def show(self, name: str) -> SmtpServerRecord:
        with self.storage.reading() as uow:
            return uow.servers.get(name)

    def set(self, name: str, change: ServerChange) -> ServerChanged:
        """Change a server in place. A changed connection setting (URL, password,
        authorization identity, CA file) switches it off and checks it again: it is used
        again once the check passes. Its roles (send-as, default) change at once."""
        values: dict[str, object] = {}
        with self.storage.reading() as uow:
            before = uow.servers.get(name)
        url = smtp_url(change.url) if change.url is not None else MailUrl.parse(before.url)
        if change.url is not None:
            values["url"] = str(url)
        if change.password is not None:
            if not url.user:
                raise UserError("a password needs a user in the URL: smtps://USER@HOST:PORT")
            values["password_enc"] = self.secrets.seal(change.password)
        if change.authzid is not None:
            values["authzid"] = change.authzid.strip() or None
        if change.ca_file is not None:
            values["ca_file"] = checked_ca_file(change.ca_file)
        connection = bool(values)
        if change.send_as is not None:
            values["send_as"] = change.send_as
        if change.default is not None:
            values["is_default"] = change.default
        if not values:
            raise UserError(
                "nothing to change: give --url, --password-env/--password-stdin, --authzid, "
                "--ca-file, --send-as/--no-send-as or --default/--no-default"
            )
        if connection:
            values["enabled"] = False
        with self.storage.writing() as uow:
            server = uow.servers.change(name, values)
        if not connection:
            return ServerChanged(server, None)
        password = change.password if change.password is not None else self._password(server)
        if not url.user:
            password = None
        admission = check_then_enable(
            self.storage,
            _ServerSwitch(name),
            lambda: self._check(server, password, None),
            force=False,
        )
        return ServerChanged(server, admission)

    def remove(self, name: str) -> None:
        """Forget a server; queued mail goes through whichever server is chosen for its
        From address when it is sent (or waits for one)."""
        with self.storage.writing() as uow:
            uow.servers.remove(name)

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
