"""IMAP IDLE (RFC 2177): one connection that waits for the server to say new mail arrived.

The folder is opened read-only (EXAMINE); ``IDLE`` is sent and every ``* n EXISTS`` calls
``changed`` (at most once per `MIN_GAP` seconds: a chatty server cannot turn into a flood
of wake-ups). The server's lines are read with the bounded reader one second at a time, so
a stop request ends the wait within a second; the IDLE is renewed every `RENEW` seconds
(servers drop an idle client after 30 minutes, RFC 2177 §3). Nothing is fetched here: the
poll, woken, does that.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable

from postroom.mailboxes.imap_wire import BoundedImap
from postroom.net.connection import ConnectionFailure, FailureClass

RENEW = 25 * 60.0
"""Seconds one IDLE command lasts before DONE and a new IDLE."""
MIN_GAP = 1.0
"""Seconds between two calls of ``changed`` at least."""
LINE_BUDGET = 64 * 1024
"""Octets the server may send per second of waiting."""

_EXISTS = re.compile(rb"^\* \d{1,10} (EXISTS|RECENT)\b")


def idle(
    client: BoundedImap,
    where: str,
    stop: threading.Event,
    changed: Callable[[], None],
    seconds: float,
) -> None:
    """IDLE on the selected folder until ``stop`` or ``seconds`` (renewed every `RENEW`);
    `ConnectionFailure` when the server ends it or misbehaves."""
    ends = time.monotonic() + seconds
    last_call = 0.0
    while not stop.is_set() and time.monotonic() < ends:
        tag = client._new_tag()  # imaplib's tag counter: tags never repeat
        client.budget(client.timeout_s, LINE_BUDGET)
        client.send(tag + b" IDLE\r\n")
        first = client.readline()
        if not first.startswith(b"+"):
            raise ConnectionFailure(
                FailureClass.PROTOCOL, f"{where}: IDLE refused: {_shown(first)}"
            )
        renew = min(ends, time.monotonic() + RENEW)
        while not stop.is_set() and time.monotonic() < renew:
            client.budget(1.0, LINE_BUDGET)
            try:
                line = client.readline()
            except TimeoutError:
                continue
            if not line:
                raise ConnectionFailure(FailureClass.CONNECTION, f"{where}: IDLE ended by EOF")
            if line.startswith(b"* BYE"):
                raise ConnectionFailure(
                    FailureClass.CONNECTION, f"{where}: server ended IDLE: {_shown(line)}"
                )
            if _EXISTS.match(line) and time.monotonic() - last_call >= MIN_GAP:
                last_call = time.monotonic()
                changed()
        client.budget(client.timeout_s, LINE_BUDGET)
        client.send(b"DONE\r\n")
        while True:
            line = client.readline()
            if not line:
                raise ConnectionFailure(FailureClass.CONNECTION, f"{where}: IDLE ended by EOF")
            if line.startswith(tag + b" "):
                break
            if _EXISTS.match(line):
                changed()


def _shown(line: bytes) -> str:
    return line[:120].decode("ascii", "replace").strip()
