"""Who is signed in, and the API tokens people hold, as storage hands them out.

A `TokenRecord` never carries the token or its hash: the secret is shown once, when it is
made, and only its SHA-256 is stored. Datetimes are naive UTC, as stored.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from postroom.records.config import Role


@dataclass(frozen=True, slots=True)
class Principal:
    """A signed-in user: who acts, and what their role lets them do."""

    user_id: int
    name: str
    role: Role


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """An API token, as `token list` shows it."""

    id: int
    user: str
    """The name of the user the token acts for."""
    name: str | None
    """The label given at `token create --name`."""
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in browser session: who it is, and the CSRF token its forms carry."""

    principal: Principal
    csrf: str
