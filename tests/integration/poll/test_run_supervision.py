"""A worker of `postroom run` that dies anyway (killed, out of memory) is started again by the
parent, which goes on polling meanwhile; SIGTERM still stops everything cleanly."""

from __future__ import annotations

import os
import signal
import time
from pathlib import Path

import pytest

from support.polling import Postroom
from support.running import start_run, workers


@pytest.fixture
def database_url(tmp_path: Path) -> str:
    """One engine is enough here: this is about processes (overrides `support.database`)."""
    return f"sqlite:///{tmp_path / 'postroom.db'}"


def test_a_killed_worker_is_started_again_and_polls(postroom: Postroom, tmp_path: Path) -> None:
    stack = postroom.stack
    boxes = [postroom.mailbox(f"sup{i}") for i in range(4)]
    log_path = tmp_path / "run.log"
    proc = start_run(postroom.env, log_path, workers=2)
    try:
        [first] = workers(proc.pid)
        os.kill(first, signal.SIGKILL)
        replacement = _wait_for_replacement(proc.pid, first, log_path)
        for box in boxes:  # more mail than the parent's share: the new worker takes some
            stack.fill(box.address, 150)
        deadline = time.monotonic() + 120
        while any(stack.count(b.address) for b in boxes) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert proc.poll() is None and workers(proc.pid) == [replacement]
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
        found = [pid for pid in workers(parent, wait=0) if pid != dead]
        if found:
            return found[0]
        time.sleep(0.1)
    pytest.fail(f"no worker started again after {dead} died\n{log.read_text()}")
