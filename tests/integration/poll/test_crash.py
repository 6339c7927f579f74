"""Kill `postroom poll` (SIGKILL, no cleanup) at each point of a message's way; poll again.

Whatever the point — before or after RETR, between the commit and DELE, after
DELE, before or after QUIT — the next poll leaves the mailbox empty and every
message filed exactly once.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from support.polling import Postroom

N = 6


@pytest.mark.parametrize(
    "point",
    [
        "before-retr:3",
        "after-retr:3",
        "after-store:3",
        "after-dele:3",
        "before-quit:1",
        "after-quit:1",
    ],
)
def test_crash_at_each_point_loses_nothing_and_duplicates_nothing(
    postroom: Postroom, point: str
) -> None:
    postroom.env["POSTROOM_POLL_BATCH"] = "2"  # several batches, so each point is mid-poll
    box = postroom.mailbox("crash")
    postroom.stack.fill(box.address, N)
    assert postroom.subprocess_poll(point) == -signal.SIGKILL
    assert postroom.subprocess_poll() in (0, 1)
    if postroom.stack.count(box.address):
        assert postroom.subprocess_poll() in (0, 1)
    assert postroom.stack.count(box.address) == 0
    counts = postroom.counts()
    assert counts["messages"] == counts["distinct_ids"] == N
    assert counts["inbound"] == counts["tickets"] == N


def test_kills_at_random_moments(postroom: Postroom) -> None:
    box = postroom.mailbox("random")
    postroom.stack.fill(box.address, 300)
    rng = random.Random(20261127)
    env = {**os.environ, **postroom.env}
    for _ in range(4):
        proc = subprocess.Popen(
            [sys.executable, "-m", "postroom", "poll"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(rng.uniform(0.8, 2.0))
        proc.kill()
        proc.wait()
    for _ in range(3):
        if postroom.stack.count(box.address) == 0:
            break
        postroom.subprocess_poll(timeout=120)
    assert postroom.stack.count(box.address) == 0
    counts = postroom.counts()
    assert counts["messages"] == counts["distinct_ids"] == counts["tickets"] == 300
