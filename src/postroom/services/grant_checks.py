"""The connection check of a channel or SMTP server whose OAuth2 access token could not be
had: its login step failed before anything was connected to, with the way out."""

from __future__ import annotations

from postroom.diagnostics import CheckReport, Step, StepName, step_names
from postroom.net.connection import ConnectionFailure, FailureClass, MailUrl


def token_failure(url: str, failure: ConnectionFailure, sign_in: str) -> CheckReport:
    """The check of a target whose access token could not be had: its login step failed
    (nothing was connected to), with the way out."""
    report = CheckReport(url, [Step(name) for name in step_names(MailUrl.parse(url))])
    step = report.step(StepName.AUTH)
    step.ok = False
    step.error = f"no OAuth2 access token: {failure}"
    step.failure_class = failure.kind
    if failure.kind is FailureClass.AUTHENTICATION:
        step.hint = f"sign in again: {sign_in}"
    return report
