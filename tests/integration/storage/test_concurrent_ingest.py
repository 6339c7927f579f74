"""Several processes (here: threads with their own engines) handling mail at the same moment,
on SQLite and PostgreSQL: Ticket numbers stay unique and the same message is acted on once."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from postroom.bootstrap import App
from postroom.domain.routes import Route
from postroom.services.ingest import utcnow
from postroom.storage import config
from support.mails import make_mail

pytestmark = pytest.mark.usefixtures("postroom_env")


def _race(jobs: list[Any]) -> list[Any]:
    barrier = threading.Barrier(len(jobs))
    results: list[Any] = [None] * len(jobs)

    def run(i: int) -> None:
        barrier.wait()
        results[i] = jobs[i]()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(jobs))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return results


def test_the_same_message_from_two_places_at_once_is_handled_once() -> None:
    apps = [App(), App()]
    with apps[0].engine.begin() as conn:
        config.add_route(conn, Route("support@example.com", "A", "B", "q"), utcnow())
    for round_ in range(5):
        raw = make_mail(message_id=f"<race{round_}@customer.test>")
        results = _race([lambda a=a, raw=raw: a.ingest.ingest(raw) for a in apps])
        rules = sorted(r.decision["rule"] for r in results)
        assert rules == ["D1", "N1"], rules


def test_ticket_numbers_stay_unique_under_concurrent_batches() -> None:
    apps = [App(), App()]
    with apps[0].engine.begin() as conn:
        config.add_route(conn, Route("support@example.com", "A", "B", "q"), utcnow())
    from postroom.services.ingest import Arrival

    batches = [[Arrival(make_mail(subject=f"{w}-{i}")) for i in range(30)] for w in range(2)]
    results = _race(
        [lambda a=a, b=b: a.ingest.ingest_batch(b) for a, b in zip(apps, batches, strict=True)]
    )
    refs = [r.decision["work_items"][0]["reference"] for batch in results for r in batch]
    assert len(refs) == len(set(refs)) == 60
