"""One process of `postroom run`: the scheduler's loop with housekeeping and the outbox's
loop beside it, until stopped.

The parent and every worker run the same loop; they share the mailboxes through the
database (leases, each process taking its share of the due channels). A worker is
started by `workers.WorkerPool` with `worker` as its target, so it sets up its own
logging and signals: a spawned replacement inherits neither.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass

from postroom.records.config import ChannelRecord
from postroom.runtime.heartbeat import Activity, Heartbeat
from postroom.runtime.housekeeping import Housekeeping
from postroom.runtime.idle import start_idle
from postroom.runtime.sending import SendingLoop
from postroom.runtime.signals import worker_signals
from postroom.runtime.startup import opened
from postroom.storage.outbox_signal import on_outbox_queued


@dataclass(frozen=True)
class ProcessOptions:
    """What every process of the service is told; picklable (a spawned worker gets it)."""

    max_connections: int
    """Mailbox connections at once in one process."""
    processes: int
    """Processes of the service in all (the parent included): each takes its share."""
    tick: float
    """Seconds between scheduling rounds."""
    logs: Callable[[], None]
    """Sets up logging the way the door wants its lines (a module-level function)."""
    heartbeat: float = Heartbeat.EVERY
    """Seconds without a log line after which the parent says it is idle (`heartbeat`)."""


def serve(options: ProcessOptions, stop: threading.Event, *, parent: bool = False) -> None:
    """Poll, handle and send until ``stop`` is set (waiting for the database first); the
    ``parent`` also logs the idle heartbeat (once for the whole service)."""
    application = opened(stop)
    if application is None:
        return
    scheduler = application.scheduler(options.max_connections, options.processes)
    sending = SendingLoop(application.sender, options.tick)
    unhook = on_outbox_queued(application.engine, sending.wake)
    thread = threading.Thread(target=sending.run, name="outbox", daemon=True)
    thread.start()
    idle = start_idle(application, stop) if parent else None  # IMAP IDLE: the parent only
    try:
        chores: Callable[[], None] = Housekeeping.of(application)
        if parent:
            chores = _with_heartbeat(chores, application.channels.list, options.heartbeat)
        scheduler.run(stop, options.tick, chores)
    finally:
        sending.close()
        thread.join()
        unhook()
        if idle is not None:
            idle.join(10)


def _with_heartbeat(
    housekeeping: Callable[[], None], channels: Callable[[], list[ChannelRecord]], every: float
) -> Callable[[], None]:
    heartbeat = Heartbeat(channels, Activity.watching(), every)

    def chores() -> None:
        housekeeping()
        heartbeat()

    return chores


def worker(options: ProcessOptions) -> None:
    """The target of a worker process: its signals first (a forked worker inherits the
    parent's handlers, which would tell the parent), then its logging."""
    stop = threading.Event()
    worker_signals(stop)
    options.logs()
    serve(options, stop)
