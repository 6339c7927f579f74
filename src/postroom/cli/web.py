"""`postroom web`: the HTTP service alone (docs/web.md), on ``--listen`` or
``POSTROOM_LISTEN``; while no admin exists it prints one sign-up link first."""

from __future__ import annotations

import socket
from typing import Annotated

import typer

from postroom.bootstrap import App
from postroom.cli.output import echo, fail
from postroom.cli.state import current_app
from postroom.runtime.web_process import ASGIApp


def register(app: typer.Typer) -> None:
    @app.command("web")
    def web(
        listen: Annotated[
            str | None,
            typer.Option(help="HOST:PORT to listen on (default: POSTROOM_LISTEN, 127.0.0.1:8025)"),
        ] = None,
    ) -> None:
        """Serve the REST API, sign-in, health and metrics over HTTP."""
        import uvicorn

        from postroom.web.app import create_app
        from postroom.web.listen import parse_listen

        postroom = current_app()
        text = listen if listen is not None else postroom.settings.listen
        try:
            address = parse_listen(text)
        except ValueError as exc:
            fail(f"--listen {text}: {exc}", code=2)
        try:
            sock = _bound(address.host, address.port)
        except OSError as exc:
            fail(f"cannot listen on {address}: {exc.strerror or exc}", code=1)
        web_app = create_app(postroom)
        token = postroom.accounts.signup_token()
        if token is not None:
            echo(f"no admin yet: sign up at http://{address}/signup?token={token}")
        echo(f"serving on http://{address} (stop with Ctrl-C)")
        config = uvicorn.Config(
            web_app,
            log_level="info",
            access_log=False,  # a request line can hold a secret (the sign-up link's token)
            server_header=False,
            proxy_headers=True,
        )
        uvicorn.Server(config).run(sockets=[sock])


def _bound(host: str, port: int) -> socket.socket:
    """The listening socket, bound before anything is printed: a port in use is one line,
    not a sign-up link to nowhere."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    infos = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
    # The protocol named (IPPROTO_TCP), not 0: asyncio sets TCP_NODELAY on accepted
    # connections only then; without it a reused connection waits ~40 ms per answer.
    sock = socket.socket(infos[0][0], socket.SOCK_STREAM, infos[0][2])
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind(infos[0][4])
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def web_app(application: App) -> ASGIApp:
    """The web application on ``application``: what `postroom run`'s web process serves
    (module-level, so a web process started again gets it by name)."""
    from postroom.web.app import create_app

    return create_app(application)


def listening(listen: str | None, default: str) -> tuple[str, socket.socket]:
    """``HOST:PORT`` (``listen``, else ``default``) and its bound socket, for `postroom run`:
    a bad address exits 2, a port that cannot be taken exits 1, each with one line naming
    the fix, before anything else starts."""
    from postroom.web.listen import parse_listen

    text = listen if listen is not None else default
    option = "--listen" if listen is not None else "POSTROOM_LISTEN"
    try:
        address = parse_listen(text)
    except ValueError as exc:
        fail(f"{option} {text[:80]}: {exc}", code=2)
    try:
        sock = _bound(address.host, address.port)
    except OSError as exc:
        fail(
            f"cannot listen on {address}: {exc.strerror or exc}; stop what uses it, choose "
            "another address with --listen HOST:PORT (or POSTROOM_LISTEN), or run without "
            "the web service: postroom run --no-web",
            code=1,
        )
    return str(address), sock
