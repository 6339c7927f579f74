"""IMAP for the check (RFC 9051 / 3501; STARTTLS and LOGINDISABLED: RFC 3501 §6.2), through
the mailbox adapter's bounded client: every answer bounded in length and time.

The login takes the channel's mechanism (``auto`` picks PLAIN, else the LOGIN command; an
OAuth2 access token logs in with XOAUTH2 or OAUTHBEARER); the mailbox step EXAMINEs the
channel's folder (read-only: nothing changes) and counts its messages. A folder the server
does not have fails the step, naming the folders it does have (`imap_folders`).
"""

from __future__ import annotations

import imaplib
import socket
import ssl
from typing import Any

from postroom.diagnostics.failure import StepFailure
from postroom.diagnostics.imap_folders import folder_names, listed, shown_folders, shown_name
from postroom.domain.display import for_terminal
from postroom.mailboxes.imap import MAX_LINE, imap_folder
from postroom.mailboxes.imap_wire import BoundedImap, WireTooLong
from postroom.net import sasl
from postroom.net.sasl import AuthMechanism

_OAUTH = (AuthMechanism.XOAUTH2, AuthMechanism.OAUTHBEARER)


def _client(sock: socket.socket, host: str, timeout: float) -> BoundedImap:
    """The mailbox adapter's bounded imaplib on a socket the check connected itself;
    connecting reads the greeting and asks for CAPABILITY."""
    return BoundedImap(sock, host, timeout=timeout, max_line=MAX_LINE, max_literal=MAX_LINE)


def _once(message: str) -> Any:
    """The SASL answer first; an empty one to any later challenge (an OAuth2 error in JSON,
    RFC 7628 §3.2.2), after which the server refuses the login."""
    answers = iter([message.encode("utf-8")])
    return lambda _challenge: next(answers, b"")


def _peer_port(sock: socket.socket) -> int:
    """The server's port, for OAUTHBEARER's ``port=`` (0 when the socket cannot say)."""
    try:
        return int(sock.getpeername()[1])
    except (OSError, IndexError, TypeError, ValueError):
        return 0


class ImapSession:
    def __init__(self, sock: socket.socket, host: str, timeout: float) -> None:
        self._timeout = timeout
        self._host = host
        self._port = _peer_port(sock)
        self._client = _client(sock, host, timeout)
        self.greeting = self._client.welcome.decode(errors="replace")

    def capabilities(self) -> list[str]:
        return list(self._client.capabilities)

    def offers_starttls(self) -> bool:
        return "STARTTLS" in self._client.capabilities

    def _budget(self) -> None:
        self._client.budget(self._timeout, MAX_LINE)

    def starttls(self, context: ssl.SSLContext) -> ssl.SSLSocket:
        self._budget()
        self._client.starttls(context)
        sock = self._client.sock
        assert isinstance(sock, ssl.SSLSocket)
        return sock

    def authenticate(
        self,
        user: str,
        password: str,
        authzid: str | None,
        mechanism: AuthMechanism = AuthMechanism.AUTO,
    ) -> dict[str, Any]:
        self._budget()
        caps = self._client.capabilities
        if mechanism in _OAUTH:
            if authzid:
                raise StepFailure(
                    f"an authorization identity needs SASL PLAIN, not {mechanism.value}",
                    "drop --authzid: an OAuth2 token opens the mailbox of its own user",
                )
            return self._oauth(user, password, mechanism)
        if mechanism is AuthMechanism.USER:
            raise StepFailure(
                "--mechanism user is POP3's USER/PASS, not IMAP's",
                "use --mechanism auto, plain or login",
            )
        if authzid or "AUTH=PLAIN" in caps or mechanism is AuthMechanism.PLAIN:
            if "AUTH=PLAIN" not in caps:
                raise StepFailure(
                    "the server does not offer AUTH=PLAIN, which "
                    + ("an authorization identity needs" if authzid else "--mechanism plain asks"),
                    "drop --authzid (or --mechanism plain), or ask the server's administrator "
                    "to enable AUTH=PLAIN",
                )
            if mechanism is not AuthMechanism.LOGIN:
                message = sasl.plain_message(user, password, authzid).encode()
                self._client.authenticate("PLAIN", lambda _challenge: message)
                return {"mechanism": "AUTHENTICATE PLAIN", "authzid": authzid}
        if mechanism is AuthMechanism.LOGIN and "AUTH=LOGIN" in caps:
            answers = iter([user.encode("utf-8"), password.encode("utf-8")])
            self._client.authenticate("LOGIN", lambda _challenge: next(answers, b""))
            return {"mechanism": "AUTHENTICATE LOGIN", "authzid": None}
        if "LOGINDISABLED" in caps:
            raise StepFailure(
                "the server refuses LOGIN on this connection (LOGINDISABLED)",
                "use imaps:// or imap:// with STARTTLS (drop ?tls=none)",
            )
        self._client.login(user, password)
        return {"mechanism": "LOGIN", "authzid": None}

    def _oauth(self, user: str, token: str, mechanism: AuthMechanism) -> dict[str, Any]:
        """An OAuth2 access token (``--password-env`` names the variable that holds it)."""
        name = mechanism.sasl_name
        if f"AUTH={name}" not in self._client.capabilities:
            raise StepFailure(
                f"the server does not offer AUTH={name}",
                "use the mechanism the server lists under capabilities, or a password login",
            )
        if mechanism is AuthMechanism.XOAUTH2:
            said = sasl.xoauth2(user, token)
        else:
            said = sasl.oauthbearer(user, token, self._host, self._port)
        try:
            self._client.authenticate(name, _once(said))
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error as exc:
            text = str(exc).replace(token, "***")[:300]
            raise StepFailure(
                f"the server refused the access token: {text}",
                "the token may have expired, been revoked, or lack the mail scope "
                "(Microsoft: IMAP.AccessAsUser.All; Google: https://mail.google.com/): "
                "get a new one; the user in the URL must be the token's",
            ) from None
        return {"mechanism": f"AUTHENTICATE {name}", "authzid": None}

    def mailbox(self, folder: str = "INBOX", move_to: str | None = None) -> dict[str, Any]:
        """EXAMINE the folder (read-only, RFC 9051 §6.3.3): its message count and
        UIDVALIDITY; a folder the server lacks fails with the folders it has. ``move_to``
        (``--after move:FOLDER``): that folder must exist too (STATUS), or every poll would
        store its mail and then fail to move it."""
        self._budget()
        status, data = self._client.select(imap_folder(folder), readonly=True)
        if status != "OK":
            said = " ".join(d.decode("utf-8", "replace") for d in data if isinstance(d, bytes))
            names = self._folders()
            fix = (
                "give the folder's exact name with --folder (postroom channel set NAME --folder F)"
            )
            there = (
                "the server would not list its folders"
                if names is None
                else (f"the server has: {shown_folders(names)}")
            )
            raise StepFailure(
                f"folder '{shown_name(folder)}' cannot be opened: the server said: "
                f"{for_terminal(said[:200]) or '-'}",
                f"{fix}; {there}",
                detail={"folder": folder, "folders": listed(names or [])},
            )
        first = data[0]
        count = int(first) if isinstance(first, bytes) and first.isdigit() else None
        _, found = self._client.response("UIDVALIDITY")
        validity = next(
            (int(v) for v in found or [] if isinstance(v, bytes) and v.strip().isdigit()), None
        )
        detail: dict[str, Any] = {"folder": folder, "messages": count, "uidvalidity": validity}
        if move_to is not None:
            self._target(move_to)
            detail["move_to"] = move_to
        return detail

    def _target(self, move_to: str) -> None:
        self._budget()
        status, data = self._client.status(imap_folder(move_to), "(MESSAGES)")
        if status == "OK":
            return
        said = " ".join(d.decode("utf-8", "replace") for d in data if isinstance(d, bytes))
        names = self._folders()
        there = (
            "the server would not list its folders"
            if names is None
            else (f"the server has: {shown_folders(names)}")
        )
        raise StepFailure(
            f"the folder mail is moved to, '{shown_name(move_to)}', cannot be opened: the server "
            f"said: {for_terminal(said[:200]) or '-'}",
            "create it, or give one the server has with --after move:FOLDER "
            f"(postroom channel set NAME --after move:FOLDER); {there}",
            detail={"move_to": move_to, "folders": listed(names or [])},
        )

    def _folders(self) -> list[str] | None:
        """The folders the server lists (LIST, bounded); None when it would not say."""
        try:
            self._budget()
            status, data = self._client.list('""', '"*"')
        except (OSError, imaplib.IMAP4.error, EOFError, WireTooLong):
            return None
        return folder_names(data) if status == "OK" else None

    def close(self) -> None:
        self._budget()
        try:
            self._client.logout()
        except (OSError, imaplib.IMAP4.error, EOFError, WireTooLong):
            self._client.shutdown()
