"""`postroom channel …`: input channels (mailboxes), their checks and their health."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from postroom.cli.options import Authzid, CaFile, Force, JsonOpt, PasswordEnv, PasswordStdin
from postroom.cli.output import echo, print_json, shown
from postroom.cli.state import current_app
from postroom.credentials import password_from
from postroom.diagnostics import CheckReport
from postroom.errors import UserError
from postroom.mailboxes import AuthMechanism
from postroom.net.connection import MailUrl
from postroom.services.checks import check_stored, failure_class, first_failure
from postroom.services.ingest import utcnow
from postroom.storage import channels
from postroom.storage.database import reading

channel_app = typer.Typer(help="Input channels: the mailboxes Postroom polls.")
"""Other modules (SMTP) add their commands to this group."""


def _iso(value: Any) -> str | None:
    return value.isoformat() + "Z" if value is not None else None


def channel_json(row: Any) -> dict[str, Any]:
    return {
        "name": row.name,
        "url": row.url,
        "address": row.address,
        "authzid": row.authzid,
        "ca_file": row.ca_file,
        "interval": row.interval_s,
        "max_failures": row.max_failures,
        "enabled": bool(row.enabled),
        "disabled_reason": row.disabled_reason,
        "failure_count": row.failure_count,
        "last_error_class": row.last_error_class,
        "last_error": row.last_error,
        "last_error_at": _iso(row.last_error_at),
        "last_success": _iso(row.last_success),
        "last_poll": _iso(row.last_poll),
        "next_poll": _iso(row.next_poll),
        "last_check_ok": row.last_check_ok,
        "smtp_url": row.smtp_url,
    }


def _store_check(conn: Any, row: Any, report: CheckReport, enable: bool) -> None:
    values: dict[str, Any] = {"last_check": report.to_json(), "last_check_ok": report.ok}
    if report.ok:
        if enable:
            values.update(enabled=True, disabled_reason=None, failure_count=0)
    else:
        values.update(
            last_error_class=failure_class(report),
            last_error=first_failure(report),
            last_error_at=utcnow(),
            failure_count=int(row.failure_count) + 1,
        )
    channels.set_values(conn, row.id, **values)


@channel_app.command("add")
def channel_add(
    name: str,
    url: Annotated[str, typer.Option(help="pop3://USER@HOST:PORT (STLS) or pop3s://…")],
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
) -> None:
    """Add an input channel; it is enabled once its connection check passes."""
    parsed = MailUrl.parse(url)
    if parsed.protocol != "pop3":
        raise UserError("input channels take pop3:// or pop3s:// URLs")
    if not parsed.user:
        raise UserError("the URL needs the login: pop3s://USER@HOST:PORT")
    if ca_file is not None and not ca_file.is_file():
        raise UserError(f"CA file {ca_file} does not exist")
    password = password_from(password_env, sys.stdin.read() if password_stdin else None)
    if password is None:
        raise UserError("give the password with --password-env VAR or --password-stdin")
    if authzid and mechanism in (AuthMechanism.LOGIN, AuthMechanism.USER):
        raise UserError("an authorization identity needs --mechanism plain or auto")
    own = address or authzid or (parsed.user if "@" in parsed.user else None)
    application = current_app()
    with application.engine.begin() as conn:
        channel_id = channels.add_channel(
            conn,
            utcnow(),
            name=name,
            url=str(parsed),
            address=own.lower() if own else None,
            password_enc=application.secrets.seal(password),
            authzid=authzid,
            ca_file=str(ca_file.resolve()) if ca_file else None,
            mechanism=mechanism.value,
            interval_s=interval,
            max_failures=max_failures,
            timeout_s=timeout,
            enabled=False,
        )
        row = channels.by_id(conn, channel_id)
    if no_check:
        echo(f"channel {name} added, disabled (enable it after: postroom channel check)")
        return
    report = check_stored(row, password)
    with application.engine.begin() as conn:
        _store_check(conn, row, report, enable=report.ok)
        if force and not report.ok:
            channels.set_values(conn, row.id, enabled=True, disabled_reason=None)
    if report.ok:
        echo(f"channel {name} added and enabled: check passed ({parsed})")
    elif force:
        echo(f"channel {name} added and enabled (--force): {shown(first_failure(report))}")
    else:
        echo(
            f"channel {name} added but disabled: check failed at {shown(first_failure(report))}; "
            f"fix it and run: postroom channel enable {name}"
        )


@channel_app.command("list")
def channel_list(as_json: JsonOpt = False) -> None:
    """Channels with their health: failure count, classified last error, last success."""
    with reading(current_app().engine) as conn:
        rows = [channel_json(r) for r in channels.list_channels(conn)]
    if as_json:
        print_json(rows)
        return
    for r in rows:
        state = "enabled" if r["enabled"] else "disabled"
        health = f"failures {r['failure_count']}"
        if r["last_error_class"]:
            health += f" ({shown(r['last_error_class'])}: {shown(r['last_error'])})"
        last = r["last_success"] or "never"
        echo(f"{shown(r['name'])}\t{shown(r['url'])}\t{state}\t{health}\tlast success {last}")
        if r["disabled_reason"]:
            echo(f"\t{shown(r['disabled_reason'])}")


@channel_app.command("show")
def channel_show(name: str, as_json: JsonOpt = False) -> None:
    """One channel with its health and the steps of its last connection check."""
    with reading(current_app().engine) as conn:
        row = channels.get_channel(conn, name)
    data = channel_json(row)
    data["last_check"] = row.last_check
    if as_json:
        print_json(data)
        return
    for key, value in data.items():
        if key != "last_check" and value is not None:
            echo(f"{key + ':':18} {shown(value)}")
    for step in (row.last_check or {}).get("steps", []):
        mark = {True: "✓", False: "✗", None: "·"}[step["ok"]]
        error = f": {shown(step['error'])}" if step["error"] else ""
        echo(f"  {mark} {shown(step['name'])}{error}")


@channel_app.command("enable")
def channel_enable(
    name: str,
    force: Annotated[bool, typer.Option(help="enable without a passing check")] = False,
) -> None:
    """Enable a channel: its connection check must pass (or --force)."""
    application = current_app()
    with reading(application.engine) as conn:
        row = channels.get_channel(conn, name)
    if force:
        with application.engine.begin() as conn:
            channels.set_values(conn, row.id, enabled=True, disabled_reason=None, failure_count=0)
        echo(f"channel {name} enabled (--force)")
        return
    password = application.secrets.open(row.password_enc) if row.password_enc else None
    report = check_stored(row, password)
    with application.engine.begin() as conn:
        _store_check(conn, row, report, enable=True)
    if not report.ok:
        raise UserError(
            f"channel {name} stays disabled: check failed at {first_failure(report)} "
            "(use --force to enable anyway)"
        )
    echo(f"channel {name} enabled: check passed")


@channel_app.command("disable")
def channel_disable(name: str) -> None:
    """Stop polling a channel."""
    with current_app().engine.begin() as conn:
        row = channels.get_channel(conn, name)
        channels.set_values(conn, row.id, enabled=False, disabled_reason="disabled by a user")
    echo(f"channel {name} disabled")


@channel_app.command("remove")
def channel_remove(name: str) -> None:
    """Forget a channel (its stored messages stay)."""
    with current_app().engine.begin() as conn:
        channels.remove_channel(conn, name)
    echo(f"channel {name} removed")


@channel_app.command("check")
def channel_check(name: str, as_json: JsonOpt = False) -> None:
    """Run `postroom check` with the channel's stored settings; keeps the result."""
    from postroom.cli.check import render

    application = current_app()
    with reading(application.engine) as conn:
        row = channels.get_channel(conn, name)
    password = application.secrets.open(row.password_enc) if row.password_enc else None
    report = check_stored(row, password)
    with application.engine.begin() as conn:
        _store_check(conn, row, report, enable=False)
    if as_json:
        print_json(report.to_json())
    else:
        echo(render(report))
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
    from postroom.cli.servers import parse_smtp_url
    from postroom.storage.servers import set_channel_smtp

    application = current_app()
    with application.engine.begin() as conn:
        row = channels.get_channel(conn, name)
        if url is None:
            set_channel_smtp(conn, name, None)
            echo(f"channel {name} no longer sends its own mail")
            return
        smtp = parse_smtp_url(url)
        if not row.address:
            raise UserError(f"channel {name} has no address to send from (channel add --address)")
        set_channel_smtp(conn, name, str(smtp))
    login = MailUrl.parse(row.url).user
    echo(f"channel {name} sends mail from {shown(row.address)} through {smtp} as {shown(login)}")


def register(app: typer.Typer) -> None:
    app.add_typer(channel_app, name="channel")
