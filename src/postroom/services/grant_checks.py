"""The connection check of a channel or SMTP server whose OAuth2 access token could not be
had: its login step failed before anything was connected to, with the way out."""

from __future__ import annotations

from postroom.diagnostics import CheckReport, Step, StepName, step_names
from postroom.net.connection import ConnectionFailure, FailureClass, MailUrl

OAUTH2_DETAIL = "oauth2"
"""The key of the failed login step's detail that says no access token could be had."""


def token_failure(url: str, failure: ConnectionFailure, sign_in: str) -> CheckReport:
    """The check of a target whose access token could not be had: its login step failed
    (nothing was connected to); the hint is the way out (``sign in again: COMMAND``)."""
    report = CheckReport(url, [Step(name) for name in step_names(MailUrl.parse(url))])
    step = report.step(StepName.AUTH)
    text = str(failure)
    said, way, command = text.rpartition(": sign in")
    step.ok = False
    step.error = f"no OAuth2 access token: {said if way else text}"
    step.failure_class = failure.kind
    step.detail = {OAUTH2_DETAIL: "no access token"}
    if way:
        step.hint = f"sign in{command}"
    elif failure.kind is FailureClass.AUTHENTICATION:
        step.hint = f"sign in again: {sign_in}"
    return report
