"""SASL PLAIN and LOGIN initial responses (RFC 4616, draft-murchison-sasl-login).

Also what `postroom auth-string` prints, for testing a server by hand with telnet or
openssl s_client.
"""

from __future__ import annotations

import base64


def plain(user: str, password: str, authzid: str | None = None) -> str:
    """RFC 4616 §2: ``authzid NUL authcid NUL passwd``, base64 as sent after AUTH PLAIN."""
    message = f"{authzid or ''}\0{user}\0{password}"
    return base64.b64encode(message.encode()).decode("ascii")


def plain_message(user: str, password: str, authzid: str | None = None) -> str:
    """The same message before base64 (what smtplib and imaplib encode themselves)."""
    return f"{authzid or ''}\0{user}\0{password}"


def login(user: str, password: str) -> tuple[str, str]:
    """AUTH LOGIN: the user name and the password, each base64 on its own line."""
    encode = base64.b64encode
    return encode(user.encode()).decode("ascii"), encode(password.encode()).decode("ascii")


def secret_forms(password: str, user: str | None, authzid: str | None) -> list[str]:
    """Every form in which the password could leak into a message, for scrubbing."""
    forms = [password, login(user or "", password)[1]]
    if user is not None:
        forms.append(plain(user, password, authzid))
        forms.append(plain(user, password))
    return [f for f in forms if f]
