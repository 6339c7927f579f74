"""POP3 channels log in with an OAuth2 access token: SASL XOAUTH2 and OAUTHBEARER (RFC 5034
AUTH, RFC 7628) against the loopback Dovecot, whose oauth2 passdb asks the test OAuth2
server (tests/servers/oauth) about every bearer token."""

from __future__ import annotations

import pytest

from postroom.mailboxes import Pop3MailboxSource
from postroom.net import oauth as net_oauth
from postroom.net.connection import ConnectionFailure, FailureClass, MailUrl
from postroom.net.sasl import AuthMechanism
from support.mailstack import Mailstack
from support.oauth_server import TEST_CLIENT_ID, OAuthServer

pytestmark = pytest.mark.servers

OAUTH = (AuthMechanism.XOAUTH2, AuthMechanism.OAUTHBEARER)

STATUS = {
    # What Dovecot's oauth2 passdb reports in its ``+`` challenge after a refused token.
    AuthMechanism.XOAUTH2: '(the server said: {"status":"401","schemes":"bearer","scope":"mail"})',
    AuthMechanism.OAUTHBEARER: '(the server said: {"status":"invalid_token"})',
}


def pop3(
    stack: Mailstack, user: str, token: str, mechanism: AuthMechanism, scheme: str = "pop3s"
) -> Pop3MailboxSource:
    port = stack.pop3s_port if scheme == "pop3s" else stack.pop3_port
    url = MailUrl.parse(f"{scheme}://{user}@127.0.0.1:{port}")
    return Pop3MailboxSource(url, token, mechanism=mechanism, ca_file=stack.ca_file, timeout=10)


@pytest.mark.parametrize("scheme", ["pop3s", "pop3"])
@pytest.mark.parametrize("mechanism", OAUTH)
def test_an_access_token_opens_the_mailbox_over_pop3s_and_stls(
    mailstack: Mailstack, oauth_server: OAuthServer, mechanism: AuthMechanism, scheme: str
) -> None:
    address, _ = mailstack.new_user("pop3oauth")
    mailstack.fill(address, 3, size_kb=1)
    refresh_token = oauth_server.grant(address)
    tokens = net_oauth.refresh(oauth_server.provider(), TEST_CLIENT_ID, None, refresh_token)

    with pop3(mailstack, address, tokens.access_token, mechanism, scheme).open() as session:
        listed = session.list()
        fetched = [data for _, data in session.retrieve_many(listed)]

    assert len(listed) == 3
    assert all(b"quick brown fox" in data for data in fetched)
    log = (mailstack.state_dir / "log/dovecot-main.log").read_text()
    assert f"pop3-login: Info: Login: user=<{address}>, method={mechanism.sasl_name}" in log


@pytest.mark.parametrize("mechanism", OAUTH)
@pytest.mark.parametrize("spoil", ["expire", "revoke"])
def test_an_expired_or_revoked_token_is_an_authentication_failure_with_the_servers_status(
    mailstack: Mailstack, oauth_server: OAuthServer, mechanism: AuthMechanism, spoil: str
) -> None:
    address, _ = mailstack.new_user("pop3oauth")
    refresh_token = oauth_server.grant(address)
    token = net_oauth.refresh(
        oauth_server.provider(), TEST_CLIENT_ID, None, refresh_token
    ).access_token
    source = pop3(mailstack, address, token, mechanism)
    with source.open() as session:  # good until spoilt
        assert session.list() == []
    if spoil == "expire":
        oauth_server.expire(token)
    else:
        oauth_server.revoke(refresh_token)

    with pytest.raises(ConnectionFailure) as caught:
        source.open()

    assert caught.value.kind is FailureClass.AUTHENTICATION
    said = str(caught.value)
    assert f"({mechanism.value}): login refused: [AUTH] Authentication failed." in said
    assert STATUS[mechanism] in said
    assert "get a new access token" in said
    assert token not in said
    assert oauth_server.introspect(token) == {"active": False}


@pytest.mark.parametrize("mechanism", OAUTH)
def test_a_password_given_as_the_token_is_refused(
    mailstack: Mailstack, oauth_server: OAuthServer, mechanism: AuthMechanism
) -> None:
    address, password = mailstack.new_user("pop3oauth")
    with pop3(mailstack, address, password, AuthMechanism.USER).open() as session:
        assert session.list() == []  # the password itself is good

    with pytest.raises(ConnectionFailure) as caught:
        pop3(mailstack, address, password, mechanism).open()

    assert caught.value.kind is FailureClass.AUTHENTICATION
    assert STATUS[mechanism] in str(caught.value)
    assert password not in str(caught.value)


def test_a_token_of_another_user_does_not_open_the_mailbox(
    mailstack: Mailstack, oauth_server: OAuthServer
) -> None:
    address, _ = mailstack.new_user("pop3oauth")
    other, _ = mailstack.new_user("other")
    token = oauth_server.access_token(other)

    with pytest.raises(ConnectionFailure) as caught:
        pop3(mailstack, address, token, AuthMechanism.OAUTHBEARER).open()

    assert caught.value.kind is FailureClass.AUTHENTICATION


def test_an_authorization_identity_is_refused_with_a_token_before_connecting() -> None:
    url = MailUrl.parse("pop3s://someone@127.0.0.1:1")
    for mechanism in OAUTH:
        with pytest.raises(Exception, match="authorization identity needs SASL PLAIN"):
            Pop3MailboxSource(url, "token", authzid="shared", mechanism=mechanism)
