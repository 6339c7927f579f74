"""IDLE: `postroom run` polls an IMAP channel within seconds of new mail, long before its
interval; at most POSTROOM_IDLE_CONNECTIONS channels are watched."""

from __future__ import annotations

import signal
import threading
import time
from pathlib import Path

import pytest

from postroom.bootstrap import App
from postroom.settings import load_settings
from support.imap_boxes import Imap
from support.polling import Postroom
from support.running import start_run


def _wait(condition: object, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.1)
    return False


def test_new_mail_is_polled_within_seconds_though_the_interval_is_an_hour(
    postroom: Postroom, imap: Imap, tmp_path: Path
) -> None:
    box = imap.box("idle", "--interval", "3600")
    proc = start_run(postroom.env, tmp_path / "run.log", workers=1)
    try:
        assert _wait(lambda: postroom.channel(box.channel)["last_poll"] is not None, 40)
        time.sleep(3)  # the watch's IDLE is up (a loaded machine takes a while to log in)
        postroom.stack.fill(box.address, 1)
        started = time.monotonic()
        assert _wait(lambda: postroom.counts()["tickets"] == 1, 20), (
            tmp_path / "run.log"
        ).read_text()
        assert time.monotonic() - started < 20  # the interval is an hour
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    assert imap.count(box.address) == 0


def test_idle_connections_are_bounded(
    postroom: Postroom, imap: Imap, monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(3):
        imap.box(f"bound{i}")
    monkeypatch.setenv("POSTROOM_IDLE_CONNECTIONS", "2")
    watch = App(load_settings()).idle_watch()
    assert watch is not None
    stop = threading.Event()
    try:
        watch.rescan(stop)
        assert len(watch.watching) == 2
    finally:
        stop.set()  # each watch sees it within a second
    assert _wait(lambda: not watch.watching, 5)
