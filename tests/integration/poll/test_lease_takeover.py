"""A restarted `postroom run` polls at once the channels a killed process held (issue 10, item
12): a lease whose holder is a dead process of this host is taken over, not waited out; the
lease of a live process, or of another host, is respected."""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import update

from postroom.bootstrap import App
from postroom.clock import utcnow
from postroom.storage.tables import channels as channels_table
from support.mails import make_mail
from support.scripted_pop3 import ScriptedPop3, add_channel


@pytest.fixture
def servers() -> Iterator[dict[str, ScriptedPop3]]:
    started = {name: ScriptedPop3().start() for name in ("dead", "live", "remote", "free")}
    yield started
    for server in started.values():
        server.close()


@pytest.fixture
def live_pid() -> Iterator[int]:
    """Another process of this host, alive for the whole test."""
    proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(300)"])
    yield proc.pid
    proc.kill()
    proc.wait()


def dead_pid() -> int:
    """A process of this host that has exited (and been reaped)."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


def setup_channels(app: App, servers: dict[str, ScriptedPop3], live: int) -> dict[str, str]:
    """One channel per server, each with a message; all but "free" leased for 10 minutes."""
    host = socket.gethostname()
    holders = {"dead": f"{host}:{dead_pid()}", "live": f"{host}:{live}", "remote": "elsewhere:1"}
    until = utcnow() + timedelta(minutes=10)
    for name, server in servers.items():
        server.add(make_mail(subject=f"for {name}"))
        channel_id = add_channel(app, server, name)
        if name in holders:
            with app.engine.begin() as conn:
                conn.execute(
                    update(channels_table)
                    .where(channels_table.c.id == channel_id)
                    .values(lease_owner=holders[name], lease_until=until)
                )
    return holders


def test_due_includes_a_channel_leased_by_a_dead_process_here(
    postroom_env: dict[str, str], servers: dict[str, ScriptedPop3], live_pid: int
) -> None:
    app = App()
    setup_channels(app, servers, live_pid)
    with app.storage.reading() as uow:
        due = {channel.name for channel in uow.polls.due(utcnow())}
    assert due == {"dead", "free"}


def test_run_takes_over_a_dead_process_lease_at_once(
    postroom_env: dict[str, str], servers: dict[str, ScriptedPop3], live_pid: int
) -> None:
    app = App()
    holders = setup_channels(app, servers, live_pid)
    stop = threading.Event()
    runner = threading.Thread(target=app.scheduler().run, args=(stop, 0.1), daemon=True)
    runner.start()
    try:
        deadline = time.monotonic() + 30  # the lease would last 10 minutes
        while time.monotonic() < deadline and (servers["dead"].uids() or servers["free"].uids()):
            time.sleep(0.05)
        time.sleep(1.0)  # time enough for a wrong poll of the other two to begin
    finally:
        stop.set()
        runner.join(timeout=30)
    assert servers["dead"].uids() == [] and servers["free"].uids() == []
    assert servers["live"].sessions == 0 and servers["remote"].sessions == 0
    with app.storage.reading() as uow:
        rows = {channel.name: channel for channel in uow.channels.all()}
    assert rows["live"].lease_owner == holders["live"]
    assert rows["remote"].lease_owner == holders["remote"]
    assert rows["dead"].lease_owner is None  # taken over, then released
