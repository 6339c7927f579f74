"""A message that stalls its parser has a time budget: past it, it is quarantined (stored first,
then deleted like any other), the rest of the mailbox and the other mailboxes go on, and
SIGTERM never waits on it.

The stall is the ``parse-stall`` failpoint: with it armed, `postroom.mime.parse` hangs for good
on a message carrying `STALL_MARKER`, as it would on input that sends a parser into a loop.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time

import pytest

from postroom.failpoints import STALL_MARKER
from support.mails import make_mail
from support.polling import Postroom


def _stalling(to: str, subject: str) -> bytes:
    marker = STALL_MARKER.decode().split(": ")
    return make_mail(to=to, subject=subject, headers={marker[0]: marker[1]})


def _env(postroom: Postroom, seconds: str) -> dict[str, str]:
    return {
        **os.environ,
        **postroom.env,
        "POSTROOM_FAILPOINTS": "parse-stall",
        "POSTROOM_MESSAGE_SECONDS": seconds,
    }


def test_a_stalling_message_is_quarantined_and_its_batch_and_other_mailboxes_go_on(
    postroom: Postroom,
) -> None:
    stack = postroom.stack
    hostile, quiet = postroom.mailbox("hostile"), postroom.mailbox("quiet")
    stack.fill(hostile.address, 3)
    stack.deliver(hostile.address, _stalling(hostile.address, "stalls the parser"))
    stack.fill(hostile.address, 3)
    stack.fill(quiet.address, 5)
    started = time.monotonic()
    proc = subprocess.run(
        [sys.executable, "-m", "postroom", "poll", "--json"],
        env=_env(postroom, "2"),
        capture_output=True,
        timeout=120,
        check=False,
    )
    assert time.monotonic() - started < 60, "the stalled message was waited on"
    reports = {r["channel"]: r for r in json.loads(proc.stdout)}
    assert proc.returncode == 0, proc.stderr.decode()
    assert (reports[hostile.channel]["handled"], reports[hostile.channel]["quarantined"]) == (6, 1)
    assert reports[quiet.channel]["handled"] == 5
    # Stored first, then deleted like any other message.
    assert stack.count(hostile.address) == stack.count(quiet.address) == 0
    [quarantined] = postroom("quarantine", "list", "--json").json()
    assert "parsing took longer than 2 s" in quarantined["error"], quarantined
    assert postroom.counts()["messages"] == 12
    # Retried where the parser no longer stalls (this process has no failpoint armed): handled.
    retried = postroom("quarantine", "retry", str(quarantined["id"]), "--json").json()
    assert retried["rule"] == "N1", retried


def test_a_retry_that_stalls_again_stays_in_quarantine_with_the_reason(
    postroom: Postroom, monkeypatch: pytest.MonkeyPatch
) -> None:
    box = postroom.mailbox("again")
    postroom.stack.deliver(box.address, _stalling(box.address, "stalls twice"))
    for name, value in _env(postroom, "1").items():
        monkeypatch.setenv(name, value)
    [report] = postroom.poll_json()
    assert report["quarantined"] == 1
    [quarantined] = postroom("quarantine", "list", "--json").json()
    retried = postroom("quarantine", "retry", str(quarantined["id"]), "--json").json()
    assert retried["outcome"] == "quarantined", retried
    assert retried["reason"].startswith("could not be handled: parsing took longer than 1 s")


def test_sigterm_does_not_wait_for_a_stalled_message_and_it_stays_on_the_server(
    postroom: Postroom,
) -> None:
    stack = postroom.stack
    box = postroom.mailbox("stall")
    stack.deliver(box.address, _stalling(box.address, "stalls for good"))
    proc = subprocess.Popen(
        [sys.executable, "-m", "postroom", "run", "--workers", "1", "--tick", "0.2"],
        env=_env(postroom, "600"),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    time.sleep(4)  # the message is fetched and its parse hangs
    assert proc.poll() is None
    stopping = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()
    assert time.monotonic() - stopping < 5, err.decode()
    # Not stored, so not deleted: the next start gets it again.
    assert stack.count(box.address) == 1
    assert postroom.counts()["messages"] == 0
