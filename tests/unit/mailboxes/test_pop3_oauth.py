"""POP3 logins with an OAuth2 access token against a scripted server: the initial response
on the AUTH line or (past 255 octets, RFC 2449 §4) after the ``+``; a refused token's ``+``
error report (RFC 7628 §3.2.2) answered as the mechanism says and reported decoded, bounded
and escaped, never with the token."""

from __future__ import annotations

import base64
from collections.abc import Iterator

import pytest

from postroom.credentials import Secret
from postroom.errors import UserError
from postroom.mailboxes import Pop3MailboxSource
from postroom.mailboxes.pop3_auth import (
    MAX_STATUS_SHOWN,
    token_abort,
    token_command,
    token_status,
)
from postroom.net.connection import ConnectionFailure, FailureClass, MailUrl
from postroom.net.sasl import AuthMechanism, Credentials
from support.scripted_pop3 import ScriptedPop3

OAUTH = (AuthMechanism.XOAUTH2, AuthMechanism.OAUTHBEARER)
SHORT = "ya29.short-token"
LONG = "eyJ0eXAiOiJKV1Qi." + "A" * 1500  # a Microsoft 365 access token is 1.5-2.5 KB


@pytest.fixture
def server() -> Iterator[ScriptedPop3]:
    scripted = ScriptedPop3(token=SHORT, max_command_line=255).start()
    yield scripted
    scripted.close()


def source(server: ScriptedPop3, token: str, mechanism: AuthMechanism) -> Pop3MailboxSource:
    return Pop3MailboxSource(MailUrl.parse(server.url), token, mechanism=mechanism, timeout=5)


@pytest.mark.parametrize("mechanism", OAUTH)
def test_a_short_token_travels_on_the_auth_line(
    server: ScriptedPop3, mechanism: AuthMechanism
) -> None:
    server.add(b"Subject: one\r\n\r\nbody")
    with source(server, SHORT, mechanism).open() as session:
        assert [m.uid for m in session.list()] == ["uid-1"]

    [line] = server.auth_lines
    assert line.startswith(f"AUTH {mechanism.sasl_name} ".encode())
    assert len(line) + 2 <= 255


@pytest.mark.parametrize("mechanism", OAUTH)
def test_a_long_token_follows_the_continuation(
    server: ScriptedPop3, mechanism: AuthMechanism
) -> None:
    server.token = LONG
    server.add(b"Subject: one\r\n\r\nbody")
    with source(server, LONG, mechanism).open() as session:
        assert len(session.list()) == 1

    command, response = server.auth_lines
    assert command == f"AUTH {mechanism.sasl_name}".encode()
    assert len(response) > 1500
    assert LONG.encode() in base64.b64decode(response)


@pytest.mark.parametrize(
    ("mechanism", "abort"), [(AuthMechanism.XOAUTH2, b""), (AuthMechanism.OAUTHBEARER, b"AQ==")]
)
def test_a_refused_token_answers_the_error_report_and_fails_authentication_with_its_status(
    server: ScriptedPop3, mechanism: AuthMechanism, abort: bytes
) -> None:
    wrong = "ya29.wrong-token"
    with pytest.raises(ConnectionFailure) as caught:
        source(server, wrong, mechanism).open()

    assert caught.value.kind is FailureClass.AUTHENTICATION
    said = str(caught.value)
    assert (
        f"({mechanism.value}): login refused: [AUTH] Authentication failed. (the server said: "
        '{"status":"401","schemes":"bearer","scope":"mail"}); get a new access token'
    ) in said
    assert wrong not in said
    assert server.auth_lines[-1] == abort  # ^A (RFC 7628 §3.2.3) or empty (XOAUTH2)
    assert base64.b64decode(abort) in (b"", b"\x01")


def test_a_refused_long_token_is_reported_the_same_way(server: ScriptedPop3) -> None:
    with pytest.raises(ConnectionFailure) as caught:
        source(server, LONG, AuthMechanism.OAUTHBEARER).open()

    assert caught.value.kind is FailureClass.AUTHENTICATION
    assert '"status":"401"' in str(caught.value)
    assert LONG not in str(caught.value)
    command, _, abort = server.auth_lines
    assert (command, abort) == (b"AUTH OAUTHBEARER", b"AQ==")


def test_a_hostile_error_report_is_bounded_and_escaped(server: ScriptedPop3) -> None:
    server.error_status = b'{"status":"\\u001b[31m' + b"x" * 5000 + b'"}'
    with pytest.raises(ConnectionFailure) as caught:
        source(server, "wrong", AuthMechanism.XOAUTH2).open()

    said = str(caught.value)
    assert "\x1b" not in said
    assert "\\u001b[31m" in said
    assert "x" * MAX_STATUS_SHOWN not in said
    assert len(said) < 600


def test_the_token_itself_echoed_in_an_error_report_is_hidden(server: ScriptedPop3) -> None:
    wrong = "ya29.echoed-token"
    server.error_status = b'{"status":"invalid_token","token":"' + wrong.encode() + b'"}'
    with pytest.raises(ConnectionFailure) as caught:
        source(server, wrong, AuthMechanism.XOAUTH2).open()

    assert wrong not in str(caught.value)
    assert '"token":"***"' in str(caught.value)


def test_ok_after_an_error_report_is_a_protocol_failure(server: ScriptedPop3) -> None:
    server.ok_after_error = True
    with pytest.raises(ConnectionFailure) as caught:
        source(server, "wrong", AuthMechanism.XOAUTH2).open()

    assert caught.value.kind is FailureClass.PROTOCOL
    assert "after an error report" in str(caught.value)


def test_a_server_without_the_mechanism_is_not_sent_the_token() -> None:
    server = ScriptedPop3().start()  # no token: CAPA offers no SASL
    try:
        with pytest.raises(ConnectionFailure, match="does not offer XOAUTH2") as caught:
            source(server, SHORT, AuthMechanism.XOAUTH2).open()
    finally:
        server.close()
    assert caught.value.kind is FailureClass.PROTOCOL
    assert server.auth_lines == []


# ---------------------------------------------------------------- the encoders


def creds(token: str, user: str = "alice@example.com") -> Credentials:
    return Credentials(user, Secret(token))


def test_token_command_layouts() -> None:
    line, deferred = token_command(AuthMechanism.XOAUTH2, creds("T"), "mail.example", 995)
    assert deferred is None and line.startswith(b"AUTH XOAUTH2 ")
    assert base64.b64decode(line.split()[2]) == b"user=alice@example.com\x01auth=Bearer T\x01\x01"
    line, deferred = token_command(AuthMechanism.OAUTHBEARER, creds("T"), "mail.example", 995)
    assert deferred is None
    assert base64.b64decode(line.split()[2]) == (
        b"n,a=alice@example.com,\x01host=mail.example\x01port=995\x01auth=Bearer T\x01\x01"
    )


@pytest.mark.parametrize("mechanism", OAUTH)
def test_token_command_moves_a_long_response_out_of_the_line(mechanism: AuthMechanism) -> None:
    line, deferred = token_command(mechanism, creds(LONG), "mail.example", 995)
    assert line == f"AUTH {mechanism.sasl_name}".encode()
    assert deferred is not None and LONG.encode() in base64.b64decode(deferred)


@pytest.mark.parametrize(("token", "user"), [("a\x01b", "alice"), ("ya29.secret", "al\x01ice")])
def test_a_field_separator_in_user_or_token_is_refused_without_echo(token: str, user: str) -> None:
    with pytest.raises(UserError) as caught:
        token_command(AuthMechanism.XOAUTH2, creds(token, user), "h", 1)
    assert token not in str(caught.value)


def test_token_abort() -> None:
    assert token_abort(AuthMechanism.XOAUTH2) == b""
    assert base64.b64decode(token_abort(AuthMechanism.OAUTHBEARER)) == b"\x01"


@pytest.mark.parametrize(
    ("challenge", "shown"),
    [
        (
            base64.b64encode(b'{"status": "401",\n "scope": "mail"}'),
            '{"status":"401","scope":"mail"}',
        ),
        (base64.b64encode(b"not json\x07"), "not json\\x07"),
        (b"!!not base64\x1b", "!!not base64\\x1b"),
        (base64.b64encode(b"[" * 5000), "[" * MAX_STATUS_SHOWN + "…"),
        (base64.b64encode(b"\xff\xfe"), "//4="),
        (b"", ""),
    ],
)
def test_token_status(challenge: bytes, shown: str) -> None:
    assert token_status(challenge) == shown
