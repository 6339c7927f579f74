"""OAuth2 channels and SMTP servers as use cases, through SQLite in memory, a fake connection
check and a local token endpoint: added without a sign-in they stay off with the way to sign
in; signed in (a refresh token, or the device code) they are checked with a fresh access
token; a rotated refresh token is stored before the access token is used; a revoked grant is
an authentication failure saying to sign in again; tokens are stored sealed."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from postroom.credentials import Secret
from postroom.errors import UserError
from postroom.net.connection import ConnectionFailure, FailureClass, MailUrl
from postroom.net.oauth import DeviceCode, GrantProblem, Provider, TokenError, Tokens
from postroom.net.sasl import AuthMechanism, Credentials
from postroom.outbound.auth import choose, responder
from postroom.ports.mailbox import MailboxSource
from postroom.records.oauth import GrantOwner
from postroom.render.config import channel_json, server_json
from postroom.services.channels import ChannelChange, ChannelService, NewChannel
from postroom.services.grants import Grants, OAuthOptions, Target
from postroom.services.mailbox_access import MailboxAccess, with_access_tokens
from postroom.services.servers import NewServer, ServerService
from postroom.services.setting_fixes import Fix
from postroom.storage.unit import Storage
from unit.services.config_fakes import CannedCheck, Clock, memory_storage, secret_box
from unit.services.token_endpoint import TokenServer, token_server  # noqa: F401

URL = "imaps://alice@example.test@imap.example.test:993"


class Progress:
    def __init__(self, server: TokenServer, approve_after: int) -> None:
        self.server = server
        self.approve_after = approve_after
        self.codes: list[tuple[str, str]] = []
        self.waits = 0

    def code(self, verification_uri: str, user_code: str, expires_in: int) -> None:
        self.codes.append((verification_uri, user_code))

    def waiting(self, seconds_left: int) -> None:
        self.waits += 1
        if self.waits == self.approve_after:
            self.server.approve(self.codes[0][1])


class Setup:
    def __init__(self, tmp_path: Path, server: TokenServer) -> None:
        self.storage: Storage = memory_storage(str(tmp_path))
        self.secrets = secret_box()
        self.clock = Clock()
        self.check = CannedCheck(passes=True)
        self.sleeps: list[float] = []
        self.grants = Grants(self.storage, self.secrets, clock=self.clock, sleep=self.sleeps.append)
        self.channels = ChannelService(
            self.storage, self.secrets, self.check, self.clock, grants=self.grants
        )
        self.servers = ServerService(
            self.storage, self.secrets, self.check, self.clock, grants=self.grants
        )
        self.server = server

    def oauth(self, refresh: str | None = None) -> OAuthOptions:
        return OAuthOptions(
            provider="custom",
            client_id="client-1",
            token_url=self.server.token_url,
            device_url=self.server.device_url,
            scopes=("mail",),
            refresh_token=Secret(refresh) if refresh else None,
        )

    def dump(self) -> str:
        with self.storage.reading() as uow:
            rows = uow.conn.execute(text("SELECT * FROM oauth_grants")).all()
        return repr(rows)


@pytest.fixture
def setup(tmp_path: Path, token_server: TokenServer) -> Setup:  # noqa: F811
    return Setup(tmp_path, token_server)


def test_added_without_a_sign_in_it_stays_off_and_says_how_to_sign_in(setup: Setup) -> None:
    added = setup.channels.add(NewChannel("box", URL, None, oauth=setup.oauth()))
    assert added.sign_in == "sign in: postroom channel authorize box"
    assert added.admission is None and setup.check.calls == []
    stored = setup.channels.show("box")
    assert (stored.enabled, stored.mechanism, stored.password_enc) == (False, "xoauth2", None)
    shown = channel_json(stored)
    assert (shown["auth"], shown["token_expires"]) == ("oauth2:custom", None)
    refused = setup.channels.enable("box")
    assert not refused.enabled and setup.check.calls == []
    assert refused.failure == (
        "auth: no OAuth2 access token: box: OAuth2: no refresh token is stored (not signed in "
        "yet) (sign in: postroom channel authorize box)"
    )
    assert refused.remedy is Fix.OAUTH
    assert setup.channels.show("box").last_error_class == "authentication"


def test_a_refresh_token_signs_in_and_the_check_logs_in_with_an_access_token(
    setup: Setup,
) -> None:
    refresh = setup.server.grant()
    added = setup.channels.add(NewChannel("box", URL, None, oauth=setup.oauth(refresh)))
    assert added.admission is not None and added.admission.passed
    [access] = setup.server.access_tokens
    assert setup.check.calls == [(URL, access, None)]
    stored = setup.channels.show("box")
    assert stored.enabled and stored.token_expires is not None
    assert channel_json(stored)["token_expires"].startswith("2026-11-02T10:30")
    form = setup.server.forms[0]
    assert (form["client_id"], form["scope"], form["refresh_token"]) == (
        "client-1",
        "mail",
        refresh,
    )
    dump = setup.dump()
    assert refresh not in dump and access not in dump  # sealed
    assert refresh not in repr(stored) and access not in repr(channel_json(stored))


def test_the_device_code_sign_in_stores_the_tokens_and_enables(setup: Setup) -> None:
    setup.channels.add(NewChannel("box", URL, None, oauth=setup.oauth()))
    progress = Progress(setup.server, approve_after=2)
    admission = setup.channels.authorize("box", None, progress)
    assert admission.passed and admission.enabled
    [(uri, user_code)] = progress.codes
    assert uri == f"{setup.server.base}/verify" and user_code.startswith("U")
    assert setup.sleeps == [1.0, 1.0, 1.0]  # pending twice, then signed in
    assert setup.check.calls[-1][1] == setup.server.access_tokens[-1]
    assert setup.channels.show("box").enabled


def test_a_sign_in_stopped_half_way_stores_nothing(setup: Setup) -> None:
    setup.channels.add(NewChannel("box", URL, None, oauth=setup.oauth()))
    before = setup.dump()

    def interrupted(_seconds: float) -> None:
        raise KeyboardInterrupt

    setup.grants._sleep = interrupted
    with pytest.raises(KeyboardInterrupt):
        setup.channels.authorize("box", None, Progress(setup.server, approve_after=99))
    assert setup.dump() == before
    assert not setup.channels.show("box").enabled


def test_a_rotated_refresh_token_is_stored_before_the_mailbox_is_opened(setup: Setup) -> None:
    first = setup.server.grant()
    setup.channels.add(NewChannel("box", URL, None, oauth=setup.oauth(first)))
    setup.server.rotate = True
    setup.clock.now += setup.clock.now - setup.clock.now.replace(hour=7)  # past the expiry
    seen: list[tuple[str, str]] = []

    def adapter(access: MailboxAccess) -> MailboxSource:
        # When the adapter is made, the rotated token is committed already.
        with setup.storage.reading() as uow:
            grant = uow.grants.get(GrantOwner.CHANNEL, access.channel_id or 0)
        assert grant is not None and grant.refresh_token_enc
        seen.append((access.password, setup.secrets.open(grant.refresh_token_enc).reveal()))
        raise ConnectionFailure(FailureClass.CONNECTION, "stop here")

    sources = with_access_tokens(lambda: setup.grants, adapter)
    access = MailboxAccess.of(setup.channels.show("box"), setup.secrets, 1000)
    with pytest.raises(ConnectionFailure, match="stop here"):
        sources(access)
    [(password, stored_refresh)] = seen
    assert password == setup.server.access_tokens[-1]
    assert stored_refresh != first and stored_refresh in setup.server.refresh_tokens
    assert first not in setup.server.refresh_tokens  # the old one is refused from now on


def test_a_revoked_grant_is_an_authentication_failure_saying_sign_in_again(
    setup: Setup,
) -> None:
    refresh = setup.server.grant()
    setup.channels.add(NewChannel("box", URL, None, oauth=setup.oauth(refresh)))
    setup.server.revoke(refresh)
    setup.clock.now = setup.clock.now.replace(hour=23)
    access = MailboxAccess.of(setup.channels.show("box"), setup.secrets, 1000)
    sources = with_access_tokens(lambda: setup.grants, lambda _access: pytest.fail("not opened"))
    with pytest.raises(ConnectionFailure) as failed:
        sources(access)
    assert failed.value.kind is FailureClass.AUTHENTICATION
    assert str(failed.value).endswith("sign in again: postroom channel authorize box")
    assert refresh not in str(failed.value)
    report = setup.channels.check("box")
    assert not report.ok
    stored = setup.channels.show("box")
    assert stored.last_error_class == "authentication"
    assert "sign in again: postroom channel authorize box" in (stored.last_error or "")


def test_set_changes_the_client_and_goes_back_to_a_password(setup: Setup) -> None:
    setup.channels.add(NewChannel("box", URL, None, oauth=setup.oauth(setup.server.grant())))
    changed = setup.channels.set("box", ChannelChange(oauth=OAuthOptions(client_id="client-2")))
    assert changed.sign_in == "sign in: postroom channel authorize box"  # old tokens dropped
    assert not setup.channels.show("box").enabled
    renewed = setup.channels.set(
        "box", ChannelChange(oauth=OAuthOptions(refresh_token=Secret(setup.server.grant())))
    )
    assert renewed.admission is not None and renewed.admission.passed
    assert setup.server.forms[-1]["client_id"] == "client-2"
    bearer = setup.channels.set("box", ChannelChange(mechanism=AuthMechanism.OAUTHBEARER))
    assert bearer.admission is not None and setup.channels.show("box").mechanism == "oauthbearer"
    back = setup.channels.set("box", ChannelChange(password=Secret("pw-1234")))
    assert back.admission is not None and back.admission.passed
    stored = setup.channels.show("box")
    assert (stored.mechanism, stored.oauth_provider, channel_json(stored)["auth"]) == (
        "auto",
        None,
        "password",
    )
    assert setup.check.calls[-1] == (URL, "pw-1234", None)
    assert setup.dump() == "[]"


@pytest.mark.parametrize(
    ("url", "password", "mechanism", "authzid", "error"),
    [
        (URL, Secret("pw"), AuthMechanism.AUTO, None, "drop the password"),
        (URL, None, AuthMechanism.PLAIN, None, r"xoauth2 \(default\) or oauthbearer"),
        (URL, None, AuthMechanism.AUTO, "shared@example.test", "--authzid needs a password"),
    ],
)
def test_settings_oauth2_cannot_take_are_refused_before_anything_is_stored(
    setup: Setup,
    url: str,
    password: Secret | None,
    mechanism: AuthMechanism,
    authzid: str | None,
    error: str,
) -> None:
    new = NewChannel("box", url, password, authzid, mechanism=mechanism, oauth=setup.oauth())
    with pytest.raises(UserError, match=error):
        setup.channels.add(new)
    assert setup.channels.list() == []


def test_provider_settings_are_judged(setup: Setup) -> None:
    with pytest.raises(UserError, match="--client-id"):
        setup.channels.add(NewChannel("a", URL, None, oauth=OAuthOptions(provider="google")))
    with pytest.raises(UserError, match="must be https"):
        bad = OAuthOptions(provider="custom", client_id="c", token_url="http://example.test/t")
        setup.channels.add(NewChannel("a", URL, None, oauth=bad))
    with pytest.raises(UserError, match="--client-id takes"):
        spaced = OAuthOptions(provider="google", client_id="a b")
        setup.channels.add(NewChannel("a", URL, None, oauth=spaced))
    with pytest.raises(UserError, match="--scope takes one scope each"):
        two = OAuthOptions(provider="google", client_id="c", scopes=("mail read",))
        setup.channels.add(NewChannel("a", URL, None, oauth=two))
    with pytest.raises(UserError, match="--token-url takes one URL"):
        long = OAuthOptions(provider="custom", client_id="c", token_url="https://t/" + "x" * 1000)
        setup.channels.add(NewChannel("a", URL, None, oauth=long))
    with pytest.raises(UserError, match="needs oauth2 PROVIDER"):
        setup.channels.add(NewChannel("a", URL, Secret("pw"), mechanism=AuthMechanism.XOAUTH2))
    tenant = OAuthOptions(provider="microsoft", client_id="c", tenant="contoso.example")
    setup.channels.add(NewChannel("ms", URL, None, oauth=tenant))
    with setup.storage.reading() as uow:
        grant = uow.grants.get(GrantOwner.CHANNEL, setup.channels.show("ms").id)
    assert grant is not None
    endpoint = setup.grants.endpoint(grant)
    assert endpoint.token_url == (
        "https://login.microsoftonline.com/contoso.example/oauth2/v2.0/token"
    )
    assert "offline_access" in endpoint.scopes


def test_an_smtp_server_and_a_channel_s_own_smtp_log_in_with_xoauth2(setup: Setup) -> None:
    refresh = setup.server.grant()
    smtp = "smtps://alice@example.test@smtp.example.test:465"
    added = setup.servers.add(
        NewServer("out", smtp, None, default=True, oauth=setup.oauth(refresh))
    )
    assert added.admission.passed and added.sign_in is None
    assert server_json(setup.servers.show("out"))["auth"] == "oauth2:custom"
    with setup.storage.reading() as uow:
        record = uow.servers.server_for("someone@example.test")
    assert record is not None and record.oauth_owner == "smtp"
    token = setup.grants.server_token(record)
    assert token is not None and token.reveal() == setup.server.access_tokens[-1]
    setup.channels.add(NewChannel("box", URL, None, oauth=setup.oauth(setup.server.grant())))
    setup.channels.set_smtp("box", smtp)
    with setup.storage.reading() as uow:
        own = uow.servers.server_for("alice@example.test")
    assert own is not None and (own.oauth_owner, own.mechanism) == ("channel", "xoauth2")
    channel_token = setup.grants.server_token(own)
    assert channel_token is not None and channel_token.reveal() != token.reveal()
    unsigned = setup.servers.add(NewServer("late", smtp, None, oauth=setup.oauth()))
    assert unsigned.sign_in == "sign in: postroom smtp authorize late"
    assert not setup.servers.show("late").enabled
    failure = Target(GrantOwner.SMTP, setup.servers.show("late").id, "late")
    with pytest.raises(ConnectionFailure, match="sign in: postroom smtp authorize late"):
        setup.grants.access_token(failure)


def test_smtp_auth_xoauth2_and_oauthbearer_answers() -> None:
    login = Credentials("a@b.test", Secret("T"), None, AuthMechanism.XOAUTH2)
    assert choose({"PLAIN", "XOAUTH2"}, login) is AuthMechanism.XOAUTH2
    with pytest.raises(ConnectionFailure, match="does not offer AUTH XOAUTH2"):
        choose({"PLAIN", "LOGIN"}, login)  # never the token by another mechanism
    answer = responder(AuthMechanism.XOAUTH2, login)
    assert answer(None) == "user=a@b.test\x01auth=Bearer T\x01\x01"
    assert answer(b'{"status":"401"}') == ""
    bearer = Credentials("a@b.test", Secret("T"), None, AuthMechanism.OAUTHBEARER)
    said = responder(AuthMechanism.OAUTHBEARER, bearer, "smtp.test", 587)
    assert said(None) == "n,a=a@b.test,\x01host=smtp.test\x01port=587\x01auth=Bearer T\x01\x01"
    assert said(b"{}") == "\x01"
    assert "T" not in repr(login).replace("Credentials", "")
    assert MailUrl.parse("smtps://a@h:465").user == "a"


def test_a_sign_in_the_endpoint_cannot_take_is_a_user_error_naming_the_cause(
    setup: Setup,
) -> None:
    away = OAuthOptions(provider="custom", client_id="c", token_url="http://127.0.0.1:9/token")
    setup.channels.add(NewChannel("away", URL, None, oauth=away))
    with pytest.raises(UserError, match=r"could not reach the token endpoint .*connection refused"):
        setup.channels.authorize("away", Secret("rt-x"))
    with pytest.raises(UserError, match="no device sign-in URL"):
        setup.channels.authorize("away", None, Progress(setup.server, approve_after=1))
    setup.channels.add(NewChannel("box", URL, None, oauth=setup.oauth()))
    with pytest.raises(UserError, match=r"revoked or expired.*without --refresh-token-env"):
        setup.channels.authorize("box", Secret("rt-unknown"))
    assert setup.channels.show("box").token_expires is None


class ScriptedExchange:
    """The token endpoint's answers to device polls, in order (a `TokenError` raised)."""

    def __init__(self, answers: list[TokenError | Tokens]) -> None:
        self.answers = answers

    def refresh(
        self, endpoint: Provider, client_id: str, client_secret: str | None, refresh_token: str
    ) -> Tokens:
        return Tokens("at-checked", 3600)

    def start_device(self, endpoint: Provider, client_id: str) -> DeviceCode:
        return DeviceCode("dc-1", "CODE-1", "https://example.test/device", 2, 30)

    def poll_device(
        self, endpoint: Provider, client_id: str, client_secret: str | None, device: DeviceCode
    ) -> Tokens:
        answer = self.answers.pop(0)
        if isinstance(answer, TokenError):
            raise answer
        return answer


def test_the_device_poll_slows_down_when_asked_and_gives_up_when_the_code_expires(
    setup: Setup,
) -> None:
    now = [0.0]

    def sleep(seconds: float) -> None:
        setup.sleeps.append(seconds)
        now[0] += seconds

    pending = TokenError(GrantProblem.PENDING, "HTTP 400 authorization_pending")
    slow = TokenError(GrantProblem.PENDING, "HTTP 400 slow_down")
    exchange = ScriptedExchange([pending, slow, pending, Tokens("at-1", 3600, "rt-1")])
    grants = Grants(setup.storage, setup.secrets, exchange, setup.clock, sleep, lambda: now[0])
    channels = ChannelService(setup.storage, setup.secrets, setup.check, setup.clock, grants=grants)
    channels.add(NewChannel("box", URL, None, oauth=setup.oauth()))
    progress = Progress(setup.server, approve_after=99)
    assert channels.authorize("box", None, progress).enabled
    assert setup.sleeps == [2.0, 2.0, 7.0, 7.0]  # RFC 8628: 5 s more after slow_down
    assert progress.codes == [("https://example.test/device", "CODE-1")]
    assert setup.check.calls[-1][1] == "at-1"

    setup.sleeps.clear()
    exchange.answers = [pending] * 20
    with pytest.raises(UserError, match="the sign-in code expired before it was entered"):
        channels.authorize("box", None, progress)
    assert sum(setup.sleeps) >= 30
    setup.sleeps.clear()
    exchange.start_device = lambda *_: DeviceCode("dc", "C", "https://e.test/d", 10**9, 10**9)  # type: ignore[method-assign]
    exchange.answers = [pending] * 70
    with pytest.raises(UserError, match="expired"):
        channels.authorize("box", None, progress)
    assert max(setup.sleeps) == 60 and sum(setup.sleeps) <= 3600  # hostile figures bounded
    exchange.answers = [TokenError(GrantProblem.REFUSED, "HTTP 400 access_denied")]
    with pytest.raises(UserError, match="access_denied"):
        channels.authorize("box", None, progress)
