"""A call once a transaction that queued outbox rows has committed, in this process.

The sender of `postroom run` waits between rounds; a batch of mail whose replies were just
queued should not leave them waiting for the next tick. Whatever writes the rows (one
reply, a batch's deferred writes) writes them with an INSERT on the outbox table, so the
engine itself tells: the INSERT marks the connection, a rollback clears the mark, and the
connection's return to the pool — after its commit — makes the call. The rows are then
visible to the sender's next read, which a call made before the commit could not promise.

The call runs in the committing thread: it must be cheap and never raise (setting an
event is what it is for). A spurious call (rows inserted in a savepoint rolled back) costs
one read that finds nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import Connection, Engine, event
from sqlalchemy.sql.dml import Insert

from postroom.storage.tables import outbox

_QUEUED = "postroom.outbox_queued"


def on_outbox_queued(engine: Engine, call: Callable[[], None]) -> Callable[[], None]:
    """Call ``call`` after each commit of ``engine`` that inserted outbox rows; returns what
    stops it."""

    def executed(conn: Connection, statement: Any, *_: Any) -> None:
        if isinstance(statement, Insert) and statement.table is outbox:
            conn.info[_QUEUED] = True

    def rolled_back(conn: Connection) -> None:
        # A connection the database cut (an outage) is rolled back invalidated: asking it
        # for its info would try to reconnect inside the rollback. It is closed, not
        # returned to the pool, so its mark goes with it.
        if not conn.invalidated:
            conn.info.pop(_QUEUED, None)

    def returned(_dbapi: Any, record: Any) -> None:
        if record is not None and record.info.pop(_QUEUED, False):
            call()

    event.listen(engine, "after_execute", executed)
    event.listen(engine, "rollback", rolled_back)
    event.listen(engine.pool, "checkin", returned)

    def stop() -> None:
        event.remove(engine, "after_execute", executed)
        event.remove(engine, "rollback", rolled_back)
        event.remove(engine.pool, "checkin", returned)

    return stop
