"""Input channels as use cases: add (with its check), list, show, enable, disable, remove,
check, and the channel's own SMTP (`set_smtp`). The CLI and a web door call these alike.

A channel is added disabled and enabled by `check_then_enable` (services/enabling.py).
A failed check counts as a failure of the channel, as a failed poll does, so its health
shows why it stays off; a forced enable after that failure keeps the count.

A channel with an OAuth2 sign-in (``--oauth2``, services/grants.py) logs in with XOAUTH2 or
OAUTHBEARER and a fresh access token: its check fetches one first, and until it is signed
in (`authorize`) it stays disabled.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from postroom.clock import utcnow
from postroom.credentials import Secret, SecretBox
from postroom.diagnostics import CheckReport
from postroom.domain.ports import UnroutedPolicy
from postroom.domain.routes import Route
from postroom.errors import UserError
from postroom.net.connection import ConnectionFailure, MailUrl
from postroom.net.sasl import AuthMechanism
from postroom.ports.mailbox import After, AfterKind, check_folder
from postroom.records.config import ChannelRecord
from postroom.records.oauth import GrantOwner
from postroom.services.checks import failure_class, first_failure
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
from postroom.services.servers import smtp_url
from postroom.services.setting_fixes import Setting, SettingRefused
from postroom.storage.unit import Storage, UnitOfWork

_NO_AUTHZID = (AuthMechanism.LOGIN, AuthMechanism.USER)
"""Login mechanisms that cannot carry an authorization identity."""
_MIN_INTERVAL = 5


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
    folder: str | None = None
    """IMAP: the folder to poll (None: INBOX)."""
    after: str | None = None
    """``delete`` (None), ``keep`` or (IMAP) ``move:FOLDER``: what a poll does with stored mail."""
    oauth: OAuthOptions | None = None
    """Log in with an OAuth2 access token of this sign-in instead of a password."""


@dataclass(frozen=True, slots=True)
class ChannelAdded:
    channel: ChannelRecord
    """As stored before its check (disabled)."""
    admission: Admission | None
    """None: added without a check (it stays disabled)."""
    unrouted: str | None = None
    """No route covers the mailbox's address: what its mail will get (a warning)."""
    sign_in: str | None = None
    """OAuth2 without a sign-in yet: how to sign in (it stays disabled until then)."""


@dataclass(frozen=True, slots=True)
class ChannelChange:
    """What `postroom channel set` (or a form) changes; None keeps the setting. An empty
    ``authzid`` removes it."""

    url: str | None = None
    password: Secret | None = None
    authzid: str | None = None
    ca_file: Path | None = None
    interval: int | None = None
    max_failures: int | None = None
    folder: str | None = None
    """IMAP: poll this folder from now on (``INBOX`` the default)."""
    after: str | None = None
    """``delete``, ``keep`` or (IMAP) ``move:FOLDER`` from the next poll on."""
    oauth: OAuthOptions | None = None
    """OAuth2 settings to set or change (a password given instead goes back to passwords)."""
    mechanism: AuthMechanism | None = None


@dataclass(frozen=True, slots=True)
class ChannelChanged:
    channel: ChannelRecord
    """As stored by the change (switched off when a connection setting changed)."""
    admission: Admission | None
    """The check after a connection change (None: nothing to check)."""
    checked: bool
    sign_in: str | None = None
    """OAuth2 without a sign-in: how to sign in (it stays disabled until then)."""


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
        unrouted: UnroutedPolicy = UnroutedPolicy.AUTO_REPLY,
        grants: Grants | None = None,
    ) -> None:
        self.storage = storage
        self.secrets = secrets
        self._check = check
        self._clock = clock
        self._unrouted = unrouted
        self.grants = grants or Grants(storage, secrets, clock=clock)

    def add(self, new: NewChannel, *, force: bool = False, check: bool = True) -> ChannelAdded:
        """Store the channel disabled, then (unless ``check`` is off) enable it once its
        connection check passes, or anyway with ``force``. Every setting is judged before
        anything is stored: a refused add leaves nothing behind (not even its name)."""
        parsed = _channel_url(new.url)
        ca_file = checked_ca_file(new.ca_file)
        oauth = new.oauth if new.oauth is not None and new.oauth.given else None
        mechanism = _mechanism(new.mechanism, oauth=oauth is not None)
        if oauth is not None:
            _oauth_fits(new.password, new.authzid)
            settings, _ = self.grants.settings(None, oauth)
        elif new.password is None:
            raise UserError("give the password with --password-env VAR or --password-stdin")
        if new.authzid and new.mechanism in _NO_AUTHZID:
            raise SettingRefused(
                "an authorization identity needs ", Setting.MECHANISM, " plain or auto"
            )
        _check_numbers(new.interval, new.max_failures)
        folder, after = _reading(parsed, new.folder, new.after)
        password = new.password
        own = (
            new.address
            or new.authzid
            or (parsed.user if parsed.user and "@" in parsed.user else None)
        )
        with self.storage.writing() as uow:
            channel = uow.channels.add(
                name=new.name,
                url=str(parsed),
                address=own.lower() if own else None,
                password_enc=self.secrets.seal(password) if password is not None else None,
                authzid=new.authzid,
                ca_file=ca_file,
                mechanism=mechanism.value,
                interval_s=new.interval,
                max_failures=new.max_failures,
                timeout_s=new.timeout,
                now=self._clock(),
            )
            uow.polls.set_reading(channel.id, folder, after)
            if oauth is not None:
                self.grants.store(
                    uow,
                    _target(channel),
                    settings,
                    keep_tokens=False,
                    refresh_token=oauth.refresh_token,
                )
            channel = uow.channels.by_id(channel.id)
            routed = _route_problem(channel.address, uow.config.routes(), self._unrouted)
        if oauth is not None and oauth.refresh_token is None:
            return ChannelAdded(channel, None, routed, sign_in=_sign_in(channel))
        if not check:
            return ChannelAdded(channel, None, routed)
        admission = check_then_enable(
            self.storage,
            _ChannelSwitch(channel.id, self._clock),
            lambda: self._run_check(channel, password),
            force=force,
        )
        return ChannelAdded(channel, admission, routed)

    def set(self, name: str, change: ChannelChange) -> ChannelChanged:
        """Change a channel in place. A changed connection setting (URL, password,
        authorization identity, CA file) switches it off and checks it again: it is on
        again once the check passes (a channel a person switched off stays off, its check
        kept). Interval and failure limit change at once. Judged whole before storing."""
        values: dict[str, object] = {}
        password = change.password
        oauth = change.oauth if change.oauth is not None and change.oauth.given else None
        if oauth is not None and password is not None:
            raise SettingRefused("give ", Setting.OAUTH2, " settings or a password, not both")
        if change.url is not None:
            values["url"] = str(_channel_url(change.url))
        if password is not None:
            values["password_enc"] = self.secrets.seal(password)
        if change.authzid is not None:
            values["authzid"] = change.authzid.strip() or None
        if change.ca_file is not None:
            values["ca_file"] = checked_ca_file(change.ca_file)
        # A new folder, or a folder to move mail to, is checked too: the check opens it.
        moving = change.after is not None and After.parse(change.after).kind is AfterKind.MOVE
        connection = bool(values) or change.folder is not None or moving
        _check_numbers(change.interval, change.max_failures)
        if change.interval is not None:
            values["interval_s"] = change.interval
        if change.max_failures is not None:
            values["max_failures"] = change.max_failures
        reading = change.folder is not None or change.after is not None
        logins = oauth is not None or change.mechanism is not None
        if not values and not reading and not logins:
            raise UserError(
                "nothing to change: give --url, --password-env/--password-stdin, --authzid, "
                "--ca-file, --interval, --max-failures, --folder, --after, --mechanism or "
                "--oauth2 and its options"
            )
        connection = connection or logins
        signed_in = True
        with self.storage.writing() as uow:
            before = uow.channels.get(name)
            if values.get("authzid") and AuthMechanism(before.mechanism or "auto") in _NO_AUTHZID:
                raise SettingRefused(
                    "an authorization identity needs ", Setting.MECHANISM, " plain or auto"
                )
            if connection:
                signed_in = self._set_login(uow, before, values, change, oauth)
            if reading or "url" in values:
                folder, after = _reading(
                    MailUrl.parse(str(values.get("url", before.url))),
                    before.folder if change.folder is None else change.folder,
                    before.after if change.after is None else change.after,
                )
                uow.polls.set_reading(before.id, folder, after)
            if connection:
                values["enabled"] = False
            channel = uow.channels.change(before.id, values)
        if not connection:
            return ChannelChanged(channel, None, checked=False)
        if not signed_in:
            return ChannelChanged(channel, None, checked=False, sign_in=_sign_in(channel))
        opened = password if password is not None else self._password(channel)
        admission = check_then_enable(
            self.storage,
            _ChannelSwitch(channel.id, self._clock),
            lambda: self._run_check(channel, opened),
            force=False,
            stay_off=before.disabled_reason == BY_A_PERSON,
        )
        return ChannelChanged(channel, admission, checked=True)

    def _set_login(
        self,
        uow: UnitOfWork,
        before: ChannelRecord,
        values: dict[str, object],
        change: ChannelChange,
        oauth: OAuthOptions | None,
    ) -> bool:
        """How the channel logs in from now on, into ``values`` (and its sign-in stored or
        forgotten in ``uow``); False when it uses OAuth2 and has no sign-in yet."""
        target = _target(before)
        grant = uow.grants.get(GrantOwner.CHANNEL, before.id)
        if change.password is not None:
            if grant is None and change.mechanism is None:
                return True  # a new password, nothing else
            # Back to a password: the sign-in is forgotten.
            mechanism = _mechanism(change.mechanism or AuthMechanism.AUTO, oauth=False)
            if grant is not None:
                uow.grants.remove(GrantOwner.CHANNEL, before.id)
            values["mechanism"] = mechanism.value
            return True
        if oauth is None and grant is None:
            if change.mechanism is not None:
                values["mechanism"] = _mechanism(change.mechanism, oauth=False).value
            return True
        if oauth is None and change.mechanism not in (None, *OAUTH_MECHANISMS):
            raise UserError(
                f"{before.name} logs in with OAuth2: --mechanism takes xoauth2 or oauthbearer "
                "(give a password with --password-env VAR to log in by password again)"
            )
        authzid = values.get("authzid", before.authzid)
        _oauth_fits(None, str(authzid) if authzid else None)
        if oauth is not None:
            settings, keep = self.grants.settings(grant, oauth)
            grant = self.grants.store(
                uow, target, settings, keep_tokens=keep, refresh_token=oauth.refresh_token
            )
        old = AuthMechanism(before.mechanism or "auto")
        default = old if old in OAUTH_MECHANISMS else AuthMechanism.XOAUTH2
        values["mechanism"] = (change.mechanism or default).value
        values["password_enc"] = None
        assert grant is not None
        return grant.refresh_token_enc is not None

    def authorize(
        self,
        name: str,
        refresh_token: Secret | None = None,
        progress: DeviceProgress | None = None,
    ) -> Admission:
        """Sign the channel in (a refresh token given, else the device-code flow told
        through ``progress``), then check it and switch it on once the check passes (a
        channel a person switched off stays off, its check kept)."""
        channel = self.show(name)
        if not oauth_mechanism(channel.mechanism):
            raise UserError(
                f"channel {name} logs in by password: set OAuth2 first "
                f"(postroom channel set {name} --oauth2 PROVIDER --client-id ID)"
            )
        self.grants.sign_in(_target(channel), refresh_token, progress)
        return check_then_enable(
            self.storage,
            _ChannelSwitch(channel.id, self._clock),
            lambda: self._run_check(channel, None),
            force=False,
            stay_off=channel.disabled_reason == BY_A_PERSON,
        )

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
            None if force else lambda: self._run_check(channel, self._password(channel)),
            force=force,
        )

    def disable(self, name: str) -> None:
        """Stop polling it, saying that a person did."""
        with self.storage.writing() as uow:
            channel = uow.channels.get(name)
            uow.channels.disable(channel.id, BY_A_PERSON)

    def remove(self, name: str) -> None:
        """Forget a channel that never stored mail (see `ChannelRepository.remove`)."""
        with self.storage.writing() as uow:
            uow.channels.remove(name)

    def check(self, name: str) -> CheckReport:
        """Run the connection check with the stored settings and keep its report."""
        channel = self.show(name)
        report = self._run_check(channel, self._password(channel))
        with self.storage.writing() as uow:
            _ChannelSwitch(channel.id, self._clock).keep(uow, report)
        return report

    def unrouted(self, name: str) -> str | None:
        """What mail to the channel's address gets while no route covers it (None when
        one does, or when the channel has no address): the warning `add` gives, now."""
        with self.storage.reading() as uow:
            channel = uow.channels.get(name)
            return _route_problem(channel.address, uow.config.routes(), self._unrouted)

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

    def _run_check(self, channel: ChannelRecord, password: Secret | None) -> CheckReport:
        """The connection check; with OAuth2 an access token is fetched first (the login's
        password), and a token that cannot be had fails the check's login step."""
        if oauth_mechanism(channel.mechanism):
            try:
                password = self.grants.access_token(_target(channel))
            except ConnectionFailure as exc:
                return token_failure(channel.url, exc, _target(channel).sign_in)
        return self._check(channel, password, None)


@dataclass(frozen=True, slots=True)
class _ChannelSwitch:
    channel_id: int
    clock: Callable[[], datetime]

    def keep(self, uow: UnitOfWork, report: CheckReport) -> None:
        failure = None if report.ok else (failure_class(report), first_failure(report))
        uow.channels.record_check(self.channel_id, report.to_json(), failure, self.clock())

    def switch_on(self, uow: UnitOfWork, *, after_failed_check: bool) -> None:
        uow.channels.enable(self.channel_id, reset_failures=not after_failed_check)


def _target(channel: ChannelRecord) -> Target:
    return Target(GrantOwner.CHANNEL, channel.id, channel.name)


def _sign_in(channel: ChannelRecord) -> str:
    return f"sign in: {_target(channel).sign_in}"


def _mechanism(mechanism: AuthMechanism, *, oauth: bool) -> AuthMechanism:
    """The mechanism stored: XOAUTH2 (or OAUTHBEARER) with OAuth2, never without."""
    if oauth:
        if mechanism is AuthMechanism.AUTO:
            return AuthMechanism.XOAUTH2
        if mechanism not in OAUTH_MECHANISMS:
            raise SettingRefused(
                Setting.OAUTH2,
                " logs in with ",
                Setting.MECHANISM,
                " xoauth2 (default) or oauthbearer",
            )
        return mechanism
    if mechanism in OAUTH_MECHANISMS:
        raise SettingRefused(
            Setting.MECHANISM, f" {mechanism} needs ", Setting.OAUTH2, " PROVIDER (an access token)"
        )
    return mechanism


def _oauth_fits(password: Secret | None, authzid: str | None) -> None:
    """OAuth2 (IMAP and POP3 channels alike) takes no password and no authorization
    identity."""
    if password is not None:
        raise UserError("--oauth2 logs in with an access token: drop the password")
    if authzid:
        raise UserError(
            "--authzid needs a password login (SASL PLAIN): with --oauth2 the URL's user "
            "names the mailbox"
        )


def _channel_url(text: str) -> MailUrl:
    """A channel's URL as a person typed it; UserError for what no channel takes."""
    parsed = MailUrl.parse(text)
    if parsed.protocol not in ("pop3", "imap"):
        raise UserError("input channels take pop3://, pop3s://, imap:// or imaps:// URLs")
    if not parsed.user:
        raise UserError(f"the URL needs the login: {parsed.scheme}://USER@HOST:PORT")
    return parsed


def _reading(url: MailUrl, folder: str | None, after: str | None) -> tuple[str | None, After]:
    """The folder and the ``--after`` of a channel, judged for its protocol."""
    done = After.parse(after)
    if url.protocol != "imap" and (folder is not None or done.kind is AfterKind.MOVE):
        raise SettingRefused(
            Setting.FOLDER, " and ", Setting.AFTER, " move:FOLDER need an imap:// or imaps:// URL"
        )
    if folder is not None:
        check_folder(folder)
    return (None if folder in (None, "INBOX") else folder), done


def _check_numbers(interval: int | None, max_failures: int | None) -> None:
    if interval is not None and interval < _MIN_INTERVAL:
        raise SettingRefused(Setting.INTERVAL, f" must be at least {_MIN_INTERVAL} seconds")
    if max_failures is not None and max_failures < 1:
        raise SettingRefused(Setting.MAX_FAILURES, " must be at least 1")


def _route_problem(address: str | None, routes: list[Route], policy: UnroutedPolicy) -> str | None:
    """What mail to ``address`` gets when no route covers it (None when one does: the
    address itself, or its base without a ``+tag``, as the handler matches, rule N1)."""
    if address is None:
        return None
    covered = {route.address.strip().lower() for route in routes}
    local, _, domain = address.partition("@")
    if address in covered or f"{local.partition('+')[0]}@{domain}" in covered:
        return None
    add = f"postroom route add {address} --context C --category K --queue Q"
    if policy is UnroutedPolicy.UNHANDLED:
        return (
            f"no route covers {address}: its mail opens no Ticket and waits in the "
            f"Unhandled list (POSTROOM_UNROUTED_POLICY=unhandled); add one: {add}"
        )
    return (
        f'no route covers {address}: every sender gets the "address not configured" reply '
        f"and a Ticket resolved at once (POSTROOM_UNROUTED_POLICY=auto-reply); add one: {add}"
    )
