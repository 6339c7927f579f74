"""`postroom check URL`: test a mail server step by step; `postroom auth-string`."""

from __future__ import annotations

import getpass
import sys
from pathlib import Path
from typing import Annotated, Literal

import typer

from postroom.cli.output import echo, print_json
from postroom.cli.secrets_input import password_input
from postroom.errors import UserError
from postroom.net import sasl
from postroom.net.connection import MailUrl
from postroom.net.sasl import AuthMechanism
from postroom.ports.mailbox import check_folder
from postroom.render.checks import check_json, check_text, untested_steps
from postroom.services.probe import check_url

CheckMechanism = Literal["auto", "plain", "login", "xoauth2", "oauthbearer"]
"""`check --mechanism`: how the check logs in (IMAP; ``user`` is POP3's and ``auto`` there)."""
SaslChoice = Literal["plain", "login"]
"""`auth-string --mechanism`: the SASL mechanisms of `AuthMechanism` that a person can
encode by hand (``auto`` needs a server to ask; POP3 ``user`` is not SASL)."""


INCOMPLETE = 3
"""Exit status of a check whose every step that ran passed but that never tested the login
(no password given): not a pass a script may take for one (docs/cli.md)."""


def _usage(message: str) -> typer.BadParameter:
    """A usage mistake: exit status 2 with a one-line reason."""
    return typer.BadParameter(message)


def read_password(env_var: str | None, from_stdin: bool) -> str | None:
    """The password from an environment variable or the first line of stdin; never argv
    (the variable's value is never echoed, see `postroom.cli.secrets_input`)."""
    if env_var is not None and from_stdin:
        raise _usage("give the password with --password-env or --password-stdin, not both")
    secret = password_input(env_var, sys.stdin.readline() if from_stdin else None)
    return secret.reveal() if secret is not None else None


def _pop3_token(url: MailUrl, how: AuthMechanism) -> bool:
    """``--mechanism`` as a check of a non-IMAP URL takes it: none, or an access token's
    over POP3."""
    token = url.protocol == "pop3" and how in (AuthMechanism.XOAUTH2, AuthMechanism.OAUTHBEARER)
    return how is AuthMechanism.AUTO or token


def register(app: typer.Typer) -> None:
    """Add this module's commands to `app`."""

    @app.command("check")
    def check(
        url: Annotated[
            str,
            typer.Argument(help="pop3[s]://, imap[s]://, smtp[s]://, submission:// USER@HOST:PORT"),
        ],
        password_env: Annotated[
            str | None, typer.Option(help="read the password from this environment variable")
        ] = None,
        password_stdin: Annotated[
            bool, typer.Option(help="read the password from the first line of stdin")
        ] = False,
        authzid: Annotated[
            str | None, typer.Option(help="act for this mailbox (SASL authorization identity)")
        ] = None,
        ca_file: Annotated[
            Path | None, typer.Option(help="trust the CA certificates in this PEM file")
        ] = None,
        send_to: Annotated[
            str | None, typer.Option(help="SMTP: send a test message to this address")
        ] = None,
        timeout: Annotated[float, typer.Option(help="seconds to wait for each answer")] = 10.0,
        folder: Annotated[
            str | None, typer.Option(help="IMAP: open this folder read-only (INBOX)")
        ] = None,
        mechanism: Annotated[
            CheckMechanism,
            typer.Option(
                help="IMAP login; xoauth2|oauthbearer (IMAP, POP3) take an access token as password"
            ),
        ] = "auto",
        json_output: Annotated[bool, typer.Option("--json", help="print JSON")] = False,
    ) -> None:
        """Test a mail server: DNS, TCP, TLS, certificate, greeting, capabilities, login,
        mailbox (or a test message). Exit status 0 when every step that ran passed."""
        try:
            mail_url = MailUrl.parse(url)
        except UserError as exc:
            raise _usage(str(exc)) from None
        if send_to is not None and mail_url.protocol != "smtp":
            raise _usage("--send-to needs an smtp://, submission:// or smtps:// URL")
        if timeout <= 0:
            raise _usage("--timeout must be more than 0 seconds")
        how = AuthMechanism(mechanism)
        if mail_url.protocol != "imap" and (folder is not None or not _pop3_token(mail_url, how)):
            raise _usage(
                "--folder and --mechanism need an imap:// or imaps:// URL "
                "(POP3 takes --mechanism xoauth2|oauthbearer)"
            )
        if folder is not None:
            try:
                check_folder(folder)
            except UserError as exc:
                raise _usage(str(exc)) from None
        if ca_file is not None and not ca_file.is_file():
            raise _usage(f"no CA file {ca_file}")
        password = read_password(password_env, password_stdin)
        try:
            report = check_url(
                mail_url,
                password,
                authzid,
                ca_file,
                send_to,
                timeout,
                folder=folder,
                mechanism=how,
            )
        except UserError as exc:
            raise _usage(str(exc)) from None
        if json_output:
            print_json(check_json(report))
        else:
            echo(check_text(report))
        if not report.ok:
            raise SystemExit(1)
        if untested_steps(report):
            raise SystemExit(INCOMPLETE)

    @app.command("auth-string")
    def auth_string(
        user: Annotated[str, typer.Option(help="the login (authentication identity)")],
        password_env: Annotated[
            str | None, typer.Option(help="read the password from this environment variable")
        ] = None,
        authzid: Annotated[
            str | None, typer.Option(help="act for this mailbox (PLAIN only)")
        ] = None,
        mechanism: Annotated[SaslChoice, typer.Option(help="plain or login")] = "plain",
    ) -> None:
        """Print the Base64 lines of AUTH PLAIN / AUTH LOGIN, for testing a server by hand.
        Without --password-env the password is asked for (or read from stdin)."""
        password = read_password(password_env, False)
        if password is None:
            if sys.stdin.isatty():
                password = getpass.getpass("password: ")
            else:
                password = sys.stdin.readline().rstrip("\r\n")
        if AuthMechanism(mechanism) is AuthMechanism.LOGIN:
            if authzid:
                raise _usage("AUTH LOGIN has no authorization identity: use --mechanism plain")
            encoded_user, encoded_password = sasl.login(user, password)
            sys.stdout.write(f"AUTH LOGIN\n{encoded_user}\n{encoded_password}\n")
        else:
            sys.stdout.write(f"AUTH PLAIN {sasl.plain(user, password, authzid)}\n")
