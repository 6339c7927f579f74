"""The overview (`postroom status --json`, the dashboard) in the shape of docs/cli.md:
channels, SMTP servers, outbox by status, quarantine and unhandled counts."""

from __future__ import annotations

from typing import Any

from postroom.render.stamps import iso
from postroom.services.overview import ChannelHealth, Overview, ServerHealth


def status_json(overview: Overview) -> dict[str, Any]:
    """`postroom status --json`."""
    return {
        "at": iso(overview.at),
        "channels": [channel_health_json(c) for c in overview.channels],
        "smtp_servers": [server_health_json(s) for s in overview.servers],
        "outbox": dict(overview.outbox),
        "quarantine": overview.quarantined,
        "unhandled": overview.unhandled,
        "last_poll": iso(overview.last_poll),
    }


def channel_health_json(channel: ChannelHealth) -> dict[str, Any]:
    return {
        "name": channel.name,
        "enabled": channel.enabled,
        "protocol": channel.protocol,
        "last_success": iso(channel.last_success),
        "last_poll": iso(channel.last_poll),
        "messages_today": channel.messages_today,
        "failure_count": channel.failure_count,
        "last_error_class": channel.last_error_class,
        "last_error": channel.last_error,
        "hint": channel.hint,
        "checked": channel.checked,
    }


def server_health_json(server: ServerHealth) -> dict[str, Any]:
    return {
        "name": server.name,
        "enabled": server.enabled,
        "protocol": server.protocol,
        "default": server.default,
        "last_check_ok": server.last_check_ok,
        "last_error": server.last_error,
        "hint": server.hint,
        "checked": server.checked,
        "sent_today": server.sent_today,
    }
