"""IMAP channels on fresh Dovecot mailboxes: folders, flags and a rebuilt UID list."""

from __future__ import annotations

import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from support.polling import Box, Postroom


@dataclass
class Imap:
    postroom: Postroom

    def box(
        self,
        prefix: str,
        *extra: str,
        scheme: str = "imaps",
        user: str | None = None,
        password: str | None = None,
        address: str | None = None,
    ) -> Box:
        """A fresh, routed mailbox with an IMAP channel on it (``extra``: channel add options)."""
        stack = self.postroom.stack
        if address is None:
            address, password = stack.new_user(prefix)
        self.postroom.ok(
            "route", "add", address, "--context", "Acme", "--category", "Mail", "--queue", "inbox"
        )
        name = prefix + address.split("@")[0].rpartition("-")[2]
        port = stack.imaps_port if scheme == "imaps" else stack.imap_port
        login = user or address
        assert password is not None
        result = self.postroom.channel_add(
            name, f"{scheme}://{login}@127.0.0.1:{port}", password, *extra
        )
        assert result.code == 0 and "enabled" in result.out, result.out + result.err
        return Box(address, password, name)

    def folder(self, address: str, folder: str) -> Path:
        """A Maildir++ folder of the mailbox (made if missing), owned by the mail user."""
        stack = self.postroom.stack
        root = stack.maildir(address) / f".{folder}"
        for sub in ("", "cur", "new", "tmp"):
            path = root / sub
            path.mkdir(exist_ok=True)
            os.chown(path, stack.mail_uid, stack.mail_gid)
        return root

    def count(self, address: str, folder: str | None = None) -> int:
        root = self.postroom.stack.maildir(address)
        if folder is not None:
            root = root / f".{folder}"
        return sum(1 for sub in ("new", "cur") for _ in (root / sub).iterdir())

    def seen_flags(self, address: str) -> int:
        """Messages of INBOX with the \\Seen flag (``S`` in a Maildir name's info)."""
        cur = self.postroom.stack.maildir(address) / "cur"
        return sum(1 for p in cur.iterdir() if "S" in p.name.partition(":2,")[2])

    def rebuild_uids(self, address: str, folder: str | None = None) -> None:
        """Drop Dovecot's UID list and indexes: the folder gets a new UIDVALIDITY and new UIDs."""
        root = self.postroom.stack.maildir(address)
        if folder is not None:
            root = root / f".{folder}"
        for path in root.iterdir():
            if path.name.startswith(("dovecot-uidlist", "dovecot.index")):
                path.unlink()

    def poll(self, failpoints: str = "", timeout: float = 60) -> tuple[int, str]:
        env = {**os.environ, **self.postroom.env, "POSTROOM_FAILPOINTS": failpoints}
        proc = subprocess.run(
            [sys.executable, "-m", "postroom", "poll", "--json"],
            env=env,
            capture_output=True,
            timeout=timeout,
            check=False,
            text=True,
        )
        return proc.returncode, proc.stdout + proc.stderr


@pytest.fixture
def imap(postroom: Postroom) -> Imap:
    return Imap(postroom)
