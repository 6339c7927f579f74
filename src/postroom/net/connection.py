"""Mail server addresses, verified TLS, and the failure classes operators see.

Shared by the mailbox adapters, SMTP and `postroom check`:

* `MailUrl` parses ``pop3s://USER@HOST:PORT?tls=none`` (no password is ever
  accepted in a URL: passwords come from the environment or stdin).
* `tls_context` always verifies the chain and the host name (optionally
  against a given CA file); there is no way to turn verification off.
* `classify` turns library and OS exceptions into a `FailureClass` and a
  readable sentence: ``dns``, ``connection``, ``timeout``, ``tls`` (with
  what was wrong with the certificate), ``authentication``, ``protocol``.
"""

from __future__ import annotations

import os
import socket
import ssl
import threading
import time
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from urllib.parse import parse_qs, unquote

from postroom.errors import InputError, PostroomError, UserError


class Security(StrEnum):
    IMPLICIT = "implicit"
    """TLS from the first byte (pop3s, imaps, smtps)."""
    STARTTLS = "starttls"
    """Upgrade with STLS / STARTTLS and refuse to go on without it."""
    NONE = "none"
    """Cleartext: only when the URL says ``?tls=none``."""


_SCHEMES: dict[str, tuple[str, int, Security]] = {
    "pop3": ("pop3", 110, Security.STARTTLS),
    "pop3s": ("pop3", 995, Security.IMPLICIT),
    "imap": ("imap", 143, Security.STARTTLS),
    "imaps": ("imap", 993, Security.IMPLICIT),
    "smtp": ("smtp", 25, Security.STARTTLS),
    "submission": ("smtp", 587, Security.STARTTLS),
    "smtps": ("smtp", 465, Security.IMPLICIT),
}


@dataclass(frozen=True, slots=True)
class MailUrl:
    scheme: str
    protocol: str
    """``pop3``, ``imap`` or ``smtp``."""
    host: str
    port: int
    user: str | None
    security: Security

    @classmethod
    def parse(cls, text: str) -> MailUrl:
        scheme, sep, rest = text.strip().partition("://")
        scheme = scheme.lower()
        if not sep or scheme not in _SCHEMES:
            known = ", ".join(f"{s}://" for s in _SCHEMES)
            raise InputError(f"unsupported mail URL {redact(text)!r}: use one of {known}")
        protocol, default_port, security = _SCHEMES[scheme]
        netloc, _, query = rest.partition("?")
        netloc = netloc.rstrip("/")
        userinfo, at, hostport = netloc.rpartition("@")
        user: str | None = None
        if at:
            if ":" in userinfo:
                raise UserError(
                    "a password does not belong in a URL: give it with --password-env or "
                    "--password-stdin"
                )
            user = unquote(userinfo) or None
        host, port = _split_hostport(hostport, default_port, text)
        params = parse_qs(query)
        tls = [v.lower() for v in params.get("tls", [])]
        if tls and tls[-1] == "none":
            if security is Security.IMPLICIT:
                raise UserError(f"{scheme}:// is TLS from the start; ?tls=none does not apply")
            security = Security.NONE
        elif tls and tls[-1] not in ("required", "starttls", "implicit"):
            raise UserError(f"unknown tls={tls[-1]!r} in URL: use tls=none to allow cleartext")
        return cls(scheme, protocol, host, port, user, security)

    def __str__(self) -> str:
        user = f"{self.user}@" if self.user else ""
        host = f"[{self.host}]" if ":" in self.host else self.host
        suffix = "?tls=none" if self.security is Security.NONE else ""
        return f"{self.scheme}://{user}{host}:{self.port}{suffix}"


def _split_hostport(hostport: str, default_port: int, original: str) -> tuple[str, int]:
    if hostport.startswith("["):
        host, _, after = hostport[1:].partition("]")
        port_text = after[1:] if after.startswith(":") else ""
    else:
        host, _, port_text = hostport.partition(":")
    if not host:
        raise UserError(f"no host in mail URL {redact(original)!r}")
    if not port_text:
        return host, default_port
    if not port_text.isdigit() or not 0 < int(port_text) < 65536:
        raise UserError(f"bad port {port_text!r} in mail URL {redact(original)!r}")
    return host, int(port_text)


def redact(url: str) -> str:
    """The URL with any password replaced, for messages."""
    scheme, sep, rest = url.partition("://")
    if not sep:
        return url
    netloc, slash, tail = rest.partition("/")
    userinfo, at, hostport = netloc.rpartition("@")
    if at and ":" in userinfo:
        userinfo = userinfo.split(":", 1)[0] + ":***"
    return f"{scheme}://{userinfo}{at}{hostport}{slash}{tail}"


CONTEXT_TTL = 3600.0
"""Seconds a shared TLS context is used before it is made anew (and the trust store read again)."""
_contexts: dict[tuple[str | None, int | None], tuple[float, ssl.SSLContext]] = {}
_contexts_lock = threading.Lock()


def tls_context(ca_file: Path | str | None = None) -> ssl.SSLContext:
    """A client context that verifies the chain and the host name, TLS 1.2 or later.

    Contexts are shared, per CA file and its modification time, for `CONTEXT_TTL`:
    reading the system's trust store takes ~30 ms of CPU, which polling hundreds of
    mailboxes every minute would otherwise pay on every poll. Callers must not change them.
    """
    cafile = str(ca_file) if ca_file else None
    key = (cafile, _modified(cafile))
    now = time.monotonic()
    with _contexts_lock:
        shared = _contexts.get(key)
    if shared is not None and now - shared[0] < CONTEXT_TTL:
        return shared[1]
    try:
        ctx = ssl.create_default_context(cafile=cafile)
    except (OSError, ssl.SSLError) as exc:
        raise UserError(f"cannot read CA file {ca_file}: {exc}") from exc
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    with _contexts_lock:
        _contexts[key] = (now, ctx)
    return ctx


def _modified(cafile: str | None) -> int | None:
    try:
        return os.stat(cafile).st_mtime_ns if cafile else None
    except OSError:
        return None  # create_default_context says what is wrong with it


class FailureClass(StrEnum):
    """Why a mail server, a channel or a check failed, in operators' terms: what
    ``channels.last_error_class`` stores, ``postroom poll`` reports and a check records.

    A `ConnectionFailure` carries one of the first six; the poll adds the last three,
    which are not about the connection."""

    AUTHENTICATION = "authentication"
    DNS = "dns"
    CONNECTION = "connection"
    TIMEOUT = "timeout"
    TLS = "tls"
    PROTOCOL = "protocol"
    STORAGE = "storage"
    """Postroom's own database or blob store could not be used."""
    CONFIGURATION = "configuration"
    """The channel's stored settings cannot be used as they are (a bad URL, no key)."""
    MESSAGE_TOO_LARGE = "message-too-large"
    """A message over ``POSTROOM_MAX_MESSAGE_BYTES`` was left on the server (a notice)."""


class TlsProblem(StrEnum):
    EXPIRED = "expired"
    NOT_YET_VALID = "not-yet-valid"
    SELF_SIGNED = "self-signed"
    HOSTNAME_MISMATCH = "hostname-mismatch"
    UNTRUSTED = "untrusted"
    HANDSHAKE = "handshake"
    NOT_OFFERED = "not-offered"


class ConnectionFailure(PostroomError):
    """A mail server could not be used; ``kind`` says why in operators' terms."""

    def __init__(self, kind: FailureClass, message: str, tls_problem: TlsProblem | None = None):
        super().__init__(message)
        self.kind = kind
        self.tls_problem = tls_problem

    @property
    def transient(self) -> bool:
        """Worth retrying without a change of configuration."""
        return self.kind in (FailureClass.DNS, FailureClass.CONNECTION, FailureClass.TIMEOUT)


# OpenSSL X509_V_ERR_* codes (include/openssl/x509_vfy.h).
_VERIFY_CODES: dict[int, TlsProblem] = {
    9: TlsProblem.NOT_YET_VALID,
    10: TlsProblem.EXPIRED,
    18: TlsProblem.SELF_SIGNED,
    19: TlsProblem.SELF_SIGNED,
    20: TlsProblem.UNTRUSTED,
    21: TlsProblem.UNTRUSTED,
    62: TlsProblem.HOSTNAME_MISMATCH,
    64: TlsProblem.HOSTNAME_MISMATCH,
}


def classify(exc: BaseException, where: str = "") -> ConnectionFailure:
    """Translate a socket/ssl/OS error into a `ConnectionFailure` with a readable message."""
    if isinstance(exc, ConnectionFailure):
        return exc
    prefix = f"{where}: " if where else ""
    if isinstance(exc, ssl.SSLCertVerificationError):
        problem = _VERIFY_CODES.get(exc.verify_code, TlsProblem.UNTRUSTED)
        text = exc.verify_message or str(exc)
        return ConnectionFailure(
            FailureClass.TLS, f"{prefix}certificate {problem.value}: {text}", problem
        )
    if isinstance(exc, ssl.SSLError):
        reason = exc.reason or str(exc)
        return ConnectionFailure(
            FailureClass.TLS, f"{prefix}TLS handshake failed: {reason}", TlsProblem.HANDSHAKE
        )
    if isinstance(exc, socket.gaierror):
        return ConnectionFailure(
            FailureClass.DNS, f"{prefix}host name does not resolve: {exc.strerror or exc}"
        )
    if isinstance(exc, TimeoutError | socket.timeout):
        return ConnectionFailure(FailureClass.TIMEOUT, f"{prefix}timed out")
    if isinstance(exc, ConnectionRefusedError):
        return ConnectionFailure(FailureClass.CONNECTION, f"{prefix}connection refused")
    if isinstance(exc, ConnectionResetError | BrokenPipeError | ConnectionAbortedError):
        return ConnectionFailure(FailureClass.CONNECTION, f"{prefix}connection lost: {exc}")
    if isinstance(exc, OSError):
        return ConnectionFailure(
            FailureClass.CONNECTION, f"{prefix}{exc.strerror or exc.__class__.__name__}"
        )
    if isinstance(exc, EOFError):
        return ConnectionFailure(FailureClass.CONNECTION, f"{prefix}server closed the connection")
    return ConnectionFailure(FailureClass.PROTOCOL, f"{prefix}{exc}")
