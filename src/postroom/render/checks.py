"""A connection check for people: one ✓/✗ line per step (`postroom check`, `channel check`,
`smtp check`). Its JSON form is the report's own (`CheckReport.to_json()`)."""

from __future__ import annotations

from postroom.diagnostics import CheckReport, StepName
from postroom.domain.display import for_terminal

MARK = {True: "✓", False: "✗", None: "·"}
"""A step passed, failed, or did not run."""


def check_text(report: CheckReport) -> str:
    """One ✓/✗ line per step with its figure; on failure the error and a hint. A figure,
    an error or a hint may quote the server (its banner, its refusal, its certificate's
    subject): each is escaped for the terminal."""
    lines = [f"postroom check {for_terminal(report.url)}"]
    for step in report.steps:
        if step.ok is None and not step.summary:
            text = "not run"
        elif step.ok is False:
            text = step.error or "failed"
        else:
            text = step.summary
        lines.append(f"  {MARK[step.ok]} {step.name.value:<13}{for_terminal(text)}")
        if step.hint:
            label = "hint" if step.ok is False else "note"
            lines.append(f"  {'':15}{label}: {for_terminal(step.hint)}")
    failed = [s.name.value for s in report.steps if s.ok is False]
    untested = untested_steps(report)
    if failed:
        lines.append(f"failed: {', '.join(failed)}")
    elif untested:
        lines.append(
            f"incomplete: not tested: {', '.join(untested)} (no login: give the password "
            "with --password-env VAR or --password-stdin); every step that ran passed"
        )
    else:
        lines.append("all steps passed")
    return "\n".join(lines)


def untested_steps(report: CheckReport) -> list[str]:
    """The steps a check left out for want of a login (no password given, or a mailbox
    URL without a user), by name: such a check passed nothing about the login, so it is
    incomplete. A step left out by choice (SMTP without ``--send-to``, or without a user
    for a relay that takes mail unauthenticated, TLS with ``tls=none``) is not counted."""
    steps = {step.name: step for step in report.steps}
    auth = steps.get(StepName.AUTH)
    mailbox = steps.get(StepName.MAILBOX)
    missing: list[str] = []
    if auth is not None and auth.ok is None:
        no_password = auth.detail.get("skipped") == "no password given"
        if no_password or mailbox is not None:
            missing.append(auth.name.value)
    if mailbox is not None and mailbox.ok is None and missing:
        missing.append(mailbox.name.value)
    return missing


def check_json(report: CheckReport) -> dict[str, object]:
    """The report's JSON (docs/cli.md) with ``complete``: false when the login was not
    tested (`untested_steps`), ``untested`` naming the steps left out."""
    untested = untested_steps(report)
    return {**report.to_json(), "complete": not untested, "untested": untested}
