"""Fixtures for polling tests (defined in support.polling)."""

from support.polling import postroom, silent_server

__all__ = ["postroom", "silent_server"]
