"""The time Postroom stores: naive UTC, as every datetime column holds it.

A kernel module (usable from every floor) so that a door, the runtime and a service all
read the same clock, and a test can hand any of them another one.
"""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    """Now, in UTC, without a tzinfo (the columns are naive UTC on SQLite and PostgreSQL)."""
    return datetime.now(UTC).replace(tzinfo=None)
