"""`postroom smtp …` (outbound servers) and `postroom outbox send|retry|cancel`."""

from __future__ import annotations

import sys
from typing import Annotated, Any

import typer

from postroom.cli.mailqueues import outbox_app, outbox_json
from postroom.cli.options import Authzid, CaFile, Force, JsonOpt, PasswordEnv, PasswordStdin
from postroom.cli.output import echo, print_json, shown
from postroom.cli.state import current_app
from postroom.credentials import Secret, password_from
from postroom.diagnostics import CheckReport
from postroom.errors import UserError
from postroom.net.connection import MailUrl
from postroom.services.checks import check_stored, first_failure
from postroom.services.ingest import utcnow
from postroom.services.send import OutboxSender
from postroom.storage import outbox, servers
from postroom.storage.database import reading

smtp_app = typer.Typer(help="Outbound SMTP servers.")


def server_json(row: Any) -> dict[str, Any]:
    """An SMTP server for people and scripts: never its password."""
    return {
        "name": row.name,
        "url": row.url,
        "authzid": row.authzid,
        "ca_file": row.ca_file,
        "send_as": bool(row.send_as),
        "default": bool(row.is_default),
        "enabled": bool(row.enabled),
        "has_password": row.password_enc is not None,
        "last_check_ok": row.last_check_ok,
    }


def parse_smtp_url(text: str) -> MailUrl:
    url = MailUrl.parse(text)
    if url.protocol != "smtp":
        raise UserError("SMTP servers take smtps://, submission:// or smtp:// URLs")
    return url


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
) -> None:
    """Add an SMTP server; it is enabled once its connection check passes."""
    parsed = parse_smtp_url(url)
    if ca_file is not None and not ca_file.is_file():
        raise UserError(f"CA file {ca_file} does not exist")
    password = password_from(password_env, sys.stdin.read() if password_stdin else None)
    if parsed.user and password is None:
        raise UserError("give the password with --password-env VAR or --password-stdin")
    if password is not None and not parsed.user:
        raise UserError("a password needs a user in the URL: smtps://USER@HOST:PORT")
    if authzid and not parsed.user:
        raise UserError("--authzid needs a user in the URL")
    application = current_app()
    with application.engine.begin() as conn:
        servers.add_server(
            conn,
            name=name,
            url=str(parsed),
            password_enc=application.secrets.seal(password) if password else None,
            authzid=authzid,
            ca_file=str(ca_file.resolve()) if ca_file else None,
            send_as=send_as,
            is_default=default,
            now=utcnow(),
            enabled=False,
        )
    roles = [r for r, on in (("send-as", send_as), ("default", default)) if on]
    suffix = f" ({', '.join(roles)})" if roles else ""
    report = _check(application, name, password)
    if report.ok or force:
        with application.engine.begin() as conn:
            servers.set_enabled(conn, name, True)
    if report.ok:
        echo(f"SMTP server {name} added and enabled: check passed ({parsed}){suffix}")
    elif force:
        echo(f"SMTP server {name} added and enabled (--force): {shown(first_failure(report))}")
    else:
        echo(
            f"SMTP server {name} added but disabled: check failed at "
            f"{shown(first_failure(report))}; "
            f"fix it and run: postroom smtp enable {name}"
        )


def _check(
    application: Any, name: str, password: Secret | None = None, send_to: str | None = None
) -> CheckReport:
    """Check a stored server and keep the result with it."""
    with reading(application.engine) as conn:
        row = servers.get_server(conn, name)
    if password is None and row.password_enc:
        password = application.secrets.open(row.password_enc)
    report = check_stored(row, password, send_to)
    with application.engine.begin() as conn:
        servers.record_check(conn, name, report.to_json(), report.ok)
    return report


@smtp_app.command("list")
def smtp_list(as_json: JsonOpt = False) -> None:
    """The SMTP servers (never a password)."""
    with reading(current_app().engine) as conn:
        rows = [server_json(r) for r in servers.list_servers(conn)]
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
    application = current_app()
    if not force:
        report = _check(application, name)
        if not report.ok:
            raise UserError(
                f"SMTP server {name} stays disabled: check failed at {first_failure(report)} "
                "(use --force to enable anyway)"
            )
    with application.engine.begin() as conn:
        servers.set_enabled(conn, name, True)
    echo(f"SMTP server {name} enabled" + (" (--force)" if force else ": check passed"))


@smtp_app.command("check")
def smtp_check(
    name: str,
    send_to: Annotated[str | None, typer.Option(help="send a test message to this address")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Run `postroom check` with the server's stored settings; keeps the result."""
    from postroom.cli.check import render

    report = _check(current_app(), name, send_to=send_to)
    if as_json:
        print_json(report.to_json())
    else:
        echo(render(report))
    if not report.ok:
        raise SystemExit(1)


@smtp_app.command("disable")
def smtp_disable(name: str) -> None:
    """Stop using this server (its mail waits in the outbox or goes through another)."""
    with current_app().engine.begin() as conn:
        servers.set_enabled(conn, name, False)
    echo(f"SMTP server {name} disabled")


@outbox_app.command("send")
def outbox_send(as_json: JsonOpt = False) -> None:
    """Send what is due now, then exit."""
    application = current_app()
    sender = OutboxSender(application.engine, application.blobs, application.secrets)
    report = sender.send_due(utcnow())
    if as_json:
        print_json(report.to_json())
        return
    echo(
        f"sent {report.sent}, retrying {report.retrying}, failed {report.failed}, "
        f"unknown {report.unknown}, skipped {report.skipped}"
    )
    for error in report.errors:
        echo(f"  {shown(error)}", err=True)


OutboxId = Annotated[int, typer.Argument(metavar="ID")]


@outbox_app.command("retry")
def outbox_retry(row_id: OutboxId, as_json: JsonOpt = False) -> None:
    """Send it again at the next round (attempts start from zero)."""
    with current_app().engine.begin() as conn:
        row = outbox.retry(conn, row_id, utcnow())
    _done(row, as_json)


@outbox_app.command("cancel")
def outbox_cancel(row_id: OutboxId, as_json: JsonOpt = False) -> None:
    """Never send it."""
    with current_app().engine.begin() as conn:
        row = outbox.cancel(conn, row_id)
    _done(row, as_json)


def _done(row: Any, as_json: bool) -> None:
    if as_json:
        print_json(outbox_json(row))
    else:
        echo(f"{row.id} {row.status}")


def register(app: typer.Typer) -> None:
    app.add_typer(smtp_app, name="smtp")
