"""`/metrics`: the overview (`services/overview.py`) as Prometheus metrics, computed from
the database at each scrape by a custom collector.

Nothing is counted in this process's memory, so forked workers and any number of
`postroom web` processes need no shared state and every one answers the same figures.
The ``*_total`` families are counts of what the database holds (messages stored, send
attempts of the outbox's rows); they grow as mail comes in, and Prometheus reads a drop
(a quarantined message retried, rows pruned) as a counter reset.

Polls and durations are stored as they happen (one upsert per poll, one per batch of
messages: `storage/metrics.py`) and read here like the rest: ``postroom_polls_total``
by channel and outcome, and the histograms ``postroom_poll_duration_seconds`` (every
channel together: 500 channels times 12 buckets would be 6000 series) and
``postroom_message_handling_duration_seconds``. prometheus_client's multiprocess mode
would instead need a directory shared by every process, which one web process in front
of workers on other machines does not have.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector, CollectorRegistry

from postroom.services.overview import Activity, Histogram, Overview, OverviewService


class OverviewCollector(Collector):
    def __init__(self, overview: Callable[[], OverviewService]) -> None:
        self._overview = overview

    def collect(self) -> Iterator[Metric]:
        service = self._overview()
        yield from metrics(service.overview())
        yield from activity(service.activity())


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


def activity(act: Activity) -> Iterator[Metric]:
    polls = CounterMetricFamily(
        "postroom_polls",
        "Polls by channel and outcome (ok, idle: nothing to do, or the failure's class)",
        labels=["channel", "outcome"],
    )
    for (channel, outcome), count in act.polls.items():
        polls.add_metric([channel, outcome], count)
    yield polls
    yield _histogram(
        "postroom_poll_duration_seconds", "How long a poll of a channel took", act.poll_seconds
    )
    yield _histogram(
        "postroom_message_handling_duration_seconds",
        "How long one message's handling took (the decision and what it wrote)",
        act.handling_seconds,
    )


def _histogram(name: str, documentation: str, histogram: Histogram) -> Metric:
    family = HistogramMetricFamily(name, documentation)
    bounds = [_le(b) for b in histogram.bounds] + ["+Inf"]
    family.add_metric(
        [], list(zip(bounds, histogram.buckets, strict=True)), sum_value=histogram.seconds
    )
    return family


def _le(bound: float) -> str:
    """A bucket's bound as Prometheus writes it (``0.5``, ``1.0``)."""
    return repr(float(bound))


def _unix(moment: datetime) -> float:
    """A stored moment (naive UTC) as Unix time."""
    return moment.replace(tzinfo=UTC).timestamp()
