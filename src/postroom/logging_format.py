"""Log lines as `postroom run --log-format json` writes them: one JSON object per line.

Every line has the same keys first — ``ts`` (UTC, ISO 8601), ``level``, ``event``,
``logger``, ``pid``, ``message`` — then the event's own fields. A line logged with
``extra={"event": NAME, "data": {...}}`` names its event and fields itself; the lines
the services log (a poll done, a message quarantined, a channel failure) are known here
by their logger and message template, their arguments becoming named fields, so the
services need not know how the door writes its log. Any other line is event ``log``.

No secret reaches a line: the services never log a password or token, and a URL's
query string that names one (``?token=``, ``password=``) is cut here as a last guard
(except in a line logged with ``extra={"printed": True}``: the sign-up link printed at
start, as `postroom web` prints it on its terminal).
"""

from __future__ import annotations

import json
import logging
import re
from datetime import UTC, datetime
from typing import Any

EVENT = "event"
DATA = "data"
"""The ``extra`` keys a log call may give: the event's name and its fields."""
PRINTED = "printed"
"""The ``extra`` key (True) of a line a person is meant to read whole (`postroom run`'s
start-up lines: the one-time sign-up link is the point of its line)."""

KNOWN: dict[tuple[str, str], tuple[str, tuple[str, ...]]] = {
    (
        "postroom.services.scheduler",
        "channel %s: %d fetched (%d handled, %d quarantined, %d duplicates), "
        "%d stored earlier deleted, %d left, %.1f s",
    ): (
        "poll.done",
        (
            "channel",
            "fetched",
            "handled",
            "quarantined",
            "duplicates",
            "deleted_known",
            "remaining",
            "seconds",
        ),
    ),
    ("postroom.services.scheduler", "channel %s: %s: %s"): (
        "channel.failure",
        ("channel", "error_class", "error"),
    ),
    ("postroom.services.scheduler", "poll of channel %s failed: %s"): (
        "poll.failed",
        ("channel_id", "error"),
    ),
    ("postroom.services.ingest", "message %s quarantined: %s"): (
        "message.quarantined",
        ("sha256", "reason"),
    ),
    ("postroom.services.poll", "channel %s switched off: %s"): (
        "channel.switched_off",
        ("channel", "error"),
    ),
    ("postroom.services.send", "outbox %s: %s %s"): (
        "outbox.settled",
        ("outbox_id", "status", "error"),
    ),
    ("postroom.send", "outbox: %s"): ("send.errors", ("errors",)),
}
"""(logger, message template) → (event, names of its arguments)."""

_FIRST = ("ts", "level", "event", "logger", "pid", "message")
_SECRET_QUERY = re.compile(
    r"([?&;](?:token|password|passwd|pw|secret|key|access_token|session)=)[^&;\s\"']{0,4096}",
    re.IGNORECASE,
)


def without_secrets(text: str) -> str:
    """``text`` with the value of a secret-looking URL parameter replaced by ``…``."""
    return _SECRET_QUERY.sub(r"\1…", text)


def event_of(record: logging.LogRecord) -> tuple[str, dict[str, Any]]:
    """The record's event name and fields."""
    event = getattr(record, EVENT, None)
    if isinstance(event, str):
        data = getattr(record, DATA, None)
        return event, dict(data) if isinstance(data, dict) else {}
    known = KNOWN.get((record.name, str(record.msg)))
    if known is not None and isinstance(record.args, tuple) and len(record.args) == len(known[1]):
        name, fields = known
        return name, {
            field: _plain(value) for field, value in zip(fields, record.args, strict=True)
        }
    return "log", {}


def _message(record: logging.LogRecord) -> str:
    text = record.getMessage()
    return text if getattr(record, PRINTED, False) is True else without_secrets(text)


def _plain(value: object) -> object:
    if value is None or isinstance(value, bool | int | float):
        return value
    return without_secrets(str(value))


class JsonFormatter(logging.Formatter):
    """One JSON object per line (ASCII only: any other character escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        event, data = event_of(record)
        line: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "event": event,
            "logger": record.name,
            "pid": record.process,
            "message": _message(record),
        }
        for key, value in data.items():
            if key not in _FIRST:
                line[key] = _plain(value)
        if record.exc_info:
            line["exception"] = without_secrets(self.formatException(record.exc_info))
        return json.dumps(line, ensure_ascii=True, default=str)
