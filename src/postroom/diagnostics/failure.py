"""Why a step failed, in words a person can act on.

Library and OS exceptions (socket, ssl, imaplib, smtplib, the POP3 client's `ServerSaid`) end
here: `explain` turns one into a `StepFailure` holding the error, a hint for the step it broke
and its `FailureClass`.
"""

from __future__ import annotations

import imaplib
import smtplib
import ssl
from typing import Any

from postroom.diagnostics.report import StepName
from postroom.net.connection import FailureClass, MailUrl, Security, TlsProblem, classify

_NOT_TLS = "WRONG_VERSION_NUMBER"
"""OpenSSL's reason code when the first bytes back are not a TLS record (a cleartext port)."""
_TLS_SCHEME = {"pop3": "pop3s", "imap": "imaps", "smtp": "smtps"}
_PLAIN_SCHEME = {"pop3": "pop3", "imap": "imap", "smtp": "submission"}


class StepFailure(Exception):
    """A step failed; `error` says what happened, `hint` what to do; ``failure_class``, when
    set, overrides the class of the step that failed (`services.checks.failure_class`)."""

    def __init__(
        self,
        error: str,
        hint: str | None = None,
        failure_class: FailureClass | None = None,
        detail: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(error)
        self.error = error
        self.hint = hint
        self.failure_class = failure_class
        self.detail = detail or {}
        """What the failed step found all the same (the folders there are, for a folder
        that is not)."""


class ServerSaid(Exception):
    """A server's answer that ends the step (a ``-ERR``, or not a POP3 answer at all), quoted."""


def explain(exc: BaseException, step: StepName, url: MailUrl, timeout: float) -> StepFailure:
    if isinstance(exc, StepFailure):
        return exc
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        replies = "; ".join(
            f"{to}: {code} {text.decode(errors='replace')}"
            for to, (code, text) in exc.recipients.items()
        )
        return StepFailure(f"recipient refused: {replies}", _protocol_hint(step, url))
    if isinstance(exc, ServerSaid | imaplib.IMAP4.error | smtplib.SMTPResponseException):
        # imaplib reports a socket error as the server's (IMAP4.abort, "socket error: timed
        # out"), the socket's exception as its context: that one is recorded as a timeout.
        timed_out = isinstance(exc.__context__, TimeoutError)
        return StepFailure(
            f"the server said: {_server_text(exc)}",
            _protocol_hint(step, url),
            FailureClass.TIMEOUT if timed_out else None,
        )
    if isinstance(exc, smtplib.SMTPServerDisconnected | EOFError):
        return StepFailure(
            "the server closed the connection",
            _silent_hint(url) if step is StepName.GREETING else None,
        )
    failure = classify(exc)
    where = f"{url.host}:{url.port}"
    if failure.kind is FailureClass.TIMEOUT:
        # The class stays the step's (a silent greeting is a protocol failure of the
        # check, as it has always been recorded; the poll calls it a timeout).
        if step is StepName.GREETING:
            return StepFailure(f"no greeting within {timeout:g} s", _silent_hint(url))
        return StepFailure(
            f"no answer from {where} within {timeout:g} s",
            "a firewall may be dropping the packets, or the host is down; "
            "a longer --timeout helps only on a slow link",
        )
    if failure.kind is FailureClass.TLS and failure.tls_problem is TlsProblem.HANDSHAKE:
        reason = str(failure).split(": ", 1)[-1]
        if isinstance(exc, ssl.SSLError) and exc.reason == _NOT_TLS:
            return StepFailure(
                f"TLS handshake failed: {reason}",
                f"the server does not speak TLS from the first byte on port {url.port}: use "
                f"{_PLAIN_SCHEME[url.protocol]}:// (STARTTLS) or the server's implicit-TLS port",
            )
        return StepFailure(
            f"TLS handshake failed: {reason}",
            "client and server share no TLS version or cipher (Postroom needs TLS 1.2 or "
            "later); the server's TLS configuration must change",
        )
    if failure.kind is FailureClass.DNS:
        return StepFailure(
            str(failure),
            f"check the host name {url.host!r} for typos; `getent hosts {url.host}` must print "
            "an address, else fix DNS or /etc/hosts",
        )
    if failure.kind is FailureClass.CONNECTION and step is StepName.TCP:
        return StepFailure(
            f"{where}: {failure!s}",
            f"nothing accepts connections on {where}: check the port (usual for "
            f"{url.scheme}://: {_usual_port(url)}), that the server runs, and any firewall",
        )
    return StepFailure(str(failure), None)


def _server_text(exc: BaseException) -> str:
    if isinstance(exc, smtplib.SMTPResponseException):
        text = exc.smtp_error
        text = text.decode(errors="replace") if isinstance(text, bytes) else str(text)
        return f"{exc.smtp_code} {text}"
    arg = exc.args[0] if exc.args else str(exc)
    return arg.decode(errors="replace") if isinstance(arg, bytes) else str(arg)


def _protocol_hint(step: StepName, url: MailUrl) -> str | None:
    if step is StepName.AUTH:
        return (
            "the server refused the login: check the user name and the password; with "
            "--authzid, the user must be allowed to act for that mailbox (a delegate)"
        )
    if step is StepName.GREETING:
        return _silent_hint(url)
    if step is StepName.SEND:
        return "the server refused the test message: its reply says why (sender, recipient)"
    if step is StepName.MAILBOX:
        return "logged in, but the mailbox could not be opened: ask the server's administrator"
    return None


def _silent_hint(url: MailUrl) -> str:
    if url.security is Security.IMPLICIT:
        return (
            f"the server answered, but not as {url.protocol.upper()} over TLS: is port "
            f"{url.port} really {url.scheme}://?"
        )
    return (
        f"the port accepted the connection but did not greet as {url.protocol.upper()} "
        f"does: if port {url.port} expects TLS from the first byte, use "
        f"{_TLS_SCHEME[url.protocol]}://; else check that it is a {url.protocol.upper()} port"
    )


def _usual_port(url: MailUrl) -> str:
    return {
        "pop3": "110",
        "pop3s": "995",
        "imap": "143",
        "imaps": "993",
        "smtp": "25",
        "submission": "587",
        "smtps": "465",
    }[url.scheme]


def starttls_missing(url: MailUrl) -> StepFailure:
    command = "STLS" if url.protocol == "pop3" else "STARTTLS"
    return StepFailure(
        f"the server does not offer {command}",
        f"use {_TLS_SCHEME[url.protocol]}:// if the server has an implicit-TLS port; "
        "add ?tls=none to the URL only on a network you trust (the password would cross "
        "it in clear)",
    )
