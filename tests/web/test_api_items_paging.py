"""``GET /api/v1/items`` reads a page from the database: the items of the page (and one
more, to know whether a next page exists) in one statement, their histories in one
more, however many items there are; and the page is the one cut from every item by its
key (`web.paging.page`), for any ``after`` a client sends."""

from __future__ import annotations

import random
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import quote

import pytest
from pydantic import TypeAdapter
from sqlalchemy import event
from tests.web.conftest import Web

from postroom.render.mail import item_detail_json
from postroom.services.item_search import ItemSearch
from postroom.web.api.items import ItemListed
from postroom.web.paging import first_id_after, id_key


def _ingest(web: Web, n: int, subject: str | None = None) -> None:
    raw = (
        f"From: Carol <carol{n}@customer.test>\r\nTo: help@example.org\r\n"
        f"Subject: {subject or f'Printer {n} is on fire'}\r\nMessage-ID: <p{n}@customer.test>\r\n"
        "Date: Tue, 01 Dec 2026 10:00:00 +0000\r\n\r\nHelp.\r\n"
    ).encode()
    answer = web.client.post(
        "/api/v1/messages", content=raw, headers={**web.agent(), "Content-Type": "message/rfc822"}
    )
    assert answer.status_code == 201, answer.text


@contextmanager
def _statements(web: Web) -> Iterator[list[str]]:
    seen: list[str] = []

    def record(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(web.app.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(web.app.engine, "before_cursor_execute", record)


def _reading(statements: list[str], table: str) -> list[str]:
    return [s for s in statements if s.lstrip().upper().startswith("SELECT") and table in s]


def test_a_page_costs_two_statements_however_long(web: Web) -> None:
    for n in range(12):
        _ingest(web, n)
    web.client.get("/api/v1/items", headers=web.agent())  # the token remembered
    for limit in (3, 12, 100):
        with _statements(web) as seen:
            answer = web.client.get(f"/api/v1/items?limit={limit}", headers=web.agent())
        assert answer.status_code == 200
        assert len(answer.json()) == min(limit, 12)
        assert all(item["history"] for item in answer.json())
        items = [s for s in _reading(seen, "work_items") if "item_events" not in s]
        assert len(items) == 1, seen
        assert "LIMIT" in items[0].upper()
        assert len(_reading(seen, "item_events")) == 1, seen


def test_the_page_is_the_one_cut_from_every_item_for_any_after(web: Web) -> None:
    for n in range(7):
        _ingest(web, n, subject="Invoice" if n % 2 else None)
    every = [item_detail_json(d) for d in web.app.items().list(None, None)]
    keys = [id_key(d.item.id) for d in web.app.items().list(None, None)]
    afters = ["", "0", "00000000000", keys[2], keys[2] + "0", keys[2][:-1], keys[-1], "5", "a"]
    afters += ["/", keys[3][:-1] + "/", keys[3][:-1] + ":", "٣", "9" * 13]
    for after in afters:
        wanted = [item for item, key in zip(every, keys, strict=True) if key > after][:3]
        got = web.client.get(f"/api/v1/items?limit=3&after={quote(after)}", headers=web.agent())
        assert got.status_code == 200
        assert got.json() == wanted, after
        more = len([k for k in keys if k > after]) > 3
        assert ("link" in got.headers) == more, after
    invoices = web.client.get("/api/v1/items?q=invoice&limit=2", headers=web.agent())
    assert [i["subject"] for i in invoices.json()] == ["Invoice", "Invoice"]
    assert "link" in invoices.headers
    rest = web.client.get(invoices.links["next"]["url"], headers=web.agent())
    assert [i["subject"] for i in rest.json()] == ["Invoice"]
    assert "link" not in rest.headers


def test_the_list_is_the_documented_shape(web: Web) -> None:
    for n in range(3):
        _ingest(web, n)
    body = web.client.get("/api/v1/items", headers=web.agent()).json()
    shape = TypeAdapter(list[ItemListed])
    assert shape.dump_python(shape.validate_python(body), by_alias=True) == body


def test_a_search_reads_in_chunks_until_the_page_is_full(web: Web) -> None:
    for n in range(9):
        _ingest(web, n, subject="Invoice" if n in (1, 5, 6, 8) else None)
    with web.app.storage.reading() as uow:
        every = list(uow.items.scanned(chunk=2))
        assert [i.id for i in every] == [i.id for i in uow.items.all()]
        assert [i.id for i in uow.items.scanned(from_id=every[4].id, chunk=3)] == [
            i.id for i in every[4:]
        ]
    page = ItemSearch(web.app.storage).page(q="invoice", from_id=every[2].id, limit=2)
    assert [d.item.subject for d in page.details] == ["Invoice", "Invoice"]
    assert [d.item.id for d in page.details] == [every[5].id, every[6].id]
    assert page.more
    last = ItemSearch(web.app.storage).page(q="invoice", from_id=every[7].id, limit=2)
    assert ([d.item.id for d in last.details], last.more) == ([every[8].id], False)


@pytest.mark.parametrize("width", [1, 2, 3])
def test_first_id_after_is_the_smallest_id_whose_key_sorts_after(width: int) -> None:
    """Against every id of ``width`` digits, for odd texts a client may send."""
    rng = random.Random(width)
    alphabet = "0189/:a٣"
    texts = ["", "9" * width, "9" * (width + 1), "0" * width, "/", ":", "a", "٣"]
    texts += [
        "".join(rng.choice(alphabet) for _ in range(rng.randint(0, width + 2))) for _ in range(3000)
    ]
    for text in texts:
        later = [n for n in range(10**width) if f"{n:0{width}d}" > text]
        assert first_id_after(text, width) == (later[0] if later else None), text
    assert first_id_after(None) == 0
