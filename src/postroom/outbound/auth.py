"""SMTP AUTH (RFC 4954): which SASL mechanism to use, what to answer, and the exchange.

The choice and the answers are pure functions over `postroom.net.sasl`; `authenticate`
runs them on a connection.  PLAIN (RFC 4616) is preferred and is the only mechanism that
carries an *authorization identity* (log in as one account, send as the shared mailbox it
names); LOGIN, a de-facto mechanism of older servers, is used only when PLAIN is not offered.
With an OAuth2 access token (`Credentials.mechanism`) the login is XOAUTH2 or OAUTHBEARER
(RFC 7628), and only that: a server that does not offer it is refused, never sent the token
by another mechanism.
"""

from __future__ import annotations

import base64
import smtplib
from typing import Protocol

from postroom.net import sasl
from postroom.net.connection import ConnectionFailure, FailureClass
from postroom.net.sasl import AuthMechanism, Credentials
from postroom.outbound.wire import reply_text

_AUTH_SUCCEEDED = 235
_CONTINUE = 334
_REFUSED_LOGIN = (530, 534, 535)
"""RFC 4954 §6: authentication required, mechanism too weak, credentials invalid."""


def offered(auth_feature: str) -> set[str]:
    """The mechanisms of an EHLO ``AUTH`` line (``"PLAIN LOGIN"``), upper case."""
    return {m.upper() for m in auth_feature.split()}


_TOKENS = (AuthMechanism.XOAUTH2, AuthMechanism.OAUTHBEARER)


def choose(mechanisms: set[str], login: Credentials) -> AuthMechanism:
    if login.mechanism in _TOKENS:
        if login.mechanism.sasl_name not in mechanisms:
            raise ConnectionFailure(
                FailureClass.AUTHENTICATION,
                f"the server does not offer AUTH {login.mechanism.sasl_name} for the OAuth2 "
                f"token (it offers: {' '.join(sorted(mechanisms)) or 'nothing'})",
            )
        return login.mechanism
    if AuthMechanism.PLAIN.sasl_name in mechanisms:
        return AuthMechanism.PLAIN
    if login.authzid:
        raise ConnectionFailure(
            FailureClass.AUTHENTICATION,
            "an authorization identity needs AUTH PLAIN, which the server does not offer "
            f"(it offers: {' '.join(sorted(mechanisms)) or 'nothing'})",
        )
    if AuthMechanism.LOGIN.sasl_name in mechanisms:
        return AuthMechanism.LOGIN
    raise ConnectionFailure(
        FailureClass.AUTHENTICATION,
        f"the server offers no usable AUTH mechanism ({' '.join(sorted(mechanisms)) or 'none'})",
    )


class Responder(Protocol):
    """Answers one server challenge (none: the initial response), before Base64."""

    def __call__(self, challenge: bytes | None = None, /) -> str: ...


def responder(
    mechanism: AuthMechanism, login: Credentials, host: str = "", port: int = 0
) -> Responder:
    """The answers to the server's challenges (``None``: the initial response), before
    Base64. ``host`` and ``port``: the server's, which OAUTHBEARER names."""
    if mechanism in _TOKENS:
        token = login.password.reveal()
        first = (
            sasl.xoauth2(login.user, token)
            if mechanism is AuthMechanism.XOAUTH2
            else sasl.oauthbearer(login.user, token, host, port)
        )

        def token_step(challenge: bytes | None = None) -> str:
            # A challenge after the token is the server's error report (RFC 7628 §3.2.3):
            # answered empty (OAUTHBEARER: ^A), after which it refuses with 535.
            if challenge is None:
                return first
            return "\x01" if mechanism is AuthMechanism.OAUTHBEARER else ""

        return token_step
    if mechanism is AuthMechanism.PLAIN:
        text = sasl.plain_message(login.user, login.password.reveal(), login.authzid)

        def plain_step(_challenge: bytes | None = None) -> str:
            return text

        return plain_step

    def login_step(challenge: bytes | None = None) -> str:
        # The server prompts "Username:" then "Password:" (Base64-decoded by the caller).
        if challenge is None or challenge.lower().startswith(b"user"):
            return login.user
        return login.password.reveal()

    return login_step


def authenticate(client: smtplib.SMTP, login: Credentials, host: str = "", port: int = 0) -> None:
    """AUTH with the initial response (RFC 4954 §4), then up to three challenges."""
    if not client.has_extn("auth"):
        raise ConnectionFailure(
            FailureClass.AUTHENTICATION,
            "the server offers no AUTH: remove the user from the URL to send without logging in",
        )
    mechanism = choose(offered(client.esmtp_features["auth"]), login)
    answer = responder(mechanism, login, host, port)
    code, reply = client.docmd("AUTH", f"{mechanism.sasl_name} {sasl.encode(answer(None))}")
    rounds = 0
    while code == _CONTINUE and rounds < 3:
        rounds += 1
        code, reply = client.docmd(sasl.encode(answer(base64.b64decode(reply))))
    if code != _AUTH_SUCCEEDED:
        kind = FailureClass.AUTHENTICATION if code in _REFUSED_LOGIN else FailureClass.PROTOCOL
        who = f"{login.user} as {login.authzid}" if login.authzid else login.user
        raise ConnectionFailure(
            kind, f"AUTH {mechanism.sasl_name} for {who} refused: {code} {reply_text(reply)}"
        )
