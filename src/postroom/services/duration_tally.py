"""What `/metrics` counts as polls and handling happen: a poll's outcome and duration,
and each message's handling time, written to the database (`uow.metrics`), never kept
in a process's memory."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import ParamSpec, TypeVar

from postroom.errors import StorageUnavailableError
from postroom.services.poll_report import ChannelReport
from postroom.storage.unit import Storage, UnitOfWork

P = ParamSpec("P")
R = TypeVar("R")


def poll_outcome(report: ChannelReport) -> str:
    """``ok`` (mail moved or left for its size), ``idle`` (nothing to do) or the class
    of the failure (``authentication``, ``timeout``, ``storage`` …)."""
    if report.error_class is not None:
        return report.error_class.value
    if report.fetched or report.deleted_known or report.left_too_large:
        return "ok"
    return "idle"


def tally_poll(storage: Storage, report: ChannelReport) -> None:
    """Count one poll that ran (not one skipped for another poller's lease). While the
    database is away the poll goes uncounted: there is nowhere to count it."""
    if report.skipped:
        return
    try:
        with storage.writing() as uow:
            uow.metrics.add_poll(report.channel, poll_outcome(report), report.seconds)
    except StorageUnavailableError:
        pass


class HandlingTimes:
    """The handling time of each message of one batch, written with the batch's commit
    (one statement per batch, never one per message)."""

    def __init__(self) -> None:
        self.seconds: list[float] = []

    def timed(self, handle: Callable[P, R], *args: P.args, **kwargs: P.kwargs) -> R:
        start = time.perf_counter()
        try:
            return handle(*args, **kwargs)
        finally:
            self.seconds.append(time.perf_counter() - start)

    def record(self, uow: UnitOfWork, channel_id: int | None) -> None:
        uow.metrics.add_handling(channel_id, self.seconds)
