"""Logging in to a mail server: the mechanisms, the credentials, and SASL PLAIN and LOGIN.

One implementation for POP3 (RFC 5034), SMTP (RFC 4954) and the connection check: PLAIN
(RFC 4616) is the only mechanism that carries an *authorization identity* (log in as one
account, act as the shared mailbox it names); LOGIN (draft-murchison-sasl-login) is the
de-facto mechanism of older servers. The encoders here are also what `postroom auth-string`
prints, for testing a server by hand with telnet or openssl s_client.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass, field
from enum import StrEnum

from postroom.credentials import Secret


class AuthMechanism(StrEnum):
    """How to log in (the values of ``--mechanism``); ``AUTO`` picks from what the server offers."""

    AUTO = "auto"
    PLAIN = "plain"
    """SASL PLAIN (RFC 4616), the only one that carries an authorization identity."""
    LOGIN = "login"
    """SASL LOGIN, the de-facto mechanism of older servers (no RFC, only a draft)."""
    USER = "user"
    """POP3 USER/PASS (RFC 1939 §7): not SASL."""
    XOAUTH2 = "xoauth2"
    """An OAuth2 access token (Google, Microsoft 365): SASL XOAUTH2."""
    OAUTHBEARER = "oauthbearer"
    """An OAuth2 access token as RFC 7628 says: SASL OAUTHBEARER."""

    @property
    def sasl_name(self) -> str:
        """The name on the wire (``AUTH PLAIN``) and in a server's list of mechanisms."""
        return self.value.upper()


@dataclass(frozen=True, slots=True)
class Credentials:
    """Who logs in, and (``authzid``) which mailbox they act as.

    With an authorization identity the server checks ``user``'s password and
    then opens the mailbox named by ``authzid`` if ``user`` may act as it
    (RFC 4616 §2) — how a delegate opens a shared mailbox.
    """

    user: str
    password: Secret = field(repr=False)
    authzid: str | None = None
    mechanism: AuthMechanism = AuthMechanism.AUTO
    """``XOAUTH2`` or ``OAUTHBEARER``: ``password`` is an OAuth2 access token (SMTP)."""

    def __repr__(self) -> str:
        authzid = f" as {self.authzid}" if self.authzid else ""
        return f"Credentials({self.user}{authzid})"


def plain_message(user: str, password: str, authzid: str | None = None) -> str:
    """RFC 4616 §2: ``[authzid] NUL authcid NUL passwd``, before base64 (what smtplib and
    imaplib encode themselves)."""
    return f"{authzid or ''}\0{user}\0{password}"


def plain(user: str, password: str, authzid: str | None = None) -> str:
    """The PLAIN message in UTF-8 and base64, as sent after ``AUTH PLAIN``."""
    return encode(plain_message(user, password, authzid))


def login(user: str, password: str) -> tuple[str, str]:
    """AUTH LOGIN: the user name and the password, each base64 on its own line."""
    return encode(user), encode(password)


def encode(text: str) -> str:
    """A SASL response as it travels (RFC 4422 §3: UTF-8, here in base64 as POP3, SMTP and
    IMAP carry it)."""
    return base64.b64encode(text.encode("utf-8")).decode("ascii")


def xoauth2(user: str, token: str) -> str:
    """SASL XOAUTH2 (Google's and Microsoft's IMAP and SMTP): ``user=U^Aauth=Bearer T^A^A``,
    before base64 (imaplib encodes it itself; `encode` for SMTP)."""
    return f"user={user}\x01auth=Bearer {token}\x01\x01"


def oauthbearer(user: str, token: str, host: str, port: int) -> str:
    """SASL OAUTHBEARER (RFC 7628 §3.1), before base64: the GS2 header with the user as
    authorization identity, then host, port and the bearer token."""
    safe = user.replace("=", "=3D").replace(",", "=2C")
    return f"n,a={safe},\x01host={host}\x01port={port}\x01auth=Bearer {token}\x01\x01"


def secret_forms(password: str, user: str | None, authzid: str | None) -> list[str]:
    """Every form in which the password could leak into a message, for scrubbing."""
    forms = [password, login(user or "", password)[1]]
    if user is not None:
        forms.append(plain(user, password, authzid))
        forms.append(plain(user, password))
    return [f for f in forms if f]
