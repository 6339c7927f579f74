"""`postroom channel …`: input channels (mailboxes), their checks and their health."""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from postroom.cli.admission import echo_added, echo_changed, echo_enabled
from postroom.cli.oauth import (
    ClientId,
    ClientSecretEnv,
    DeviceSignIn,
    DeviceUrl,
    OAuth2,
    RefreshTokenEnv,
    Scope,
    Tenant,
    TokenUrl,
    echo_signed_in,
    oauth_options,
)
from postroom.cli.options import Authzid, CaFile, Force, JsonOpt, PasswordEnv, PasswordStdin
from postroom.cli.output import echo, print_json, shown
from postroom.cli.secrets_input import env_secret, password_input
from postroom.cli.state import current_app
from postroom.net.sasl import AuthMechanism
from postroom.render.checks import MARK, check_text
from postroom.render.config import (
    CHANNEL_COLUMNS,
    channel_detail_json,
    channel_json,
    channel_row,
)
from postroom.render.table import table
from postroom.services.channels import ChannelChange, NewChannel

channel_app = typer.Typer(help="Input channels: the mailboxes Postroom polls.")


@channel_app.command("add")
def channel_add(
    name: str,
    url: Annotated[
        str, typer.Option(help="pop3://USER@HOST:PORT (STLS), pop3s://…, imap://… or imaps://…")
    ],
    password_env: PasswordEnv = None,
    password_stdin: PasswordStdin = False,
    authzid: Authzid = None,
    ca_file: CaFile = None,
    interval: Annotated[int, typer.Option(min=5, help="seconds between polls")] = 60,
    max_failures: Annotated[int, typer.Option(min=1, help="switch off after N")] = 10,
    address: Annotated[
        str | None, typer.Option(help="the mailbox's address (default: authzid or user)")
    ] = None,
    mechanism: Annotated[AuthMechanism, typer.Option(help="login mechanism")] = (
        AuthMechanism.AUTO
    ),
    timeout: Annotated[int, typer.Option(min=1, help="seconds for connect and reads")] = 30,
    force: Force = False,
    no_check: Annotated[bool, typer.Option(help="add disabled, without a check")] = False,
    folder: Annotated[str | None, typer.Option(help="IMAP: the folder to poll (INBOX)")] = None,
    after: Annotated[
        str | None,
        typer.Option(help="delete (default), keep, or move:FOLDER (IMAP): stored mail's fate"),
    ] = None,
    oauth2: OAuth2 = None,
    token_url: TokenUrl = None,
    device_url: DeviceUrl = None,
    client_id: ClientId = None,
    client_secret_env: ClientSecretEnv = None,
    scope: Scope = None,
    tenant: Tenant = None,
    refresh_token_env: RefreshTokenEnv = None,
) -> None:
    """Add an input channel; it is enabled once its connection check passes (with --oauth2,
    once it is signed in: postroom channel authorize NAME, or --refresh-token-env)."""
    password = password_input(password_env, sys.stdin.read() if password_stdin else None)
    oauth = oauth_options(
        oauth2,
        token_url,
        device_url,
        client_id,
        client_secret_env,
        scope,
        tenant,
        refresh_token_env,
    )
    new = NewChannel(
        name=name,
        url=url,
        password=password,
        authzid=authzid,
        ca_file=ca_file,
        interval=interval,
        max_failures=max_failures,
        address=address,
        mechanism=mechanism,
        timeout=timeout,
        folder=folder,
        after=after,
        oauth=oauth,
    )
    added = current_app().channels.add(new, force=force, check=not no_check)
    if added.unrouted:
        echo(f"warning: {shown(added.unrouted)}", err=True)
    if added.sign_in is not None:
        echo(f"channel {name} added, disabled until it is signed in ({added.sign_in})")
    elif added.admission is None:
        echo(
            f"channel {name} added, disabled (check and enable it: postroom channel enable {name})"
        )
    else:
        echo_added(
            f"channel {name}",
            added.channel.url,
            added.admission,
            f"postroom channel set {name}",
        )


@channel_app.command("set")
def channel_set(
    name: str,
    url: Annotated[str | None, typer.Option(help="pop3://USER@HOST:PORT or pop3s://…")] = None,
    password_env: PasswordEnv = None,
    password_stdin: PasswordStdin = False,
    authzid: Annotated[
        str | None, typer.Option(help='act for this mailbox ("" removes it)')
    ] = None,
    ca_file: CaFile = None,
    interval: Annotated[int | None, typer.Option(min=5, help="seconds between polls")] = None,
    max_failures: Annotated[int | None, typer.Option(min=1, help="switch off after N")] = None,
    folder: Annotated[str | None, typer.Option(help="IMAP: the folder to poll")] = None,
    after: Annotated[
        str | None, typer.Option(help="delete, keep, or move:FOLDER (IMAP): stored mail's fate")
    ] = None,
    mechanism: Annotated[AuthMechanism | None, typer.Option(help="login mechanism")] = None,
    oauth2: OAuth2 = None,
    token_url: TokenUrl = None,
    device_url: DeviceUrl = None,
    client_id: ClientId = None,
    client_secret_env: ClientSecretEnv = None,
    scope: Scope = None,
    tenant: Tenant = None,
    refresh_token_env: RefreshTokenEnv = None,
) -> None:
    """Change a channel; a changed connection setting is checked before it is enabled
    again (a channel switched off by a person stays off)."""
    password = password_input(password_env, sys.stdin.read() if password_stdin else None)
    oauth = oauth_options(
        oauth2,
        token_url,
        device_url,
        client_id,
        client_secret_env,
        scope,
        tenant,
        refresh_token_env,
    )
    change = ChannelChange(
        url=url,
        password=password,
        authzid=authzid,
        ca_file=ca_file,
        interval=interval,
        max_failures=max_failures,
        folder=folder,
        after=after,
        oauth=oauth,
        mechanism=mechanism,
    )
    changed = current_app().channels.set(name, change)
    if changed.sign_in is not None:
        echo(f"channel {name} changed, disabled until it is signed in ({changed.sign_in})")
        return
    echo_changed(f"channel {name}", changed.admission, f"postroom channel set {name}")


@channel_app.command("authorize")
def channel_authorize(name: str, refresh_token_env: RefreshTokenEnv = None) -> None:
    """Sign an OAuth2 channel in: the device-code sign-in (open the page shown and enter
    the code), or the refresh token in --refresh-token-env; then check and enable it."""
    refresh_token = env_secret("--refresh-token-env", refresh_token_env)
    progress = None if refresh_token is not None else DeviceSignIn()
    admission = current_app().channels.authorize(name, refresh_token, progress)
    echo_signed_in(f"channel {name}", admission, f"postroom channel set {name}")


@channel_app.command("list")
def channel_list(as_json: JsonOpt = False) -> None:
    """Channels with their health: failure count, classified last error, last success."""
    channels = current_app().channels.list()
    if as_json:
        print_json([channel_json(c) for c in channels])
        return
    if not channels:
        echo("no channels (add one: postroom channel add NAME --url pop3s://USER@HOST:PORT …)")
        return
    echo(table(CHANNEL_COLUMNS, [channel_row(c) for c in channels]))


@channel_app.command("show")
def channel_show(name: str, as_json: JsonOpt = False) -> None:
    """One channel with its health and the steps of its last connection check."""
    channel = current_app().channels.show(name)
    data = channel_detail_json(channel)
    if as_json:
        print_json(data)
        return
    for key, value in data.items():
        if key != "last_check" and value is not None:
            echo(f"{key + ':':18} {shown(value)}")
    for step in (channel.last_check or {}).get("steps", []):
        error = f": {shown(step['error'])}" if step["error"] else ""
        echo(f"  {MARK[step['ok']]} {shown(step['name'])}{error}")


@channel_app.command("enable")
def channel_enable(
    name: str,
    force: Annotated[bool, typer.Option(help="enable without a passing check")] = False,
) -> None:
    """Enable a channel: its connection check must pass (or --force)."""
    admission = current_app().channels.enable(name, force=force)
    echo_enabled(f"channel {name}", admission, f"postroom channel set {name}")


@channel_app.command("disable")
def channel_disable(name: str) -> None:
    """Stop polling a channel."""
    current_app().channels.disable(name)
    echo(f"channel {name} disabled")


@channel_app.command("remove")
def channel_remove(name: str) -> None:
    """Forget a channel (its stored messages stay)."""
    current_app().channels.remove(name)
    echo(f"channel {name} removed")


@channel_app.command("check")
def channel_check(name: str, as_json: JsonOpt = False) -> None:
    """Run `postroom check` with the channel's stored settings; keeps the result."""
    report = current_app().channels.check(name)
    if as_json:
        print_json(report.to_json())
    else:
        echo(check_text(report))
    if not report.ok:
        raise SystemExit(1)


@channel_app.command("set-smtp")
def channel_set_smtp(
    name: str,
    url: Annotated[
        str | None,
        typer.Option(help="smtps://HOST:PORT or submission://HOST:PORT; omit to stop"),
    ] = None,
) -> None:
    """The channel sends its own mail with its own credentials (and authorization identity)."""
    own = current_app().channels.set_smtp(name, url)
    if own is None:
        echo(f"channel {name} no longer sends its own mail")
        return
    echo(
        f"channel {name} sends mail from {shown(own.address)} through {shown(own.url)} "
        f"as {shown(own.login)}"
    )


def register(app: typer.Typer) -> None:
    app.add_typer(channel_app, name="channel")
