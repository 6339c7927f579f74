"""The data folder is its owner's alone (issue 10, item 13): POSTROOM_HOME is 0700 and every
file Postroom makes in it 0600 (the SQLite database, its -wal, -shm and -writer files,
secret.key, blobs and their folders), whatever the umask; a folder found wider is tightened
at start, with a warning. Real ``postroom`` commands in a subprocess with the umask set."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from support.mails import make_mail

POSTROOM = Path(sys.executable).with_name("postroom")


def _run(
    home: Path, umask: int, *args: str, stdin: bytes = b""
) -> subprocess.CompletedProcess[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTROOM_")}
    env.update(POSTROOM_HOME=str(home), CHANNEL_PASSWORD="pw")
    done = subprocess.run(
        [str(POSTROOM), *args],
        input=stdin,
        env=env,
        capture_output=True,
        check=False,
        timeout=120,
        preexec_fn=lambda: os.umask(umask),
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    return done


def _everything_postroom_does(home: Path, umask: int) -> list[str]:
    _run(home, umask, "db", "upgrade")
    _run(home, umask, "route", "add", "support@example.com", "--context", "A",
         "--category", "B", "--queue", "q", "--acknowledge")  # fmt: skip
    _run(home, umask, "ingest", "-", stdin=make_mail())  # a blob (the acknowledgement's row)
    _run(home, umask, "channel", "add", "box", "--url", "pop3://u@127.0.0.1:1",
         "--password-env", "CHANNEL_PASSWORD", "--no-check")  # fmt: skip
    return [p.name for p in home.iterdir()]


def _not_private(home: Path) -> list[str]:
    """Every path under ``home`` (itself included) whose mode is not 0700 / 0600."""
    wrong = []
    for path in [home, *home.rglob("*")]:
        mode = stat.S_IMODE(path.lstat().st_mode)
        want = 0o700 if path.is_dir() else 0o600
        if mode != want:
            wrong.append(f"{path.relative_to(home.parent)} {mode:o}")
    return wrong


@pytest.mark.parametrize("umask", [0o022, 0o000], ids=["umask022", "umask000"])
def test_a_new_data_folder_and_every_file_in_it_are_private(tmp_path: Path, umask: int) -> None:
    home = tmp_path / "data" / "postroom"
    names = _everything_postroom_does(home, umask)
    assert {"postroom.db", "secret.key", "blobs"} <= set(names), names
    assert len(list((home / "blobs").rglob("*"))) >= 2  # a blob in its folder at least
    assert _not_private(home) == []


def test_a_folder_found_wider_is_tightened_at_start(tmp_path: Path) -> None:
    home = tmp_path / "postroom"
    _everything_postroom_does(home, 0o022)
    # As an earlier version left it: everything readable by every local user.
    for path in [home, *home.rglob("*")]:
        path.chmod(0o755 if path.is_dir() else 0o644)
    done = _run(home, 0o022, "ingest", "-", stdin=make_mail(subject="later"))
    assert _not_private(home) == []
    assert b"0700" in done.stderr, done.stderr


SHOW_WHILE_OPEN = """
import json, os, stat, sys
from postroom.bootstrap import App
from postroom.storage.config import ConfigRepository
from postroom.domain.routes import Route
from datetime import datetime
app = App()
with app.engine.begin() as conn:  # a write: the WAL has frames, the pool keeps the connection
    ConfigRepository(conn).add_route(Route("x@example.com", "A", "B", "q"), datetime(2026, 11, 1))
home = app.settings.home
print(json.dumps({p.name: stat.S_IMODE(p.lstat().st_mode) for p in home.iterdir()}))
"""


def test_the_wal_and_shm_files_of_an_open_database_are_private(tmp_path: Path) -> None:
    home = tmp_path / "postroom"
    env = {k: v for k, v in os.environ.items() if not k.startswith("POSTROOM_")}
    env["POSTROOM_HOME"] = str(home)
    done = subprocess.run(
        [sys.executable, "-c", SHOW_WHILE_OPEN],
        env=env,
        capture_output=True,
        check=False,
        timeout=120,
        preexec_fn=lambda: os.umask(0),
    )
    assert done.returncode == 0, done.stderr.decode(errors="replace")
    modes = json.loads(done.stdout)
    assert {"postroom.db", "postroom.db-wal", "postroom.db-shm"} <= set(modes), modes
    assert {name: 0o600 for name in modes} == modes
