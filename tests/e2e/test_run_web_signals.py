"""Signals rule 5 (runtime/signals.py): a child of `postroom run` (a poller, the web
process) signalled while it is still starting stops itself; the parent does not take that
signal for a second stop request (which made a stop during start-up exit 143 at once)."""

from __future__ import annotations

import subprocess
import sys

import pytest

_SCRIPT = """
import contextlib, multiprocessing, os, signal, sys, threading, time
from postroom.runtime.signals import held, stop_on_signals, worker_signals

stop = threading.Event()
parent = stop_on_signals(stop)

def child():
    time.sleep(0.5)  # still starting (bootstrap, imports) when the stop comes
    mine = threading.Event()
    worker_signals(mine)
    sys.exit(0 if mine.wait(5) else 3)

with held() if sys.argv[1] == "held" else contextlib.nullcontext():
    process = multiprocessing.get_context("fork").Process(target=child)
    process.start()
os.kill(process.pid, signal.SIGTERM)
process.join(10)
time.sleep(0.3)
print(parent.received, process.exitcode, stop.is_set())
"""


def _run(mode: str) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _SCRIPT, mode],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.split()


@pytest.mark.parametrize("round_", range(3))
def test_a_child_signalled_while_starting_stops_itself_and_not_the_parent(round_: int) -> None:
    assert _run("held") == ["0", "0", "False"]


def test_without_holding_the_childs_signal_reaches_the_parent() -> None:
    """The hazard the rule removes, shown: the same child started without `held`."""
    assert _run("bare") == ["1", "3", "True"]
