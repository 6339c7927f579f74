"""The application object for one CLI invocation."""

from __future__ import annotations

from postroom.bootstrap import App

may_migrate = True
"""Whether this invocation may create or upgrade the schema: `main` sets it per command
line (a read-only command may not: `cli.app.READ_ONLY`)."""


def current_app() -> App:
    """Settings are read from the environment at each invocation (tests change them)."""
    return App(migrate=may_migrate)
