"""`postroom run` serves the web too (docs/web.md, "Starting it"): a real process on a free
port answers /healthz, prints the sign-up link, polls the loopback Dovecot meanwhile, and
stops on SIGTERM within seconds; `--no-web` listens on nothing; a port already taken is
one line and nothing started; `--log-format json` writes one parsable line per event with
no secret in any of them."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from support.polling import Postroom, postroom
from support.running import alive

__all__ = ["postroom"]  # the fixture (support.polling)

STOPPED_WITHIN = 10.0
SIGNUP = re.compile(r"sign up at (http://127\.0\.0\.1:\d+/signup\?token=([A-Za-z0-9_-]{20,100}))")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Running:
    """A `postroom run` process with its stderr in a file."""

    def __init__(self, env: dict[str, str], log: Path, *argv: str) -> None:
        self.log = log
        with log.open("wb") as out:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "postroom", "run", "--workers", "2", "--tick", "0.2", *argv],
                env={**os.environ, **env},
                stdout=subprocess.DEVNULL,
                stderr=out,
                start_new_session=True,
            )

    def text(self) -> str:
        return self.log.read_text()

    def wait_for(self, pattern: str | re.Pattern[str], timeout: float = 30) -> re.Match[str]:
        deadline = time.monotonic() + timeout
        while True:
            found = re.search(pattern, self.text())
            if found:
                return found
            assert self.proc.poll() is None, f"exited {self.proc.returncode}\n{self.text()}"
            assert time.monotonic() < deadline, f"no {pattern!r} in\n{self.text()}"
            time.sleep(0.05)

    def children(self) -> list[int]:
        task = Path(f"/proc/{self.proc.pid}/task")
        return [int(c) for t in task.iterdir() for c in _read(t / "children") if alive(int(c))]

    def stop(self) -> float:
        """SIGTERM as a process manager sends it; the seconds the whole service took."""
        children = self.children()
        started = time.monotonic()
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(timeout=STOPPED_WITHIN + 20)
        while any(alive(c) for c in children) and time.monotonic() - started < STOPPED_WITHIN:
            time.sleep(0.05)
        assert not any(alive(c) for c in children), f"a child outlived the service\n{self.text()}"
        return time.monotonic() - started

    def kill(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()


def _read(path: Path) -> list[str]:
    try:
        return path.read_text().split()
    except OSError:
        return []


@pytest.fixture
def running(tmp_path: Path) -> Iterator[list[Running]]:
    started: list[Running] = []
    yield started
    for run in started:
        run.kill()


def _listening(pid: int) -> set[int]:
    """Inodes of the TCP sockets ``pid`` listens on."""
    inodes: set[int] = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = os.readlink(fd)
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(int(target[8:-1]))
    listening: set[int] = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        for line in Path(table).read_text().splitlines()[1:]:
            fields = line.split()
            if fields[3] == "0A" and int(fields[9]) in inodes:  # 0A: LISTEN
                listening.add(int(fields[9]))
    return listening


def _lines(text: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def test_run_serves_the_web_polls_meanwhile_and_stops_on_sigterm(
    postroom: Postroom, tmp_path: Path, running: list[Running]
) -> None:
    box = postroom.mailbox("runweb")
    postroom.ok("channel", "set", box.channel, "--interval", "5")  # the shortest
    port = free_port()
    run = Running(
        postroom.env, tmp_path / "run.log", "--listen", f"127.0.0.1:{port}", "--log-format", "json"
    )
    running.append(run)
    link = run.wait_for(SIGNUP)
    base = f"http://127.0.0.1:{port}"
    run.wait_for(re.escape(f"open {base} in a browser"))
    assert link.start() > run.text().index("postroom running")

    with httpx.Client(base_url=base, timeout=30) as http:
        deadline = time.monotonic() + 30
        while True:  # the web process may still be importing its framework
            try:
                health = http.get("/healthz")
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline, run.text()
                time.sleep(0.1)
        assert health.status_code == 200
        names = sorted(Path(f"/proc/{c}/comm").read_text().strip() for c in run.children())
        assert names.count("postroom-web") == 1, names  # beside one poller (--workers 2)
        postroom.stack.deliver(box.address, _mail(box.address))
        assert http.get(link.group(1)).status_code == 200  # the link as a browser opens it
        signed_up = http.post(
            "/signup", data={"token": link.group(2), "name": "admin", "password": "Zq7!long-pw"}
        )
        assert signed_up.status_code == 200, signed_up.text
        cookie = signed_up.cookies.get("postroom_session")
        assert cookie
        token = postroom.ok("token", "create", "admin").split()[0]
        deadline = time.monotonic() + 30
        while not (items := _items(http, token)):
            assert time.monotonic() < deadline, f"the mail was never filed\n{run.text()}"
            time.sleep(0.2)
        assert items[0]["subject"] == "Printer on fire"
    with httpx.Client(base_url=base, timeout=10, cookies={"postroom_session": cookie}) as browser:
        assert browser.get("/api/v1/items").status_code == 200

    took = run.stop()
    assert took < STOPPED_WITHIN, f"{took:.1f} s\n{run.text()}"
    assert run.proc.returncode == 0, run.text()
    assert postroom.stack.count(box.address) == 0

    text = run.text()
    lines = _lines(text)  # every line parses
    for line in lines:
        assert {"ts", "level", "event", "logger", "pid", "message"} <= line.keys(), line
    events = {line["event"] for line in lines}
    assert {"started", "poll.done", "http.request", "stopped"} <= events, events
    polled = next(line for line in lines if line["event"] == "poll.done")
    assert polled["channel"] == box.channel and polled["fetched"] == 1
    requests = [line for line in lines if line["event"] == "http.request"]
    assert {"method": "GET", "path": "/healthz", "status": 200} in [
        {k: r[k] for k in ("method", "path", "status")} for r in requests
    ]
    assert any(r["path"] == "/signup" and r["method"] == "POST" for r in requests)
    assert any(r["path"] == "/signup" and r["method"] == "GET" for r in requests)
    # No secret in any line: the channel's password, the API token, the session cookie;
    # the sign-up token only in the one line that prints the link.
    for secret in (box.password, token, cookie):
        assert secret not in text
    assert [line["event"] for line in lines if link.group(2) in line["message"]] == ["started"]
    assert lines[-1]["event"] == "stopped"


def _items(http: httpx.Client, token: str) -> list[dict[str, Any]]:
    answer = http.get("/api/v1/items", headers={"Authorization": f"Bearer {token}"})
    assert answer.status_code == 200, answer.text
    return answer.json()  # type: ignore[no-any-return]


def _mail(to: str) -> bytes:
    return (
        f"From: Ann <ann@customer.test>\r\nTo: {to}\r\nSubject: Printer on fire\r\n"
        "Message-ID: <run-web-1@customer.test>\r\nDate: Tue, 01 Dec 2026 10:00:00 +0000\r\n"
        "\r\nIt is on fire.\r\n"
    ).encode()


@pytest.fixture
def sqlite_env(tmp_path: Path) -> dict[str, str]:
    return {
        "POSTROOM_HOME": str(tmp_path / "home"),
        "POSTROOM_DATABASE_URL": f"sqlite:///{tmp_path / 'postroom.db'}",
    }


def test_no_web_listens_on_nothing_and_prints_no_link(
    sqlite_env: dict[str, str], tmp_path: Path, running: list[Running]
) -> None:
    run = Running(sqlite_env, tmp_path / "run.log", "--no-web")
    running.append(run)
    run.wait_for("postroom running")
    time.sleep(1)  # the time a web process would have taken to listen
    pids = [run.proc.pid, *run.children()]
    assert len(pids) == 2, pids  # the parent and its one worker: no web process
    assert all(not _listening(pid) for pid in pids), run.text()
    text = run.text()
    assert "sign up" not in text and "http://" not in text
    assert run.stop() < STOPPED_WITHIN
    assert run.proc.returncode == 0


def test_a_port_in_use_is_one_line_and_nothing_starts(
    sqlite_env: dict[str, str], tmp_path: Path
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        done = subprocess.run(
            [sys.executable, "-m", "postroom", "run", "--listen", f"127.0.0.1:{port}"],
            env={**os.environ, **sqlite_env},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 1, done.stderr
    assert done.stdout == ""
    [line] = done.stderr.splitlines()
    assert f"cannot listen on 127.0.0.1:{port}" in line
    assert "--listen HOST:PORT" in line and "--no-web" in line
    assert not (tmp_path / "home").exists() and not (tmp_path / "postroom.db").exists()


def test_text_log_format_is_the_default_and_json_is_chosen_by_the_environment(
    sqlite_env: dict[str, str], tmp_path: Path, running: list[Running]
) -> None:
    env = {**sqlite_env, "POSTROOM_LOG_FORMAT": "json"}
    run = Running(env, tmp_path / "run.log", "--no-web", "--heartbeat", "1")
    running.append(run)
    run.wait_for('"event": "heartbeat"')
    assert run.stop() < STOPPED_WITHIN
    lines = _lines(run.text())
    beat = next(line for line in lines if line["event"] == "heartbeat")
    assert beat["level"] == "info" and beat["message"].startswith("idle: no channel")
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+00:00", beat["ts"])


def test_a_killed_web_process_is_started_again_on_the_same_socket(
    sqlite_env: dict[str, str], tmp_path: Path, running: list[Running]
) -> None:
    port = free_port()
    run = Running(sqlite_env, tmp_path / "run.log", "--listen", f"127.0.0.1:{port}")
    running.append(run)
    run.wait_for("postroom running")
    with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=60) as http:
        assert http.get("/healthz").status_code == 200
        [web] = [c for c in run.children() if _name(c) == "postroom-web"]
        os.kill(web, signal.SIGKILL)
        run.wait_for(rf"web process {web} exited \(code -9\); starting another in 1 s")
        again = run.wait_for(r"web process (\d+) started", timeout=30)
        assert http.get("/healthz").status_code == 200  # the port never closed meanwhile
    assert _name(int(again.group(1))) == "postroom-web"
    assert run.stop() < STOPPED_WITHIN
    assert run.proc.returncode == 0, run.text()


def _name(pid: int) -> str:
    return Path(f"/proc/{pid}/comm").read_text().strip()
