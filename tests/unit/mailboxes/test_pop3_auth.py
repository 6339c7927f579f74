"""Choosing a POP3 login mechanism and encoding SASL responses."""

from __future__ import annotations

import base64

import pytest

from postroom.errors import UserError
from postroom.mailboxes.pop3_auth import (
    Capabilities,
    choose_mechanism,
    plain_command,
    plain_response,
    pop3_credentials,
)
from postroom.net.connection import ConnectionFailure, FailureClass
from postroom.net.sasl import AuthMechanism as M
from postroom.net.sasl import Credentials

DOVECOT = Capabilities.parse(
    b"CAPA\r\nTOP\r\nUIDL\r\nRESP-CODES\r\nPIPELINING\r\nAUTH-RESP-CODE\r\nSTLS\r\n"
    b"USER\r\nSASL PLAIN LOGIN\r\n"
)
LOGIN_ONLY = Capabilities.parse(b"USER\r\nSASL LOGIN\r\n")
USER_ONLY = Capabilities.parse(b"USER\r\nUIDL\r\n")
NOTHING = Capabilities.parse(b"UIDL\r\n")
NO_CAPA = Capabilities.none()

ALICE = pop3_credentials("alice@example.test", "s3cret")
DELEGATE = pop3_credentials("alice@example.test", "s3cret", authzid="shared@example.test")


def test_capabilities_parse() -> None:
    assert DOVECOT.known
    assert DOVECOT.offers("stls") and DOVECOT.offers("PIPELINING")
    assert DOVECOT.sasl == ("PLAIN", "LOGIN")
    assert not NO_CAPA.known and not NO_CAPA.offers("USER")


@pytest.mark.parametrize(
    ("requested", "caps", "creds", "chosen"),
    [
        (M.AUTO, DOVECOT, ALICE, M.PLAIN),
        (M.AUTO, LOGIN_ONLY, ALICE, M.LOGIN),
        (M.AUTO, USER_ONLY, ALICE, M.USER),
        (M.AUTO, NO_CAPA, ALICE, M.USER),
        (M.AUTO, NO_CAPA, DELEGATE, M.PLAIN),
        (M.AUTO, DOVECOT, DELEGATE, M.PLAIN),
        (M.LOGIN, DOVECOT, ALICE, M.LOGIN),
        (M.USER, DOVECOT, ALICE, M.USER),
        (M.PLAIN, NO_CAPA, ALICE, M.PLAIN),
        (M.LOGIN, NO_CAPA, ALICE, M.LOGIN),
    ],
)
def test_choose_mechanism(requested: M, caps: Capabilities, creds: Credentials, chosen: M) -> None:
    assert choose_mechanism(requested, caps, creds) is chosen


@pytest.mark.parametrize(
    ("requested", "caps", "creds"),
    [
        (M.AUTO, NOTHING, ALICE),
        (M.AUTO, LOGIN_ONLY, DELEGATE),
        (M.PLAIN, LOGIN_ONLY, ALICE),
        (M.LOGIN, USER_ONLY, ALICE),
    ],
)
def test_mechanism_not_offered_is_a_protocol_failure(
    requested: M, caps: Capabilities, creds: Credentials
) -> None:
    with pytest.raises(ConnectionFailure) as info:
        choose_mechanism(requested, caps, creds)
    assert info.value.kind is FailureClass.PROTOCOL
    assert "does not offer" in str(info.value)


@pytest.mark.parametrize("requested", [M.LOGIN, M.USER])
def test_authzid_needs_plain(requested: M) -> None:
    with pytest.raises(UserError, match="authorization identity"):
        choose_mechanism(requested, DOVECOT, DELEGATE)


def test_plain_response_layout() -> None:
    # RFC 4616 §2: authzid NUL authcid NUL passwd
    assert base64.b64decode(plain_response(DELEGATE)) == (
        b"shared@example.test\0alice@example.test\0s3cret"
    )
    assert base64.b64decode(plain_response(ALICE)) == b"\0alice@example.test\0s3cret"


def test_plain_response_is_utf8() -> None:
    creds = pop3_credentials("jürgen@example.test", "pässwort")
    assert base64.b64decode(plain_response(creds)) == "\0jürgen@example.test\0pässwort".encode()


def test_plain_initial_response_moves_out_of_a_long_line() -> None:
    line, deferred = plain_command(ALICE)
    assert line.startswith(b"AUTH PLAIN ") and deferred is None
    long = pop3_credentials("alice@example.test", "p" * 300)
    line, deferred = plain_command(long)
    assert line == b"AUTH PLAIN" and deferred == plain_response(long)


def test_credentials_repr_hides_the_password() -> None:
    assert "s3cret" not in repr(DELEGATE)


@pytest.mark.parametrize("user", ["a\0b", "a\r\nQUIT", "x\n"])
def test_credentials_refuse_line_breaks_and_nul(user: str) -> None:
    with pytest.raises(UserError):
        pop3_credentials(user, "pw")


def test_password_with_line_break_is_refused_without_echo() -> None:
    with pytest.raises(UserError) as info:
        pop3_credentials("alice", "pw\r\nDELE 1")
    assert "DELE" not in str(info.value)
