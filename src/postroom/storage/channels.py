"""Input channels: mailbox settings, encrypted credentials, failure monitoring, poll leases."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, Row, select

from postroom.errors import NotFoundError
from postroom.storage.tables import channels


def get_channel(conn: Connection, name: str) -> Row[Any]:
    row = conn.execute(select(channels).where(channels.c.name == name)).first()
    if row is None:
        raise NotFoundError(f"no channel {name!r} (see: postroom channel list)")
    return row


def list_channels(conn: Connection) -> list[Row[Any]]:
    return list(conn.execute(select(channels).order_by(channels.c.name)))
