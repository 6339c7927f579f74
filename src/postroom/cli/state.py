"""The application object for one CLI invocation."""

from __future__ import annotations

from postroom.bootstrap import App


def current_app() -> App:
    """Settings are read from the environment at each invocation (tests change them)."""
    return App()
