"""Fast pickup: channels whose server offers IDLE are polled within seconds of new mail.

One thread per watched channel holds an IDLE connection (`ports.mailbox.IdleSource`) and,
when the server says mail arrived, makes the channel due at once (``next_poll`` now); the
scheduler, which looks for due channels every tick, polls it. At most ``max_idle``
connections are held; channels beyond that, servers without IDLE, and a watch whose
connection failed (tried again with back-off) keep the poll interval, which stays the
fallback for every channel in any case.
"""

from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable
from datetime import datetime

from postroom.clock import utcnow
from postroom.credentials import SecretBox
from postroom.errors import PostroomError, StorageUnavailableError
from postroom.net.connection import MailUrl
from postroom.ports.mailbox import IdleSource
from postroom.records.config import ChannelRecord
from postroom.services.mailbox_access import MailboxAccess, SourceFactory
from postroom.storage.unit import Storage

log = logging.getLogger(__name__)

SESSION = 29 * 60.0
"""Seconds of one IDLE connection before it is opened again (settings may have changed)."""
RESCAN = 30.0
"""Seconds between two looks at which channels to watch."""
BACKOFF = (5.0, 30.0, 120.0, 300.0)
NO_IDLE_PAUSE = 3600.0
"""Seconds before a server that had no IDLE is asked again."""


class IdleWatch:
    def __init__(
        self,
        storage: Storage,
        secrets: SecretBox,
        sources: SourceFactory,
        max_idle: int,
        max_message_bytes: int,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self.storage = storage
        self.secrets = secrets
        self.sources = sources
        self.max_idle = max_idle
        self.max_message_bytes = max_message_bytes
        self.clock = clock
        self._watching: dict[int, tuple[threading.Thread, threading.Event, str]] = {}

    @property
    def watching(self) -> list[int]:
        """The channels with an IDLE connection (or trying to hold one)."""
        return [cid for cid, (thread, _, _) in self._watching.items() if thread.is_alive()]

    def run(self, stop: threading.Event) -> None:
        """Keep the right channels watched until ``stop``; then end every watch."""
        try:
            while not stop.is_set():
                # An outage: the scheduler says it; the watches go on, the next rescan tries.
                with contextlib.suppress(StorageUnavailableError):
                    self.rescan(stop)
                stop.wait(RESCAN)
        finally:
            for _, ended, _ in self._watching.values():
                ended.set()
            for thread, _, _ in self._watching.values():
                thread.join(5)

    def rescan(self, stop: threading.Event) -> None:
        """Start watches for enabled channels that can IDLE (up to ``max_idle``), end those
        of channels switched off, removed or changed."""
        with self.storage.reading() as uow:
            channels = [c for c in uow.channels.all() if c.enabled]
        wanted: dict[int, ChannelRecord] = {}
        for channel in channels:
            if len(wanted) >= self.max_idle:
                break
            if _can_idle(channel):
                wanted[channel.id] = channel
        for cid, (thread, ended, key) in list(self._watching.items()):
            kept = wanted.get(cid)
            if kept is None or _key(kept) != key or not thread.is_alive():
                ended.set()
                if not thread.is_alive():
                    del self._watching[cid]
        for cid, channel in wanted.items():
            if cid in self._watching or stop.is_set():
                continue
            ended = threading.Event()
            thread = threading.Thread(
                target=self._watch, args=(channel, stop, ended), name=f"idle-{cid}", daemon=True
            )
            self._watching[cid] = (thread, ended, _key(channel))
            thread.start()

    def _watch(self, channel: ChannelRecord, stop: threading.Event, ended: threading.Event) -> None:
        failures = 0
        while not stop.is_set() and not ended.is_set():
            try:
                access = MailboxAccess.of(channel, self.secrets, self.max_message_bytes)
                source = self.sources(access)
                if not isinstance(source, IdleSource):
                    return
                either = _Either(stop, ended)
                if not source.idle(either, lambda: self.wake(channel.id), SESSION):
                    log.info(
                        "channel %s: the server has no IDLE: polled on its interval", channel.name
                    )
                    _wait(stop, ended, NO_IDLE_PAUSE)
                    continue
                failures = 0
            except PostroomError as exc:
                pause = BACKOFF[min(failures, len(BACKOFF) - 1)]
                failures += 1
                log.info("channel %s: IDLE: %s; again in %.0f s", channel.name, exc, pause)
                _wait(stop, ended, pause)

    def wake(self, channel_id: int) -> None:
        """New mail: the channel is due now."""
        try:
            with self.storage.writing() as uow:
                uow.polls.wake(channel_id, self.clock())
        except StorageUnavailableError:
            log.info(
                "channel %s: new mail, but the database is away: polled on its interval", channel_id
            )


class _Either(threading.Event):
    """Set when either of two events is: the service stops, or this watch ends."""

    def __init__(self, first: threading.Event, second: threading.Event) -> None:
        super().__init__()
        self._events = (first, second)

    def is_set(self) -> bool:
        return any(event.is_set() for event in self._events)


def _wait(stop: threading.Event, ended: threading.Event, seconds: float) -> None:
    for _ in range(int(seconds)):
        if stop.is_set() or ended.is_set():
            return
        stop.wait(1.0)


def _can_idle(channel: ChannelRecord) -> bool:
    try:
        return MailUrl.parse(channel.url).protocol == "imap"
    except PostroomError:
        return False


def _key(channel: ChannelRecord) -> str:
    """What a watch depends on: a change ends it and a new one starts."""
    return "\0".join(
        str(v)
        for v in (
            channel.url,
            channel.password_enc,
            channel.authzid,
            channel.ca_file,
            channel.mechanism,
            channel.folder,
            channel.timeout_s,
        )
    )
