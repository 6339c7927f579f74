"""`reporting_steps`: a check reports each step as it ends, in order, scrubbed of the
password, while it runs, against the real Dovecot and Postfix and a silent listener;
the report is the same with or without a watcher, even one that fails."""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from postroom.diagnostics import CheckReport, Step, run_check
from postroom.diagnostics.runner import reporting_steps
from postroom.net.connection import MailUrl
from support.mailstack import Mailstack

pytestmark = pytest.mark.servers


def _run(stack: Mailstack, url: str, password: str | None, timeout: float = 5) -> CheckReport:
    return run_check(MailUrl.parse(url), password, None, stack.ca_file, None, timeout)


def _shape(report: CheckReport) -> list[tuple[Any, ...]]:
    """Each step's name, outcome, error and hint (figures such as ms vary run to run)."""
    return [(s.name, s.ok, s.error, s.hint, sorted(s.detail)) for s in report.steps]


def _watched(stack: Mailstack, url: str, password: str | None) -> tuple[CheckReport, list[Step]]:
    seen: list[Step] = []
    with reporting_steps(seen.append):
        report = _run(stack, url, password)
    return report, seen


@pytest.mark.parametrize("scheme", ["pop3", "imaps", "submission"])
def test_each_step_is_reported_once_it_ends_as_the_report_has_it(
    mailstack: Mailstack, scheme: str
) -> None:
    address, password = mailstack.new_user("progress")
    url = f"{scheme}://{address}@{mailstack.host}:{getattr(mailstack, f'{scheme}_port')}"
    report, seen = _watched(mailstack, url, password)
    assert report.ok and _shape(report) == _shape(_run(mailstack, url, password))
    order = [s.name for s in report.steps]
    firsts = list(dict.fromkeys(s.name for s in seen))
    assert firsts == order  # every step, in the order it ran
    last = {s.name: s for s in seen}  # STARTTLS reports the capabilities again, after it
    assert [last[s.name].to_json() for s in report.steps] == [s.to_json() for s in report.steps]
    assert all(password not in repr(s) for s in seen)


def test_a_failed_step_is_the_last_reported_and_steps_after_it_are_not(
    mailstack: Mailstack,
) -> None:
    address, _ = mailstack.new_user("progress")
    url = f"imaps://{address}@{mailstack.host}:{mailstack.imaps_port}"
    report, seen = _watched(mailstack, url, "wrong-password-123")
    assert [s.ok for s in seen][-1] is False and seen[-1].name.value == "auth"
    assert len(seen) == len([s for s in report.steps if s.ok is not None])
    assert all("wrong-password-123" not in repr(s) for s in seen)
    cert = mailstack.bad_cert("expired").pop3s
    report, seen = _watched(mailstack, f"pop3s://u@{mailstack.host}:{cert}", "pw-x")
    assert [(s.name.value, s.ok) for s in seen][-2:] == [("tls", True), ("certificate", False)]
    assert seen[-1].detail == report.step(seen[-1].name).detail


def test_a_failing_watcher_changes_nothing(mailstack: Mailstack) -> None:
    url = f"imaps://alice@example.test@{mailstack.host}:{mailstack.imaps_port}"

    def broken(step: Step) -> None:
        step.ok = False  # a copy: the report keeps its own
        raise RuntimeError("the watcher went away")

    with reporting_steps(broken):
        report = _run(mailstack, url, None)
    assert report.ok and _shape(report) == _shape(_run(mailstack, url, None))


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A port that accepts TCP connections and never says a word."""
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield int(server.getsockname()[1])


def test_the_first_steps_come_while_the_server_keeps_the_check_waiting(
    mailstack: Mailstack, silent_port: int
) -> None:
    at: list[tuple[str, float]] = []
    started = time.monotonic()
    with reporting_steps(lambda s: at.append((s.name.value, time.monotonic() - started))):
        _run(mailstack, f"pop3://u@127.0.0.1:{silent_port}", "pw", timeout=1.5)
    ended = time.monotonic() - started
    assert [name for name, _ in at] == ["dns", "tcp", "greeting"]
    assert at[1][1] < 0.5 and ended >= 1.5 and at[2][1] >= 1.5
