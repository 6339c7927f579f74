"""SIGTERM and SIGINT as `postroom run` hears them: the first asks to stop, a second stops.

Rules (each one a hang seen or possible otherwise):

1. A signal handler does nothing but note the signal. Python runs a handler in the main
   thread between two bytecodes, possibly inside ``Event.set()`` or a logging call on the
   same thread; a handler that took their (non re-entrant) locks again would wait for
   itself for ever. The C-level handler writes the signal's number to a wakeup pipe
   (`signal.set_wakeup_fd`), and a thread of our own reads it and acts: sets the stop
   event, logs, kills.
2. The first SIGINT or SIGTERM is a request: polls under way see the event, store what
   they fetched, QUIT and return (what was not stored stays on the server), and the loops
   end at their next tick.
3. A second one, in the parent, stops at once: the workers are killed (SIGKILL) and the
   process exits, without waiting for anything. Nothing is lost (nothing is deleted from a
   server before it is stored); leases of this host's dead processes are taken over at the
   next start.
4. A worker ignores SIGINT: Ctrl-C at a terminal reaches the whole process group, and the
   parent, which hears it too, tells its workers with SIGTERM. A worker's first SIGTERM
   asks it to stop; if it does not, the parent's second signal (or its 30 s limit) kills it.
5. A child is started with the stop signals held (`held`) and lets them through once its
   own handlers are in place (`worker_signals`). A forked child inherits the parent's
   handler and wakeup pipe: a SIGTERM reaching it before its own were installed (a stop
   asked for while it was being started) was read by the parent as a second signal, and
   the parent stopped at once (exit 143) instead of cleanly.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
from collections.abc import Callable, Iterator
from types import FrameType

log = logging.getLogger("postroom.run")

STOPPING = (signal.SIGINT, signal.SIGTERM)


class StopSignals:
    """The stop signals of one process, read from the wakeup pipe by a thread (rule 1)."""

    def __init__(self, stop: threading.Event, heard: tuple[signal.Signals, ...]) -> None:
        self.stop = stop
        self.heard = frozenset(int(s) for s in heard)
        self.received = 0
        """Stop signals read so far (written by the reading thread only)."""
        self.noted = False
        """Set by the handler itself: all a handler may do (rule 1)."""
        self._second: Callable[[int], None] | None = None
        self._read, self._write = os.pipe2(os.O_NONBLOCK | os.O_CLOEXEC)
        os.set_blocking(self._read, True)
        self._before: dict[int, object] = {}
        self._wakeup_before = -1

    def on_second(self, action: Callable[[int], None]) -> None:
        """From now on a second stop signal calls ``action(signum)`` in the reading thread."""
        self._second = action

    def install(self) -> None:
        """Take over the signals (from the main thread) and start the reading thread."""
        if threading.current_thread() is not threading.main_thread():
            return  # signals reach the main thread only: its caller's to handle
        threading.Thread(target=self._listen, name="signals", daemon=True).start()
        self._wakeup_before = signal.set_wakeup_fd(self._write, warn_on_full_buffer=False)
        for signum in self.heard:
            self._before[signum] = signal.signal(signum, self._note)

    def restore(self) -> None:
        """Give the signals back as they were (a command that ends, the process going on:
        tests run many in one process); the reading thread ends."""
        for signum, handler in self._before.items():
            if handler is not None:  # None: set outside Python, cannot be put back
                signal.signal(signum, handler)  # type: ignore[arg-type]
        if self._before:
            signal.set_wakeup_fd(self._wakeup_before)
        os.close(self._write)
        if not self._before:
            os.close(self._read)

    def _note(self, _signum: int, _frame: FrameType | None) -> None:
        self.noted = True

    def _listen(self) -> None:
        while True:
            try:
                data = os.read(self._read, 64)
            except InterruptedError:
                continue
            except OSError:
                return
            if not data:
                os.close(self._read)
                return
            for signum in data:
                if signum in self.heard:
                    self._heard(signum)

    def _heard(self, signum: int) -> None:
        self.received += 1
        name = signal.Signals(signum).name
        if self.received == 1:
            log.info("%s: stopping (a second signal stops at once)", name)
            self.stop.set()
        elif self._second is not None:
            self._second(signum)


def stop_on_signals(stop: threading.Event) -> StopSignals:
    """The parent: SIGINT and SIGTERM set ``stop``; a second one calls what `on_second`
    names (call it from the main thread)."""
    signals = StopSignals(stop, STOPPING)
    signals.install()
    return signals


def worker_signals(stop: threading.Event) -> StopSignals:
    """A worker: SIGTERM sets ``stop``; SIGINT is the parent's to hear (rule 4); then the
    signals held while it was started come through (rule 5)."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signals = StopSignals(stop, (signal.SIGTERM,))
    signals.install()
    signal.pthread_sigmask(signal.SIG_UNBLOCK, STOPPING)
    return signals


@contextlib.contextmanager
def held() -> Iterator[None]:
    """Hold the stop signals in this thread while children are started (rule 5): each
    child starts with them held; this thread gets its own mask back at the end."""
    before = signal.pthread_sigmask(signal.SIG_BLOCK, STOPPING)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, before)


def exit_now(signum: int, kill: Callable[[], None]) -> None:
    """Rule 3: ``kill`` the workers, say so on stderr and leave the process at once."""
    with contextlib.suppress(Exception):
        kill()
    name = signal.Signals(signum).name
    with contextlib.suppress(OSError):
        os.write(2, f"postroom: {name} again: stopped at once\n".encode())
    os._exit(128 + signum)
