"""A connection check for people: one ✓/✗ line per step (`postroom check`, `channel check`,
`smtp check`). Its JSON form is the report's own (`CheckReport.to_json()`)."""

from __future__ import annotations

from postroom.diagnostics import CheckReport
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
    lines.append("all steps passed" if not failed else f"failed: {', '.join(failed)}")
    return "\n".join(lines)
