"""POP3 login and connection failures against the real Dovecot of tests/servers/mailstack.

Every test that reads a mailbox makes its own user, so xdist workers never
share one.
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator

import pytest

from postroom.mailboxes import Pop3MailboxSource
from postroom.net.connection import ConnectionFailure, FailureClass, MailUrl, TlsProblem
from postroom.net.sasl import AuthMechanism
from support.mailstack import Mailstack

pytestmark = pytest.mark.servers


def pop3(
    stack: Mailstack,
    user: str,
    password: str,
    *,
    scheme: str = "pop3s",
    port: int | None = None,
    host: str | None = None,
    **kw: object,
) -> Pop3MailboxSource:
    default = stack.pop3s_port if scheme == "pop3s" else stack.pop3_port
    url = MailUrl.parse(f"{scheme}://{user}@{host or stack.host}:{port or default}")
    kw.setdefault("ca_file", stack.ca_file)
    kw.setdefault("timeout", 5.0)
    return Pop3MailboxSource(url, password, **kw)  # type: ignore[arg-type]


def failure(source: Pop3MailboxSource) -> ConnectionFailure:
    with pytest.raises(ConnectionFailure) as info:
        source.open().close()
    return info.value


@pytest.fixture
def user(mailstack: Mailstack) -> tuple[str, str]:
    address, password = mailstack.new_user("pop3")
    mailstack.fill(address, 2, size_kb=2)
    return address, password


@pytest.mark.parametrize("scheme", ["pop3", "pop3s"])
@pytest.mark.parametrize(
    "mechanism", [AuthMechanism.PLAIN, AuthMechanism.LOGIN, AuthMechanism.USER]
)
def test_each_login_form_over_stls_and_pop3s(
    mailstack: Mailstack, user: tuple[str, str], scheme: str, mechanism: AuthMechanism
) -> None:
    address, password = user
    with pop3(mailstack, address, password, scheme=scheme, mechanism=mechanism).open() as box:
        assert len(box.list()) == 2


def test_automatic_choice_logs_in(mailstack: Mailstack, user: tuple[str, str]) -> None:
    address, password = user
    with pop3(mailstack, address, password).open() as box:
        assert len(box.list()) == 2


def test_cleartext_only_when_the_url_says_so(mailstack: Mailstack, user: tuple[str, str]) -> None:
    address, password = user
    url = MailUrl.parse(f"pop3://{address}@{mailstack.host}:{mailstack.pop3_port}?tls=none")
    with Pop3MailboxSource(url, password, timeout=5).open() as box:
        assert len(box.list()) == 2


def test_delegate_opens_the_shared_mailbox_by_authzid(mailstack: Mailstack) -> None:
    delegate, password = mailstack.new_user("delegate")
    shared = mailstack.new_shared_mailbox([delegate])
    mailstack.fill(shared, 3, size_kb=1)
    source = pop3(mailstack, delegate, password, authzid=shared)
    with source.open() as box:
        assert len(box.list()) == 3  # the shared mailbox's, not the delegate's (empty) one


def test_non_delegate_is_refused_for_the_shared_mailbox(mailstack: Mailstack) -> None:
    delegate, _ = mailstack.new_user("delegate")
    shared = mailstack.new_shared_mailbox([delegate])
    outsider, password = mailstack.new_user("outsider")
    error = failure(pop3(mailstack, outsider, password, authzid=shared))
    assert error.kind is FailureClass.AUTHENTICATION


def test_wrong_password_is_authentication(mailstack: Mailstack, user: tuple[str, str]) -> None:
    address, _ = user
    for mechanism in (AuthMechanism.AUTO, AuthMechanism.USER):
        error = failure(pop3(mailstack, address, "not-the-password", mechanism=mechanism))
        assert error.kind is FailureClass.AUTHENTICATION
        assert "Authentication failed" in str(error)
        assert "not-the-password" not in str(error) + repr(error)


@pytest.fixture
def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_refused_port_is_connection(mailstack: Mailstack, closed_port: int) -> None:
    error = failure(pop3(mailstack, "a@example.test", "pw", port=closed_port))
    assert error.kind is FailureClass.CONNECTION
    assert "refused" in str(error)


def test_unresolvable_host_is_dns(mailstack: Mailstack) -> None:
    error = failure(pop3(mailstack, "a@example.test", "pw", host="no-such-host.invalid"))
    assert error.kind is FailureClass.DNS


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts connections (the kernel does) and never says a word."""
    with socket.create_server(("127.0.0.1", 0)) as listener:
        yield int(listener.getsockname()[1])


def test_server_that_never_answers_is_timeout(mailstack: Mailstack, silent_port: int) -> None:
    started = time.monotonic()
    error = failure(pop3(mailstack, "a@example.test", "pw", port=silent_port, timeout=1.0))
    assert error.kind is FailureClass.TIMEOUT
    assert time.monotonic() - started < 3


BAD = [
    ("expired", TlsProblem.EXPIRED),
    ("selfsigned", TlsProblem.SELF_SIGNED),
    ("wronghost", TlsProblem.HOSTNAME_MISMATCH),
]


@pytest.mark.parametrize("scheme", ["pop3", "pop3s"])
@pytest.mark.parametrize(("kind", "problem"), BAD)
def test_bad_certificate_is_tls_on_stls_and_pop3s(
    mailstack: Mailstack, user: tuple[str, str], scheme: str, kind: str, problem: TlsProblem
) -> None:
    address, password = user
    ports = mailstack.bad_cert(kind)
    port = ports.pop3s if scheme == "pop3s" else ports.pop3
    error = failure(pop3(mailstack, address, password, scheme=scheme, port=port))
    assert error.kind is FailureClass.TLS
    assert error.tls_problem is problem


def test_certificate_from_an_unknown_ca_is_untrusted(
    mailstack: Mailstack, user: tuple[str, str]
) -> None:
    address, password = user
    error = failure(pop3(mailstack, address, password, ca_file=None))
    assert error.kind is FailureClass.TLS
    assert error.tls_problem is TlsProblem.UNTRUSTED
