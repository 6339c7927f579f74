"""Choosing and encoding a POP3 login: capabilities, SASL PLAIN/LOGIN (`postroom.net.sasl`),
USER/PASS.

Kept apart from the socket code so the decisions (which mechanism, which
bytes) are plain functions with table-driven tests.  Nothing here ever puts
a password into a string that could reach a message or a log: the encoded
responses are returned as bytes for the wire only.
"""

from __future__ import annotations

from dataclasses import dataclass

from postroom.credentials import Secret
from postroom.errors import UserError
from postroom.net import sasl
from postroom.net.connection import ConnectionFailure, FailureClass
from postroom.net.sasl import AuthMechanism, Credentials

MAX_COMMAND_LINE = 255
"""RFC 2449 §4: a command line is at most 255 octets including the CRLF."""


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
    if credentials.authzid and requested in (AuthMechanism.LOGIN, AuthMechanism.USER):
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
    response = plain_response(credentials)
    line = b"AUTH PLAIN " + response
    if len(line) + 2 <= MAX_COMMAND_LINE:
        return line, None
    return b"AUTH PLAIN", response
