"""What a message that could not be handled keeps of its failure, and what its reason says.

The whole traceback stays with the quarantined message (``messages.error``) for whoever
fixes the bug; its last line is the real cause in one line, which the quarantine reason
(`postroom.services.ledger.quarantine_document`) and the log quote.
"""

from __future__ import annotations

import traceback

from postroom.errors import StorageError

_CAUSE_LIMIT = 300
"""Characters of a cause kept in the reason (an exception can quote the whole message)."""


def error_text(exc: BaseException) -> str:
    """The traceback, then the real cause in one line (`_cause`)."""
    return "".join(traceback.format_exception(exc, limit=8)) + _cause(exc)


def _cause(exc: BaseException) -> str:
    """``Class: first line of the message`` of the exception that really failed.

    A database error is named by the driver's own exception (`StorageError.orig`): the
    text around it adds the statement and a link to documentation. Only the first line is
    taken (PostgreSQL's DETAIL line quotes the values of the row), at most `_CAUSE_LIMIT`
    characters of it; the rest is kept as it is (whoever shows it escapes it).
    """
    if isinstance(exc, StorageError) and exc.orig is not None:
        exc = exc.orig
    lines = str(exc).strip().splitlines()
    first = lines[0][:_CAUSE_LIMIT].strip() if lines else ""
    name = type(exc).__name__
    return f"{name}: {first}" if first else name
