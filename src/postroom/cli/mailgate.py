"""`postroom ingest --url URL`: one message handed to a running Postroom over its REST API,
the way Request Tracker's rt-mailgate hands mail to RT.

An MTA starts a process per message. Storing it in that process (the direct path) imports
SQLAlchemy, the Email Handler and the parser; this path only sends the bytes to the
service's ``POST /api/v1/messages`` (docs/web.md) with `http.client`, and prints the
decision the service answers as the direct path prints it. It imports no SQLAlchemy,
pydantic or Typer (a test runs it under ``python -X importtime``).

1. The API token comes from ``--token-file FILE`` (its first line) or else the variable
   ``POSTROOM_API_TOKEN``; never from the command line, and no line printed ever holds it
   (it is blanked out of every error, whatever said it).
2. ``https://`` is verified (the system's CAs, or ``--ca-file``); there is no way to turn
   that off. A URL holds no user or password.
3. One deadline (``--timeout``, 60 s by default) bounds the whole exchange: the connection,
   the TLS handshake, sending the message and every read of the answer
   (`net.deadline_http`), however slowly the other end trickles.
4. Exit status, as for the direct path (docs/cli.md), with the MTA's view of what is
   final: 0 when the service stored the message (201; a 200 is taken as well), whatever the
   decision; 1 only when the service refused this message for what it is (413 over its
   limit, another 4xx about the request): the MTA returns it to its sender; 75
   (EX_TEMPFAIL), the MTA keeps it queued and tries again, when it was not stored for any
   other reason: the service cannot be reached (DNS, refused, TLS), it did not answer in
   time, it answered 5xx (a 503 when its database is away), 408, 425 or 429, or something
   that is not a decision, and every fault of the set-up a person fixes without the
   message: the token (none, unreadable, refused: 401, 403), an address that is not the
   service's (404, 405, a redirect), the CA file. A wrong token never bounces customers'
   mail: it waits in the MTA's queue (its log shows the line) until the token is fixed.
   2 when the command line cannot be used as written (the URL's form, ``--timeout``), as
   for every command. ``--channel NAME`` goes to the service as the query's ``channel``; a
   channel the service does not have is a fault of the set-up.
5. Trying again after a deadline passed while the service was storing the message files
   nothing twice: the service recognises the message it stored (rule D1), records the
   extra arrival and answers 201 with that decision (ignored, a duplicate).
"""

from __future__ import annotations

import contextlib
import http.client
import json
import math
import os
import socket
import ssl
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NoReturn
from urllib.parse import quote, urlsplit

from postroom.cli.pipe import EX_TEMPFAIL, PipeCall, fail_line, read_source

TOKEN_ENV = "POSTROOM_API_TOKEN"  # noqa: S105 - a variable's name, not a secret
"""The variable the API token is read from when no ``--token-file`` is given."""
DEFAULT_TIMEOUT = 60.0
"""Seconds the whole exchange may take (the service's parse budget is 10 s plus 0.5 s per
MiB: a 50 MB message takes it ~35 s)."""
ANSWER_LIMIT = 16 * 1024 * 1024
"""Octets of the service's answer read at most (a decision is a few kB)."""
MESSAGES_PATH = "/api/v1/messages"
LIMIT_ENV = "POSTROOM_MAX_MESSAGE_BYTES"
DEFAULT_LIMIT = 50 * 1024 * 1024
"""Octets of a message this process holds at most: the variable's, as the service reads it,
else the service's default (`SettingsValues.max_message_bytes`; a test keeps them equal).
A larger message is exit 1 before anything is sent, as the service's 413 would be."""
RETRIED_4XX = frozenset({408, 425, 429})
"""Client-error statuses that say "not now" rather than "never": tried again as a 5xx is."""
PRINTABLE = frozenset(range(0x21, 0x7F))
SET_UP = EX_TEMPFAIL
"""The exit status of a fault of the set-up (rule 4): the MTA keeps the message queued."""


class _Failed(Exception):
    """Not stored: the one line to print and the exit status."""

    def __init__(self, message: str, code: int) -> None:
        super().__init__(message)
        self.code = code


@dataclass(frozen=True, slots=True)
class Service:
    """Where the service's ``POST /api/v1/messages`` is: scheme, host, port and path."""

    tls: bool
    host: str
    port: int
    path: str
    ca_file: str | None = None

    @property
    def name(self) -> str:
        """``http[s]://HOST:PORT``, for a line about it (a URL holds no secret: rule 2)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{'https' if self.tls else 'http'}://{host}:{self.port}"

    @classmethod
    def parse(cls, url: str, ca_file: str | None) -> Service:
        """The service at ``url``: its base address (as `postroom web` prints it, perhaps
        under a path of a proxy's) or the full address of ``/api/v1/messages``."""
        usage = (
            "--url takes the address of postroom web (or postroom run), "
            "http://HOST:PORT or https://HOST[:PORT]"
        )
        try:
            parts = urlsplit(url.strip())
            port = parts.port
            host = parts.hostname or ""
            host.encode("idna")  # a name that cannot be looked up: an empty or long label
        except (ValueError, UnicodeError):  # UnicodeError is a ValueError: said for clarity
            raise _Failed(f"{usage}; this one cannot be read", 2) from None
        scheme = parts.scheme.lower()
        if scheme not in ("http", "https") or not host:
            raise _Failed(f"{usage}, not {scheme + '://' if scheme else 'a bare name'}", 2)
        if port == 0 or any(c.isspace() or not c.isprintable() for c in host):
            raise _Failed(f"{usage}; this one cannot be read", 2)
        if any(ord(c) not in PRINTABLE for c in parts.path):  # the request line's (RFC 3986)
            raise _Failed(f"{usage}; its path is not one of ASCII characters (%-encode it)", 2)
        if "@" in parts.netloc:
            raise _Failed(
                "a user or a token does not belong in --url: give the token with "
                f"--token-file FILE or {TOKEN_ENV}",
                2,
            )
        if parts.query or parts.fragment:
            raise _Failed(f"{usage}, without a query or a fragment", 2)
        if ca_file is not None and scheme != "https":
            raise _Failed("--ca-file goes with an https:// --url", 2)
        tls = scheme == "https"
        path = parts.path.rstrip("/")
        if not path.endswith(MESSAGES_PATH):
            path += MESSAGES_PATH
        return cls(tls, host, port or (443 if tls else 80), path, ca_file)

    def through(self, channel: str) -> Service:
        """The same service, the message filed under ``channel`` (its query parameter)."""
        if not channel or "/" in channel or not channel.isprintable():
            raise _Failed("--channel takes a channel's name (postroom channel list)", 2)
        return replace(self, path=f"{self.path}?channel={quote(channel, safe='')}")


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    reason: str
    content_type: str
    location: str
    body: bytes


def read_token(token_file: str | None) -> str:
    """The API token: the first line of ``token_file``, or ``POSTROOM_API_TOKEN``."""
    fix = "make one with postroom token create USER"
    if token_file is not None:
        where = f"the token file {token_file}"
        try:
            text = Path(token_file).read_bytes().decode("utf-8")
        except OSError as exc:
            raise _Failed(f"cannot read {where}: {exc.strerror or exc}", SET_UP) from None
        except UnicodeDecodeError:
            raise _Failed(f"{where} holds no token (it is not text): {fix}", SET_UP) from None
    else:
        where = f"the variable {TOKEN_ENV}"
        given = os.environ.get(TOKEN_ENV)
        if not given:
            raise _Failed(
                f"no API token: give --token-file FILE (the token on its first line) or set "
                f"{TOKEN_ENV}; {fix}",
                SET_UP,
            )
        text = given
    lines = text.strip().splitlines()
    token = lines[0].strip() if lines else ""
    if not token:
        raise _Failed(f"{where} is empty: {fix}", SET_UP)
    if not all(ord(c) in PRINTABLE for c in token):
        # Never shown: it may be a secret typed wrong.
        raise _Failed(f"{where} holds no token (a token is one word of ASCII): {fix}", SET_UP)
    return token


def deliver(call: PipeCall) -> dict[str, Any]:
    """The decision of the service at ``call.url`` for the message ``call.source`` names;
    one line on stderr and the exit status of rule 4 otherwise."""
    token: str | None = None
    try:
        seconds = _seconds(call.timeout)
        if call.url is None:
            raise _Failed("--token-file, --timeout and --ca-file go with --url URL", 2)
        service = Service.parse(call.url, call.ca_file)
        if call.channel is not None:
            service = service.through(call.channel)
        token = read_token(call.token_file)
        raw = read_source(call.source, _limit())
        return _decision(service, _post(service, token, raw, seconds), seconds)
    except _Failed as failed:
        _fail(str(failed), failed.code, token)


def _limit() -> int:
    given = os.environ.get(LIMIT_ENV, "").strip()
    if not given:
        return DEFAULT_LIMIT
    if not given.isdecimal() or int(given) <= 0:
        raise _Failed(f"{LIMIT_ENV} takes a number of octets (the service's limit)", 2)
    return int(given)


def _seconds(timeout: float | None) -> float:
    if timeout is None:
        return DEFAULT_TIMEOUT
    if not math.isfinite(timeout) or timeout <= 0:
        raise _Failed("--timeout takes a number of seconds above 0 (60 by default)", 2)
    return timeout


def _post(service: Service, token: str, raw: bytes, seconds: float) -> Answer:
    """The service's answer to the message, all within ``seconds`` (rule 3)."""
    from postroom.net.deadline_http import (
        Deadline,
        DeadlineHTTPConnection,
        DeadlineHTTPSConnection,
    )

    deadline = Deadline(seconds)
    connection: http.client.HTTPConnection
    if service.tls:
        connection = DeadlineHTTPSConnection(
            service.host, deadline=deadline, port=service.port, context=_tls(service.ca_file)
        )
    else:
        connection = DeadlineHTTPConnection(service.host, deadline=deadline, port=service.port)
    headers = {
        "Authorization": f"Bearer {token}",
        "Content-Type": "message/rfc822",
        "Accept": "application/json",
        "User-Agent": "postroom-ingest",
    }
    try:
        # The service may answer before it has read it all (413): the answer says.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            connection.request("POST", service.path, body=raw, headers=headers)
        response = connection.getresponse()
        body = response.read(ANSWER_LIMIT + 1)
        return Answer(
            response.status,
            response.reason,
            response.getheader("Content-Type", ""),
            response.getheader("Location", ""),
            body,
        )
    except (http.client.HTTPException, OSError) as exc:
        raise _unreached(exc, service, seconds) from None
    finally:
        connection.close()


def _tls(ca_file: str | None) -> ssl.SSLContext:
    """Verified TLS (chain and host name), the system's CAs or ``ca_file``'s."""
    try:
        return ssl.create_default_context(cafile=ca_file)
    except OSError as exc:  # SSLError is one: a file that holds no certificate
        if isinstance(exc, ssl.SSLError):
            raise _Failed(f"the CA file {ca_file} holds no PEM certificate", SET_UP) from None
        raise _Failed(f"cannot read the CA file {ca_file}: {exc.strerror or exc}", SET_UP) from None


def _unreached(exc: Exception, service: Service, seconds: float) -> _Failed:
    """Why the exchange failed, to try again later: nothing was stored, or it was and the
    service will recognise it (rule 5)."""
    if isinstance(exc, TimeoutError):
        why = f"{service.name} did not answer within {seconds:g} s"
    elif isinstance(exc, ssl.SSLCertVerificationError):
        why = (
            f"the certificate of {service.name} is not trusted ({exc.verify_message}): "
            "renew it, or give its CA with --ca-file"
        )
    elif isinstance(exc, ssl.SSLError):
        why = f"TLS with {service.name} failed: {exc.reason or exc}"
    elif isinstance(exc, socket.gaierror):
        why = f"cannot find {service.host}: {exc.strerror}"
    elif isinstance(exc, ConnectionRefusedError):
        why = (
            f"nothing answers at {service.name} (connection refused): is postroom web "
            "(or postroom run) running there?"
        )
    else:
        what = exc.strerror if isinstance(exc, OSError) and exc.strerror else str(exc)
        why = f"the exchange with {service.name} failed: {what or exc.__class__.__name__}"
    return _Failed(f"not stored, try again later: {why}", EX_TEMPFAIL)


def _decision(service: Service, answer: Answer, seconds: float) -> dict[str, Any]:
    """The decision in a 200 or 201; `_Failed` (rule 4) for any other answer."""
    status, said = answer.status, f"{answer.status} {answer.reason}".strip()
    if status in (200, 201):
        decision = _json(answer) if len(answer.body) <= ANSWER_LIMIT else None
        if isinstance(decision, dict) and "outcome" in decision:
            return decision
        raise _Failed(
            f"not stored, try again later: {service.name} answered {said} without a decision: "
            "is --url the address of postroom web?",
            EX_TEMPFAIL,
        )
    detail = _detail(answer)
    if status >= 500 or status in RETRIED_4XX:
        why = f"{service.name} answered {said}{detail}"
        raise _Failed(f"not stored, try again later: {why}", EX_TEMPFAIL)
    if status in (401, 403):
        raise _Failed(
            f"not stored, kept for later: {service.name} refused the API token{detail}: "
            "give an agent's token (postroom token create USER)",
            SET_UP,
        )
    if status == 404 and "channel" in detail:
        raise _Failed(
            f"not stored, kept for later: {service.name} answered {said}{detail}: add the "
            "channel there, or fix --channel",
            SET_UP,
        )
    if status in (404, 405):
        raise _Failed(
            f"not stored, kept for later: {service.name} answered {said} to POST "
            f"{service.path}: give --url the address of postroom web, e.g. http://127.0.0.1:8025",
            SET_UP,
        )
    if status == 413:
        raise _Failed(
            f"not stored: {service.name} takes no message this large{detail} "
            "(the service's POSTROOM_MAX_MESSAGE_BYTES)",
            1,
        )
    if 300 <= status < 400:
        to = f" to {answer.location[:200]}" if answer.location else ""
        raise _Failed(
            f"not stored, kept for later: {service.name} answered {said}{to}: "
            "give --url the service's own address",
            SET_UP,
        )
    if 400 <= status < 500:
        raise _Failed(f"not stored: {service.name} refused it: {said}{detail}", 1)
    raise _Failed(f"not stored, try again later: {service.name} answered {said}", EX_TEMPFAIL)


def _json(answer: Answer) -> Any:
    try:
        return json.loads(answer.body)
    except ValueError:
        return None


def _detail(answer: Answer) -> str:
    """``": DETAIL"`` of a problem document (RFC 9457), at most 300 characters; or nothing."""
    if "json" not in answer.content_type.lower() or len(answer.body) > ANSWER_LIMIT:
        return ""
    problem = _json(answer)
    if not isinstance(problem, dict):
        return ""
    text = problem.get("detail") or problem.get("title")
    return f": {text[:300]}" if isinstance(text, str) and text else ""


def _fail(message: str, code: int, token: str | None) -> NoReturn:
    """The line on stderr (rule 1: the token blanked out of it, whoever wrote it)."""
    if token:
        message = message.replace(token, "[token]")
    if code == SET_UP and not message.startswith("not stored"):
        message = f"not stored, kept for later: {message}"
    fail_line(message, code)
