"""The IMAP UID ledger: a rebuilt UID list (new UIDVALIDITY) and kill -9 at every step.

Whatever the point — before or after a FETCH, after the store, after the \\Deleted flags,
after the EXPUNGE or the MOVE, before or after LOGOUT — the next polls leave the mailbox as
the mode says and file every message exactly once; a folder whose UIDVALIDITY changed is
read again without filing anything twice (rule D1), in every --after mode.
"""

from __future__ import annotations

import os
import random
import signal
import subprocess
import sys
import time

import pytest

from support.imap_boxes import Imap
from support.polling import Postroom

N = 6


def _settle(imap: Imap, rounds: int = 3) -> None:
    for _ in range(rounds):
        code, out = imap.poll()
        assert code in (0, 1), out


def _filed_once(postroom: Postroom, n: int) -> None:
    counts = postroom.counts()
    assert counts["distinct_ids"] == counts["inbound"] == counts["tickets"] == n, counts


def test_new_uidvalidity_in_keep_mode_rereads_and_files_nothing_twice(
    postroom: Postroom, imap: Imap
) -> None:
    box = imap.box("uvkeep", "--after", "keep")
    postroom.stack.fill(box.address, 3)
    (first,) = postroom.poll_json(box.channel)
    assert first["handled"] == 3, first
    imap.rebuild_uids(box.address)
    (again,) = postroom.poll_json(box.channel)
    assert again["fetched"] == 3 and again["handled"] == 0, again  # read again, known by D1
    (third,) = postroom.poll_json(box.channel)
    assert third["fetched"] == 0, third  # and from then on one UID SEARCH
    assert imap.count(box.address) == 3
    _filed_once(postroom, 3)


@pytest.mark.parametrize("after", ["delete", "move:Done"])
def test_new_uidvalidity_after_a_crash_files_nothing_twice(
    postroom: Postroom, imap: Imap, after: str
) -> None:
    address, password = postroom.stack.new_user("uvdel")
    imap.folder(address, "Done")
    box = imap.box("uvdel", "--after", after, address=address, password=password)
    postroom.stack.fill(box.address, 4)
    code, _ = imap.poll("before-quit:1")  # stored, nothing flagged or moved
    assert code == -signal.SIGKILL
    assert imap.count(box.address) == 4
    imap.rebuild_uids(box.address)
    _settle(imap, 1)
    assert imap.count(box.address) == 0
    _filed_once(postroom, 4)


@pytest.mark.parametrize(
    "point",
    [
        "before-retr:3",
        "after-retr:3",
        "after-store:2",
        "after-dele:3",
        "before-quit:1",
        "after-flag:1",
        "after-expunge:1",
        "after-quit:1",
    ],
)
def test_kill_at_each_point_loses_nothing_and_files_nothing_twice(
    postroom: Postroom, imap: Imap, point: str
) -> None:
    postroom.env["POSTROOM_POLL_BATCH"] = "2"
    box = imap.box("crash")
    postroom.stack.fill(box.address, N)
    code, out = imap.poll(point)
    assert code == -signal.SIGKILL, out
    _settle(imap)
    assert imap.count(box.address) == 0
    _filed_once(postroom, N)


@pytest.mark.parametrize("point", ["after-store:2", "before-quit:1", "after-move:1"])
def test_kill_while_moving_loses_nothing(postroom: Postroom, imap: Imap, point: str) -> None:
    postroom.env["POSTROOM_POLL_BATCH"] = "2"
    address, password = postroom.stack.new_user("crashmove")
    imap.folder(address, "Done")
    box = imap.box("crashmove", "--after", "move:Done", address=address, password=password)
    postroom.stack.fill(box.address, N)
    code, out = imap.poll(point)
    assert code == -signal.SIGKILL, out
    _settle(imap)
    assert imap.count(box.address) == 0 and imap.count(box.address, "Done") == N
    _filed_once(postroom, N)


@pytest.mark.parametrize("point", ["after-store:2", "before-quit:1", "after-quit:1"])
def test_kill_while_keeping_loses_nothing(postroom: Postroom, imap: Imap, point: str) -> None:
    postroom.env["POSTROOM_POLL_BATCH"] = "2"
    box = imap.box("crashkeep", "--after", "keep")
    postroom.stack.fill(box.address, N)
    code, out = imap.poll(point)
    assert code == -signal.SIGKILL, out
    _settle(imap)
    assert imap.count(box.address) == N
    _filed_once(postroom, N)


@pytest.mark.parametrize("after", ["delete", "keep"])
def test_kills_at_random_moments(postroom: Postroom, imap: Imap, after: str) -> None:
    box = imap.box("random", "--after", after)
    postroom.stack.fill(box.address, 200)
    rng = random.Random(20261201)
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
    _settle(imap)
    assert imap.count(box.address) == (200 if after == "keep" else 0)
    _filed_once(postroom, 200)
