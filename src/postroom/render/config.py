"""Configuration in the shapes of docs/cli.md (`--json` of channel, smtp, route and user
commands), built from records; shared by the CLI and the web API. Never a password."""

from __future__ import annotations

from typing import Any

from postroom.domain.routes import Route
from postroom.records.accounts import TokenRecord
from postroom.records.config import ChannelRecord, SmtpServerRecord, UserRecord
from postroom.render.stamps import iso


def channel_json(channel: ChannelRecord) -> dict[str, Any]:
    """An input channel with its health (`channel list --json`)."""
    return {
        "name": channel.name,
        "url": channel.url,
        "address": channel.address,
        "authzid": channel.authzid,
        "ca_file": channel.ca_file,
        "interval": channel.interval_s,
        "max_failures": channel.max_failures,
        "enabled": bool(channel.enabled),
        "disabled_reason": channel.disabled_reason,
        "failure_count": channel.failure_count,
        "last_error_class": channel.last_error_class,
        "last_error": channel.last_error,
        "last_error_at": iso(channel.last_error_at),
        "last_success": iso(channel.last_success),
        "last_poll": iso(channel.last_poll),
        "next_poll": iso(channel.next_poll),
        "last_check_ok": channel.last_check_ok,
        "smtp_url": channel.smtp_url,
        "folder": channel.folder or ("INBOX" if channel.url.startswith("imap") else None),
        "after": channel.after or "delete",
        "auth": _auth(channel.oauth_provider),
        "token_expires": iso(channel.token_expires),
    }


def _auth(oauth_provider: str | None) -> str:
    """How it logs in: ``password`` or ``oauth2:PROVIDER`` (never a secret)."""
    return f"oauth2:{oauth_provider}" if oauth_provider else "password"


def error_text(error_class: str | None, error: str | None) -> str:
    """A last error for one line: its text, prefixed with its class unless the text already
    starts with a label of its own (``dns: …``, ``auth: …``): never ``dns: dns: …``."""
    if not error:
        return error_class or ""
    label, colon, _ = error.partition(":")
    if not error_class or (colon and label.strip() and " " not in label.strip()):
        return error
    return f"{error_class}: {error}"


CHANNEL_COLUMNS = ("NAME", "ON", "PROTOCOL", "INTERVAL", "NEXT POLL", "FAILURES", "LAST ERROR")


def channel_row(channel: ChannelRecord) -> tuple[str, ...]:
    """One line of `channel list`'s table (`CHANNEL_COLUMNS`)."""
    protocol = channel.url.partition("://")[0] if "://" in channel.url else "?"
    next_poll = iso(channel.next_poll) if channel.enabled and channel.next_poll else "-"
    if channel.enabled and channel.next_poll is None:
        next_poll = "now"
    failures = f"{channel.failure_count}/{channel.max_failures}"
    last = error_text(channel.last_error_class, channel.last_error)
    if not channel.enabled and channel.disabled_reason:
        last = (
            f"{last} (off: {channel.disabled_reason})"
            if last
            else f"off: {channel.disabled_reason}"
        )
    return (
        channel.name,
        "on" if channel.enabled else "off",
        protocol,
        f"{channel.interval_s}s",
        next_poll or "-",
        failures,
        last or "-",
    )


def channel_detail_json(channel: ChannelRecord) -> dict[str, Any]:
    """`channel show --json`: the channel and the report of its last connection check."""
    return {**channel_json(channel), "last_check": channel.last_check}


def server_json(server: SmtpServerRecord) -> dict[str, Any]:
    """An SMTP server (`smtp list --json`): whether it has a password, never the password."""
    return {
        "name": server.name,
        "url": server.url,
        "authzid": server.authzid,
        "ca_file": server.ca_file,
        "send_as": bool(server.send_as),
        "default": bool(server.is_default),
        "enabled": bool(server.enabled),
        "has_password": server.password_enc is not None,
        "last_check_ok": server.last_check_ok,
        "auth": _auth(server.oauth_provider),
        "token_expires": iso(server.token_expires),
    }


def server_detail_json(server: SmtpServerRecord) -> dict[str, Any]:
    """`smtp show --json`: the server and the report of its last connection check."""
    return {**server_json(server), "last_check": server.last_check}


def route_json(route: Route) -> dict[str, Any]:
    """`route list --json`."""
    return {
        "address": route.address,
        "context": route.context,
        "category": route.category,
        "queue": route.queue,
        "acknowledge": route.acknowledge,
    }


def user_json(user: UserRecord) -> dict[str, Any]:
    """`user list --json`."""
    return {"name": user.name, "email": user.email, "role": user.role}


def token_json(token: TokenRecord) -> dict[str, Any]:
    """An API token (`token list --json`): never its secret, nor its hash."""
    return {
        "id": token.id,
        "user": token.user,
        "name": token.name,
        "created_at": iso(token.created_at),
        "last_used_at": iso(token.last_used_at),
        "revoked_at": iso(token.revoked_at),
    }


def token_created_json(token: TokenRecord, secret: str) -> dict[str, Any]:
    """`token create --json`: the token and, this once, its secret (``token``)."""
    return {**token_json(token), "token": secret}
