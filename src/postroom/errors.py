"""Postroom's error taxonomy.

Callers decide what to do by an error's *type*: a `TransientError` is worth
retrying later (a 4xx, a dropped connection, a timeout), a `PermanentError` is
not (a 5xx, a refused login).  A `UserError` is a mistake in what a person
asked for and is shown as one line, never as a traceback.
"""

from __future__ import annotations


class PostroomError(Exception):
    """Base of every error Postroom raises on purpose."""


class UserError(PostroomError):
    """Bad input from a person: shown as one line, changes nothing."""


class InputError(UserError):
    """What a command was given cannot be used as given, before anything is looked up: a
    URL of an unknown scheme, a file that is missing or unreadable, an environment variable
    that is not set, a ``POSTROOM_…`` setting out of range. Exit status 2, as a mistyped
    command line (README, "Exit status"): fix the command or the environment and run it
    again. A request that is well formed but refused (a name not found or taken, a check
    that failed) stays a plain `UserError`, exit status 1."""


class NotFoundError(UserError):
    """A named thing (work item, channel, route, user) does not exist."""


class TransientError(PostroomError):
    """Worth retrying later."""


class PermanentError(PostroomError):
    """Retrying will not help."""


class StorageUnavailableError(TransientError):
    """The message could not be stored (disk, database); the sender should retry."""


class SetupError(InputError, StorageUnavailableError):
    """A ``POSTROOM_…`` setting or the data folder cannot be used, so nothing can be stored.
    A person is told as for any `InputError` (exit 2, the variable and the fix); for an MTA's
    `postroom ingest` it is a storage that cannot be used now (exit 75), so the mail waits
    on the MTA's queue until the setting is fixed, never bounced; `postroom run` exits
    instead of waiting for it (`runtime.startup`)."""


class StorageError(PostroomError):
    """The database refused a statement for what it holds (not an outage: that is a
    `StorageUnavailableError`); ``orig`` is the driver's own exception, naming the cause."""

    def __init__(self, message: str, orig: BaseException | None = None) -> None:
        super().__init__(message)
        self.orig = orig


class StorageConflictError(StorageError):
    """A write broke a unique key: what it would store is stored already (by this
    transaction, or by another that committed first)."""
