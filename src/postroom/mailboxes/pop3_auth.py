"""Choosing and encoding a POP3 login: capabilities, SASL PLAIN/LOGIN (`postroom.net.sasl`),
USER/PASS, and an OAuth2 access token by SASL XOAUTH2 or OAUTHBEARER (RFC 7628).

Kept apart from the socket code so the decisions (which mechanism, which
bytes) are plain functions with table-driven tests.  Nothing here ever puts
a password into a string that could reach a message or a log: the encoded
responses are returned as bytes for the wire only.
"""

from __future__ import annotations

import base64
import binascii
import json
from dataclasses import dataclass

from postroom.credentials import Secret
from postroom.domain.display import for_terminal
from postroom.errors import UserError
from postroom.net import sasl
from postroom.net.connection import ConnectionFailure, FailureClass
from postroom.net.sasl import AuthMechanism, Credentials

MAX_COMMAND_LINE = 255
"""RFC 2449 §4: a command line is at most 255 octets including the CRLF."""

TOKEN_MECHANISMS = (AuthMechanism.XOAUTH2, AuthMechanism.OAUTHBEARER)
"""The mechanisms whose "password" is an OAuth2 access token."""

MAX_STATUS_SHOWN = 200
"""Characters of a server's OAuth2 error report shown at most."""


def pop3_credentials(user: str, password: str, authzid: str | None = None) -> Credentials:
    """Credentials that can travel on a POP3 command line, or `UserError`.

    A NUL would shift the RFC 4616 fields; CR/LF would end the command line
    and let the rest be read as a new command (RFC 1939 §3), in USER/PASS.
    """
    for name, value in (("user", user), ("authzid", authzid or ""), ("password", password)):
        if "\0" in value or "\r" in value or "\n" in value:
            raise UserError(f"the {name} contains a NUL or line break")
    return Credentials(user, Secret(password), authzid)


@dataclass(frozen=True, slots=True)
class Capabilities:
    """The server's answer to CAPA (RFC 2449 §5), or `none` if it has no CAPA."""

    names: frozenset[str] = frozenset()
    sasl: tuple[str, ...] = ()
    known: bool = False
    """False when the server does not implement CAPA: nothing can be inferred."""
    lines: tuple[str, ...] = ()
    """One line per capability as the server wrote it (for reports), repeated names once."""

    @classmethod
    def parse(cls, body: bytes) -> Capabilities:
        names: set[str] = set()
        sasl: tuple[str, ...] = ()
        lines: dict[str, str] = {}
        for raw in body.split(b"\r\n"):
            words = raw.decode("ascii", "replace").split()
            if not words:
                continue
            names.add(words[0].upper())
            lines[words[0]] = " ".join(words)
            if words[0].upper() == "SASL":  # RFC 2449 §6.3
                sasl = tuple(w.upper() for w in words[1:])
        return cls(frozenset(names), sasl, known=True, lines=tuple(lines.values()))

    @classmethod
    def none(cls) -> Capabilities:
        return cls()

    def offers(self, name: str) -> bool:
        return name.upper() in self.names


def choose_mechanism(
    requested: AuthMechanism, caps: Capabilities, credentials: Credentials
) -> AuthMechanism:
    """The mechanism to use: the requested one, or the best the server offers.

    Preference without a request: SASL PLAIN (one round trip, RFC 5034 §4
    initial response), then SASL LOGIN, then USER/PASS.  An authorization
    identity can only travel in PLAIN.
    """
    if credentials.authzid and requested in (
        AuthMechanism.LOGIN,
        AuthMechanism.USER,
        *TOKEN_MECHANISMS,
    ):
        raise UserError(
            f"an authorization identity needs SASL PLAIN; {requested.value} cannot carry one"
        )
    if requested is not AuthMechanism.AUTO:
        if caps.known and not _offered(requested, caps):
            raise _not_offered(requested.sasl_name, caps)
        return requested
    if not caps.known:
        # No CAPA (RFC 1939-only server): PLAIN is the only way to carry an
        # authzid; otherwise USER/PASS is what such servers speak.
        return AuthMechanism.PLAIN if credentials.authzid else AuthMechanism.USER
    if "PLAIN" in caps.sasl:
        return AuthMechanism.PLAIN
    if credentials.authzid:
        raise _not_offered("PLAIN (needed for an authorization identity)", caps)
    if "LOGIN" in caps.sasl:
        return AuthMechanism.LOGIN
    if caps.offers("USER"):
        return AuthMechanism.USER
    raise _not_offered("PLAIN, LOGIN or USER", caps)


def _offered(mechanism: AuthMechanism, caps: Capabilities) -> bool:
    if mechanism is AuthMechanism.USER:
        return caps.offers("USER")
    return mechanism.sasl_name in caps.sasl


def _not_offered(what: str, caps: Capabilities) -> ConnectionFailure:
    offered = [*(f"SASL {m}" for m in caps.sasl), *(["USER"] if caps.offers("USER") else [])]
    return ConnectionFailure(
        FailureClass.PROTOCOL,
        f"server does not offer {what} login (it offers: {', '.join(offered) or 'nothing'})",
    )


def plain_response(credentials: Credentials) -> bytes:
    """RFC 4616 §2 in UTF-8, then Base64 (RFC 5034 §4)."""
    user, password = credentials.user, credentials.password.reveal()
    return sasl.plain(user, password, credentials.authzid).encode("ascii")


def login_responses(credentials: Credentials) -> tuple[bytes, bytes]:
    """SASL LOGIN: the user name and the password, each Base64, for the two prompts."""
    user, password = sasl.login(credentials.user, credentials.password.reveal())
    return user.encode("ascii"), password.encode("ascii")


def plain_command(credentials: Credentials) -> tuple[bytes, bytes | None]:
    """``AUTH PLAIN`` with the initial response on the same line when it fits.

    RFC 5034 §4 allows the initial response on the AUTH line; RFC 2449 §4
    caps that line at 255 octets, so a long one is sent after the server's
    ``+`` continuation instead.  Returns (command line, deferred response).
    """
    return _with_initial_response(b"PLAIN", plain_response(credentials))


def token_command(
    mechanism: AuthMechanism, credentials: Credentials, host: str, port: int
) -> tuple[bytes, bytes | None]:
    """``AUTH XOAUTH2`` or ``AUTH OAUTHBEARER`` with the access token (``credentials``'
    password), as `plain_command` sends PLAIN: the initial response on the AUTH line when the
    line fits in 255 octets, else (a real provider's token is 1-2 KB) after the ``+``.
    ``host`` and ``port``: the server's, which OAUTHBEARER names (RFC 7628 §3.1)."""
    user, token = credentials.user, credentials.password.reveal()
    if "\x01" in user or "\x01" in token:
        # ^A separates the SASL fields: one inside a value would start a field of its own.
        raise UserError("the user or the access token contains a ^A (0x01) character")
    if mechanism is AuthMechanism.XOAUTH2:
        message = sasl.xoauth2(user, token)
    else:
        message = sasl.oauthbearer(user, token, host, port)
    response = sasl.encode(message).encode("ascii")
    return _with_initial_response(mechanism.sasl_name.encode("ascii"), response)


def token_abort(mechanism: AuthMechanism) -> bytes:
    """The answer to the server's error report after a token (a ``+`` challenge), as sent:
    RFC 7628 §3.2.3 has the client send a single ^A (OAUTHBEARER), Google's and Microsoft's
    XOAUTH2 an empty response; the server then answers ``-ERR``."""
    return sasl.encode("\x01").encode("ascii") if mechanism is AuthMechanism.OAUTHBEARER else b""


def token_status(challenge: bytes) -> str:
    """The server's error report after a token (RFC 7628 §3.2.2: Base64 of JSON such as
    ``{"status":"401","schemes":"bearer","scope":"mail"}``) as one line to show: compact
    JSON, or the text as it came; at most `MAX_STATUS_SHOWN` characters, control characters
    escaped."""
    try:
        text = base64.b64decode(challenge.strip(), validate=True).decode("utf-8")
    except (binascii.Error, ValueError):
        text = challenge.decode("ascii", "replace")
    try:
        shown = json.dumps(json.loads(text), separators=(",", ":"), ensure_ascii=True)
    except (ValueError, RecursionError):  # not JSON, or nested past what a report needs
        shown = text
    shown = for_terminal(shown[: MAX_STATUS_SHOWN + 1])
    return shown if len(shown) <= MAX_STATUS_SHOWN else shown[:MAX_STATUS_SHOWN] + "…"


def _with_initial_response(name: bytes, response: bytes) -> tuple[bytes, bytes | None]:
    """(``AUTH NAME response``, None) when that line fits (RFC 5034 §4, RFC 2449 §4), else
    (``AUTH NAME``, response) for the response to follow the server's ``+``."""
    line = b"AUTH " + name + b" " + response
    if len(line) + 2 <= MAX_COMMAND_LINE:
        return line, None
    return b"AUTH " + name, response
