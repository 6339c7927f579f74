"""Connection testing: what `postroom check` and the web UI run against a mail server."""

from postroom.diagnostics.report import CheckReport, Step, StepName
from postroom.diagnostics.runner import run_check, step_names

__all__ = ["CheckReport", "Step", "StepName", "run_check", "step_names"]
