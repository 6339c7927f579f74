"""Starting while the database is away: wait for it, said once, tried again with back-off.

A service started during a database restart (or before the database after a reboot)
must not exit: it would leave its mailboxes unpolled until someone notices. Each try
builds the application afresh, since a failed open leaves nothing worth keeping.
"""

from __future__ import annotations

import logging
import threading

from postroom.bootstrap import App
from postroom.errors import InputError, StorageUnavailableError
from postroom.services.outage import Outage

log = logging.getLogger("postroom.run")


def opened(stop: threading.Event) -> App | None:
    """The application once its database can be opened (None when stopped meanwhile)."""
    outage = Outage(log, "storage")
    while not stop.is_set():
        application = App()
        try:
            application.engine  # noqa: B018 - opens the database, upgrades the schema
        except InputError:
            raise  # a setting or the data folder to fix: waiting would not help
        except StorageUnavailableError as exc:
            outage.failed(exc)
            stop.wait(outage.wait(Outage.LONGEST))
            continue
        outage.succeeded("the database is back")
        return application
    return None
