"""Connection checks kept with what they checked: reading a `CheckReport` for people and for
failure monitoring, and the rule that nothing is enabled before its check has passed once."""

from __future__ import annotations

from pathlib import Path
from typing import Protocol

from postroom.credentials import Secret
from postroom.diagnostics import CheckReport, StepName, run_check
from postroom.net.connection import FailureClass, MailUrl
from postroom.net.sasl import AuthMechanism
from postroom.ports.mailbox import After, AfterKind

_STEP_CLASS = {
    StepName.DNS: FailureClass.DNS,
    StepName.TCP: FailureClass.CONNECTION,
    StepName.TLS: FailureClass.TLS,
    StepName.CERTIFICATE: FailureClass.TLS,
    StepName.GREETING: FailureClass.PROTOCOL,
    StepName.CAPABILITIES: FailureClass.PROTOCOL,
    StepName.AUTH: FailureClass.AUTHENTICATION,
    StepName.MAILBOX: FailureClass.PROTOCOL,
    StepName.SEND: FailureClass.PROTOCOL,
}


class Checkable(Protocol):
    """What a check needs of a stored channel or SMTP server."""

    @property
    def url(self) -> str: ...
    @property
    def authzid(self) -> str | None: ...
    @property
    def ca_file(self) -> str | None: ...
    @property
    def timeout_s(self) -> int: ...


def check_stored(
    row: Checkable,
    password: Secret | None,
    send_to: str | None = None,
    timeout: float | None = None,
) -> CheckReport:
    """`postroom check` with a stored channel's or SMTP server's settings: an IMAP channel's
    folder is the one the mailbox step opens (with the folder ``--after move:`` moves mail
    to, which must exist), its login mechanism the one the check uses."""
    ca = Path(row.ca_file) if row.ca_file else None
    seconds = float(timeout if timeout is not None else row.timeout_s)
    secret = password.reveal() if password else None
    url = MailUrl.parse(row.url)
    folder: str | None = getattr(row, "folder", None)
    mechanism = AuthMechanism(getattr(row, "mechanism", None) or "auto")
    after = After.parse(getattr(row, "after", None))
    move_to = after.folder if after.kind is AfterKind.MOVE else None
    return run_check(
        url,
        secret,
        row.authzid,
        ca,
        send_to,
        seconds,
        folder=folder,
        mechanism=mechanism,
        move_to=move_to,
    )


def first_failure(report: CheckReport) -> str:
    """``step: error (hint)`` of the first failed step, for one-line messages."""
    for step in report.to_json()["steps"]:
        if step["ok"] is False:
            hint = f" ({step['hint']})" if step.get("hint") else ""
            return f"{step['name']}: {step['error']}{hint}"
    return "check failed"


def failure_class(report: CheckReport) -> FailureClass:
    """The failure class of channel monitoring for the first failed step: what its error
    was when that tells (a timeout), else what the step tests."""
    for step in report.steps:
        if step.ok is False:
            return step.failure_class or _STEP_CLASS[step.name]
    return FailureClass.PROTOCOL
