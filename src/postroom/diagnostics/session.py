"""What the check needs from a POP3, IMAP or SMTP session, whatever the protocol."""

from __future__ import annotations

import ssl
from typing import Any, Protocol


class Session(Protocol):
    """A session on an already connected socket (the check makes the connection itself, so
    DNS, TCP and TLS are separate steps).  Library exceptions pass through; the check
    translates them."""

    greeting: str

    def capabilities(self) -> list[str]: ...

    def offers_starttls(self) -> bool: ...

    def starttls(self, context: ssl.SSLContext) -> ssl.SSLSocket:
        """Upgrade with STLS/STARTTLS and return the TLS socket."""
        ...

    def authenticate(self, user: str, password: str, authzid: str | None) -> dict[str, Any]:
        """Log in; details (the mechanism used) on success, an exception otherwise."""
        ...

    def close(self) -> None: ...
