"""SMTP AUTH (RFC 4954): which SASL mechanism to use and what to answer.

Pure functions: the connection passes what the server offers and the
credentials, and sends what comes back.  PLAIN (RFC 4616) is preferred and
is the only mechanism that carries an *authorization identity* (log in as
one account, send as the shared mailbox it names); LOGIN, a de-facto
mechanism of older servers, is used only when PLAIN is not offered.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from postroom.credentials import Secret
from postroom.net.connection import ConnectionFailure, FailureKind


class Mechanism(StrEnum):
    PLAIN = "PLAIN"
    LOGIN = "LOGIN"


@dataclass(frozen=True, slots=True)
class Login:
    user: str
    password: Secret
    authzid: str | None = None

    def __repr__(self) -> str:
        authzid = f" as {self.authzid}" if self.authzid else ""
        return f"Login({self.user}{authzid})"


def offered(auth_feature: str) -> set[str]:
    """The mechanisms of an EHLO ``AUTH`` line (``"PLAIN LOGIN"``), upper case."""
    return {m.upper() for m in auth_feature.split()}


def choose(mechanisms: set[str], login: Login) -> Mechanism:
    if Mechanism.PLAIN.value in mechanisms:
        return Mechanism.PLAIN
    if login.authzid:
        raise ConnectionFailure(
            FailureKind.AUTHENTICATION,
            "an authorization identity needs AUTH PLAIN, which the server does not offer "
            f"(it offers: {' '.join(sorted(mechanisms)) or 'nothing'})",
        )
    if Mechanism.LOGIN.value in mechanisms:
        return Mechanism.LOGIN
    raise ConnectionFailure(
        FailureKind.AUTHENTICATION,
        f"the server offers no usable AUTH mechanism ({' '.join(sorted(mechanisms)) or 'none'})",
    )


def responder(mechanism: Mechanism, login: Login) -> Callable[[bytes | None], str]:
    """The answers to the server's challenges (``None``: the initial response).

    ``smtplib.SMTP.auth`` Base64-encodes what this returns.
    """
    if mechanism is Mechanism.PLAIN:
        # RFC 4616 §2: message = [authzid] UTF8NUL authcid UTF8NUL passwd
        text = f"{login.authzid or ''}\0{login.user}\0{login.password.reveal()}"

        def plain_step(_challenge: bytes | None = None) -> str:
            return text

        return plain_step

    def login_step(challenge: bytes | None = None) -> str:
        # The server prompts "Username:" then "Password:" (Base64-decoded by smtplib).
        if challenge is None or challenge.lower().startswith(b"user"):
            return login.user
        return login.password.reveal()

    return login_step
