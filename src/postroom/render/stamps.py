"""Moments as docs/cli.md prints them: ISO 8601 in UTC with a ``Z`` (stored naive UTC)."""

from __future__ import annotations

from datetime import datetime


def iso(value: datetime | None) -> str | None:
    return value.isoformat() + "Z" if value is not None else None
