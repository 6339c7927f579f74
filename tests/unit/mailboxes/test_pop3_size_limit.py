"""The POP3 session's size limit against a scripted server: a RETR answer past the limit
raises `MessageTooLarge` naming the message, and the session ends without QUIT."""

from __future__ import annotations

import random
from collections.abc import Iterator

import pytest

from postroom.mailboxes import Pop3MailboxSource
from postroom.net.connection import ConnectionFailure, MailUrl
from postroom.ports.mailbox import MessageTooLarge
from support.scripted_pop3 import ScriptedPop3

LIMIT = 256 * 1024


@pytest.fixture(params=[True, False], ids=["pipelining", "one-by-one"])
def server(request: pytest.FixtureRequest) -> Iterator[ScriptedPop3]:
    scripted = ScriptedPop3(pipelining=request.param, stream_cap=64 * 1024 * 1024).start()
    yield scripted
    scripted.close()


def open_session(server: ScriptedPop3) -> Pop3MailboxSource:
    url = MailUrl.parse(server.url)
    return Pop3MailboxSource(url, server.password, timeout=5, max_message_bytes=LIMIT)


@pytest.mark.parametrize("seed", range(3))
def test_an_endless_retr_raises_message_too_large_for_that_message(
    server: ScriptedPop3, seed: int
) -> None:
    rng = random.Random(seed)
    count = rng.randint(3, 8)
    endless_at = rng.randint(1, count)
    for n in range(1, count + 1):
        message = server.add(b"Subject: %d\r\n\r\n" % n + b"x" * rng.randint(10, 5000))
        if n == endless_at:
            message.endless = True
            message.list_size = rng.randint(100, 1000)
    with open_session(server).open() as session:
        listing = session.list()
        got = []
        with pytest.raises(MessageTooLarge) as info:
            for taken, raw in session.retrieve_many(listing):
                got.append(taken.number)
                assert len(raw) <= LIMIT
                session.delete(taken.number)
            session.commit()
        assert info.value.number == endless_at and info.value.limit == LIMIT
        assert got == list(range(1, endless_at))
        with pytest.raises(ConnectionFailure, match="closed"):
            session.retrieve(1)
    assert server.removed == [] and len(server.uids()) == count  # no QUIT: nothing deleted
    assert server.streamed < server.stream_cap


def test_a_message_exactly_at_the_limit_is_retrieved(server: ScriptedPop3) -> None:
    head = b"Subject: big\r\n\r\n"
    line = b"y" * 98 + b"\r\n"
    body = head + line * ((LIMIT - len(head)) // len(line))
    body += b"z" * (LIMIT - len(body) - 2) + b"\r\n"
    assert len(body) == LIMIT
    server.add(body)
    with open_session(server).open() as session:
        [info] = session.list()
        assert session.retrieve(info.number) == body
        session.delete(info.number)
        session.commit()
    assert server.uids() == []
