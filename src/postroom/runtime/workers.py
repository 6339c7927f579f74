"""The worker processes of `postroom run`: started, watched, started again when one dies.

A worker that dies anyway (killed, out of memory, a crash in a C library) is started
again by the parent, 1 s later, then 2 s, 4 s ... at most 30 s apart while it keeps
dying, so its share of the mailboxes is polled again; the others go on meanwhile.
"""

from __future__ import annotations

import contextlib
import logging
import multiprocessing
import os
import signal
import threading
import time
from collections.abc import Callable
from multiprocessing.process import BaseProcess

from postroom.runtime.naming import naming_children
from postroom.runtime.process import ProcessOptions, worker
from postroom.runtime.signals import held

log = logging.getLogger("postroom.run")


class Slot:
    """One process the pool keeps running: what it is called in the log, its target."""

    def __init__(
        self,
        name: str,
        target: Callable[..., None],
        args: tuple[object, ...],
        title: bytes | None = None,
    ) -> None:
        self.name = name
        self.target = target
        self.args = args
        self.title = title
        """The process's name as the system shows it (None: the parent's)."""


class WorkerPool:
    """The first workers are forked (started in milliseconds, Postroom already imported),
    before any thread runs. A replacement is spawned — a fresh interpreter, ~1 s —
    because by then the parent has threads, and a fork would copy the locks they hold.
    """

    FIRST = 1.0
    LONGEST = 30.0
    STEADY = 60.0
    """A worker that lived this long before dying is started again after `FIRST` seconds."""

    def __init__(
        self,
        count: int,
        options: ProcessOptions,
        stop: threading.Event,
        extra: tuple[Slot, ...] = (),
    ) -> None:
        self.options = options
        self.stop = stop
        self.targets = [Slot("worker", worker, (options,)) for _ in range(count)] + list(extra)
        fork = multiprocessing.get_context("fork")
        self.slots: list[BaseProcess] = [
            fork.Process(target=t.target, args=t.args, daemon=True) for t in self.targets
        ]
        with held():  # runtime.signals, rule 5
            for kind, child in zip(self.targets, self.slots, strict=True):
                with naming_children(kind.title):
                    child.start()
        self.started = [time.monotonic()] * len(self.slots)
        self.delays = [0.0] * len(self.slots)

    def watch(self) -> None:
        """Start watching the workers in a thread of this process."""
        threading.Thread(target=self._watch, name="workers", daemon=True).start()

    def _watch(self) -> None:
        spawn = multiprocessing.get_context("spawn")
        due: dict[int, float] = {}
        while not self.stop.wait(0.5):
            for slot, child in enumerate(self.slots):
                if slot in due:
                    if time.monotonic() >= due[slot] and not self.stop.is_set():
                        del due[slot]
                        kind = self.targets[slot]
                        again = spawn.Process(target=kind.target, args=kind.args, daemon=True)
                        with held():
                            again.start()
                        self.slots[slot], self.started[slot] = again, time.monotonic()
                        log.warning("%s process %s started", kind.name, again.pid)
                elif not child.is_alive():
                    lived = time.monotonic() - self.started[slot]
                    delay = self.FIRST if lived >= self.STEADY else self.delays[slot] * 2
                    self.delays[slot] = delay = min(max(delay, self.FIRST), self.LONGEST)
                    due[slot] = time.monotonic() + delay
                    log.error(
                        "%s process %s exited (code %s); starting another in %d s",
                        self.targets[slot].name,
                        child.pid,
                        child.exitcode,
                        delay,
                    )

    GRACE = 30.0
    """Seconds the workers have, all together, to stop after SIGTERM before SIGKILL."""

    def terminate(self) -> None:
        """SIGTERM to every worker, wait for them (`GRACE` seconds in all), then SIGKILL
        the ones still there: a stop always ends."""
        for child in self.slots:
            if child.pid is not None and child.is_alive():
                os.kill(child.pid, signal.SIGTERM)
        deadline = time.monotonic() + self.GRACE
        for child in self.slots:
            if child.pid is not None:
                child.join(timeout=max(0.0, deadline - time.monotonic()))
        for child in self.slots:
            if child.pid is not None and child.is_alive():
                log.error("process %s did not stop in %d s: killed", child.pid, self.GRACE)
                self._kill(child)
                child.join(timeout=5)

    def kill(self) -> None:
        """SIGKILL to every worker at once (a second stop signal); waits for nothing."""
        for child in list(self.slots):
            self._kill(child)

    @staticmethod
    def _kill(child: BaseProcess) -> None:
        if child.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(child.pid, signal.SIGKILL)
