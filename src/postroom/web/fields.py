"""Fields of requests: one line of printable text, bounded, and row ids in paths. A control
character (NUL above all: PostgreSQL refuses it in text) or an id past the database's integer
is a 422 with the field's name, never a 500 from the database."""

from __future__ import annotations

from typing import Annotated

from fastapi import Path
from pydantic import Field

_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
"""One character class, no nesting: linear on any input."""


def line(max_length: int, min_length: int = 1, **extra: str) -> object:
    """A `Field` for one line of text of at most ``max_length`` characters."""
    return Field(
        min_length=min_length,
        max_length=max_length,
        pattern=_PRINTABLE,
        json_schema_extra=dict(extra) or None,
    )


Name = Annotated[str, line(200)]
Address = Annotated[str, line(320, 3, format="email")]
Label = Annotated[str, line(300)]


MAX_ID = 2**31 - 1
"""Row ids fit a 32-bit integer column on every engine (PostgreSQL's ``integer``)."""
RowId = Annotated[int, Path(ge=1, le=MAX_ID)]
"""A row id in a path (``/api/v1/outbox/{row_id}``, ``/communications/{communication_id}``)."""
