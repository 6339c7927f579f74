"""`postroom run` as a process of its own: started with its log in a file, its workers found."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

_NOT_WORKERS = (b"postroom.mime.isolated", b"resource_tracker")
_WEB_PROCESS = b"postroom-web"
"""The name of `postroom run`'s web process (runtime/web_process.py): not a poller."""


def start_run(
    env: dict[str, str], log_path: Path, workers: int, tick: float = 0.2
) -> subprocess.Popen[bytes]:
    """``postroom run`` with ``env`` added to this environment, its stderr in ``log_path``."""
    argv = ["run", "--workers", str(workers), "--tick", str(tick)]
    with log_path.open("wb") as log_file:
        return subprocess.Popen(
            [sys.executable, "-m", "postroom", *argv],
            env={**os.environ, **env},
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )


def workers(pid: int, wait: float = 10) -> list[int]:
    """The worker processes of `postroom run` ``pid`` (not its parser children), waiting up
    to ``wait`` seconds for one to show."""
    deadline = time.monotonic() + wait
    while True:
        # Per thread: a worker started again is the child of the parent's watching thread.
        children = [c for t in Path(f"/proc/{pid}/task").iterdir() for c in _read(t / "children")]
        found = [int(c) for c in children if alive(int(c)) and not _helper(int(c))]
        if found or time.monotonic() >= deadline:
            return found
        time.sleep(0.01)


def alive(pid: int) -> bool:
    """Whether ``pid`` runs (a zombie does not)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")


def _read(path: Path) -> list[str]:
    try:
        return path.read_text().split()
    except OSError:  # the thread ended meanwhile
        return []


def _helper(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        comm = Path(f"/proc/{pid}/comm").read_bytes().strip()
    except OSError:
        return True
    return any(m in cmdline for m in _NOT_WORKERS) or comm == _WEB_PROCESS
