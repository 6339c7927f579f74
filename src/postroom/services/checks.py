"""Connection checks kept with what they checked: reading a `CheckReport` for people and for
failure monitoring, and the rule that nothing is enabled before its check has passed once."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from postroom.credentials import Secret
from postroom.diagnostics import CheckReport, run_check
from postroom.net.connection import MailUrl

_STEP_CLASS = {
    "dns": "dns",
    "tcp": "connection",
    "tls": "tls",
    "certificate": "tls",
    "greeting": "protocol",
    "capabilities": "protocol",
    "auth": "authentication",
    "mailbox": "protocol",
    "send": "protocol",
}


def check_stored(
    row: Any, password: Secret | None, send_to: str | None = None, timeout: float | None = None
) -> CheckReport:
    """`postroom check` with a stored channel's or SMTP server's settings."""
    ca = Path(row.ca_file) if row.ca_file else None
    seconds = float(timeout if timeout is not None else row.timeout_s)
    secret = password.reveal() if password else None
    return run_check(MailUrl.parse(row.url), secret, row.authzid, ca, send_to, seconds)


def first_failure(report: CheckReport) -> str:
    """``step: error (hint)`` of the first failed step, for one-line messages."""
    for step in report.to_json()["steps"]:
        if step["ok"] is False:
            hint = f" ({step['hint']})" if step.get("hint") else ""
            return f"{step['name']}: {step['error']}{hint}"
    return "check failed"


def failure_class(report: CheckReport) -> str:
    """The failure class of channel monitoring for the first failed step."""
    for step in report.to_json()["steps"]:
        if step["ok"] is False:
            if "timed out" in (step.get("error") or "").lower():
                return "timeout"
            return _STEP_CLASS.get(step["name"], "protocol")
    return "protocol"
