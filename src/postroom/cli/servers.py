"""`postroom smtp …`: outbound SMTP servers, their checks and whether they are used."""

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
from postroom.render.config import server_detail_json, server_json
from postroom.services.servers import NewServer, ServerChange

smtp_app = typer.Typer(help="Outbound SMTP servers.")


@smtp_app.command("add")
def smtp_add(
    name: str,
    url: Annotated[str, typer.Option(help="smtps://USER@HOST:PORT or submission://… (STARTTLS)")],
    password_env: PasswordEnv = None,
    password_stdin: PasswordStdin = False,
    authzid: Authzid = None,
    ca_file: CaFile = None,
    send_as: Annotated[bool, typer.Option(help="may send for any From address")] = False,
    default: Annotated[bool, typer.Option(help="the server-wide server")] = False,
    force: Force = False,
    mechanism: Annotated[
        AuthMechanism, typer.Option(help="with --oauth2: xoauth2 (auto) or oauthbearer")
    ] = AuthMechanism.AUTO,
    oauth2: OAuth2 = None,
    token_url: TokenUrl = None,
    device_url: DeviceUrl = None,
    client_id: ClientId = None,
    client_secret_env: ClientSecretEnv = None,
    scope: Scope = None,
    tenant: Tenant = None,
    refresh_token_env: RefreshTokenEnv = None,
) -> None:
    """Add an SMTP server; it is enabled once its connection check passes (with --oauth2,
    once it is signed in: postroom smtp authorize NAME, or --refresh-token-env)."""
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
    new = NewServer(
        name=name,
        url=url,
        password=password,
        authzid=authzid,
        ca_file=ca_file,
        send_as=send_as,
        default=default,
        oauth=oauth,
        mechanism=mechanism,
    )
    added = current_app().servers.add(new, force=force)
    if added.sign_in is not None:
        echo(f"SMTP server {name} added, disabled until it is signed in ({added.sign_in})")
        return
    roles = [r for r, on in (("send-as", send_as), ("default", default)) if on]
    echo_added(
        f"SMTP server {name}",
        added.server.url,
        added.admission,
        f"postroom smtp set {name}",
        f" ({', '.join(roles)})" if roles else "",
    )


@smtp_app.command("show")
def smtp_show(name: str, as_json: JsonOpt = False) -> None:
    """One SMTP server (never its password) and the steps of its last connection check."""
    server = current_app().servers.show(name)
    data = server_detail_json(server)
    if as_json:
        print_json(data)
        return
    for key, value in data.items():
        if key != "last_check" and value is not None:
            echo(f"{key + ':':15} {shown(value)}")
    for step in (server.last_check or {}).get("steps", []):
        error = f": {shown(step['error'])}" if step["error"] else ""
        echo(f"  {MARK[step['ok']]} {shown(step['name'])}{error}")


@smtp_app.command("set")
def smtp_set(
    name: str,
    url: Annotated[
        str | None, typer.Option(help="smtps://USER@HOST:PORT or submission://… (STARTTLS)")
    ] = None,
    password_env: PasswordEnv = None,
    password_stdin: PasswordStdin = False,
    authzid: Annotated[
        str | None, typer.Option(help='act for this mailbox ("" removes it)')
    ] = None,
    ca_file: CaFile = None,
    send_as: Annotated[
        bool | None, typer.Option("--send-as/--no-send-as", help="may send for any From")
    ] = None,
    default: Annotated[
        bool | None, typer.Option("--default/--no-default", help="the server-wide server")
    ] = None,
    mechanism: Annotated[
        AuthMechanism | None, typer.Option(help="with --oauth2: xoauth2 or oauthbearer")
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
    """Change an SMTP server; a changed connection setting is checked before it is used
    again."""
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
    change = ServerChange(
        url=url,
        password=password,
        authzid=authzid,
        ca_file=ca_file,
        send_as=send_as,
        default=default,
        oauth=oauth,
        mechanism=mechanism,
    )
    changed = current_app().servers.set(name, change)
    if changed.sign_in is not None:
        echo(f"SMTP server {name} changed, disabled until it is signed in ({changed.sign_in})")
        return
    echo_changed(f"SMTP server {name}", changed.admission, f"postroom smtp set {name}")


@smtp_app.command("authorize")
def smtp_authorize(name: str, refresh_token_env: RefreshTokenEnv = None) -> None:
    """Sign an OAuth2 SMTP server in: the device-code sign-in (open the page shown and
    enter the code), or the refresh token in --refresh-token-env; then check and enable it."""
    refresh_token = env_secret("--refresh-token-env", refresh_token_env)
    progress = None if refresh_token is not None else DeviceSignIn()
    admission = current_app().servers.authorize(name, refresh_token, progress)
    echo_signed_in(f"SMTP server {name}", admission, f"postroom smtp set {name}")


@smtp_app.command("remove")
def smtp_remove(name: str) -> None:
    """Forget an SMTP server (queued mail goes through another one, or waits)."""
    current_app().servers.remove(name)
    echo(f"SMTP server {name} removed")


@smtp_app.command("list")
def smtp_list(as_json: JsonOpt = False) -> None:
    """The SMTP servers (never a password)."""
    rows = [server_json(s) for s in current_app().servers.list()]
    if as_json:
        print_json(rows)
        return
    for r in rows:
        roles = [k for k in ("send_as", "default") if r[k]]
        state = "enabled" if r["enabled"] else "disabled"
        echo(f"{shown(r['name'])}\t{shown(r['url'])}\t{state}\t{','.join(roles) or '-'}")


@smtp_app.command("enable")
def smtp_enable(
    name: str,
    force: Annotated[bool, typer.Option(help="enable without a passing check")] = False,
) -> None:
    """Use this server: its connection check must pass (or --force)."""
    admission = current_app().servers.enable(name, force=force)
    echo_enabled(f"SMTP server {name}", admission, f"postroom smtp set {name}")


@smtp_app.command("check")
def smtp_check(
    name: str,
    send_to: Annotated[str | None, typer.Option(help="send a test message to this address")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run `postroom check` with the server's stored settings; keeps the result."""
    report = current_app().servers.check(name, send_to)
    if as_json:
        print_json(report.to_json())
    else:
        echo(check_text(report))
    if not report.ok:
        raise SystemExit(1)


@smtp_app.command("disable")
def smtp_disable(name: str) -> None:
    """Stop using this server (its mail waits in the outbox or goes through another)."""
    current_app().servers.disable(name)
    echo(f"SMTP server {name} disabled")


def register(app: typer.Typer) -> None:
    app.add_typer(smtp_app, name="smtp")
