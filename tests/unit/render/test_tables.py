"""`channel list`'s table: aligned columns with a header, wide characters counted as two,
remote text escaped, and a last error shown once (never ``dns: dns: …``)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime

import pytest

from postroom.records.config import ChannelRecord
from postroom.render.config import CHANNEL_COLUMNS, channel_row, error_text
from postroom.render.table import table, width

NOW = datetime(2026, 11, 2, 9, 30)


def channel(**overrides: object) -> ChannelRecord:
    values: dict[str, object] = {
        "id": 1, "name": "support", "url": "pop3s://a@example.test@pop.example.test:995",
        "address": "a@example.test", "password_enc": "x", "authzid": None, "ca_file": None,
        "mechanism": "auto", "interval_s": 60, "max_failures": 10, "timeout_s": 30,
        "enabled": True, "disabled_reason": None, "failure_count": 0, "last_error_class": None,
        "last_error": None, "last_error_at": None, "last_success": None, "last_poll": None,
        "next_poll": NOW, "lease_owner": None, "lease_until": None, "last_check": None,
        "last_check_ok": True, "smtp_url": None, "created_at": NOW, "uidl_reuse_seen": False,
    }  # fmt: skip
    values.update(overrides)
    return ChannelRecord(**values)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("error_class", "error", "shown"),
    [
        ("dns", "dns: no such host (check the name)", "dns: no such host (check the name)"),
        ("authentication", "auth: authentication failed", "auth: authentication failed"),
        ("connection", "connection refused", "connection: connection refused"),
        ("timeout", "read timed out: 30 s", "timeout: read timed out: 30 s"),
        (None, None, ""),
        ("dns", None, "dns"),
    ],
)  # fmt: skip
def test_an_error_is_shown_once(error_class: str | None, error: str | None, shown: str) -> None:
    assert error_text(error_class, error) == shown


def test_the_channel_table_is_aligned_under_its_header() -> None:
    rows = [
        channel_row(channel()),
        channel_row(
            replace(
                channel(),
                name="邮件",
                enabled=False,
                disabled_reason="disabled by a user",
                failure_count=3,
                last_error_class="dns",
                last_error="dns: no\x1b[2J host",
            )
        ),
    ]
    lines = table(CHANNEL_COLUMNS, rows).splitlines()
    assert lines[0].startswith("NAME     ON   PROTOCOL  INTERVAL  NEXT POLL")
    assert lines[1].startswith("support  on   pop3s     60s       2026-11-02T09:30:00Z")
    assert lines[2].startswith("邮件     off  pop3s     60s       -")
    starts = [width(line[: line.index("pop3s")]) for line in lines[1:]]
    assert starts == [width(lines[0][: lines[0].index("PROTOCOL")])] * 2
    assert lines[2].endswith("3/10      dns: no\\x1b[2J host (off: disabled by a user)")
    assert "\x1b" not in "\n".join(lines)
