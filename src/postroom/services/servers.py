"""Outbound SMTP servers as use cases: add (with its check), list, enable, disable, check.

A server is added disabled and enabled by `check_then_enable` (services/enabling.py), the
same rule as input channels. Its password is sealed here and opened only to connect. A
server with an OAuth2 sign-in (``--oauth2``, services/grants.py) logs in with XOAUTH2 or
OAUTHBEARER and a fresh access token, and stays disabled until it is signed in.
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
from postroom.net.connection import ConnectionFailure, MailUrl
from postroom.net.sasl import AuthMechanism
from postroom.records.config import SmtpServerRecord
from postroom.records.oauth import GrantOwner
from postroom.services.connection_settings import checked_ca_file
from postroom.services.enabling import (
    BY_A_PERSON,
    Admission,
    ConnectionCheck,
    check_then_enable,
)
from postroom.services.grant_checks import token_failure
from postroom.services.grants import (
    OAUTH_MECHANISMS,
    DeviceProgress,
    Grants,
    OAuthOptions,
    Target,
    oauth_mechanism,
)
from postroom.services.setting_fixes import Setting, SettingRefused
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
    oauth: OAuthOptions | None = None
    """Log in with an OAuth2 access token of this sign-in instead of a password."""
    mechanism: AuthMechanism = AuthMechanism.AUTO
    """With OAuth2: XOAUTH2 (``auto``) or OAUTHBEARER."""


@dataclass(frozen=True, slots=True)
class ServerAdded:
    server: SmtpServerRecord
    """As stored before its check (disabled)."""
    admission: Admission
    """Without a report and off: OAuth2 without a sign-in yet (see ``sign_in``)."""
    sign_in: str | None = None
    """How to sign in, when it is not signed in yet."""


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
    oauth: OAuthOptions | None = None
    """OAuth2 settings to set or change (a password given instead goes back to passwords)."""
    mechanism: AuthMechanism | None = None


@dataclass(frozen=True, slots=True)
class ServerChanged:
    server: SmtpServerRecord
    """As stored by the change (switched off when a connection setting changed)."""
    admission: Admission | None
    """The check after a connection change (None: nothing to check)."""
    sign_in: str | None = None
    """OAuth2 without a sign-in: how to sign in (it stays disabled until then)."""


class ServerService:
    def __init__(
        self,
        storage: Storage,
        secrets: SecretBox,
        check: ConnectionCheck,
        clock: Callable[[], datetime] = utcnow,
        grants: Grants | None = None,
    ) -> None:
        self.storage = storage
        self.secrets = secrets
        self._check = check
        self._clock = clock
        self.grants = grants or Grants(storage, secrets, clock=clock)

    def add(self, new: NewServer, *, force: bool = False) -> ServerAdded:
        """Store the server disabled, then enable it once its connection check passes (or
        anyway with ``force``)."""
        parsed = smtp_url(new.url)
        ca_file = checked_ca_file(new.ca_file)
        password = new.password
        oauth = new.oauth if new.oauth is not None and new.oauth.given else None
        mechanism = None
        if oauth is not None:
            mechanism = _oauth_login(parsed, password, new.authzid, new.mechanism)
            settings, _ = self.grants.settings(None, oauth)
        elif new.mechanism is not AuthMechanism.AUTO:
            raise SettingRefused(
                Setting.MECHANISM,
                " on an SMTP server is for ",
                Setting.OAUTH2,
                " (xoauth2, oauthbearer)",
            )
        if parsed.user and password is None and oauth is None:
            raise UserError("give the password with --password-env VAR or --password-stdin")
        if password is not None and not parsed.user:
            raise UserError("a password needs a user in the URL: smtps://USER@HOST:PORT")
        if new.authzid and not parsed.user:
            raise SettingRefused(Setting.AUTHZID, " needs a user in the URL")
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
                mechanism=mechanism,
            )
            if oauth is not None:
                self.grants.store(
                    uow,
                    _target(server),
                    settings,
                    keep_tokens=False,
                    refresh_token=oauth.refresh_token,
                )
                server = uow.servers.get(server.name)
        if oauth is not None and oauth.refresh_token is None:
            return ServerAdded(
                server,
                Admission(None, enabled=False),
                sign_in=f"sign in: {_target(server).sign_in}",
            )
        admission = check_then_enable(
            self.storage,
            _ServerSwitch(server.name),
            lambda: self._run_check(server, password, None),
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
            grant = uow.grants.get(GrantOwner.SMTP, before.id)
        oauth = change.oauth if change.oauth is not None and change.oauth.given else None
        if oauth is not None and change.password is not None:
            raise SettingRefused("give ", Setting.OAUTH2, " settings or a password, not both")
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
        forget = _login_values(values, before, grant is not None, url, change, oauth is not None)
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
            if forget:
                uow.grants.remove(GrantOwner.SMTP, before.id)
            if oauth is not None:
                settings, keep = self.grants.settings(grant, oauth)
                grant = self.grants.store(
                    uow,
                    _target(before),
                    settings,
                    keep_tokens=keep,
                    refresh_token=oauth.refresh_token,
                )
            server = uow.servers.change(name, values)
        if not connection:
            return ServerChanged(server, None)
        if oauth_mechanism(server.mechanism) and (grant is None or not grant.refresh_token_enc):
            return ServerChanged(server, None, sign_in=f"sign in: {_target(server).sign_in}")
        password = change.password if change.password is not None else self._password(server)
        if not url.user:
            password = None
        admission = check_then_enable(
            self.storage,
            _ServerSwitch(name),
            lambda: self._run_check(server, password, None),
            force=False,
            stay_off=before.disabled_reason == BY_A_PERSON,
        )
        return ServerChanged(server, admission)

    def authorize(
        self,
        name: str,
        refresh_token: Secret | None = None,
        progress: DeviceProgress | None = None,
    ) -> Admission:
        """Sign the server in (a refresh token given, else the device-code flow told
        through ``progress``), then check it and use it once the check passes."""
        server = self.show(name)
        if not oauth_mechanism(server.mechanism):
            raise UserError(
                f"SMTP server {name} logs in by password: set OAuth2 first "
                f"(postroom smtp set {name} --oauth2 PROVIDER --client-id ID)"
            )
        self.grants.sign_in(_target(server), refresh_token, progress)
        return check_then_enable(
            self.storage,
            _ServerSwitch(name),
            lambda: self._run_check(server, None, None),
            force=False,
            stay_off=server.disabled_reason == BY_A_PERSON,
        )

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
            None if force else lambda: self._run_check(server, self._password(server), None),
            force=force,
        )

    def disable(self, name: str) -> None:
        """Stop using it (its mail waits in the outbox or goes through another server)."""
        with self.storage.writing() as uow:
            uow.servers.set_enabled(name, False, BY_A_PERSON)

    def check(self, name: str, send_to: str | None = None) -> CheckReport:
        """Run the connection check with the stored settings (and, given ``send_to``, send
        a test message there); keeps its report."""
        with self.storage.reading() as uow:
            server = uow.servers.get(name)
        report = self._run_check(server, self._password(server), send_to)
        with self.storage.writing() as uow:
            _ServerSwitch(name).keep(uow, report)
        return report

    def _password(self, server: SmtpServerRecord) -> Secret | None:
        return self.secrets.open(server.password_enc) if server.password_enc else None

    def _run_check(
        self, server: SmtpServerRecord, password: Secret | None, send_to: str | None
    ) -> CheckReport:
        """The connection check; with OAuth2 an access token is fetched first (the login's
        password), and a token that cannot be had fails the check's login step."""
        if oauth_mechanism(server.mechanism):
            target = _target(server)
            try:
                password = self.grants.access_token(target)
            except ConnectionFailure as exc:
                return token_failure(server.url, exc, target.sign_in)
        return self._check(server, password, send_to)


def _target(server: SmtpServerRecord) -> Target:
    return Target(GrantOwner.SMTP, server.id, server.name)


def _login_values(
    values: dict[str, object],
    before: SmtpServerRecord,
    signed: bool,
    url: MailUrl,
    change: ServerChange,
    oauth: bool,
) -> bool:
    """The login mechanism (and no password, with OAuth2) into ``values`` when the change
    touches the login; True when the sign-in is to be forgotten (back to a password).
    ``signed``: the server has a sign-in; ``oauth``: OAuth2 settings are given."""
    mechanism = change.mechanism
    if mechanism is AuthMechanism.AUTO and change.password is None and signed:
        raise UserError("give a password (--password-env VAR) to log in by password again")
    if change.password is not None or mechanism is AuthMechanism.AUTO:
        if mechanism not in (None, AuthMechanism.AUTO):
            raise SettingRefused(
                Setting.MECHANISM,
                " on an SMTP server is for ",
                Setting.OAUTH2,
                " (xoauth2, oauthbearer)",
            )
        values["mechanism"] = None
        return signed
    if mechanism is not None and mechanism not in OAUTH_MECHANISMS:
        raise SettingRefused(
            Setting.MECHANISM,
            " on an SMTP server is for ",
            Setting.OAUTH2,
            " (xoauth2, oauthbearer)",
        )
    if not (oauth or signed or mechanism is not None):
        return False
    if not (oauth or signed):
        raise SettingRefused(
            Setting.MECHANISM, f" {mechanism} needs ", Setting.OAUTH2, " PROVIDER (an access token)"
        )
    authzid = values.get("authzid", before.authzid)
    default = AuthMechanism(before.mechanism or AuthMechanism.XOAUTH2)
    chosen = _oauth_login(url, None, str(authzid) if authzid else None, mechanism or default)
    if oauth or mechanism is not None:
        values["mechanism"] = chosen.value
        values["password_enc"] = None
    return False


def _oauth_login(
    url: MailUrl, password: Secret | None, authzid: str | None, mechanism: AuthMechanism
) -> AuthMechanism:
    """OAuth2 needs the user in the URL and no password nor authorization identity; the
    mechanism is XOAUTH2 (``auto``) or OAUTHBEARER."""
    if not url.user:
        raise SettingRefused(Setting.OAUTH2, " needs the user in the URL: smtps://USER@HOST:PORT")
    if password is not None:
        raise SettingRefused(Setting.OAUTH2, " logs in with an access token: drop the password")
    if authzid:
        raise SettingRefused(
            Setting.AUTHZID, " needs a password login (SASL PLAIN), not ", Setting.OAUTH2
        )
    if mechanism is AuthMechanism.AUTO:
        return AuthMechanism.XOAUTH2
    if mechanism not in OAUTH_MECHANISMS:
        raise SettingRefused(
            Setting.OAUTH2, " logs in with ", Setting.MECHANISM, " xoauth2 (default) or oauthbearer"
        )
    return mechanism


@dataclass(frozen=True, slots=True)
class _ServerSwitch:
    name: str

    def keep(self, uow: UnitOfWork, report: CheckReport) -> None:
        uow.servers.record_check(self.name, report.to_json(), report.ok)

    def switch_on(self, uow: UnitOfWork, *, after_failed_check: bool) -> None:
        uow.servers.set_enabled(self.name, True)
