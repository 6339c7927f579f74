"""Input channels as use cases: add (with its check), list, show, enable, disable, remove,
check, and the channel's own SMTP (`set_smtp`). The CLI and a web door call these alike.

A channel is added disabled and enabled by `check_then_enable` (services/enabling.py).
A failed check counts as a failure of the channel, as a failed poll does, so its health
shows why it stays off; a forced enable after that failure keeps the count.
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
from postroom.net.sasl import AuthMechanism
from postroom.records.config import ChannelRecord
from postroom.services.checks import failure_class, first_failure
from postroom.services.enabling import Admission, ConnectionCheck, check_then_enable
from postroom.services.servers import smtp_url
from postroom.storage.unit import Storage, UnitOfWork

_NO_AUTHZID = (AuthMechanism.LOGIN, AuthMechanism.USER)
"""Login mechanisms that cannot carry an authorization identity."""


@dataclass(frozen=True, slots=True)
class NewChannel:
    """What `postroom channel add` (or a form) asks for; the password is still open."""

    name: str
    url: str
    password: Secret | None
    authzid: str | None = None
    ca_file: Path | None = None
    interval: int = 60
    max_failures: int = 10
    address: str | None = None
    """The mailbox's address (default: the authorization identity, or a login with an @)."""
    mechanism: AuthMechanism = AuthMechanism.AUTO
    timeout: int = 30


@dataclass(frozen=True, slots=True)
class ChannelAdded:
    channel: ChannelRecord
    """As stored before its check (disabled)."""
    admission: Admission | None
    """None: added without a check (it stays disabled)."""


@dataclass(frozen=True, slots=True)
class OwnSmtp:
    """A channel that sends the mail From its address itself, with its own login."""

    address: str | None
    url: str
    login: str | None


class ChannelService:
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

    def add(self, new: NewChannel, *, force: bool = False, check: bool = True) -> ChannelAdded:
        """Store the channel disabled, then (unless ``check`` is off) enable it once its
        connection check passes, or anyway with ``force``."""
        parsed = MailUrl.parse(new.url)
        if parsed.protocol != "pop3":
            raise UserError("input channels take pop3:// or pop3s:// URLs")
        if not parsed.user:
            raise UserError("the URL needs the login: pop3s://USER@HOST:PORT")
        if new.ca_file is not None and not new.ca_file.is_file():
            raise UserError(f"CA file {new.ca_file} does not exist")
        if new.password is None:
            raise UserError("give the password with --password-env VAR or --password-stdin")
        if new.authzid and new.mechanism in _NO_AUTHZID:
            raise UserError("an authorization identity needs --mechanism plain or auto")
        password = new.password
        own = new.address or new.authzid or (parsed.user if "@" in parsed.user else None)
        with self.storage.writing() as uow:
            channel = uow.channels.add(
                name=new.name,
                url=str(parsed),
                address=own.lower() if own else None,
                password_enc=self.secrets.seal(password),
                authzid=new.authzid,
                ca_file=str(new.ca_file.resolve()) if new.ca_file else None,
                mechanism=new.mechanism.value,
                interval_s=new.interval,
                max_failures=new.max_failures,
                timeout_s=new.timeout,
                now=self._clock(),
            )
        if not check:
            return ChannelAdded(channel, None)
        admission = check_then_enable(
            self.storage,
            _ChannelSwitch(channel.id, self._clock),
            lambda: self._check(channel, password, None),
            force=force,
        )
        return ChannelAdded(channel, admission)

    def list(self) -> list[ChannelRecord]:
        """Every channel with its health, by name."""
        with self.storage.reading() as uow:
            return uow.channels.all()

    def show(self, name: str) -> ChannelRecord:
        with self.storage.reading() as uow:
            return uow.channels.get(name)

    def enable(self, name: str, *, force: bool = False) -> Admission:
        """Enable once the connection check passes (``force``: without a check)."""
        channel = self.show(name)
        return check_then_enable(
            self.storage,
            _ChannelSwitch(channel.id, self._clock),
            None if force else lambda: self._check(channel, self._password(channel), None),
            force=force,
        )

    def disable(self, name: str) -> None:
        """Stop polling it, saying that a person did."""
        with self.storage.writing() as uow:
            channel = uow.channels.get(name)
            uow.channels.disable(channel.id, "disabled by a user")

    def remove(self, name: str) -> None:
        """Forget a channel that never stored mail (see `ChannelRepository.remove`)."""
        with self.storage.writing() as uow:
            uow.channels.remove(name)

    def check(self, name: str) -> CheckReport:
        """Run the connection check with the stored settings and keep its report."""
        channel = self.show(name)
        report = self._check(channel, self._password(channel), None)
        with self.storage.writing() as uow:
            _ChannelSwitch(channel.id, self._clock).keep(uow, report)
        return report

    def set_smtp(self, name: str, url: str | None) -> OwnSmtp | None:
        """The channel sends mail From its address through ``url`` with its own login and
        authorization identity; None stops that (and returns None)."""
        with self.storage.writing() as uow:
            channel = uow.channels.get(name)
            if url is None:
                uow.channels.set_smtp(channel.id, None)
                return None
            smtp = smtp_url(url)
            if not channel.address:
                raise UserError(
                    f"channel {name} has no address to send from (channel add --address)"
                )
            uow.channels.set_smtp(channel.id, str(smtp))
        return OwnSmtp(channel.address, str(smtp), MailUrl.parse(channel.url).user)

    def _password(self, channel: ChannelRecord) -> Secret | None:
        return self.secrets.open(channel.password_enc) if channel.password_enc else None


@dataclass(frozen=True, slots=True)
class _ChannelSwitch:
    channel_id: int
    clock: Callable[[], datetime]

    def keep(self, uow: UnitOfWork, report: CheckReport) -> None:
        failure = None if report.ok else (failure_class(report), first_failure(report))
        uow.channels.record_check(self.channel_id, report.to_json(), failure, self.clock())

    def switch_on(self, uow: UnitOfWork, *, after_failed_check: bool) -> None:
        uow.channels.enable(self.channel_id, reset_failures=not after_failed_check)
