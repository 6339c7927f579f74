"""The overview: every channel and SMTP server at a glance, the outbox by status, what
waits for a person, and the ledger's totals.

One read-only snapshot feeds three readers: `postroom status`, the dashboard and
`/metrics`. Everything is counted in the database when asked (`uow.tallies`), so any
number of processes (forked workers, several `postroom web`) report the same figures
without sharing memory. `activity` adds what `/metrics` alone shows: polls by channel and
outcome, poll and handling durations, as stored when they happened (`uow.metrics`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from postroom.clock import utcnow
from postroom.records.config import SmtpServerRecord
from postroom.records.statuses import MessageStatus, OutboxStatus
from postroom.storage.metrics import Tally
from postroom.storage.tallies import ChannelState
from postroom.storage.unit import Storage


@dataclass(frozen=True, slots=True)
class ChannelHealth:
    name: str
    enabled: bool
    protocol: str
    last_success: datetime | None
    last_poll: datetime | None
    messages_today: int
    messages_total: int
    failure_count: int
    last_error_class: str | None
    last_error: str | None
    hint: str | None
    """The hint of the failed step of the last connection check, if one failed."""
    checked: bool
    """A connection check ever ran."""
    last_check_ok: bool | None = None
    """The last connection check passed (True), failed (False) or never ran (None)."""
    disabled_reason: str | None = None
    """Why the channel is off (switched off after too many failures, or by a person)."""
    last_error_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class ServerHealth:
    name: str
    enabled: bool
    protocol: str
    default: bool
    last_check_ok: bool | None
    last_error: str | None
    hint: str | None
    checked: bool
    sent_today: int | None = None
    """Outbound messages it sent today (UTC day), from the outbox's stored outcomes; None:
    not counted (`OverviewService.overview` without ``sends_today``)."""


@dataclass(frozen=True, slots=True)
class Overview:
    at: datetime
    channels: list[ChannelHealth]
    servers: list[ServerHealth]
    outbox: dict[str, int]
    """Outbound messages by status (every status, zero included)."""
    send_attempts: dict[str, int]
    """Send attempts made for the messages now in each outbox status."""
    messages: dict[str, int]
    """Stored messages by ledger status (every status, zero included)."""
    handled_by_rule: dict[str, int]
    quarantined: int
    unhandled: int
    last_poll: datetime | None


@dataclass(frozen=True, slots=True)
class Histogram:
    """Durations as Prometheus reads a histogram: ``buckets`` are cumulative, one per
    bound of ``bounds`` and a last one for +Inf (equal to ``count``)."""

    bounds: tuple[float, ...]
    buckets: tuple[int, ...]
    count: int
    seconds: float
    """The sum of every duration."""

    @classmethod
    def of(cls, tally: Tally) -> Histogram:
        running, cumulative = 0, []
        for n in tally.buckets:
            running += n
            cumulative.append(running)
        return cls(tally.bounds, tuple(cumulative), tally.count, tally.seconds)


@dataclass(frozen=True, slots=True)
class Activity:
    """What polls and handling did since the database was made (cumulative)."""

    polls: dict[tuple[str, str], int]
    """Polls by (channel, outcome): ``ok``, ``idle`` or a failure class."""
    poll_seconds: Histogram
    handling_seconds: Histogram
    """Each message's handling (the Email Handler's decision and what it wrote)."""


class OverviewService:
    def __init__(self, storage: Storage, clock: Callable[[], datetime] = utcnow) -> None:
        self.storage = storage
        self._clock = clock

    def ready(self) -> None:
        """Returns when the database answers; `StorageUnavailableError` when it does not."""
        with self.storage.reading() as uow:
            uow.tallies.ping()

    def overview(self, *, sends_today: bool = False) -> Overview:
        """One snapshot of everything; "today" is the UTC day. ``sends_today``: count what
        each SMTP server sent today too (`postroom status`; a scan of the outbox's sent
        messages, which the dashboard and `/metrics` do not show)."""
        now = self._clock()
        midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
        with self.storage.reading() as uow:
            channels = uow.tallies.channel_states()
            servers = uow.servers.all()
            ledger = uow.tallies.ledger()
            today = uow.tallies.messages_between(midnight, midnight + timedelta(days=1))
            queue = uow.tallies.outbox()
            sent = (
                uow.tallies.sent_between(midnight, midnight + timedelta(days=1))
                if sends_today
                else None
            )
        by_status = {status.value: 0 for status in MessageStatus}
        by_rule: dict[str, int] = {}
        by_channel = ledger.by_channel
        for (status, rule), count in ledger.by_status.items():
            by_status[status] = by_status.get(status, 0) + count
            if status == MessageStatus.HANDLED and rule:
                by_rule[rule] = by_rule.get(rule, 0) + count
        outbox = {status.value: 0 for status in OutboxStatus}
        attempts = {status.value: 0 for status in OutboxStatus}
        for status, (count, tries) in queue.items():
            outbox[status] = count
            attempts[status] = tries
        polls = [c.last_poll for c in channels if c.last_poll is not None]
        return Overview(
            at=now,
            channels=[_channel(c, today.get(c.id, 0), by_channel.get(c.id, 0)) for c in channels],
            servers=[
                _server(s, None if sent is None else sent.get(f"smtp:{s.name}", 0)) for s in servers
            ],
            outbox=outbox,
            send_attempts=attempts,
            messages=by_status,
            handled_by_rule=dict(sorted(by_rule.items())),
            quarantined=by_status[MessageStatus.QUARANTINED],
            unhandled=by_status[MessageStatus.UNHANDLED],
            last_poll=max(polls) if polls else None,
        )

    def activity(self) -> Activity:
        """Polls by channel and outcome, poll and handling durations, as stored."""
        with self.storage.reading() as uow:
            polls = uow.metrics.polls()
            poll_seconds = uow.metrics.poll_durations()
            handling_seconds = uow.metrics.handling_durations()
        return Activity(polls, Histogram.of(poll_seconds), Histogram.of(handling_seconds))


def _channel(channel: ChannelState, today: int, total: int) -> ChannelHealth:
    return ChannelHealth(
        name=channel.name,
        enabled=bool(channel.enabled),
        protocol=_scheme(channel.url),
        last_success=channel.last_success,
        last_poll=channel.last_poll,
        messages_today=today,
        messages_total=total,
        failure_count=channel.failure_count,
        last_error_class=channel.last_error_class,
        last_error=channel.last_error,
        hint=_hint(channel.failed_check) or _class_hint(channel.last_error_class),
        checked=channel.last_check_ok is not None,
        last_check_ok=channel.last_check_ok,
        disabled_reason=channel.disabled_reason,
        last_error_at=channel.last_error_at,
    )


def _server(server: SmtpServerRecord, sent_today: int | None) -> ServerHealth:
    failed = _failed_step(server.last_check)
    return ServerHealth(
        name=server.name,
        enabled=bool(server.enabled),
        protocol=_scheme(server.url),
        default=bool(server.is_default),
        last_check_ok=server.last_check_ok,
        last_error=_text(failed.get("error")) if failed else None,
        hint=_hint(server.last_check),
        checked=server.last_check_ok is not None,
        sent_today=sent_today,
    )


def _scheme(url: str) -> str:
    """The URL's scheme (``pop3s``): what comes before its first colon (no full parse: the
    dashboard asks for hundreds at a time)."""
    scheme, colon, _ = url.partition(":")
    return scheme.lower() if colon else ""


def _failed_step(report: dict[str, Any] | None) -> dict[str, Any] | None:
    """The first step of a check report that failed (reports are ours: `CheckReport`)."""
    steps = report.get("steps") if isinstance(report, dict) else None
    if not isinstance(steps, list):
        return None
    for step in steps:
        if isinstance(step, dict) and step.get("ok") is False:
            return step
    return None


def _hint(report: dict[str, Any] | None) -> str | None:
    failed = _failed_step(report)
    return _text(failed.get("hint")) if failed else None


_CLASS_HINTS = {
    "authentication": "check the channel's user name, password and authorization identity,"
    " then test the connection",
    "dns": "the host name does not resolve: check its spelling and this machine's DNS",
    "connection": "nothing answers on that port: check the host, the port and any firewall",
    "timeout": "the server did not answer in time: check the host, the port and the network",
    "tls": "the certificate is not trusted for this host: test the connection to see it;"
    " give the channel a CA file if the server uses a private CA",
    "protocol": "the server answered outside the protocol: check the port and the scheme"
    " (pop3s:// on 995, imaps:// on 993, pop3:// or imap:// with STARTTLS)",
    "storage": "Postroom's database or blob folder could not be used: see the service's log",
    "configuration": "the channel's stored settings cannot be used: edit the channel",
    "message-too-large": "a message over POSTROOM_MAX_MESSAGE_BYTES was left on the server",
}
"""What to do about a poll's failure, by its class, when no failed check says more."""


def _class_hint(failure_class: str | None) -> str | None:
    return _CLASS_HINTS.get(failure_class) if failure_class else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) else None
