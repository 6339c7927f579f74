"""``--after keep`` and a message over ``POSTROOM_MAX_MESSAGE_BYTES``: the message stays on
the server with its reason on the channel at every poll (as for POP3 and delete mode), the
rest of the folder is taken, nothing is downloaded again, and once the limit is raised the
next poll takes it."""

from __future__ import annotations

import pytest

from support.imap_boxes import Imap
from support.imap_proxy import ImapProxy, imap_proxy
from support.polling import Postroom

__all__ = ["imap_proxy"]


def test_keep_leaves_a_large_message_visibly_and_takes_it_once_the_limit_allows(
    postroom: Postroom, imap: Imap, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTROOM_MAX_MESSAGE_BYTES", "65536")
    box = imap.box("keepbig", "--after", "keep")
    postroom.stack.fill(box.address, 2, size_kb=4)
    postroom.stack.fill(box.address, 1, size_kb=128)
    postroom.stack.fill(box.address, 2, size_kb=4)

    (first,) = postroom.poll_json(box.channel)
    assert first["handled"] == 4 and len(first["left_too_large"]) == 1, first
    reason = postroom.channel(box.channel)["last_error"] or ""
    assert "limit" in reason and "(UID " in reason and "UIDL" not in reason, reason

    (second,) = postroom.poll_json(box.channel)
    assert second["fetched"] == 0, second  # nothing downloaded again
    assert len(second["left_too_large"]) == 1, second  # the reason is still given
    assert "POSTROOM_MAX_MESSAGE_BYTES" in (postroom.channel(box.channel)["last_error"] or "")

    postroom.stack.fill(box.address, 1, size_kb=4)
    (third,) = postroom.poll_json(box.channel)
    assert third["fetched"] == 1 and third["handled"] == 1, third
    assert len(third["left_too_large"]) == 1, third

    monkeypatch.setenv("POSTROOM_MAX_MESSAGE_BYTES", str(1024 * 1024))
    (raised,) = postroom.poll_json(box.channel)
    assert raised["fetched"] == 1 and raised["handled"] == 1, raised
    assert raised["left_too_large"] == [], raised
    assert not postroom.channel(box.channel)["last_error"]

    (last,) = postroom.poll_json(box.channel)
    assert last["fetched"] == 0 and last["left_too_large"] == [], last
    assert imap.count(box.address) == 6  # kept, all of them
    assert postroom.counts()["tickets"] == 6


def test_keep_and_a_size_that_lies_cut_off_mid_fetch(
    postroom: Postroom, imap: Imap, imap_proxy: type[ImapProxy], monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server says every message is 1,000 octets: the large one is found out only when
    its literal runs past the limit (`MessageTooLarge`, the session dropped). It is left
    and remembered all the same, the rest is taken, and a raised limit takes it."""
    monkeypatch.setenv("POSTROOM_MAX_MESSAGE_BYTES", "65536")
    proxy = imap_proxy(postroom.stack.imap_port, sizes=1000)
    address, password = postroom.stack.new_user("keeplie")
    postroom.ok(
        "route", "add", address, "--context", "Acme", "--category", "Mail", "--queue", "inbox"
    )
    url = f"imap://{address}@127.0.0.1:{proxy.port}/?tls=none"
    added = postroom.channel_add("keeplie", url, password, "--after", "keep")
    assert added.code == 0, added.out + added.err
    postroom.stack.fill(address, 2, size_kb=4)
    postroom.stack.fill(address, 1, size_kb=128)
    postroom.stack.fill(address, 2, size_kb=4)

    reports = [postroom.poll_json("keeplie")[0] for _ in range(3)]
    assert sum(r["handled"] for r in reports) == 4, reports
    assert reports[-1]["fetched"] == 0 and len(reports[-1]["left_too_large"]) == 1, reports
    assert "limit" in (postroom.channel("keeplie")["last_error"] or "")

    monkeypatch.setenv("POSTROOM_MAX_MESSAGE_BYTES", str(1024 * 1024))
    (raised,) = postroom.poll_json("keeplie")
    assert raised["handled"] == 1 and raised["left_too_large"] == [], raised
    (last,) = postroom.poll_json("keeplie")
    assert last["fetched"] == 0, last
    assert postroom.counts()["tickets"] == 5 and imap.count(address) == 5
