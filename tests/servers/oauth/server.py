"""A small OAuth2 authorization server for the tests (standard library only).

Started by ``tests/servers/mailstack/start`` beside Dovecot and Postfix (127.0.0.1, port
``MAILSTACK_OAUTH_PORT``, default 11080), because Dovecot's ``oauth2`` passdb asks its
introspection endpoint whether a bearer token is good.  Tests drive it through
``tests/support/oauth_server.py``.

Endpoints (forms in, JSON out):

- ``POST /token``: ``grant_type=refresh_token`` (RFC 6749 §6) and
  ``urn:ietf:params:oauth:grant-type:device_code`` (RFC 8628 §3.4).
- ``POST /device``: the device authorization request (RFC 8628 §3.1).
- ``POST /introspect``: ``token=...`` -> ``{"active": true, "username": ...}`` (RFC 7662).
- ``POST /control/{grant,expire,rotate,revoke,approve,deny,inspect}``: what tests do to it.
- ``GET /health``.

Every token is random and the state is keyed by tokens, so tests running at once (pytest
workers) never see each other's grants; there is no reset.  Tokens never reach the log.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import secrets
import sys
import threading
import time
import urllib.parse
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TypeVar

V = TypeVar("V")

MAX_BODY = 64 * 1024
DEVICE_GRANT = "urn:ietf:params:oauth:grant-type:device_code"
DEFAULT_EXPIRES_IN = 3600
DEVICE_INTERVAL = 1
DEVICE_EXPIRES_IN = 600
MAX_LIVE = 100_000
"""Tokens kept at most per kind; the oldest are forgotten beyond that."""


@dataclass
class Grant:
    user: str
    expires_in: int
    rotate: bool
    client_id: str | None
    """When set, only this client may refresh (``invalid_grant`` for another)."""
    refresh_token: str
    revoked: bool = False
    refreshes: int = 0
    client_ids: list[str] = field(default_factory=list)
    scopes: list[str] = field(default_factory=list)


@dataclass
class Access:
    grant: Grant
    expires: float


@dataclass
class Device:
    user_code: str
    client_id: str
    scope: str
    expires: float
    user: str | None = None
    denied: bool = False
    used: bool = False
    expires_in: int = DEFAULT_EXPIRES_IN


class Refusal(Exception):
    def __init__(self, status: int, error: str, description: str) -> None:
        super().__init__(error)
        self.status = status
        self.error = error
        self.description = description


def _bounded_put(table: dict[str, V], key: str, value: V) -> None:
    if len(table) >= MAX_LIVE:
        del table[next(iter(table))]
    table[key] = value


class State:
    """Grants, access tokens and device codes, under one lock."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.grants: dict[str, Grant] = {}
        """Every refresh token ever issued (rotated-out ones too) -> its grant."""
        self.access: dict[str, Access] = {}
        self.devices: dict[str, Device] = {}
        """device_code -> device; user codes are looked up by scan (few at a time)."""

    # ------------------------------------------------------------------ issuing
    def new_grant(self, user: str, expires_in: int, rotate: bool, client_id: str | None) -> Grant:
        grant = Grant(user, expires_in, rotate, client_id, secrets.token_urlsafe(32))
        _bounded_put(self.grants, grant.refresh_token, grant)
        return grant

    def new_access(self, grant: Grant) -> tuple[str, int]:
        token = "at-" + secrets.token_urlsafe(32)
        _bounded_put(self.access, token, Access(grant, time.time() + grant.expires_in))
        return token, grant.expires_in

    # ------------------------------------------------------------------ endpoints
    def token(self, form: dict[str, str]) -> dict[str, object]:
        client_id = form.get("client_id", "")
        if not client_id:
            raise Refusal(401, "invalid_client", "client_id is missing")
        kind = form.get("grant_type", "")
        with self.lock:
            if kind == "refresh_token":
                return self._refresh(form, client_id)
            if kind == DEVICE_GRANT:
                return self._device_token(form, client_id)
        raise Refusal(400, "unsupported_grant_type", f"grant_type {kind[:60]!r} is not supported")

    def _refresh(self, form: dict[str, str], client_id: str) -> dict[str, object]:
        presented = form.get("refresh_token", "")
        grant = self.grants.get(presented)
        if grant is None or grant.revoked or grant.refresh_token != presented:
            why = "revoked" if grant and grant.revoked else "unknown or rotated out"
            raise Refusal(400, "invalid_grant", f"the refresh token is {why}")
        if grant.client_id is not None and grant.client_id != client_id:
            raise Refusal(400, "invalid_grant", "the grant was issued to another client")
        grant.refreshes += 1
        grant.client_ids.append(client_id[:100])
        grant.scopes.append(form.get("scope", "")[:500])
        access, expires_in = self.new_access(grant)
        answer: dict[str, object] = {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": expires_in,
        }
        if grant.rotate:
            grant.refresh_token = secrets.token_urlsafe(32)
            _bounded_put(self.grants, grant.refresh_token, grant)
            answer["refresh_token"] = grant.refresh_token
        return answer

    def _device_token(self, form: dict[str, str], client_id: str) -> dict[str, object]:
        device = self.devices.get(form.get("device_code", ""))
        if device is None or device.used or device.client_id != client_id:
            raise Refusal(400, "invalid_grant", "unknown or used device code")
        if device.denied:
            raise Refusal(400, "access_denied", "the person declined")
        if time.time() > device.expires:
            raise Refusal(400, "expired_token", "the device code has expired")
        if device.user is None:
            raise Refusal(400, "authorization_pending", "the person has not signed in yet")
        device.used = True
        grant = self.new_grant(device.user, device.expires_in, False, client_id)
        grant.client_ids.append(client_id[:100])
        grant.scopes.append(device.scope[:500])
        access, expires_in = self.new_access(grant)
        return {
            "access_token": access,
            "token_type": "Bearer",
            "expires_in": expires_in,
            "refresh_token": grant.refresh_token,
            "scope": device.scope,
        }

    def device(self, form: dict[str, str], base_url: str) -> dict[str, object]:
        client_id = form.get("client_id", "")
        if not client_id:
            raise Refusal(401, "invalid_client", "client_id is missing")
        code = secrets.token_urlsafe(32)
        alphabet = "BCDFGHJKLMNPQRSTVWXZ"
        user_code = "".join(secrets.choice(alphabet) for _ in range(8))
        user_code = f"{user_code[:4]}-{user_code[4:]}"
        with self.lock:
            _bounded_put(
                self.devices,
                code,
                Device(
                    user_code, client_id, form.get("scope", ""), time.time() + DEVICE_EXPIRES_IN
                ),
            )
        return {
            "device_code": code,
            "user_code": user_code,
            "verification_uri": f"{base_url}/device/verify",
            "interval": DEVICE_INTERVAL,
            "expires_in": DEVICE_EXPIRES_IN,
        }

    def introspect(self, form: dict[str, str]) -> dict[str, object]:
        with self.lock:
            access = self.access.get(form.get("token", ""))
            if access is None or access.grant.revoked or time.time() >= access.expires:
                return {"active": False}
            return {
                "active": True,
                "username": access.grant.user,
                "token_type": "Bearer",
                "exp": int(access.expires),
            }

    # ------------------------------------------------------------------ controls
    def control(self, action: str, form: dict[str, str]) -> dict[str, object]:
        with self.lock:
            if action == "grant":
                user = _required(form, "user")
                made = self.new_grant(
                    user,
                    _number(form.get("expires_in"), DEFAULT_EXPIRES_IN),
                    form.get("rotate") == "1",
                    form.get("client_id") or None,
                )
                return {"refresh_token": made.refresh_token}
            if action == "expire":
                access = self.access.get(_required(form, "access_token"))
                if access is None:
                    raise Refusal(404, "not_found", "no such access token")
                access.expires = min(access.expires, time.time())
                return {"expired": True}
            if action in ("rotate", "revoke", "inspect"):
                grant = self.grants.get(_required(form, "refresh_token"))
                if grant is None:
                    raise Refusal(404, "not_found", "no such refresh token")
                if action == "rotate":
                    grant.rotate = form.get("on", "1") == "1"
                elif action == "revoke":
                    grant.revoked = True
                return {
                    "user": grant.user,
                    "revoked": grant.revoked,
                    "rotate": grant.rotate,
                    "refreshes": grant.refreshes,
                    "client_ids": grant.client_ids[-20:],
                    "scopes": grant.scopes[-20:],
                    "current": grant.refresh_token == form["refresh_token"],
                }
            if action in ("approve", "deny"):
                code = _required(form, "user_code").upper()
                found = [d for d in self.devices.values() if d.user_code == code and not d.used]
                if not found:
                    raise Refusal(404, "not_found", "no such user code")
                if action == "approve":
                    found[0].user = _required(form, "user")
                    found[0].expires_in = _number(form.get("expires_in"), DEFAULT_EXPIRES_IN)
                else:
                    found[0].denied = True
                return {"ok": True}
        raise Refusal(404, "not_found", f"no control {action[:40]!r}")


def _required(form: dict[str, str], name: str) -> str:
    value = form.get(name, "")
    if not value:
        raise Refusal(400, "invalid_request", f"{name} is missing")
    return value


def _number(text: str | None, default: int) -> int:
    return int(text) if text and text.isdigit() and len(text) <= 9 else default


class Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 10
    server_version = "postroom-test-oauth/1"
    state: State
    base_url: str

    def do_GET(self) -> None:
        if self.path == "/health":
            self._answer(200, {"ok": True})
        else:
            self._answer(404, {"error": "not_found"})

    def do_POST(self) -> None:
        try:
            form = self._form()
            path = self.path.split("?", 1)[0]
            if path == "/token":
                answer = self.state.token(form)
            elif path == "/device":
                answer = self.state.device(form, self.base_url)
            elif path == "/introspect":
                answer = self.state.introspect(form)
            elif path.startswith("/control/"):
                answer = self.state.control(path.removeprefix("/control/"), form)
            else:
                raise Refusal(404, "not_found", "no such endpoint")
        except Refusal as exc:
            self._answer(exc.status, {"error": exc.error, "error_description": exc.description})
            return
        self._answer(200, answer)

    def _form(self) -> dict[str, str]:
        length = self.headers.get("Content-Length", "0")
        if not length.isdigit() or int(length) > MAX_BODY:
            if length.isdigit() and int(length) <= 16 * MAX_BODY:
                self.rfile.read(int(length))  # drained: the client reads the refusal
            self.close_connection = True
            raise Refusal(413, "invalid_request", f"a body of at most {MAX_BODY} bytes")
        raw = self.rfile.read(int(length)).decode("utf-8", "replace")
        if self.headers.get("Content-Type", "").startswith("application/json"):
            data = json.loads(raw or "{}")
            return {str(k): str(v) for k, v in data.items()} if isinstance(data, dict) else {}
        return dict(urllib.parse.parse_qsl(raw, keep_blank_values=True))

    def _answer(self, status: int, data: dict[str, object]) -> None:
        body = json.dumps(data).encode("utf-8")
        self._note = str(data.get("error", "")) if status >= 400 else ""
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        # the path only: tokens travel in bodies, never in the log
        note = getattr(self, "_note", "")
        path = self.path.split("?", 1)[0][:80]
        self.log_message("%s %s %s %s", self.command, path, code, note)

    def log_message(self, format: str, *args: object) -> None:
        stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime())
        sys.stderr.write(f"{stamp} {format % args}\n")
        sys.stderr.flush()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=11080)
    parser.add_argument("--pidfile")
    parser.add_argument("--state-dir", help="the mail stack it belongs to (for `stop` to find it)")
    args = parser.parse_args()

    class Bound(Handler):
        state = State()
        base_url = f"http://{args.host}:{args.port}"

    server = ThreadingHTTPServer((args.host, args.port), Bound)
    server.daemon_threads = True
    if args.pidfile:
        tmp = f"{args.pidfile}.tmp"
        with open(tmp, "w") as out:
            out.write(f"{os.getpid()}\n")
        os.replace(tmp, args.pidfile)
    sys.stderr.write(f"listening on {Bound.base_url} (pid {os.getpid()})\n")
    sys.stderr.flush()
    with contextlib.suppress(KeyboardInterrupt):
        server.serve_forever()


if __name__ == "__main__":
    main()
