"""What an acknowledging intake checks per reply: its sender once, each recipient each time.

A poll that acknowledges every new Ticket writes thousands of replies from the one or
few addresses of its routes; the sender's checks (`sender_problem`, the Message-ID's
domain) are kept per address, the recipients' (remote text, a new one each reply) are not.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest

from postroom.domain.automatic import address_problem
from postroom.mime import outgoing
from postroom.mime.autoreply import compose_automated
from postroom.mime.outgoing import UnwritableSender, new_message_id, sender_problem

NOW = datetime(2026, 12, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[tuple[str, bool]]]:
    """Every `address_problem` call of `outgoing`: (address, qualified), kept caches emptied."""
    seen: list[tuple[str, bool]] = []

    def counted(address: str, *, qualified: bool = True) -> str | None:
        seen.append((address, qualified))
        return address_problem(address, qualified=qualified)

    monkeypatch.setattr(outgoing, "address_problem", counted)
    sender_problem.cache_clear()
    outgoing._id_domain.cache_clear()
    yield seen
    sender_problem.cache_clear()
    outgoing._id_domain.cache_clear()


def _reply(sender: str, to: str) -> Any:
    return compose_automated(sender=sender, to=(to,), subject="[1-T] Hi", body="Hi.\n", now=NOW)


def test_the_sender_is_checked_once_for_many_replies(checks: list[tuple[str, bool]]) -> None:
    for i in range(5):
        assert _reply("support@example.test", f"customer{i}@client.test").recipients
    assert sorted(a for a, qualified in checks if not qualified) == [
        "support@example.test",
        "x@example.test",
    ]
    assert [a for a, qualified in checks if qualified] == [
        f"customer{i}@client.test" for i in range(5)
    ]


def test_an_unwritable_sender_is_refused_every_time(checks: list[tuple[str, bool]]) -> None:
    for _ in range(2):
        with pytest.raises(UnwritableSender, match="cannot send from"):
            _reply("support@exa mple.test", "customer@client.test")
    assert sender_problem("support@exa mple.test") is not None


def test_message_ids_stay_unique_and_in_the_senders_domain(
    checks: list[tuple[str, bool]],
) -> None:
    ids = {new_message_id("støtte@bücher.example") for _ in range(3)}
    assert len(ids) == 3
    assert all(i.endswith("@xn--bcher-kva.example>") for i in ids)
    assert new_message_id("support@localhost").endswith("@localhost>")
    assert new_message_id("support@exa mple").endswith("@localhost>")
