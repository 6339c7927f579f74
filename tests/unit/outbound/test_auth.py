"""SASL answers for AUTH PLAIN (with authorization identity) and LOGIN; the mechanism choice."""

from __future__ import annotations

import pytest

from postroom.credentials import Secret
from postroom.net.connection import ConnectionFailure, FailureClass
from postroom.net.sasl import AuthMechanism, Credentials
from postroom.outbound.auth import choose, offered, responder

ALICE = Credentials("alice@example.test", Secret("s3cret-pw"))
AS_SHARED = Credentials("alice@example.test", Secret("s3cret-pw"), "shared@example.test")


@pytest.mark.parametrize(
    ("feature", "login", "expected"),
    [
        ("PLAIN LOGIN", ALICE, AuthMechanism.PLAIN),
        ("login plain", AS_SHARED, AuthMechanism.PLAIN),
        ("LOGIN", ALICE, AuthMechanism.LOGIN),
        ("CRAM-MD5 LOGIN", ALICE, AuthMechanism.LOGIN),
    ],
)
def test_plain_is_preferred_login_is_the_fallback(
    feature: str, login: Credentials, expected: AuthMechanism
) -> None:
    assert choose(offered(feature), login) is expected


@pytest.mark.parametrize(
    ("feature", "login"), [("LOGIN", AS_SHARED), ("CRAM-MD5", ALICE), ("", ALICE)]
)
def test_no_usable_mechanism_is_an_authentication_failure(feature: str, login: Credentials) -> None:
    with pytest.raises(ConnectionFailure) as info:
        choose(offered(feature), login)
    assert info.value.kind is FailureClass.AUTHENTICATION
    assert "s3cret-pw" not in str(info.value)


def test_plain_carries_the_authorization_identity_rfc4616() -> None:
    assert responder(AuthMechanism.PLAIN, AS_SHARED)(None) == (
        "shared@example.test\0alice@example.test\0s3cret-pw"
    )
    assert responder(AuthMechanism.PLAIN, ALICE)(None) == "\0alice@example.test\0s3cret-pw"


def test_login_answers_username_then_password() -> None:
    step = responder(AuthMechanism.LOGIN, ALICE)
    assert step(None) == "alice@example.test"
    assert step(b"Username:") == "alice@example.test"
    assert step(b"Password:") == "s3cret-pw"


def test_a_login_never_shows_its_password() -> None:
    assert "s3cret-pw" not in repr(AS_SHARED) + str(AS_SHARED)
