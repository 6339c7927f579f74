"""Polling many channels: each on its own interval, concurrently, fairly, once at a time.

* A bounded thread pool (``max_connections``) polls channels concurrently; a
  channel is never submitted twice while a poll of it runs here, and the
  database lease keeps other processes off it too.
* Fairness: channels are taken oldest-due first, and a poll of one channel
  stops after `PollService.MAX_MESSAGES` or `MAX_SECONDS`, so a huge or slow
  mailbox holds one connection and never the whole pool.
* Errors of one channel are recorded on that channel and never stop the others.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor, as_completed

from sqlalchemy import Engine

from postroom.services.ingest import utcnow
from postroom.services.poll import ChannelReport, PollService
from postroom.storage import channels

log = logging.getLogger(__name__)


class Scheduler:
    def __init__(self, engine: Engine, poller: PollService, max_connections: int = 8) -> None:
        self.engine = engine
        self.poller = poller
        self.max_connections = max(1, max_connections)

    def poll_once(self, names: list[str] | None = None) -> list[ChannelReport]:
        """One poll of every enabled channel (or of the named ones), then return."""
        with self.engine.connect() as conn:
            if names:
                targets = channels.due(conn, utcnow(), names)
                missing = set(names) - {c.name for c in targets}
                if missing:
                    channels.get_channel(conn, sorted(missing)[0])
            else:
                targets = [c for c in channels.list_channels(conn) if c.enabled]
        reports: list[ChannelReport] = []
        with ThreadPoolExecutor(self.max_connections, thread_name_prefix="poll") as pool:
            futures = [pool.submit(self.poller.poll, c) for c in targets]
            for future in as_completed(futures):
                reports.append(future.result())
        return sorted(reports, key=lambda r: r.channel)

    def run(
        self,
        stop: threading.Event,
        tick: float = 1.0,
        housekeeping: Callable[[], None] | None = None,
    ) -> None:
        """Poll due channels until ``stop`` is set; ``housekeeping`` runs every tick."""
        in_flight: dict[int, Future[ChannelReport]] = {}
        with ThreadPoolExecutor(self.max_connections, thread_name_prefix="poll") as pool:
            while not stop.is_set():
                for cid, fut in list(in_flight.items()):
                    if fut.done():
                        del in_flight[cid]
                        exc = fut.exception()
                        if exc is not None:
                            log.error("poll of channel %s failed: %s", cid, exc)
                free = self.max_connections - len(in_flight)
                if free > 0:
                    with self.engine.connect() as conn:
                        due = channels.due(conn, utcnow())
                    for channel in due:
                        if free <= 0:
                            break
                        if channel.id in in_flight:
                            continue
                        in_flight[channel.id] = pool.submit(self.poller.poll, channel)
                        free -= 1
                if housekeeping is not None:
                    try:
                        housekeeping()
                    except Exception:  # housekeeping must not stop polling
                        log.exception("housekeeping failed")
                stop.wait(tick)
            for fut in in_flight.values():
                fut.cancel()
