"""`postroom run` as an operator starts it: several processes poll every channel, the outbox
is sent, and SIGTERM stops it cleanly."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from support.mails import make_mail
from support.polling import Postroom
from support.running import workers


def test_run_drains_every_channel_sends_the_outbox_and_stops_on_sigterm(
    postroom: Postroom,
) -> None:
    stack = postroom.stack
    boxes = [postroom.mailbox(f"run{i}") for i in range(3)]
    for box in boxes:
        stack.fill(box.address, 30)
    os.environ["SMTP_PW"] = stack.password("alice@example.test")
    url = f"submission://alice@example.test@{stack.host}:{stack.submission_port}"
    postroom.ok(
        "smtp",
        "add",
        "relay",
        "--url",
        url,
        "--password-env",
        "SMTP_PW",
        "--ca-file",
        str(stack.ca_file),
        "--default",
    )
    postroom.ok(
        "route",
        "add",
        "ack@example.test",
        "--context",
        "A",
        "--category",
        "B",
        "--queue",
        "q",
        "--acknowledge",
    )
    customer = f"erin-{os.getpid()}-{time.time_ns()}@customer.test"
    stack.deliver(boxes[0].address, make_mail(to="ack@example.test", sender=customer))

    # A blob half-written by a process that died two hours ago: the service removes it.
    unfinished = Path(postroom.env["POSTROOM_HOME"]) / "blobs" / "ab" / f".tmp-{'c' * 62}-1-1"
    unfinished.parent.mkdir(parents=True, exist_ok=True)
    unfinished.write_bytes(b"half a message")
    os.utime(unfinished, (time.time() - 7200, time.time() - 7200))
    env = {**os.environ, **postroom.env}
    proc = subprocess.Popen(
        [sys.executable, "-m", "postroom", "run", "--workers", "2", "--tick", "0.2"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    )
    try:
        # The worker is a forked copy of the service (no second interpreter start-up).
        [worker] = workers(proc.pid)
        assert _cmdline(worker) == _cmdline(proc.pid)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if not any(stack.count(b.address) for b in boxes) and stack.captured(customer):
                break
            time.sleep(0.2)
    finally:
        proc.send_signal(signal.SIGTERM)
        _, err = proc.communicate(timeout=30)
    assert proc.returncode == 0, err.decode()
    assert b"postroom stopped" in err
    assert not unfinished.exists()
    # Both processes polled: each log line names its process.
    pollers = {line.split()[2] for line in err.decode().splitlines() if " fetched " in line}
    assert pollers == {str(proc.pid), str(worker)}, err.decode()
    assert [stack.count(b.address) for b in boxes] == [0, 0, 0]
    counts = postroom.counts()
    assert counts["messages"] == counts["distinct_ids"] == 91
    [ack] = stack.captured(customer)
    assert b"Auto-Submitted: auto-replied" in ack
    [row] = postroom("outbox", "list", "--json").json()
    assert row["status"] == "sent"


def test_sigterm_during_a_long_poll_stops_soon_and_loses_nothing(postroom: Postroom) -> None:
    box = postroom.mailbox("long")
    postroom.stack.fill(box.address, 1500)
    env = {**os.environ, **postroom.env}
    proc = subprocess.Popen(
        [sys.executable, "-m", "postroom", "run", "--workers", "1", "--tick", "0.2"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while postroom.counts()["messages"] == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    stopping = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=30)
    assert proc.returncode == 0
    assert time.monotonic() - stopping < 5
    assert postroom.counts()["messages"] < 1500  # it did stop in the middle
    postroom.poll_json()
    assert postroom.stack.count(box.address) == 0
    counts = postroom.counts()
    assert counts["messages"] == counts["distinct_ids"] == counts["tickets"] == 1500


def _cmdline(pid: int) -> bytes:
    return Path(f"/proc/{pid}/cmdline").read_bytes()
