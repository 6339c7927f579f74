"""Fixtures for the loopback mail stack (tests/servers/mailstack)."""
