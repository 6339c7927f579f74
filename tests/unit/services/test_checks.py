"""Reading a check report for monitoring: the failure class of its first failed step."""

from __future__ import annotations

import pytest

from postroom.diagnostics import CheckReport, Step, StepName
from postroom.net.connection import FailureClass
from postroom.services.checks import failure_class, first_failure


def _report(*steps: Step) -> CheckReport:
    return CheckReport("pop3s://alice@example.test:995", list(steps))


@pytest.mark.parametrize(
    ("failed", "expected"),
    [
        (StepName.DNS, FailureClass.DNS),
        (StepName.TCP, FailureClass.CONNECTION),
        (StepName.TLS, FailureClass.TLS),
        (StepName.CERTIFICATE, FailureClass.TLS),
        (StepName.GREETING, FailureClass.PROTOCOL),
        (StepName.AUTH, FailureClass.AUTHENTICATION),
        (StepName.MAILBOX, FailureClass.PROTOCOL),
        (StepName.SEND, FailureClass.PROTOCOL),
    ],
)
def test_the_class_is_what_the_failed_step_tests(failed: StepName, expected: FailureClass) -> None:
    report = _report(Step(StepName.DNS, ok=True), Step(failed, ok=False, error="x"))
    assert failure_class(report) is expected


def test_a_class_the_error_gave_wins_over_the_steps() -> None:
    failed = Step(StepName.AUTH, ok=False, error="the server said: socket error: timed out")
    failed.failure_class = FailureClass.TIMEOUT
    report = _report(Step(StepName.GREETING, ok=True), failed)
    assert failure_class(report) is FailureClass.TIMEOUT


def test_the_text_of_an_error_decides_nothing() -> None:
    failed = Step(StepName.MAILBOX, ok=False, error="the server said: -ERR timed out")
    assert failure_class(_report(failed)) is FailureClass.PROTOCOL


def test_only_the_first_failed_step_counts() -> None:
    report = _report(
        Step(StepName.TCP, ok=False, error="refused", hint="check the port"),
        Step(StepName.AUTH, ok=False, error="no"),
    )
    assert failure_class(report) is FailureClass.CONNECTION
    assert first_failure(report) == "tcp: refused (check the port)"
