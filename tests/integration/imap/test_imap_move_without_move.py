"""``--after move:FOLDER`` on a server without MOVE (RFC 6851): UID COPY, then \\Deleted and
EXPUNGE. A kill between the COPY and the EXPUNGE leaves the message in the source folder;
the next poll must only expunge it, never copy it a second time. The server is the loopback
Dovecot behind a proxy that takes MOVE out of its capabilities (support.imap_proxy)."""

from __future__ import annotations

import signal

import pytest

from support.imap_boxes import Imap
from support.imap_proxy import ImapProxy, imap_proxy
from support.polling import Box, Postroom

__all__ = ["imap_proxy"]
N = 6


def _box(postroom: Postroom, imap: Imap, proxy: ImapProxy, prefix: str) -> Box:
    address, password = postroom.stack.new_user(prefix)
    imap.folder(address, "Done")
    postroom.ok(
        "route", "add", address, "--context", "Acme", "--category", "Mail", "--queue", "inbox"
    )
    name = prefix + address.split("@")[0].rpartition("-")[2]
    url = f"imap://{address}@127.0.0.1:{proxy.port}/?tls=none"
    added = postroom.channel_add(name, url, password, "--after", "move:Done")
    assert added.code == 0 and "enabled" in added.out, added.out + added.err
    return Box(address, password, name)


def _filed_once(postroom: Postroom, n: int) -> None:
    counts = postroom.counts()
    assert counts["distinct_ids"] == counts["inbound"] == counts["tickets"] == n, counts


@pytest.mark.parametrize("drop", [("MOVE",), ("MOVE", "UIDPLUS")])
def test_move_without_move_copies_then_expunges(
    postroom: Postroom, imap: Imap, imap_proxy: type[ImapProxy], drop: tuple[str, ...]
) -> None:
    proxy = imap_proxy(postroom.stack.imap_port, drop=drop)
    box = _box(postroom, imap, proxy, "nomove")
    postroom.stack.fill(box.address, N)
    code, out = imap.poll()
    assert code == 0, out
    assert imap.count(box.address) == 0 and imap.count(box.address, "Done") == N
    assert "UID COPY" in proxy.commands and "UID MOVE" not in proxy.commands
    assert ("UID EXPUNGE" in proxy.commands) is ("UIDPLUS" not in drop)
    _filed_once(postroom, N)


@pytest.mark.parametrize("point", ["after-move:1", "after-flag:1", "before-quit:1"])
def test_kill_between_copy_and_expunge_copies_nothing_twice(
    postroom: Postroom, imap: Imap, imap_proxy: type[ImapProxy], point: str
) -> None:
    postroom.env["POSTROOM_POLL_BATCH"] = "2"
    proxy = imap_proxy(postroom.stack.imap_port, drop=("MOVE",))
    box = _box(postroom, imap, proxy, "nomovekill")
    postroom.stack.fill(box.address, N)
    code, out = imap.poll(point)
    assert code == -signal.SIGKILL, out
    for _ in range(3):
        code, out = imap.poll()
        assert code in (0, 1), out
    assert imap.count(box.address) == 0
    assert imap.count(box.address, "Done") == N  # each message copied once
    _filed_once(postroom, N)
