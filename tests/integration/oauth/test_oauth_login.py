"""XOAUTH2 and OAUTHBEARER logins to the loopback Dovecot, whose oauth2 passdb asks the test
OAuth2 server (tests/servers/oauth) about every bearer token."""

from __future__ import annotations

import base64
import poplib
import smtplib
import ssl

import pytest

from postroom.mailboxes.imap import ImapMailboxSource
from postroom.net import oauth as net_oauth
from postroom.net import sasl
from postroom.net.connection import ConnectionFailure, FailureClass, MailUrl
from postroom.net.sasl import AuthMechanism
from support.mailstack import Mailstack
from support.oauth_server import TEST_CLIENT_ID, OAuthServer

pytestmark = pytest.mark.servers

OAUTH = (AuthMechanism.XOAUTH2, AuthMechanism.OAUTHBEARER)


def imap(
    stack: Mailstack, user: str, token: str, mechanism: AuthMechanism, scheme: str = "imaps"
) -> ImapMailboxSource:
    port = stack.imaps_port if scheme == "imaps" else stack.imap_port
    url = MailUrl.parse(f"{scheme}://{user}@127.0.0.1:{port}")
    return ImapMailboxSource(url, token, mechanism=mechanism, ca_file=stack.ca_file, timeout=10)


@pytest.mark.parametrize("scheme", ["imaps", "imap"])
@pytest.mark.parametrize("mechanism", OAUTH)
def test_an_access_token_from_the_server_opens_the_mailbox_over_imap(
    mailstack: Mailstack, oauth_server: OAuthServer, mechanism: AuthMechanism, scheme: str
) -> None:
    address, _ = mailstack.new_user("oauth")
    mailstack.fill(address, 3, size_kb=1)
    refresh_token = oauth_server.grant(address)
    tokens = net_oauth.refresh(oauth_server.provider(), TEST_CLIENT_ID, None, refresh_token)

    with imap(mailstack, address, tokens.access_token, mechanism, scheme).open() as session:
        listed = session.list()

    assert len(listed) == 3
    log = (mailstack.state_dir / "log/dovecot-main.log").read_text()
    assert f"user=<{address}>, method={mechanism.sasl_name}" in log


@pytest.mark.parametrize("mechanism", OAUTH)
@pytest.mark.parametrize("spoil", ["expire", "revoke"])
def test_an_expired_or_revoked_token_is_an_authentication_failure(
    mailstack: Mailstack, oauth_server: OAuthServer, mechanism: AuthMechanism, spoil: str
) -> None:
    address, _ = mailstack.new_user("oauth")
    refresh_token = oauth_server.grant(address)
    token = net_oauth.refresh(
        oauth_server.provider(), TEST_CLIENT_ID, None, refresh_token
    ).access_token
    source = imap(mailstack, address, token, mechanism)
    with source.open() as session:  # good until spoilt
        assert session.list() == []
    if spoil == "expire":
        oauth_server.expire(token)
    else:
        oauth_server.revoke(refresh_token)

    with pytest.raises(ConnectionFailure) as caught:
        source.open()

    assert caught.value.kind is FailureClass.AUTHENTICATION
    assert token not in str(caught.value)
    assert oauth_server.introspect(token) == {"active": False}


def test_a_token_of_another_user_does_not_open_the_mailbox(
    mailstack: Mailstack, oauth_server: OAuthServer
) -> None:
    address, _ = mailstack.new_user("oauth")
    other, _ = mailstack.new_user("other")
    token = oauth_server.access_token(other)

    with pytest.raises(ConnectionFailure) as caught:
        imap(mailstack, address, token, AuthMechanism.XOAUTH2).open()

    assert caught.value.kind is FailureClass.AUTHENTICATION


def test_passwords_still_open_the_mailbox_beside_tokens(
    mailstack: Mailstack, oauth_server: OAuthServer
) -> None:
    address, password = mailstack.new_user("oauth")
    mailstack.fill(address, 1, size_kb=1)
    url = MailUrl.parse(f"imaps://{address}@127.0.0.1:{mailstack.imaps_port}")
    source = ImapMailboxSource(url, password, ca_file=mailstack.ca_file, timeout=10)
    with source.open() as session:
        assert len(session.list()) == 1
    with pytest.raises(ConnectionFailure) as caught:  # the password is no bearer token
        imap(mailstack, address, password, AuthMechanism.XOAUTH2).open()
    assert caught.value.kind is FailureClass.AUTHENTICATION


@pytest.mark.parametrize("mechanism", OAUTH)
def test_dovecot_pop3_takes_the_bearer_token(
    mailstack: Mailstack, oauth_server: OAuthServer, mechanism: AuthMechanism
) -> None:
    """The server side of POP3 with OAuth2 (RFC 5034 AUTH), spoken by hand (the client side:
    test_pop3_oauth.py)."""
    address, _ = mailstack.new_user("oauth")
    mailstack.fill(address, 2, size_kb=1)
    token = oauth_server.access_token(address)
    message = (
        sasl.xoauth2(address, token)
        if mechanism is AuthMechanism.XOAUTH2
        else sasl.oauthbearer(address, token, "127.0.0.1", mailstack.pop3s_port)
    )
    context = ssl.create_default_context(cafile=str(mailstack.ca_file))
    client = poplib.POP3_SSL("127.0.0.1", mailstack.pop3s_port, context=context, timeout=10)
    try:
        said = client._shortcmd(f"AUTH {mechanism.sasl_name} {sasl.encode(message)}")  # type: ignore[attr-defined]
        assert said.startswith(b"+OK")
        assert client.stat()[0] == 2
    finally:
        client.quit()


@pytest.mark.parametrize("port", ["submission", "smtps"])
def test_postfix_takes_xoauth2_through_dovecot_auth(
    mailstack: Mailstack, oauth_server: OAuthServer, port: str
) -> None:
    address, _ = mailstack.new_user("oauth")
    token = oauth_server.access_token(address)
    context = ssl.create_default_context(cafile=str(mailstack.ca_file))
    if port == "submission":
        smtp: smtplib.SMTP = smtplib.SMTP("127.0.0.1", mailstack.submission_port, timeout=10)
        smtp.starttls(context=context)
    else:
        smtp = smtplib.SMTP_SSL("127.0.0.1", mailstack.smtps_port, context=context, timeout=10)
    try:
        smtp.ehlo()
        assert {"XOAUTH2", "OAUTHBEARER"} <= set(smtp.esmtp_features["auth"].split())
        said = base64.b64encode(sasl.xoauth2(address, token).encode()).decode()
        assert smtp.docmd("AUTH", f"XOAUTH2 {said}")[0] == 235
    finally:
        smtp.quit()
