"""What `postroom run` says once it runs: where its data is, what it will do, what next.

A new user's first `make run` ends at "postroom running"; with no channel it would then
wait for ever without a word. So the start-up lines say what is configured and, when
nothing will be polled, the command that changes that. Each part of the service that a
person reaches from outside adds its line to `Started.addresses` (the web service: the
address to open, the sign-up link), printed right after "postroom running".
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ADD_CHANNEL = "postroom channel add NAME --url pop3s://USER@HOST:995 --password-env VARIABLE"
"""The command a person runs next when there is no channel."""

_EVERY_ADDRESS = {
    "0.0.0.0": "127.0.0.1",  # noqa: S104 - a name to replace, not a bind
    "::": "::1",
    "[::]": "[::1]",
}
"""A wildcard listen address and the one a browser on this machine opens instead."""


def browser_url(address: str) -> str:
    """``http://HOST:PORT`` for a listen address (a wildcard host becomes loopback)."""
    host, _, port = address.rpartition(":")
    return f"http://{_EVERY_ADDRESS.get(host, host)}:{port}"


@dataclass
class Started:
    """The service as it starts: its data folder, its channels, where to reach it."""

    home: Path
    processes: int
    channels: int
    enabled: int
    addresses: list[str] = field(default_factory=list)
    """One line each: where a person opens what the service serves."""
    url: str | None = None
    """The web service's address (None: `run --no-web`)."""

    def web(self, address: str, signup_token: str | None) -> None:
        """The web service listens on ``address``; while no admin exists, the one-time
        token of the sign-up link (printed once, as `postroom web` does)."""
        self.url = browser_url(address)
        self.addresses.append(f"open {self.url} in a browser (web UI; REST API at /api/v1)")
        if signup_token is not None:
            self.addresses.append(
                f"no admin yet: sign up at {self.url}/signup?token={signup_token} "
                "(one-time link, valid 24 hours)"
            )

    def lines(self) -> list[str]:
        """The start-up lines: "postroom running", where to open it, then what to do next."""
        lines = [f"postroom running: {self.processes} process(es), data in {self.home}"]
        lines.extend(self.addresses)
        if not self.channels:
            web = f"on {self.url}/channels/new or " if self.url else ""
            lines.append(
                f"no channel yet: nothing will be polled. Add a mailbox {web}with: "
                f"{ADD_CHANNEL} (or hand mail over with: postroom ingest FILE)"
            )
        elif not self.enabled:
            lines.append(
                f"{self.channels} channel(s), none enabled: nothing will be polled. "
                "See why with: postroom channel list; then: postroom channel enable NAME"
            )
        else:
            lines.append(f"polling {self.enabled} of {self.channels} channel(s)")
        lines.append("stop with Ctrl-C (a second Ctrl-C stops at once)")
        return lines
