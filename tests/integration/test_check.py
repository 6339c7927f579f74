"""`run_check` against the real Dovecot and Postfix of tests/servers/mailstack."""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from postroom.diagnostics import CheckReport, StepName, run_check
from postroom.net.connection import MailUrl
from support.mailstack import Mailstack

pytestmark = pytest.mark.servers


def check(
    stack: Mailstack,
    url: str,
    password: str | None = None,
    *,
    authzid: str | None = None,
    send_to: str | None = None,
    timeout: float = 5,
) -> CheckReport:
    return run_check(MailUrl.parse(url), password, authzid, stack.ca_file, send_to, timeout)


def outcome(report: CheckReport) -> dict[str, bool | None]:
    return {step.name.value: step.ok for step in report.steps}


@pytest.fixture
def user(mailstack: Mailstack) -> tuple[str, str]:
    return mailstack.new_user("check")


@pytest.mark.parametrize("scheme", ["pop3s", "pop3", "imaps", "imap"])
def test_good_mailbox_server_passes_every_step(
    mailstack: Mailstack, user: tuple[str, str], scheme: str
) -> None:
    address, password = user
    mailstack.fill(address, 2, size_kb=1)
    port = getattr(mailstack, f"{scheme}_port")
    report = check(mailstack, f"{scheme}://{address}@{mailstack.host}:{port}", password)
    assert report.ok, report.to_json()
    assert set(outcome(report).values()) == {True}
    assert report.step(StepName.MAILBOX).detail["messages"] == 2
    tls = report.step(StepName.TLS).detail
    assert tls["version"] in ("TLSv1.2", "TLSv1.3") and tls["verified"] is True
    cert = report.step(StepName.CERTIFICATE).detail
    assert cert["trusted"] and cert["hostname_match"] and cert["days_left"] > 30
    assert "IP:127.0.0.1" in cert["san"] and "Postroom Test CA" in cert["issuer"]


@pytest.mark.parametrize("service", ["pop3s", "imap", "smtps", "submission"])
@pytest.mark.parametrize(
    ("kind", "trusted", "name_ok", "why"),
    [
        ("expired", False, True, "certificate has expired"),
        ("selfsigned", False, True, "self-signed certificate"),
        ("wronghost", True, False, None),
    ],
)
def test_bad_certificate_fails_the_certificate_step_and_says_why(
    mailstack: Mailstack, service: str, kind: str, trusted: bool, name_ok: bool, why: str | None
) -> None:
    port = getattr(mailstack.bad_cert(kind), service)
    report = check(mailstack, f"{service}://alice@example.test@{mailstack.host}:{port}", "pw-x")
    steps = outcome(report)
    assert steps["tls"] is True and steps["certificate"] is False
    assert steps["auth"] is None
    cert = report.step(StepName.CERTIFICATE)
    assert cert.detail["trusted"] is trusted
    assert cert.detail["hostname_match"] is name_ok
    assert cert.detail["why_untrusted"] == why
    assert report.step(StepName.TLS).detail["verified"] is False
    assert cert.hint


def test_expired_certificate_reports_dates(mailstack: Mailstack) -> None:
    port = mailstack.bad_cert("expired").pop3s
    cert = check(mailstack, f"pop3s://{mailstack.host}:{port}").step(StepName.CERTIFICATE)
    assert cert.detail["not_after"].startswith("2020-02-01")
    assert cert.detail["days_left"] < -365
    assert cert.hint is not None and "expired on 2020-02-01" in cert.hint


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_port_without_listener_fails_at_tcp(mailstack: Mailstack) -> None:
    report = check(mailstack, f"imaps://alice@{mailstack.host}:{_free_port()}", "pw")
    assert outcome(report)["dns"] is True and outcome(report)["tcp"] is False
    assert outcome(report)["tls"] is None
    step = report.step(StepName.TCP)
    assert step.error is not None and "refused" in step.error
    assert step.hint is not None and "993" in step.hint


def test_name_that_does_not_resolve_fails_at_dns(mailstack: Mailstack) -> None:
    report = check(mailstack, "pop3s://alice@no-such-host.invalid:995", "pw")
    assert list(outcome(report).values()) == [False] + [None] * 7
    assert report.step(StepName.DNS).hint is not None


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield int(server.getsockname()[1])


@pytest.mark.parametrize("scheme", ["pop3", "smtps"])
def test_server_that_never_answers_times_out(
    mailstack: Mailstack, silent_port: int, scheme: str
) -> None:
    report = check(mailstack, f"{scheme}://u@127.0.0.1:{silent_port}", "pw", timeout=0.3)
    failed = next(s for s in report.steps if s.ok is False)
    assert failed.name is (StepName.GREETING if scheme == "pop3" else StepName.TLS)
    assert failed.error is not None and "0.3 s" in failed.error
    assert failed.hint


@pytest.mark.parametrize("scheme", ["pop3s", "imaps", "submission"])
def test_wrong_password_fails_at_auth(
    mailstack: Mailstack, user: tuple[str, str], scheme: str
) -> None:
    address, _ = user
    port = getattr(mailstack, f"{scheme}_port")
    report = check(mailstack, f"{scheme}://{address}@{mailstack.host}:{port}", "not-it")
    steps = outcome(report)
    assert steps["greeting"] is True and steps["auth"] is False
    assert steps.get("mailbox", steps.get("send")) is None
    auth = report.step(StepName.AUTH)
    assert auth.error is not None and "the server said" in auth.error
    assert auth.hint is not None and "password" in auth.hint


@pytest.mark.parametrize("scheme", ["pop3s", "imap", "submission"])
def test_shared_mailbox_by_authorization_identity(mailstack: Mailstack, scheme: str) -> None:
    delegate, password = mailstack.new_user("delegate")
    outsider, outsider_pw = mailstack.new_user("outsider")
    shared = mailstack.new_shared_mailbox([delegate])
    mailstack.fill(shared, 3, size_kb=1)
    url = f"{scheme}://{{}}@{mailstack.host}:{getattr(mailstack, f'{scheme}_port')}"
    report = check(mailstack, url.format(delegate), password, authzid=shared)
    assert report.ok, report.to_json()
    assert report.step(StepName.AUTH).detail["authzid"] == shared
    if scheme != "submission":
        assert report.step(StepName.MAILBOX).detail["messages"] == 3
    refused = check(mailstack, url.format(outsider), outsider_pw, authzid=shared)
    assert outcome(refused)["auth"] is False


def test_smtp_without_starttls_when_the_url_says_so(mailstack: Mailstack) -> None:
    address, password = mailstack.new_user("plain")
    report = check(
        mailstack, f"smtp://{address}@{mailstack.host}:{mailstack.smtp_port}?tls=none", password
    )
    assert report.ok, report.to_json()
    assert outcome(report)["tls"] is None and outcome(report)["certificate"] is None
    assert "clear" in report.step(StepName.TLS).detail["skipped"]


def test_submission_without_starttls_is_refused_auth(mailstack: Mailstack) -> None:
    address, password = mailstack.new_user("plain")
    url = f"submission://{address}@{mailstack.host}:{mailstack.submission_port}?tls=none"
    auth = check(mailstack, url, password).step(StepName.AUTH)
    assert auth.ok is False
    assert auth.hint is not None and "STARTTLS" in auth.hint


def test_smtp_with_starttls_and_a_test_message(mailstack: Mailstack) -> None:
    address, password = mailstack.new_user("sender")
    to = f"check-{address.split('@')[0]}@customer.invalid"
    url = f"smtp://{address}@{mailstack.host}:{mailstack.smtp_port}"
    report = check(mailstack, url, password, send_to=to)
    assert report.ok, report.to_json()
    assert outcome(report)["tls"] is True
    send = report.step(StepName.SEND).detail
    assert send["response"].startswith("250")
    [mail] = mailstack.wait_captured(to)
    assert b"Subject: Postroom connection test" in mail
    assert send["message_id"].encode() in mail


def test_without_a_password_checks_up_to_the_login(mailstack: Mailstack) -> None:
    report = check(mailstack, f"imaps://alice@example.test@{mailstack.host}:{mailstack.imaps_port}")
    assert report.ok
    assert outcome(report)["auth"] is None and outcome(report)["mailbox"] is None


def _openssl_verifies(stack: Mailstack, port: int) -> bool:
    result = subprocess.run(
        ["openssl", "s_client", "-verify_return_error", "-CAfile", str(stack.ca_file),
         "-verify_ip", stack.host, "-connect", f"{stack.host}:{port}"],
        input=b"", capture_output=True, timeout=10, check=False,
    )  # fmt: skip
    return result.returncode == 0


def test_certificate_verdict_agrees_with_openssl_s_client(mailstack: Mailstack) -> None:
    ports = {"valid": mailstack.pop3s_port} | {
        kind: mailstack.bad_cert(kind).pop3s for kind in ("expired", "selfsigned", "wronghost")
    }
    verdicts = {}
    for kind, port in ports.items():
        ours = check(mailstack, f"pop3s://{mailstack.host}:{port}").step(StepName.CERTIFICATE).ok
        verdicts[kind] = (ours, _openssl_verifies(mailstack, port))
    assert verdicts == {
        "valid": (True, True),
        "expired": (False, False),
        "selfsigned": (False, False),
        "wronghost": (False, False),
    }


def test_unreadable_ca_file_is_a_usage_error(mailstack: Mailstack, tmp_path: Path) -> None:
    bad = tmp_path / "ca.pem"
    bad.write_text("not a certificate")
    from postroom.errors import UserError

    with pytest.raises(UserError):
        run_check(MailUrl.parse("pop3s://h"), None, None, bad, None, 1)
