"""What a poll does with each listed message: the rules of `services.triage`, row by row."""

from __future__ import annotations

import hashlib
import random

import pytest

from postroom.ports.mailbox import MessageInfo
from postroom.services.triage import (
    Action,
    Ledger,
    Stored,
    TooLarge,
    is_reused,
    too_large_reason,
    triage,
)

LIMIT = 1000

# (LIST size, stored sizes or None, too-large (size, limit) or None, reuse seen, action)
ROWS = [
    pytest.param(500, None, None, False, Action.FETCH, id="unknown"),
    pytest.param(500, {500}, None, False, Action.DELETE, id="stored-same-size"),
    pytest.param(500, {499}, None, False, Action.VERIFY, id="stored-other-size"),
    pytest.param(500, {500}, None, True, Action.VERIFY, id="stored-same-size-reuse-seen"),
    pytest.param(500, {400, 500}, None, True, Action.VERIFY, id="stored-twice-reuse-seen"),
    pytest.param(1001, None, None, False, Action.TOO_LARGE, id="over-the-limit"),
    pytest.param(1000, None, None, False, Action.FETCH, id="exactly-the-limit"),
    pytest.param(1001, {1001}, None, False, Action.DELETE, id="stored-under-a-higher-limit"),
    pytest.param(1001, {1001}, None, True, Action.TOO_LARGE, id="stored-big-reuse-seen"),
    pytest.param(1001, {900}, None, False, Action.TOO_LARGE, id="stored-other-size-too-big"),
    pytest.param(2000, None, (2000, 1000), False, Action.LEAVE, id="remembered"),
    pytest.param(600, None, (600, 1000), False, Action.LEAVE, id="remembered-cut-off-retr"),
    pytest.param(600, None, (700, 1000), False, Action.FETCH, id="remembered-other-size"),
    pytest.param(600, None, (600, 500), False, Action.FETCH, id="remembered-lower-limit"),
    pytest.param(2000, None, (2000, 500), False, Action.TOO_LARGE, id="remembered-still-big"),
]


@pytest.mark.parametrize(("size", "sizes", "big", "reuse_seen", "action"), ROWS)
def test_triage_rules(
    size: int,
    sizes: set[int] | None,
    big: tuple[int, int] | None,
    reuse_seen: bool,
    action: Action,
) -> None:
    info = MessageInfo(3, "uid-x", size)
    stored = Stored(frozenset(sizes), frozenset({"a" * 64})) if sizes is not None else None
    too_large = TooLarge(*big) if big is not None else None
    assert triage(info, stored, too_large, reuse_seen=reuse_seen, limit=LIMIT) is action


@pytest.mark.parametrize("seed", range(20))
def test_ledger_holds_only_the_content_stored_under_that_uidl(seed: int) -> None:
    rng = random.Random(seed)
    bodies = {f"u{n}": [rng.randbytes(rng.randint(1, 50)) for _ in range(3)] for n in range(5)}
    rows = {
        uid: [(len(b), hashlib.sha256(b).hexdigest()) for b in found[:2]]
        for uid, found in bodies.items()
    }
    ledger = Ledger.of(rows, {}, reuse_seen=True, limit=LIMIT)
    for uid, (first, second, third) in bodies.items():
        info = MessageInfo(1, uid, len(first))
        assert ledger.holds(info, hashlib.sha256(first).hexdigest())
        assert ledger.holds(info, hashlib.sha256(second).hexdigest())
        assert ledger.holds(info, hashlib.sha256(third).hexdigest()) is (third in (first, second))
        other = next(u for u in bodies if u != uid)
        elsewhere = MessageInfo(1, other, len(first))
        stored_there = first in bodies[other][:2]
        assert ledger.holds(elsewhere, hashlib.sha256(first).hexdigest()) is stored_there
    assert not ledger.holds(MessageInfo(1, "never", 1), "0" * 64)
    assert is_reused(ledger.stored["u0"], "f" * 64)


def test_the_reason_names_the_message_the_limit_and_the_setting() -> None:
    info = MessageInfo(17, "abc", 60 * 1024 * 1024)
    listed = too_large_reason(info, 50 * 1024 * 1024, streamed=False)
    assert listed == (
        "message 17 (UIDL abc): its LIST size of 60 MB is over the 50 MB limit "
        "(POSTROOM_MAX_MESSAGE_BYTES): left on the server"
    )
    cut = too_large_reason(info, 5 * 1024 * 1024, streamed=True)
    assert "RETR ran past the 5 MB limit" in cut


def test_the_reason_of_an_imap_message_speaks_imap() -> None:
    info = MessageInfo(3, "4711", 60 * 1024 * 1024)
    assert too_large_reason(info, 50 * 1024 * 1024, streamed=False, imap=True) == (
        "message 3 (UID 4711): its RFC822.SIZE of 60 MB is over the 50 MB limit "
        "(POSTROOM_MAX_MESSAGE_BYTES): left on the server"
    )
    cut = too_large_reason(info, 5 * 1024 * 1024, streamed=True, imap=True)
    assert cut.startswith("message 3 (UID 4711): its FETCH ran past the 5 MB limit")


def test_a_hostile_uidl_is_printed_escaped_and_short() -> None:
    info = MessageInfo(1, "a\x1b[2J\r\n" + "z" * 500, 10)
    reason = too_large_reason(info, 5, streamed=True)
    assert all(" " <= c <= "~" for c in reason)
    assert "(UIDL a\\x1b[2J\\r\\nzzz" in reason and len(reason) < 250  # for_terminal's escapes
