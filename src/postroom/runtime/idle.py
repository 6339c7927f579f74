"""The IDLE watch of `postroom run` (`services.poll_idle`): one thread beside the scheduler,
in the parent process only, so the service holds at most ``POSTROOM_IDLE_CONNECTIONS`` idle
connections however many workers it has."""

from __future__ import annotations

import threading

from postroom.bootstrap import App


def start_idle(application: App, stop: threading.Event) -> threading.Thread | None:
    """Start watching the channels that can IDLE; None when switched off (0 connections)."""
    watch = application.idle_watch()
    if watch is None:
        return None
    thread = threading.Thread(target=watch.run, args=(stop,), name="idle", daemon=True)
    thread.start()
    return thread
