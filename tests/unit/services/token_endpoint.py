"""A local OAuth2 authorization server for unit tests (HTTP on 127.0.0.1): refresh tokens
(rotated when asked, revoked by the test), access tokens with a lifetime, and the device
code flow (RFC 8628) that a test approves. Every form it was sent is kept."""

from __future__ import annotations

import itertools
import json
import secrets
import threading
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


@dataclass
class TokenServer:
    base: str = ""
    rotate: bool = False
    expires_in: int = 3600
    refresh_tokens: set[str] = field(default_factory=set)
    access_tokens: list[str] = field(default_factory=list)
    devices: dict[str, str | None] = field(default_factory=dict)
    """device code -> the refresh token it gives once approved (None: pending)."""
    user_codes: dict[str, str] = field(default_factory=dict)
    forms: list[dict[str, str]] = field(default_factory=list)
    _count: itertools.count[int] = field(default_factory=itertools.count)

    @property
    def token_url(self) -> str:
        return f"{self.base}/token"

    @property
    def device_url(self) -> str:
        return f"{self.base}/device"

    def grant(self) -> str:
        token = f"rt-{secrets.token_hex(8)}"
        self.refresh_tokens.add(token)
        return token

    def revoke(self, refresh_token: str) -> None:
        self.refresh_tokens.discard(refresh_token)

    def approve(self, user_code: str) -> None:
        self.devices[self.user_codes[user_code]] = self.grant()

    def answer(self, path: str, form: dict[str, str]) -> tuple[int, dict[str, object]]:
        self.forms.append(form)
        if path == "/device":
            device = f"dc-{secrets.token_hex(8)}"
            user = f"U{next(self._count):04d}"
            self.devices[device] = None
            self.user_codes[user] = device
            return 200, {
                "device_code": device,
                "user_code": user,
                "verification_uri": f"{self.base}/verify",
                "interval": 1,
                "expires_in": 600,
            }
        kind = form.get("grant_type")
        if kind == "urn:ietf:params:oauth:grant-type:device_code":
            code = form.get("device_code", "")
            if code not in self.devices:
                return 400, {"error": "expired_token"}
            approved = self.devices[code]
            if approved is None:
                return 400, {"error": "authorization_pending"}
            del self.devices[code]
            return 200, self._tokens(approved)
        if kind == "refresh_token":
            token = form.get("refresh_token", "")
            if token not in self.refresh_tokens:
                return 400, {"error": "invalid_grant", "error_description": "revoked"}
            if self.rotate:
                self.refresh_tokens.discard(token)
                token = self.grant()
                return 200, {**self._tokens(None), "refresh_token": token}
            return 200, self._tokens(None)
        return 400, {"error": "unsupported_grant_type"}

    def _tokens(self, refresh: str | None) -> dict[str, object]:
        access = f"at-{secrets.token_hex(8)}"
        self.access_tokens.append(access)
        body: dict[str, object] = {"access_token": access, "expires_in": self.expires_in}
        if refresh is not None:
            body["refresh_token"] = refresh
        return body


@pytest.fixture
def token_server() -> Iterator[TokenServer]:
    state = TokenServer()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            form = dict(urllib.parse.parse_qsl(self.rfile.read(length).decode()))
            status, body = state.answer(self.path, form)
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.base = f"http://127.0.0.1:{server.server_port}"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
