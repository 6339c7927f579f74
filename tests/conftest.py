"""Shared fixtures: see tests/support/."""

pytest_plugins = ["support.database", "support.mailstack"]
