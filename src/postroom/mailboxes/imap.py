"""IMAP and IMAPS mailboxes (RFC 9051, RFC 3501), secured with STARTTLS or implicit TLS.

``imaplib`` speaks the protocol, every byte it reads bounded (`imap_wire.BoundedImap`). An
``imap://`` URL requires STARTTLS and refuses to log in without it; only ``?tls=none``
allows cleartext. TLS always verifies the chain and the host name (`connection.tls_context`).

Login: SASL PLAIN (RFC 4616; the only one that carries an authorization identity, how a
delegate opens a shared mailbox), SASL LOGIN, or the LOGIN command; ``auto`` takes PLAIN when
offered, else LOGIN (never when the server says LOGINDISABLED). The folder is opened with
SELECT (read-write: the stored messages are flagged or moved at the end).
"""

from __future__ import annotations

import base64
import imaplib
import logging
import socket
import threading
from collections.abc import Callable, Sequence
from pathlib import Path

from postroom.errors import PostroomError, UserError
from postroom.mailboxes import imap_idle
from postroom.mailboxes.imap_session import ImapSession
from postroom.mailboxes.imap_wire import BoundedImap, WireTooLong
from postroom.net import sasl
from postroom.net.connection import (
    ConnectionFailure,
    FailureClass,
    MailUrl,
    Security,
    TlsProblem,
    classify,
    tls_context,
)
from postroom.net.sasl import AuthMechanism
from postroom.ports.mailbox import MAX_MESSAGE_BYTES, After, FolderMark, check_folder

log = logging.getLogger(__name__)

MAX_LINE = 1024 * 1024
"""Octets of one response line outside literals (a UID SEARCH answer of ~100,000 UIDs)."""

# RFC 5530 response codes that say the mailbox cannot be used now, not that the login is wrong.
_NOT_CREDENTIALS = ("[UNAVAILABLE]", "[SERVERBUG]", "[LIMIT]", "[INUSE]")


def imap_folder(folder: str) -> str:
    """A folder name as an IMAP astring: quoted, in modified UTF-7 (RFC 3501 §5.1.3)
    when it is not ASCII."""
    check_folder(folder)
    encoded = _utf7(folder)
    return '"' + encoded.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _utf7(text: str) -> str:
    out: list[str] = []
    run: list[str] = []

    def flush() -> None:
        if run:
            data = "".join(run).encode("utf-16-be")
            out.append("&" + base64.b64encode(data).decode("ascii").rstrip("=").replace("/", ","))
            out.append("-")
            run.clear()

    for ch in text:
        if " " <= ch <= "~":
            flush()
            out.append("&-" if ch == "&" else ch)
        else:
            run.append(ch)
    flush()
    return "".join(out)


class ImapMailboxSource:
    """An IMAP/IMAPS mailbox: where, how to log in, which folder, what to do after."""

    def __init__(
        self,
        url: MailUrl,
        password: str,
        *,
        authzid: str | None = None,
        mechanism: AuthMechanism = AuthMechanism.AUTO,
        ca_file: Path | str | None = None,
        timeout: float = 30.0,
        max_message_bytes: int = MAX_MESSAGE_BYTES,
        folder: str = "INBOX",
        after: After | None = None,
        resume: FolderMark | None = None,
    ) -> None:
        if url.protocol != "imap":
            raise UserError(f"{url} is not an IMAP URL: use imap:// or imaps://")
        if not url.user:
            raise UserError(f"{url} names no user: write imaps://USER@HOST")
        for name, value in (("user", url.user), ("authzid", authzid or ""), ("password", password)):
            if "\0" in value or "\r" in value or "\n" in value:
                raise UserError(f"the {name} contains a NUL or line break")
        if mechanism is AuthMechanism.USER:
            raise UserError("--mechanism user is POP3's: use plain, login or auto for IMAP")
        if authzid and mechanism is AuthMechanism.LOGIN:
            raise UserError("an authorization identity needs SASL PLAIN, not login")
        self.url = url
        self._password = password
        self.authzid = authzid or None
        self.mechanism = mechanism
        self.ca_file = ca_file
        self.timeout = timeout
        self.max_message_bytes = max_message_bytes
        self.folder = folder
        self.after = after or After()
        self.resume = resume
        self._quoted = imap_folder(folder)
        self._move_to = imap_folder(self.after.folder) if self.after.folder else None

    def __repr__(self) -> str:
        as_ = f" as {self.authzid}" if self.authzid else ""
        return f"<ImapMailboxSource {self.url}{as_} {self.folder} after={self.after}>"

    def open(self) -> ImapSession:
        """Connect, secure, log in, SELECT the folder."""
        where = str(self.url)
        client = self.connect()
        try:
            self._log_in(client)
            client.budget(self.timeout, MAX_LINE)
            typ, data = client.select(self._quoted)
            if typ != "OK":
                raise ConnectionFailure(
                    FailureClass.PROTOCOL,
                    f"{where}: folder {self.folder!r} cannot be opened: {_said(data)}; "
                    "check --folder",
                )
            exists = (
                int(data[0]) if data and isinstance(data[0], bytes) and data[0].isdigit() else 0
            )
            _, found = client.response("UIDVALIDITY")
            validity = _number(found)
            if validity is None:
                raise ConnectionFailure(
                    FailureClass.PROTOCOL, f"{where}: SELECT gave no UIDVALIDITY (RFC 9051 §7.1)"
                )
        except _FAILURES as exc:
            client.shutdown()
            raise _translate(exc, where) from None
        except BaseException:
            client.shutdown()
            raise
        return ImapSession(
            client,
            where=where,
            folder=self.folder,
            quoted_folder=self._quoted,
            validity=validity,
            exists=exists,
            after=self.after,
            move_to=self._move_to,
            resume=self.resume,
            timeout=self.timeout,
        )

    def idle(self, stop: threading.Event, changed: Callable[[], None], seconds: float) -> bool:
        """Wait on the folder with IDLE (RFC 2177) until ``stop`` or ``seconds``, calling
        ``changed`` when mail arrives; False at once when the server has no IDLE."""
        where = str(self.url)
        client = self.connect()
        try:
            self._log_in(client)
            if "IDLE" not in client.capabilities:
                return False
            client.budget(self.timeout, MAX_LINE)
            typ, data = client.select(self._quoted, readonly=True)
            if typ != "OK":
                raise ConnectionFailure(
                    FailureClass.PROTOCOL,
                    f"{where}: folder {self.folder!r} cannot be opened: {_said(data)}",
                )
            imap_idle.idle(client, where, stop, changed, seconds)
            return True
        except _FAILURES as exc:
            raise _translate(exc, where) from None
        finally:
            client.shutdown()

    def connect(self) -> BoundedImap:
        """TCP, TLS (implicit or STARTTLS), greeting and capabilities: ready to log in."""
        where = str(self.url)
        secure = self.url.security is not Security.NONE
        context = tls_context(self.ca_file) if secure else None
        try:
            sock = socket.create_connection((self.url.host, self.url.port), timeout=self.timeout)
        except (OSError, ValueError) as exc:
            raise classify(exc, f"{where}: connect") from exc
        try:
            if self.url.security is Security.IMPLICIT:
                assert context is not None
                sock = context.wrap_socket(sock, server_hostname=self.url.host)
            client = BoundedImap(
                sock,
                self.url.host,
                timeout=self.timeout,
                max_line=MAX_LINE,
                max_literal=self.max_message_bytes,
            )
        except _FAILURES as exc:
            sock.close()
            raise _translate(exc, f"{where}: greeting") from None
        except BaseException:
            sock.close()
            raise
        try:
            if self.url.security is Security.STARTTLS:
                if "STARTTLS" not in client.capabilities:
                    raise ConnectionFailure(
                        FailureClass.TLS,
                        f"{where}: server does not offer STARTTLS; cleartext is refused "
                        "(use imaps://, or ?tls=none to allow cleartext)",
                        TlsProblem.NOT_OFFERED,
                    )
                client.budget(self.timeout, MAX_LINE)
                assert context is not None
                client.starttls(context)
        except _FAILURES as exc:
            client.shutdown()
            raise _translate(exc, f"{where}: STARTTLS") from None
        except BaseException:
            client.shutdown()
            raise
        return client

    def _log_in(self, client: BoundedImap) -> None:
        caps = client.capabilities
        mechanism = self._choose(caps)
        user, password = self.url.user or "", self._password
        client.budget(self.timeout, MAX_LINE)
        try:
            if mechanism is AuthMechanism.PLAIN:
                message = sasl.plain_message(user, password, self.authzid).encode("utf-8")
                client.authenticate("PLAIN", lambda _challenge: message)
            elif mechanism is AuthMechanism.XOAUTH2:
                client.authenticate("XOAUTH2", _once(sasl.xoauth2(user, password)))
            elif mechanism is AuthMechanism.OAUTHBEARER:
                said = sasl.oauthbearer(user, password, self.url.host, self.url.port)
                client.authenticate("OAUTHBEARER", _once(said))
            elif mechanism is AuthMechanism.LOGIN:
                answers = iter([user.encode("utf-8"), password.encode("utf-8")])
                client.authenticate("LOGIN", lambda _challenge: next(answers, b""))
            else:
                client.login(user, password)
        except imaplib.IMAP4.abort:
            raise
        except imaplib.IMAP4.error as exc:
            text = str(exc).replace(password, "***")[:300]
            as_ = f" as {self.authzid}" if self.authzid else ""
            where = f"{self.url}{as_} ({mechanism.value})"
            if any(code in text for code in _NOT_CREDENTIALS):
                raise ConnectionFailure(FailureClass.PROTOCOL, f"{where}: {text}") from None
            raise ConnectionFailure(
                FailureClass.AUTHENTICATION,
                f"{where}: login refused: {text}; check the user, the password "
                "(and for a shared mailbox the authorization identity)",
            ) from None
        log.debug("%s: logged in with %s", self.url, mechanism.value)
        # Capabilities change at login (RFC 9051 §6.2.3): MOVE and UIDPLUS are often
        # announced only now; imaplib keeps the ones it read before.
        client.budget(self.timeout, MAX_LINE)
        typ, data = client.capability()
        words = data[-1] if typ == "OK" and data and isinstance(data[-1], bytes) else b""
        if words:
            client.capabilities = tuple(words.decode("ascii", "replace").upper().split())

    def _choose(self, caps: tuple[str, ...]) -> AuthMechanism:
        offered = {c.upper() for c in caps}
        if self.mechanism in (AuthMechanism.XOAUTH2, AuthMechanism.OAUTHBEARER):
            if f"AUTH={self.mechanism.sasl_name}" not in offered:
                raise _refuses(f"the server does not offer AUTH={self.mechanism.sasl_name}")
            return self.mechanism
        if self.mechanism is not AuthMechanism.AUTO:
            if self.mechanism is not AuthMechanism.PLAIN and "LOGINDISABLED" in offered:
                if self.mechanism is AuthMechanism.LOGIN and "AUTH=LOGIN" in offered:
                    return self.mechanism
                raise _refuses("the server says LOGINDISABLED")
            if self.mechanism is AuthMechanism.PLAIN and "AUTH=PLAIN" not in offered:
                raise _refuses("the server does not offer AUTH=PLAIN")
            return self.mechanism
        if "AUTH=PLAIN" in offered:
            return AuthMechanism.PLAIN
        if self.authzid:
            raise _refuses(
                "the server does not offer AUTH=PLAIN, which an authorization identity needs"
            )
        if "LOGINDISABLED" in offered:
            raise _refuses("the server says LOGINDISABLED and offers no AUTH=PLAIN")
        return AuthMechanism.USER  # the LOGIN command (RFC 9051 §6.2.3)


_FAILURES = (PostroomError, imaplib.IMAP4.error, WireTooLong, OSError, ValueError, EOFError)
"""What connecting and logging in may raise (OSError covers ssl and socket errors)."""


def _once(message: str) -> Callable[[bytes], bytes]:
    """The SASL answer first; an empty one to any later challenge (an OAuth2 error in
    JSON: RFC 7628 §3.2.2), after which the server refuses the login."""
    answers = iter([message.encode("utf-8")])
    return lambda _challenge: next(answers, b"")


def _refuses(why: str) -> ConnectionFailure:
    return ConnectionFailure(FailureClass.PROTOCOL, f"cannot log in: {why}")


def _translate(exc: Exception, where: str) -> Exception:
    if isinstance(exc, PostroomError):
        return exc
    if isinstance(exc, imaplib.IMAP4.abort):
        return ConnectionFailure(FailureClass.CONNECTION, f"{where}: connection lost: {exc}")
    if isinstance(exc, imaplib.IMAP4.error | WireTooLong):
        return ConnectionFailure(FailureClass.PROTOCOL, f"{where}: {exc}")
    if isinstance(exc, TimeoutError):
        return ConnectionFailure(FailureClass.TIMEOUT, f"{where}: no complete answer in time")
    return classify(exc, where)


def _number(data: list[object] | None) -> int | None:
    for item in data or []:
        if isinstance(item, bytes) and item.strip().isdigit() and len(item.strip()) <= 10:
            return int(item.strip())
    return None


def _said(data: Sequence[object]) -> str:
    return " ".join(d.decode("utf-8", "replace") for d in data if isinstance(d, bytes))[:300]
