"""The OAuth2 options of `channel add|set` and `smtp add|set`, and the device-code sign-in
of `channel authorize` and `smtp authorize` as a person sees it (on stderr).

Secrets come from environment variables named by ``--client-secret-env`` and
``--refresh-token-env``, never from argv; tokens are never printed.
"""

from __future__ import annotations

import time
from typing import Annotated

import typer

from postroom.cli.admission import fix_hint
from postroom.cli.output import echo, fail, shown
from postroom.cli.secrets_input import env_secret
from postroom.services.enabling import Admission
from postroom.services.grants import OAuthOptions

OAuth2 = Annotated[
    str | None,
    typer.Option("--oauth2", help="log in with OAuth2: microsoft, google or custom"),
]
TokenUrl = Annotated[str | None, typer.Option(help="custom: the token endpoint (https://)")]
DeviceUrl = Annotated[
    str | None, typer.Option(help="custom: the device authorization endpoint (sign-in)")
]
ClientId = Annotated[str | None, typer.Option(help="OAuth2: the application's client id")]
ClientSecretEnv = Annotated[
    str | None,
    typer.Option(help="OAuth2: read the client secret from this environment variable"),
]
Scope = Annotated[
    list[str] | None,
    typer.Option("--scope", help="OAuth2: a scope to ask for (repeat; default: the provider's)"),
]
Tenant = Annotated[
    str | None, typer.Option(help="microsoft: the directory (tenant id or domain; default common)")
]
RefreshTokenEnv = Annotated[
    str | None,
    typer.Option(help="OAuth2: sign in with the refresh token in this environment variable"),
]

_WAITING_EVERY = 30.0
"""Seconds between the lines that say the sign-in is still awaited."""


def oauth_options(
    provider: str | None,
    token_url: str | None,
    device_url: str | None,
    client_id: str | None,
    client_secret_env: str | None,
    scopes: list[str] | None,
    tenant: str | None,
    refresh_token_env: str | None,
) -> OAuthOptions:
    """The options as the services take them (secrets read from the environment)."""
    return OAuthOptions(
        provider=provider,
        client_id=client_id,
        client_secret=env_secret("--client-secret-env", client_secret_env),
        tenant=tenant,
        token_url=token_url,
        device_url=device_url,
        scopes=tuple(scopes) if scopes else None,
        refresh_token=env_secret("--refresh-token-env", refresh_token_env),
    )


class DeviceSignIn:
    """`services.grants.DeviceProgress` on stderr: where to sign in, then a line every
    half minute while the sign-in is awaited (Ctrl-C stops it; nothing is stored)."""

    def __init__(self) -> None:
        self._said = time.monotonic()

    def code(self, verification_uri: str, user_code: str, expires_in: int) -> None:
        minutes = max(1, expires_in // 60)
        echo(
            f"To sign in, open {shown(verification_uri)} and enter the code "
            f"{shown(user_code)} (within {minutes} min; Ctrl-C stops waiting)",
            err=True,
        )
        self._said = time.monotonic()

    def waiting(self, seconds_left: int) -> None:
        if time.monotonic() - self._said >= _WAITING_EVERY:
            echo(f"waiting for the sign-in ({seconds_left} s left)…", err=True)
            self._said = time.monotonic()


def echo_signed_in(what: str, admission: Admission, set_command: str) -> None:
    """``what`` signed in, then enabled (its check passed), kept off (a person switched it
    off), or disabled by the failed check (exit 1)."""
    if admission.passed and admission.enabled:
        echo(f"{what} signed in and enabled: check passed")
    elif admission.passed:
        echo(f"{what} signed in: check passed; still disabled (switched off by a person)")
    else:
        fail(
            f"{what} signed in but disabled: check failed at {shown(admission.failure)}; "
            f"{fix_hint(admission, set_command)}"
        )
