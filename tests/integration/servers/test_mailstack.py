"""The loopback mail stack does what the other tests rely on."""

from __future__ import annotations

import base64
import imaplib
import poplib
import smtplib
import ssl

import pytest

from support.mailstack import Mailstack

pytestmark = pytest.mark.servers


def _verifying(stack: Mailstack) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=str(stack.ca_file))


def test_pop3s_login_sees_delivered_mail(mailstack: Mailstack) -> None:
    address, password = mailstack.new_user("pop")
    mailstack.fill(address, 3, size_kb=2)
    pop = poplib.POP3_SSL(mailstack.host, mailstack.pop3s_port, context=_verifying(mailstack))
    try:
        pop.user(address)
        pop.pass_(password)
        assert pop.stat()[0] == 3
    finally:
        pop.quit()


def test_authzid_opens_a_shared_mailbox_for_its_delegates_only(mailstack: Mailstack) -> None:
    delegate, password = mailstack.new_user("delegate")
    outsider, outsider_pw = mailstack.new_user("outsider")
    shared = mailstack.new_shared_mailbox([delegate])
    mailstack.fill(shared, 2, size_kb=1)

    def plain(authzid: str, user: str, pw: str) -> bytes:
        return f"{authzid}\0{user}\0{pw}".encode()

    imap = imaplib.IMAP4_SSL(
        mailstack.host, mailstack.imaps_port, ssl_context=_verifying(mailstack)
    )
    imap.authenticate("PLAIN", lambda _: plain(shared, delegate, password))
    assert imap.select("INBOX", readonly=True) == ("OK", [b"2"])
    imap.logout()

    pop = poplib.POP3_SSL(mailstack.host, mailstack.pop3s_port, context=_verifying(mailstack))
    token = base64.b64encode(plain(shared, outsider, outsider_pw)).decode()
    with pytest.raises(poplib.error_proto, match="Authentication failed"):
        pop._shortcmd(f"AUTH PLAIN {token}")
    pop.close()

    pop = poplib.POP3(mailstack.host, mailstack.pop3_port)
    pop.stls(_verifying(mailstack))
    pop.user(f"{shared}*{delegate}")
    pop.pass_(password)
    assert pop.stat()[0] == 2
    pop.quit()


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("expired", "certificate has expired"),
        ("selfsigned", "self-signed certificate"),
        ("wronghost", "IP address mismatch"),
    ],
)
def test_each_bad_certificate_fails_verification(
    mailstack: Mailstack, kind: str, reason: str
) -> None:
    ports = mailstack.bad_cert(kind)
    with pytest.raises(ssl.SSLCertVerificationError, match=reason):
        poplib.POP3_SSL(mailstack.host, ports.pop3s, context=_verifying(mailstack), timeout=5)
    with pytest.raises(ssl.SSLCertVerificationError, match=reason):
        imaplib.IMAP4_SSL(mailstack.host, ports.imaps, ssl_context=_verifying(mailstack))
    with pytest.raises(ssl.SSLCertVerificationError, match=reason):
        smtplib.SMTP_SSL(mailstack.host, ports.smtps, context=_verifying(mailstack), timeout=5)
    with (
        smtplib.SMTP(mailstack.host, ports.submission, timeout=5) as smtp,
        pytest.raises(ssl.SSLCertVerificationError, match=reason),
    ):
        smtp.starttls(context=_verifying(mailstack))


def test_submission_requires_starttls_before_auth(mailstack: Mailstack) -> None:
    address, password = mailstack.new_user("submit")
    with smtplib.SMTP(mailstack.host, mailstack.submission_port, timeout=5) as smtp:
        smtp.ehlo()
        assert not smtp.has_extn("auth")
        code, _ = smtp.mail(address)
        assert code == 530  # 5.7.0 Must issue a STARTTLS command first
    with smtplib.SMTP(mailstack.host, mailstack.submission_port, timeout=5) as smtp:
        smtp.starttls(context=_verifying(mailstack))
        smtp.login(address, password)
        smtp.sendmail(address, ["someone@customer.invalid", address], b"Subject: hi\r\n\r\nhi\r\n")
    assert mailstack.wait_count(address, 1) == 1
    assert mailstack.wait_captured("someone@customer.invalid")
