"""Helpers for polling tests: a channel on a fresh mailbox, the CLI, counts in the database."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, func, select

from e2e.cli import Result, run_cli
from postroom.storage.tables import communications, messages, work_items
from support.mailstack import Mailstack


@dataclass
class Box:
    """A fresh mailbox, routed, with a Postroom channel on it."""

    address: str
    password: str
    channel: str


class Postroom:
    def __init__(self, capsys: pytest.CaptureFixture[str], env: dict[str, str], stack: Mailstack):
        self.capsys = capsys
        self.env = env
        self.stack = stack

    def __call__(self, *argv: str, stdin: bytes = b"") -> Result:
        return run_cli(self.capsys, *argv, stdin=stdin)

    def ok(self, *argv: str) -> str:
        result = self(*argv)
        assert result.code == 0, f"{argv}: {result.out} {result.err}"
        return result.out

    def channel_add(self, name: str, url: str, password: str, *extra: str) -> Result:
        os.environ["TEST_CHANNEL_PW"] = password
        return self(
            "channel",
            "add",
            name,
            "--url",
            url,
            "--password-env",
            "TEST_CHANNEL_PW",
            "--ca-file",
            str(self.stack.ca_file),
            *extra,
        )

    def mailbox(self, prefix: str = "box", route: bool = True, scheme: str = "pop3s") -> Box:
        address, password = self.stack.new_user(prefix)
        name = address.split("@")[0]
        port = self.stack.pop3s_port if scheme == "pop3s" else self.stack.pop3_port
        if route:
            self.ok(
                "route",
                "add",
                address,
                "--context",
                "Acme",
                "--category",
                "Mail",
                "--queue",
                "inbox",
            )
        result = self.channel_add(name, f"{scheme}://{address}@127.0.0.1:{port}", password)
        assert result.code == 0 and "enabled" in result.out, result.out + result.err
        return Box(address, password, name)

    def channel(self, name: str) -> dict[str, Any]:
        rows = self("channel", "list", "--json").json()
        return next(r for r in rows if r["name"] == name)

    def poll_json(self, *names: str) -> list[dict[str, Any]]:
        args = [a for n in names for a in ("--channel", n)]
        result = self("poll", "--json", *args)
        assert result.out.strip(), f"poll printed nothing (exit {result.code}): {result.err}"
        return result.json()  # type: ignore[no-any-return]

    # ---------------------------------------------------------------- database truth
    def counts(self) -> dict[str, int]:
        engine = create_engine(self.env["POSTROOM_DATABASE_URL"])
        try:
            with engine.connect() as conn:
                return {
                    "messages": conn.execute(
                        select(func.count()).select_from(messages)
                    ).scalar_one(),
                    "inbound": conn.execute(
                        select(func.count())
                        .select_from(communications)
                        .where(communications.c.direction == "in")
                    ).scalar_one(),
                    "tickets": conn.execute(
                        select(func.count()).select_from(work_items)
                    ).scalar_one(),
                    "distinct_ids": conn.execute(
                        select(func.count(func.distinct(messages.c.message_id)))
                    ).scalar_one(),
                }
        finally:
            engine.dispose()

    def subprocess_poll(self, failpoints: str = "", timeout: float = 60) -> int:
        env = {**os.environ, **self.env, "POSTROOM_FAILPOINTS": failpoints}
        proc = subprocess.run(
            [sys.executable, "-m", "postroom", "poll", "--json"],
            env=env,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        return proc.returncode


@pytest.fixture
def postroom(
    capsys: pytest.CaptureFixture[str], postroom_env: dict[str, str], mailstack: Mailstack
) -> Postroom:
    return Postroom(capsys, postroom_env, mailstack)


@pytest.fixture
def silent_server() -> Iterator[int]:
    """A port that accepts connections and never says a word."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = server.accept()
                held.append(conn)
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield server.getsockname()[1]
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


def eml(path: Path) -> bytes:
    return path.read_bytes()
