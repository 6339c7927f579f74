"""A worker of `postroom run` that dies anyway (killed, out of memory) is started again by the
parent, which goes on polling meanwhile; SIGTERM still stops everything cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from support.polling import Postroom

_NOT_WORKERS = (b"postroom.mime.isolated", b"resource_tracker")


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """One engine is enough here: this is about processes (overrides `support.database`)."""
    return f"sqlite:///{tmp_path / 'postroom.db'}"


def test_a_killed_worker_is_started_again_and_polls(postroom: Postroom, tmp_path: Path) -> None:
    stack = postroom.stack
    boxes = [postroom.mailbox(f"sup{i}") for i in range(4)]
    log_path = tmp_path / "run.log"
    env = {**os.environ, **postroom.env}
    with log_path.open("wb") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "postroom", "run", "--workers", "2", "--tick", "0.2"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log_file,
        )
    try:
        [first] = _workers(proc.pid)
        os.kill(first, signal.SIGKILL)
        replacement = _wait_for_replacement(proc.pid, first, log_path)
        for box in boxes:  # more mail than the parent's share: the new worker takes some
            stack.fill(box.address, 150)
        deadline = time.monotonic() + 120
        while any(stack.count(b.address) for b in boxes) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert proc.poll() is None and _workers(proc.pid) == [replacement]
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(timeout=60)
    log = log_path.read_text()
    assert proc.returncode == 0, log
    assert f"worker process {first} exited (code -9); starting another in 1 s" in log, log
    pollers = {line.split()[2] for line in log.splitlines() if " fetched " in line}
    assert pollers == {str(proc.pid), str(replacement)}, log
    assert [stack.count(b.address) for b in boxes] == [0] * len(boxes)
    counts = postroom.counts()
    assert counts["messages"] == counts["distinct_ids"] == 150 * len(boxes)


def _wait_for_replacement(parent: int, dead: int, log: Path) -> int:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        found = [pid for pid in _workers(parent, wait=0) if pid != dead]
        if found:
            return found[0]
        time.sleep(0.1)
    pytest.fail(f"no worker started again after {dead} died\n{log.read_text()}")


def _workers(pid: int, wait: float = 10) -> list[int]:
    """The worker processes of `postroom run` ``pid`` (not its parser children)."""
    deadline = time.monotonic() + wait
    while True:
        # Per thread: a worker started again is the child of the parent's watching thread.
        children = [c for t in Path(f"/proc/{pid}/task").iterdir() for c in _read(t / "children")]
        found = [int(c) for c in children if _running(int(c)) and not _helper(int(c))]
        if found or time.monotonic() >= deadline:
            return found
        time.sleep(0.01)


def _read(path: Path) -> list[str]:
    try:
        return path.read_text().split()
    except OSError:  # the thread ended meanwhile
        return []


def _helper(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return True
    return any(m in cmdline for m in _NOT_WORKERS)


def _running(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rpartition(")")[2].split()[0] not in ("Z", "X")
