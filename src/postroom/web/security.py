"""What every response carries and every request is held to, before any handler runs.

- Headers: a strict Content-Security-Policy (nothing loads, nothing frames a page, no
  inline script), ``nosniff``, ``Referrer-Policy: no-referrer``. The API's policy lets
  nothing load (``default-src 'none'``); a page's (`PAGE_CSP`: any path outside
  ``/api/``) loads its styles, images and scripts from this site only, never inline. A
  response that sets its own Content-Security-Policy keeps it (a stricter one: the frame
  of a mail's HTML), and X-Frame-Options says SAMEORIGIN when that policy lets this site
  frame it (``frame-ancestors 'self'``). No CORS headers are ever
  sent, so a browser keeps other sites' scripts out (CORS off).
- Body size: a message (``POST /api/v1/messages``, ``/api/v1/explain``) up to the
  configured maximum, and so a reply sent as ``multipart/form-data`` with its files
  (`UPLOAD_PATHS`: the API's ``…/replies``, the item page's ``…/reply``); anything else
  up to 1 MB. A declared ``Content-Length`` over it is
  refused at once; a body sent in chunks is counted as it streams in and refused at the
  first byte past the limit (never read whole first).
- Body type: an API change is JSON (or a message, ``message/rfc822``; or a reply's form
  on ``…/replies``); anything else is 415.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from postroom.web.problems import ProblemError, problem

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

CSP = "default-src 'none'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
PAGE_CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
    "form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = (
    (b"content-security-policy", CSP.encode()),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
)
JSON_LIMIT = 1024 * 1024
MESSAGE_PATHS = frozenset({"/api/v1/messages", "/api/v1/explain"})
"""Paths whose body is a whole message (``message/rfc822``), up to the message limit."""
UPLOAD_PATHS = re.compile(r"/api/v1/items/[^/]+/replies|/items/[^/]+/reply")
"""Paths that take a reply's files as ``multipart/form-data``, up to the message limit."""
_API_UPLOADS = re.compile(r"/api/v1/items/[^/]+/replies")
_MULTIPART = b"multipart/form-data"
_CHANGES = frozenset({"POST", "PUT", "PATCH"})
_JSON_TYPES = (b"application/json",)
_MESSAGE_TYPES = (b"message/rfc822", b"application/octet-stream")


class BodyTooLarge(ProblemError):
    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit} bytes")


class Guard:
    """The ASGI middleware of this module (outermost but for the error pages)."""

    def __init__(self, app: ASGIApp, max_message_bytes: int) -> None:
        self.app = app
        self.max_message_bytes = max_message_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        path: str = scope.get("path", "")
        policy = CSP if path.startswith("/api/") else PAGE_CSP

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                given = message.get("headers", ())
                own = [h for h in given if h[0] == b"content-security-policy"][:1]
                message["headers"] = [
                    *(h for h in given if h[0] not in _OURS),
                    *(own or [(b"content-security-policy", policy.encode())]),
                    *(_FRAMED if own and _SAME_ORIGIN_FRAME in own[0][1] else HEADERS[1:]),
                ]
            await send(message)

        headers = dict(scope.get("headers", ()))
        limit = self.max_message_bytes if _whole(path, _kind(headers)) else JSON_LIMIT
        refusal = _refusal(scope["method"], path, headers, limit)
        if refusal is not None:
            status, detail = refusal
            await problem(status, detail)(scope, receive, with_headers)
            return
        await self.app(scope, _counted(receive, limit), with_headers)


_OURS = frozenset(name for name, _ in HEADERS)
_SAME_ORIGIN_FRAME = b"frame-ancestors 'self'"
_FRAMED = (*HEADERS[1:3], (b"x-frame-options", b"SAMEORIGIN"))
"""The headers of a response whose own policy lets this site's pages frame it (the frame
of a mail's HTML on an item page): X-Frame-Options agrees with its frame-ancestors."""


def _refusal(
    method: str, path: str, headers: dict[bytes, bytes], limit: int
) -> tuple[int, str] | None:
    """Why a request is refused before it is read (status, detail), or None."""
    declared = headers.get(b"content-length")
    if declared is not None:
        if not declared.isdigit() or len(declared) > 18:
            return 400, "Content-Length is not a number"
        if int(declared) > limit:
            return 413, f"the request body is larger than {limit} bytes"
    if method in _CHANGES and path.startswith("/api/"):
        kind = _kind(headers)
        wanted = _MESSAGE_TYPES if path in MESSAGE_PATHS else _JSON_TYPES
        said = wanted[0].decode()
        if _API_UPLOADS.fullmatch(path):
            wanted, said = (*_JSON_TYPES, _MULTIPART), "application/json or multipart/form-data"
        has_body = declared not in (None, b"0") or b"transfer-encoding" in headers
        if has_body and kind not in wanted:
            return 415, f"send the body as {said}"
    return None


def _kind(headers: dict[bytes, bytes]) -> bytes:
    """The request's media type, without parameters, lower case."""
    return headers.get(b"content-type", b"").split(b";", 1)[0].strip().lower()


def _whole(path: str, kind: bytes) -> bool:
    """Whether the body may be as large as a message: a message, or a reply's files."""
    return path in MESSAGE_PATHS or (kind == _MULTIPART and bool(UPLOAD_PATHS.fullmatch(path)))


def _counted(receive: Receive, limit: int) -> Receive:
    """``receive`` that raises `BodyTooLarge` once the body passes ``limit`` bytes."""
    seen = 0

    async def counted() -> Message:
        nonlocal seen
        message = await receive()
        if message["type"] == "http.request":
            seen += len(message.get("body", b""))
            if seen > limit:
                raise BodyTooLarge(limit)
        return message

    return counted
