"""OAuth2 token endpoints (RFC 6749 §6 refresh, RFC 8628 device authorization): the HTTP half.

Providers ``microsoft`` and ``google`` have their endpoints built in; ``custom`` takes a
token URL (and a device authorization URL for the sign-in). Every answer is bounded
(`MAX_ANSWER` octets; ``timeout`` seconds for the whole exchange, however slowly the endpoint
answers: `http_exchange`) and read as JSON; an endpoint is ``https://``
except on the loopback interface (a local test endpoint). Tokens never reach a message: the
errors carry the endpoint's ``error`` code and description only.
"""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from enum import StrEnum

from postroom.domain.display import for_terminal
from postroom.errors import PostroomError, UserError
from postroom.net.connection import ConnectionFailure, FailureClass, classify
from postroom.net.http_exchange import Overdue, exchange

MAX_ANSWER = 64 * 1024
"""Octets of one token endpoint answer at most."""
_LOOPBACK = ("127.0.0.1", "::1", "localhost")
_TENANT = re.compile(r"[A-Za-z0-9][A-Za-z0-9.-]{0,199}")


@dataclass(frozen=True, slots=True)
class Provider:
    name: str
    token_url: str
    device_url: str | None
    scopes: tuple[str, ...]


PROVIDERS = {
    "microsoft": Provider(
        "microsoft",
        "https://login.microsoftonline.com/common/oauth2/v2.0/token",
        "https://login.microsoftonline.com/common/oauth2/v2.0/devicecode",
        (
            "offline_access",
            "https://outlook.office.com/IMAP.AccessAsUser.All",
            "https://outlook.office.com/SMTP.Send",
        ),
    ),
    "google": Provider(
        "google",
        "https://oauth2.googleapis.com/token",
        "https://oauth2.googleapis.com/device/code",
        ("https://mail.google.com/",),
    ),
}


def provider(
    name: str,
    token_url: str | None = None,
    device_url: str | None = None,
    scopes: tuple[str, ...] = (),
    tenant: str | None = None,
) -> Provider:
    """A built-in provider (its scopes replaced by ``scopes`` if given; ``microsoft`` in
    ``tenant``'s directory rather than ``common``), or ``custom``."""
    if tenant is not None and name != "microsoft":
        raise UserError("--tenant is for --oauth2 microsoft (its directory)")
    if name in PROVIDERS:
        if token_url is not None or device_url is not None:
            raise UserError(f"--oauth2 {name} has its endpoints built in: drop --token-url")
        known = PROVIDERS[name]
        token, device = known.token_url, known.device_url
        if tenant is not None:
            if not _TENANT.fullmatch(tenant):
                raise UserError(
                    "--tenant takes a directory's id or domain (letters, digits, '.', '-')"
                )
            token = token.replace("/common/", f"/{tenant}/")
            device = device.replace("/common/", f"/{tenant}/") if device else None
        return Provider(name, token, device, scopes or known.scopes)
    if name != "custom":
        raise UserError(f"--oauth2 {name!r}: use microsoft, google or custom")
    if not token_url:
        raise UserError("--oauth2 custom needs --token-url URL")
    for url in (token_url, device_url):
        if url is not None:
            endpoint_url(url)
    return Provider("custom", token_url, device_url, scopes)


def endpoint_url(url: str) -> str:
    """``https://`` (or ``http://`` to the loopback interface), or `UserError`."""
    parts = urllib.parse.urlsplit(url)
    if parts.scheme == "https" or (parts.scheme == "http" and parts.hostname in _LOOPBACK):
        return url
    raise UserError(f"the token endpoint {url!r} must be https://")


class GrantProblem(StrEnum):
    REVOKED = "revoked"
    """``invalid_grant``: the refresh token was revoked or expired: sign in again."""
    PENDING = "pending"
    """The device sign-in is not finished yet (``authorization_pending``, ``slow_down``)."""
    REFUSED = "refused"
    """Any other refusal (a wrong client id, a scope not granted...)."""


class TokenError(PostroomError):
    """The token endpoint refused; ``problem`` says whether signing in again helps."""

    def __init__(self, problem: GrantProblem, message: str) -> None:
        super().__init__(message)
        self.problem = problem


@dataclass(frozen=True, slots=True)
class Tokens:
    access_token: str = field(repr=False)
    expires_in: int
    """Seconds the access token is valid from the answer."""
    refresh_token: str | None = field(default=None, repr=False)
    """A new refresh token when the provider rotates them (to be saved at once)."""


@dataclass(frozen=True, slots=True)
class DeviceCode:
    device_code: str = field(repr=False)
    user_code: str
    verification_uri: str
    interval: int
    expires_in: int


def refresh(
    endpoint: Provider,
    client_id: str,
    client_secret: str | None,
    refresh_token: str,
    timeout: float = 30.0,
) -> Tokens:
    """A new access token for a refresh token (RFC 6749 §6)."""
    form = {"grant_type": "refresh_token", "refresh_token": refresh_token, "client_id": client_id}
    if endpoint.scopes:
        form["scope"] = " ".join(endpoint.scopes)
    if client_secret:
        form["client_secret"] = client_secret
    return _tokens(_post(endpoint.token_url, form, timeout))


def start_device(endpoint: Provider, client_id: str, timeout: float = 30.0) -> DeviceCode:
    """RFC 8628 §3.1: a user code and where to enter it."""
    if endpoint.device_url is None:
        raise UserError(f"provider {endpoint.name} has no device sign-in URL (--device-url)")
    data = _post(
        endpoint.device_url, {"client_id": client_id, "scope": " ".join(endpoint.scopes)}, timeout
    )
    try:
        return DeviceCode(
            str(data["device_code"]),
            str(data["user_code"])[:100],
            str(data.get("verification_uri") or data.get("verification_url"))[:500],
            _seconds(data.get("interval"), 5),
            _seconds(data.get("expires_in"), 900),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise TokenError(GrantProblem.REFUSED, f"{endpoint.device_url}: no device code") from exc


def poll_device(
    endpoint: Provider,
    client_id: str,
    client_secret: str | None,
    device: DeviceCode,
    timeout: float = 30.0,
) -> Tokens:
    """RFC 8628 §3.4: the tokens once the person signed in; `TokenError` PENDING before."""
    form = {
        "grant_type": "urn:ietf:params:oauth:grant-type:device_code",
        "device_code": device.device_code,
        "client_id": client_id,
    }
    if client_secret:
        form["client_secret"] = client_secret
    return _tokens(_post(endpoint.token_url, form, timeout))


def _seconds(value: object, default: int) -> int:
    text = str(value) if isinstance(value, int | str) else ""
    return int(text) if text.isdigit() and len(text) <= 9 else default


def _tokens(data: dict[str, object]) -> Tokens:
    token = data.get("access_token")
    if not isinstance(token, str) or not token:
        raise TokenError(GrantProblem.REFUSED, "the token endpoint sent no access_token")
    rotated = data.get("refresh_token")
    return Tokens(
        token,
        _seconds(data.get("expires_in"), 3600),
        rotated if isinstance(rotated, str) and rotated else None,
    )


def _post(url: str, form: dict[str, str], timeout: float) -> dict[str, object]:
    endpoint_url(url)
    body = urllib.parse.urlencode(form).encode("ascii")
    request = urllib.request.Request(  # noqa: S310 - the scheme is checked above
        url, data=body, headers={"Accept": "application/json"}, method="POST"
    )
    try:
        status, raw = exchange(request, timeout, MAX_ANSWER + 1)
    except Overdue:
        raise ConnectionFailure(
            FailureClass.TIMEOUT, f"{url}: the token endpoint did not answer within {timeout:g} s"
        ) from None
    except (urllib.error.URLError, OSError) as exc:
        reason = exc.reason if isinstance(exc, urllib.error.URLError) else exc
        raise classify(reason if isinstance(reason, BaseException) else exc, url) from None
    if status >= 400:
        raise _refusal(url, status, raw)
    return _json(url, raw)


def _json(url: str, raw: bytes) -> dict[str, object]:
    if len(raw) > MAX_ANSWER:
        raise TokenError(GrantProblem.REFUSED, f"{url}: answer over {MAX_ANSWER} bytes")
    try:
        data = json.loads(raw)
    except ValueError:
        raise TokenError(GrantProblem.REFUSED, f"{url}: the answer is not JSON") from None
    if not isinstance(data, dict):
        raise TokenError(GrantProblem.REFUSED, f"{url}: the answer is not a JSON object")
    return data


def _refusal(url: str, status: int, raw: bytes) -> PostroomError:
    try:
        data = _json(url, raw)
    except TokenError:
        data = {}
    # The endpoint's words end up on the channel and on a terminal: escaped, bounded.
    error = for_terminal(str(data.get("error", ""))[:80])
    said = for_terminal(str(data.get("error_description", ""))[:200])
    text = f"{url}: HTTP {status} {error}{': ' + said if said else ''}"
    if error == "invalid_grant":
        return TokenError(GrantProblem.REVOKED, text)
    if error in ("authorization_pending", "slow_down"):
        return TokenError(GrantProblem.PENDING, text)
    if status >= 500:
        return classify(ConnectionError(text), "")
    return TokenError(GrantProblem.REFUSED, text)
