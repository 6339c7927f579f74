"""Polling POP3 servers that misbehave (issue 10, items 4 and 10), against a scripted peer.

* A server that gives a UIDL again to new mail once the old message is gone (RFC 1939 §7
  only forbids reuse while the message exists) must not make Postroom delete mail it never
  downloaded.
* A RETR answer larger than ``POSTROOM_MAX_MESSAGE_BYTES``, or one that never ends, is cut
  off at the limit: memory stays near the limit, nothing of that session is deleted, the
  message stays on the server, the reason is on the channel, the rest of the mailbox is
  polled.
"""

from __future__ import annotations

import logging
import random
import re
import time
from collections.abc import Iterator
from typing import Any

import pytest
from sqlalchemy import select

from postroom.bootstrap import App
from postroom.storage.database import reading
from postroom.storage.tables import messages
from support.mails import make_mail
from support.scripted_pop3 import ScriptedPop3, add_channel

LIMIT = 5 * 1024 * 1024


@pytest.fixture
def server() -> Iterator[ScriptedPop3]:
    scripted = ScriptedPop3().start()
    yield scripted
    scripted.close()


@pytest.fixture
def app(postroom_env: dict[str, str], monkeypatch: pytest.MonkeyPatch) -> App:
    monkeypatch.setenv("POSTROOM_MAX_MESSAGE_BYTES", str(LIMIT))
    application = App()
    assert application.settings.max_message_bytes == LIMIT
    return application


def poll(app: App) -> dict[str, Any]:
    [report] = app.scheduler().poll_once()
    return report.to_json()


def stored(app: App) -> list[tuple[str, str]]:
    """(UIDL, SHA-256) of every ledger row."""
    with reading(app.engine) as conn:
        rows = conn.execute(select(messages.c.source_uid, messages.c.raw_sha256))
        return sorted((uid, sha) for uid, sha in rows)


def channel_row(app: App, name: str = "scripted") -> Any:
    with app.storage.reading() as uow:
        return uow.channels.get(name)


_LETTERS = bytes(ord("a") + b % 26 for b in range(256))


def mail_of_size(size: int, rng: random.Random) -> bytes:
    """A message of exactly ``size`` octets (CRLF line ends), its body random letters."""
    head = make_mail(body="x\n").replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    head = head[: head.index(b"\r\n\r\n") + 4]
    need = size - len(head)
    assert need >= 2
    text = rng.randbytes(need).translate(_LETTERS)
    body = b"\r\n".join(text[i : i + 70] for i in range(0, len(text), 70))
    return head + body[: need - 2].rstrip(b"\r").ljust(need - 2, b"z") + b"\r\n"


# ---------------------------------------------------------------- item 4: UIDL reuse


def test_new_mail_under_a_reused_uidl_is_downloaded_and_kept(
    app: App, server: ScriptedPop3, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, logger="postroom")
    rng = random.Random(4)
    add_channel(app, server)
    uid = f"reused-{rng.randint(1, 10**6)}"
    first = server.add(mail_of_size(rng.randint(900, 2000), rng), uid=uid)
    assert poll(app)["handled"] == 1
    assert server.uids() == []

    # The server gives the same UIDL to a different message of another size.
    second = server.add(mail_of_size(first.listed + rng.randint(1, 500), rng), uid=uid)
    report = poll(app)
    assert (report["fetched"], report["deleted_known"]) == (1, 0)
    assert stored(app) == sorted([(uid, first.sha256), (uid, second.sha256)])
    assert server.uids() == [] and server.retrieved.count(uid) == 2
    assert channel_row(app).uidl_reuse_seen is True

    # From now on even the same size does not pass for known: the content decides.
    third = server.add(mail_of_size(second.listed, rng), uid=uid)
    assert third.listed == second.listed and third.sha256 != second.sha256
    assert poll(app)["fetched"] == 1
    assert {sha for _, sha in stored(app)} == {first.sha256, second.sha256, third.sha256}
    reuse_warnings = [r for r in caplog.records if "reused" in r.getMessage()]
    assert len(reuse_warnings) == 1, [r.getMessage() for r in reuse_warnings]


@pytest.mark.parametrize("how", ["same-size", "size-differs", "reuse-seen"])
def test_mail_stored_by_an_interrupted_poll_is_deleted_once_known(
    app: App, server: ScriptedPop3, how: str
) -> None:
    rng = random.Random(len(how))
    channel_id = add_channel(app, server)
    sent = [server.add(mail_of_size(rng.randint(600, 3000), rng)) for _ in range(4)]
    server.drop_quits = 1  # the first poll stores everything, then its QUIT goes unanswered
    first = poll(app)
    assert first["error_class"] == "connection" and len(stored(app)) == 4
    assert server.uids() == [m.uid for m in sent]
    if how == "size-differs":
        for message in sent:
            message.list_size = message.listed + 1  # a LIST size that is off by one
    if how == "reuse-seen":
        with app.storage.writing() as uow:
            uow.polls.mark_uidl_reuse(channel_id)

    report = poll(app)
    assert (report["fetched"], report["deleted_known"], report["errors"]) == (0, 4, [])
    assert server.uids() == []
    assert stored(app) == sorted((m.uid, m.sha256) for m in sent)
    downloads = 1 if how == "same-size" else 2  # verified by RETR when the size may lie
    assert [server.retrieved.count(m.uid) for m in sent] == [downloads] * 4


# ---------------------------------------------------------------- item 10: size limit


def _status_kib(field: str) -> int:
    with open("/proc/self/status") as fh:
        found = re.search(rf"{field}:\s+(\d+)", fh.read())
    assert found is not None
    return int(found.group(1))


def _peak_growth_kib(before_kib: int) -> int:
    return _status_kib("VmHWM") - before_kib


def _reset_peak() -> int:
    """Reset the peak RSS (Linux: clear_refs 5) and return the current RSS in KiB."""
    with open("/proc/self/clear_refs", "w") as fh:
        fh.write("5")
    return _status_kib("VmRSS")


@pytest.mark.parametrize("pipelining", [True, False])
def test_an_endless_retr_is_cut_off_and_the_rest_of_the_mailbox_is_polled(
    app: App, server: ScriptedPop3, pipelining: bool
) -> None:
    rng = random.Random(10 + pipelining)
    server.pipelining = pipelining
    server.stream_cap = 256 * 1024 * 1024  # an unbounded reader would hold all of it
    add_channel(app, server)
    before = [server.add(mail_of_size(rng.randint(500, 5000), rng)) for _ in range(3)]
    endless = server.add(make_mail(subject="forever"), list_size=rng.randint(800, 3000))
    endless.endless = True
    after = [server.add(mail_of_size(rng.randint(500, 5000), rng)) for _ in range(3)]
    app.poller  # noqa: B018 - build the services before measuring
    rss = _reset_peak()
    started = time.monotonic()

    reports = app.scheduler().poll_once()

    took = time.monotonic() - started
    growth_mib = _peak_growth_kib(rss) / 1024
    assert growth_mib < LIMIT / 2**20 + 64, f"peak RSS grew {growth_mib:.0f} MiB"
    assert took < 60, took
    assert server.streamed < server.stream_cap
    [report] = reports
    assert report.errors == [] and len(report.left_too_large) == 1
    assert endless.uid in report.left_too_large[0]

    # The other six are stored once and gone; the endless one is still there, never deleted.
    assert stored(app) == sorted((m.uid, m.sha256) for m in before + after)
    assert server.uids() == [endless.uid] and endless.uid not in server.removed
    row = channel_row(app)
    assert (row.enabled, row.failure_count, row.last_error_class) == (
        True,
        0,
        "message-too-large",
    )
    assert endless.uid in row.last_error and "POSTROOM_MAX_MESSAGE_BYTES" in row.last_error

    # Later polls leave it alone: no second RETR, no DELE, the reason stays on the channel.
    newer = server.add(mail_of_size(rng.randint(500, 5000), rng))
    report2 = poll(app)
    assert report2["handled"] == 1 and server.retrieved.count(endless.uid) == 1
    assert server.uids() == [endless.uid]
    assert (newer.uid, newer.sha256) in stored(app)
    assert endless.uid in channel_row(app).last_error


def test_a_message_listed_over_the_limit_is_not_retrieved_until_the_limit_allows(
    app: App, server: ScriptedPop3, monkeypatch: pytest.MonkeyPatch
) -> None:
    rng = random.Random(11)
    add_channel(app, server)
    small = server.add(mail_of_size(rng.randint(500, 5000), rng))
    big = server.add(mail_of_size(LIMIT + rng.randint(1, 100_000), rng))
    report = poll(app)
    assert report["handled"] == 1 and report["errors"] == []
    assert big.uid not in server.retrieved and server.uids() == [big.uid]
    assert stored(app) == [(small.uid, small.sha256)]
    row = channel_row(app)
    assert row.last_error_class == "message-too-large" and "LIST size" in row.last_error
    assert poll(app)["fetched"] == 0 and big.uid not in server.retrieved

    # The operator raises the limit: the message is fetched at the next poll.
    monkeypatch.setenv("POSTROOM_MAX_MESSAGE_BYTES", str(2 * LIMIT))
    bigger = App()
    assert poll(bigger)["handled"] == 1
    assert server.uids() == [] and (big.uid, big.sha256) in stored(bigger)
    row = channel_row(bigger)
    assert (row.last_error_class, row.last_error) == (None, None)


def test_a_retr_larger_than_its_list_size_says_is_cut_off_at_the_limit(
    app: App, server: ScriptedPop3
) -> None:
    rng = random.Random(12)
    add_channel(app, server)
    liar = server.add(mail_of_size(LIMIT + rng.randint(1, 50_000), rng), list_size=2000)
    fine = server.add(mail_of_size(rng.randint(500, 5000), rng))
    [report] = app.scheduler().poll_once()
    assert report.errors == [] and len(report.left_too_large) == 1
    assert stored(app) == [(fine.uid, fine.sha256)]
    assert server.uids() == [liar.uid]
    assert poll(app)["fetched"] == 0 and server.retrieved.count(liar.uid) == 1
