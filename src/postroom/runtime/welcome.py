"""What `postroom run` says once it runs: where its data is, what it will do, what next.

A new user's first `make run` ends at "postroom running"; with no channel it would then
wait for ever without a word. So the start-up lines say what is configured and, when
nothing will be polled, the command that changes that. Each part of the service that a
person reaches from outside adds its line to `Started.addresses` (the web service: the
address to open), printed after the others.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

ADD_CHANNEL = "postroom channel add NAME --url pop3s://USER@HOST:995 --password-env VARIABLE"
"""The command a person runs next when there is no channel."""


@dataclass
class Started:
    """The service as it starts: its data folder, its channels, where to reach it."""

    home: Path
    processes: int
    channels: int
    enabled: int
    addresses: list[str] = field(default_factory=list)
    """One line each: where a person opens what the service serves (none yet)."""

    def lines(self) -> list[str]:
        """The start-up lines, first "postroom running", then what to do next."""
        lines = [f"postroom running: {self.processes} process(es), data in {self.home}"]
        if not self.channels:
            lines.append(
                "no channel yet: nothing will be polled. Add a mailbox with: "
                f"{ADD_CHANNEL} (or hand mail over with: postroom ingest FILE)"
            )
        elif not self.enabled:
            lines.append(
                f"{self.channels} channel(s), none enabled: nothing will be polled. "
                "See why with: postroom channel list; then: postroom channel enable NAME"
            )
        else:
            lines.append(f"polling {self.enabled} of {self.channels} channel(s)")
        lines.extend(self.addresses)
        lines.append("stop with Ctrl-C (a second Ctrl-C stops at once)")
        return lines
