"""Polling IMAP channels against the loopback Dovecot: each --after mode, TLS, folders."""

from __future__ import annotations

from support.imap_boxes import Imap
from support.polling import Postroom


def test_imaps_delete_files_each_message_once_and_expunges(postroom: Postroom, imap: Imap) -> None:
    box = imap.box("del")
    postroom.stack.fill(box.address, 5)
    (report,) = postroom.poll_json(box.channel)
    assert report["fetched"] == 5 and report["handled"] == 5, report
    assert imap.count(box.address) == 0
    counts = postroom.counts()
    assert counts["messages"] == counts["tickets"] == 5
    (again,) = postroom.poll_json(box.channel)
    assert again["fetched"] == 0
