"""The SMTP adapter against the real Postfix: security modes, logins, certificates, refusals."""

from __future__ import annotations

import secrets

import pytest

from postroom.credentials import Secret
from postroom.net.connection import ConnectionFailure, FailureClass, MailUrl, TlsProblem
from postroom.net.sasl import Credentials
from postroom.outbound import SmtpConnection
from postroom.ports.sending import RecipientOutcome, SmtpServer
from support.mailstack import Mailstack

RAW = b"From: alice@example.test\r\nTo: x@customer.test\r\nSubject: adapter\r\n\r\nhello\r\n"


def server(ms: Mailstack, url: str, user: str | None, authzid: str | None = None) -> SmtpServer:
    login = Credentials(user, Secret(ms.password(user)), authzid) if user else None
    return SmtpServer(MailUrl.parse(url), login, ms.ca_file, timeout=10)


@pytest.mark.parametrize("scheme", ["submission", "smtps"])
def test_submission_and_smtps_send_through_one_connection(
    mailstack: Mailstack, scheme: str
) -> None:
    port = mailstack.submission_port if scheme == "submission" else mailstack.smtps_port
    url = f"{scheme}://alice@example.test@{mailstack.host}:{port}"
    with SmtpConnection.open(server(mailstack, url, "alice@example.test")) as conn:
        results = [conn.send("alice@example.test", [f"r{i}@customer.test"], RAW) for i in range(3)]
    assert all(r.recipients[0].outcome is RecipientOutcome.ACCEPTED for r in results)


def test_authorization_identity_for_a_delegate_only(mailstack: Mailstack) -> None:
    url = f"submission://{mailstack.host}:{mailstack.submission_port}"
    with SmtpConnection.open(
        server(mailstack, url, "alice@example.test", "shared@example.test")
    ) as conn:
        assert conn.send("shared@example.test", ["y@customer.test"], RAW).accepted
    with pytest.raises(ConnectionFailure) as info:
        SmtpConnection.open(server(mailstack, url, "bob@example.test", "shared@example.test"))
    assert info.value.kind is FailureClass.AUTHENTICATION


def test_wrong_password_is_an_authentication_failure_without_it(mailstack: Mailstack) -> None:
    url = MailUrl.parse(f"smtps://alice@example.test@{mailstack.host}:{mailstack.smtps_port}")
    login = Credentials("alice@example.test", Secret("not-the-password-42"))
    with pytest.raises(ConnectionFailure) as info:
        SmtpConnection.open(SmtpServer(url, login, mailstack.ca_file, timeout=10))
    assert info.value.kind is FailureClass.AUTHENTICATION
    assert "not-the-password-42" not in str(info.value)


@pytest.mark.parametrize("kind", ["expired", "selfsigned", "wronghost"])
def test_bad_certificates_are_refused(mailstack: Mailstack, kind: str) -> None:
    port = mailstack.bad_cert(kind).submission
    url = f"submission://alice@example.test@{mailstack.host}:{port}"
    with pytest.raises(ConnectionFailure) as info:
        SmtpConnection.open(server(mailstack, url, "alice@example.test"))
    assert info.value.kind is FailureClass.TLS
    assert info.value.tls_problem is not TlsProblem.NOT_OFFERED


def test_relay_without_login_upgrades_with_starttls(mailstack: Mailstack) -> None:
    url = f"smtp://{mailstack.host}:{mailstack.smtp_port}"
    with SmtpConnection.open(server(mailstack, url, None)) as conn:
        assert conn.send("alice@example.test", ["z@customer.test"], RAW).accepted


# ---------------------------------------------------------------------- SMTPUTF8 (RFC 6531)
def submission(ms: Mailstack) -> SmtpServer:
    url = f"submission://alice@example.test@{ms.host}:{ms.submission_port}"
    return server(ms, url, "alice@example.test")


def test_postfix_takes_and_delivers_a_non_ascii_sender_and_recipient(mailstack: Mailstack) -> None:
    tag = secrets.token_hex(5)
    sender, recipient = f"chlo\u00e9.{tag}@example.test", f"chlo\u00e9.{tag}@customer.test"
    raw = f"From: {sender}\r\nTo: {recipient}\r\nSubject: h\u00e9\r\n\r\nbody\r\n".encode()
    with SmtpConnection.open(submission(mailstack)) as conn:
        result = conn.send(sender, [recipient], raw)
    assert [(r.outcome, r.code) for r in result.recipients] == [(RecipientOutcome.ACCEPTED, 250)]
    (captured,) = mailstack.wait_captured(recipient)
    head = captured.split(b"\n\n", 1)[0]
    assert f"X-Mailstack-Envelope-From: <{sender}>".encode() in head  # not re-encoded
    assert b"with UTF8SMTPSA" in head  # Postfix saw an SMTPUTF8 transaction
    assert f"To: {recipient}".encode() in head


def test_unusable_recipients_leave_the_connection_to_the_rest_of_the_batch(
    mailstack: Mailstack,
) -> None:
    tag = secrets.token_hex(5)
    good = [f"batch{n}.{tag}@customer.test" for n in range(4)]
    with SmtpConnection.open(submission(mailstack)) as conn:
        first = conn.send("alice@example.test", [good[0]], RAW)
        mixed = conn.send(
            "alice@example.test",
            [f"bad.{tag}@customer.test\r\nRSET", f"nobody.{tag}@example.test", good[1]],
            RAW,
        )
        utf8 = conn.send(f"chlo\u00e9.{tag}@example.test", [good[2]], RAW)
        last = conn.send("alice@example.test", [good[3]], RAW)
        assert not conn.broken
    assert first.accepted and utf8.accepted and last.accepted
    assert [(r.outcome, r.code) for r in mixed.recipients] == [
        (RecipientOutcome.REFUSED, None),
        (RecipientOutcome.REFUSED, 550),
        (RecipientOutcome.ACCEPTED, 250),
    ]
    assert all(len(mailstack.wait_captured(address)) == 1 for address in good)
