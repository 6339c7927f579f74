"""``HOST:PORT`` for ``--listen`` and ``POSTROOM_LISTEN``: an IPv4 address or a name, or
an IPv6 address in brackets (``[::1]:8025``), and a port from 1 to 65535."""

from __future__ import annotations

import re
from dataclasses import dataclass

_HOST = re.compile(r"[A-Za-z0-9.-]{1,253}|\[[0-9A-Fa-f:.]{2,45}\]")


@dataclass(frozen=True, slots=True)
class ListenAddress:
    host: str
    """As a socket takes it (an IPv6 address without its brackets)."""
    port: int

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{host}:{self.port}"


def parse_listen(text: str) -> ListenAddress:
    """The address in ``text``; ValueError saying what is wrong."""
    host, colon, port = text.strip().rpartition(":")
    if not colon or not host:
        raise ValueError("give HOST:PORT, e.g. 127.0.0.1:8025")
    if not _HOST.fullmatch(host):
        raise ValueError("the host is not an address or a name (IPv6 goes in brackets)")
    if not port.isdigit() or len(port) > 5 or not 1 <= int(port) <= 65535:
        raise ValueError("the port is not a number from 1 to 65535")
    return ListenAddress(host.strip("[]"), int(port))
