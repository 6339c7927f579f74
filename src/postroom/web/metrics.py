"""`/metrics`: the overview (`services/overview.py`) as Prometheus metrics, computed from
the database at each scrape by a custom collector.

Nothing is counted in this process's memory, so forked workers and any number of
`postroom web` processes need no shared state and every one answers the same figures.
The ``*_total`` families are counts of what the database holds (messages stored, send
attempts of the outbox's rows); they grow as mail comes in, and Prometheus reads a drop
(a quarantined message retried, rows pruned) as a counter reset.

Durations (polls, handling) are not exported yet: a histogram made from the database
needs each poll's and each message's duration stored; prometheus_client's multiprocess
mode would instead need a directory shared by every process, which one web process in
front of workers on other machines does not have. Stored durations are the way chosen.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector, CollectorRegistry

from postroom.services.overview import Overview, OverviewService


class OverviewCollector(Collector):
    def __init__(self, overview: Callable[[], OverviewService]) -> None:
        self._overview = overview

    def collect(self) -> Iterator[Metric]:
        yield from metrics(self._overview().overview())


def registry(overview: Callable[[], OverviewService]) -> CollectorRegistry:
    """A registry of this app's own (never the process-wide default). The service is
    asked for at each scrape: the web service starts, and answers ``/healthz``, while the
    database is away."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(OverviewCollector(overview))
    return reg


def metrics(ov: Overview) -> Iterator[Metric]:
    fetched = CounterMetricFamily(
        "postroom_messages_fetched", "Messages fetched from each channel", labels=["channel"]
    )
    for c in ov.channels:
        fetched.add_metric([c.name], c.messages_total)
    yield fetched

    stored = CounterMetricFamily("postroom_messages_stored", "Messages stored, every way in")
    stored.add_metric([], sum(ov.messages.values()))
    yield stored

    by_status = GaugeMetricFamily(
        "postroom_messages", "Stored messages by ledger status", labels=["status"]
    )
    for status, count in ov.messages.items():
        by_status.add_metric([status], count)
    yield by_status

    handled = CounterMetricFamily(
        "postroom_messages_handled", "Messages handled, by Email Handler rule", labels=["rule"]
    )
    for rule, count in ov.handled_by_rule.items():
        handled.add_metric([rule], count)
    yield handled

    quarantined = GaugeMetricFamily("postroom_quarantine_messages", "Messages in quarantine")
    quarantined.add_metric([], ov.quarantined)
    yield quarantined
    unhandled = GaugeMetricFamily("postroom_unhandled_messages", "Messages nobody handled")
    unhandled.add_metric([], ov.unhandled)
    yield unhandled

    enabled = GaugeMetricFamily(
        "postroom_channel_enabled", "1 while a channel is polled", labels=["channel"]
    )
    failures = GaugeMetricFamily(
        "postroom_channel_failures",
        "Consecutive failed polls of a channel (0 after a success)",
        labels=["channel"],
    )
    success = GaugeMetricFamily(
        "postroom_channel_last_success_timestamp_seconds",
        "When a channel was last polled without error (Unix time)",
        labels=["channel"],
    )
    for c in ov.channels:
        enabled.add_metric([c.name], 1 if c.enabled else 0)
        failures.add_metric([c.name], c.failure_count)
        if c.last_success is not None:
            success.add_metric([c.name], _unix(c.last_success))
    yield enabled
    yield failures
    yield success

    outbox = GaugeMetricFamily(
        "postroom_outbox_messages", "Outbound messages by status", labels=["status"]
    )
    for status, count in ov.outbox.items():
        outbox.add_metric([status], count)
    yield outbox
    attempts = CounterMetricFamily(
        "postroom_send_attempts",
        "Send attempts, by the outcome their message has now",
        labels=["outcome"],
    )
    for status, count in ov.send_attempts.items():
        attempts.add_metric([status], count)
    yield attempts

    if ov.last_poll is not None:
        last = GaugeMetricFamily(
            "postroom_last_poll_timestamp_seconds", "When any channel was last polled"
        )
        last.add_metric([], _unix(ov.last_poll))
        yield last


def _unix(moment: datetime) -> float:
    """A stored moment (naive UTC) as Unix time."""
    return moment.replace(tzinfo=UTC).timestamp()
