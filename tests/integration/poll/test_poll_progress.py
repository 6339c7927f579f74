"""`postroom poll` on a terminal (issue 13, item 15): a progress line per channel while it
works (fetched, stored, left, rate), nothing of the kind on a pipe; Ctrl-C stores what was
fetched and says what was stored and what is left on the server."""

from __future__ import annotations

import os
import pty
import re
import signal
import subprocess
import sys
import threading
import time

from support.polling import Postroom

PROGRESS = re.compile(r"fetched (\d+), stored (\d+), (\d+) left, \d+ msg/s")


class Terminal:
    """`postroom poll` with its stderr on a pseudo-terminal, read as it comes."""

    def __init__(self, postroom: Postroom) -> None:
        master, slave = pty.openpty()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "postroom", "poll"],
            env={**os.environ, **postroom.env},
            stdout=subprocess.PIPE,
            stderr=slave,
        )
        os.close(slave)
        self.master = master
        self.text = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        while True:
            try:
                chunk = os.read(self.master, 65536)
            except OSError:  # the other end closed
                return
            if not chunk:
                return
            self.text += chunk.decode(errors="replace")

    def finish(self, timeout: float = 120) -> tuple[int, str]:
        out, _ = self.proc.communicate(timeout=timeout)
        self._reader.join(timeout=5)
        os.close(self.master)
        return self.proc.returncode, out.decode()


def test_a_terminal_sees_progress_per_channel_a_pipe_does_not(postroom: Postroom) -> None:
    box = postroom.mailbox("progress")
    postroom.stack.fill(box.address, 800)
    terminal = Terminal(postroom)
    code, out = terminal.finish()
    assert code == 0, terminal.text
    seen = PROGRESS.findall(terminal.text)
    assert seen, terminal.text
    assert f"{box.channel}: fetched" in terminal.text
    assert int(seen[-1][0]) + int(seen[-1][2]) <= 800
    assert "fetched 800, handled 800" in out
    assert "\x1b[" not in out  # stdout keeps only the result
    # On a pipe (and with --json), no progress at all.
    postroom.stack.fill(box.address, 200)
    env = {**os.environ, **postroom.env}
    piped = subprocess.run(
        [sys.executable, "-m", "postroom", "poll"],
        env=env,
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert piped.returncode == 0, piped.stderr
    assert b"msg/s" not in piped.stderr and b"\x1b[" not in piped.stderr


def test_ctrl_c_stores_what_was_fetched_and_says_what_is_left(postroom: Postroom) -> None:
    box = postroom.mailbox("interrupted")
    total = 3000
    postroom.stack.fill(box.address, total, size_kb=2)
    terminal = Terminal(postroom)
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        stored = [int(m[1]) for m in PROGRESS.findall(terminal.text)]
        if stored and stored[-1] > 0:
            break
        time.sleep(0.02)
    terminal.proc.send_signal(signal.SIGINT)
    started = time.monotonic()
    code, _ = terminal.finish()
    assert time.monotonic() - started < 15
    said = re.search(r"interrupted: (\d+) message\(s\) stored; (\d+) left", terminal.text)
    assert code == 1 and said, terminal.text
    kept, left = int(said[1]), int(said[2])
    assert kept > 0 and left > 0, terminal.text
    assert kept + left == total, terminal.text
    assert postroom.stack.count(box.address) == left
    assert postroom.counts()["messages"] == kept
    assert "Traceback" not in terminal.text
