"""A process's name as the system shows it (``ps -o comm``, ``top``, /proc/PID/comm).

`postroom run`'s web process is named ``postroom-web`` so a person (or a test) tells it
from the pollers. A forked child is born with its parent's name, so the parent takes the
child's name for the moment of the fork (`naming_children`): the child never shows under
another name. Linux only; elsewhere names stay as they are.
"""

from __future__ import annotations

import contextlib
import ctypes
from collections.abc import Iterator

_PR_SET_NAME = 15
_PR_GET_NAME = 16


def named(name: bytes) -> None:
    """Name the calling thread (the main thread's name is the process's)."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None).prctl(_PR_SET_NAME, ctypes.c_char_p(name[:15]), 0, 0, 0)


def current() -> bytes | None:
    """The calling thread's name (None where it cannot be read)."""
    buffer = ctypes.create_string_buffer(16)
    try:
        if ctypes.CDLL(None).prctl(_PR_GET_NAME, buffer, 0, 0, 0) != 0:
            return None
    except (OSError, AttributeError):
        return None
    return buffer.value


@contextlib.contextmanager
def naming_children(name: bytes | None) -> Iterator[None]:
    """Children forked inside are born named ``name`` (None: the parent's own name)."""
    before = current() if name is not None else None
    if name is None or before is None:
        yield
        return
    named(name)
    try:
        yield
    finally:
        named(before)
