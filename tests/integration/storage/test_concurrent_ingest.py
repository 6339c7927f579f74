"""Several processes (here: threads with their own engines) handling mail at the same moment,
on SQLite and PostgreSQL: Ticket numbers stay unique and the same message is acted on once."""

from __future__ import annotations

import itertools
import threading
import time
from typing import Any

import pytest

from postroom.bootstrap import App
from postroom.clock import utcnow
from postroom.domain.routes import Route
from postroom.render.mail import decision_json
from postroom.storage.blobs import StagedBlobs
from postroom.storage.config import ConfigRepository
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
        ConfigRepository(conn).add_route(Route("support@example.com", "A", "B", "q"), utcnow())
    for round_ in range(5):
        raw = make_mail(message_id=f"<race{round_}@customer.test>")
        results = _race([lambda a=a, raw=raw: a.ingest.ingest(raw) for a in apps])
        rules = sorted(decision_json(r)["rule"] for r in results)
        assert rules == ["D1", "N1"], rules


def test_ticket_numbers_stay_unique_under_concurrent_batches() -> None:
    apps = [App(), App()]
    with apps[0].engine.begin() as conn:
        ConfigRepository(conn).add_route(Route("support@example.com", "A", "B", "q"), utcnow())
    from postroom.services.ingest import Arrival

    batches = [[Arrival(make_mail(subject=f"{w}-{i}")) for i in range(30)] for w in range(2)]
    results = _race(
        [lambda a=a, b=b: a.ingest.ingest_batch(b) for a, b in zip(apps, batches, strict=True)]
    )
    refs = [decision_json(r)["work_items"][0]["reference"] for batch in results for r in batch]
    assert len(refs) == len(set(refs)) == 60


def test_the_batches_of_one_process_are_ingested_one_at_a_time() -> None:
    """Poll threads of one process take turns: a batch is stored, parsed and committed before
    the next one starts (they would otherwise share the interpreter inside the writer turn)."""
    from sqlalchemy import event

    from postroom.services.ingest import Arrival

    app = App()
    with app.engine.begin() as conn:
        ConfigRepository(conn).add_route(Route("support@example.com", "A", "B", "q"), utcnow())
    spans: dict[str, list[float]] = {}
    lock = threading.Lock()
    staged = app.blobs.staged

    def timed_staged() -> StagedBlobs:
        """A batch's unit starts (its blobs, the arrivals first, are staged in it)."""
        with lock:
            spans[threading.current_thread().name] = [time.perf_counter()]
        return staged()

    app.blobs.staged = timed_staged  # type: ignore[method-assign]

    @event.listens_for(app.engine, "commit")
    def _committed(_conn: Any) -> None:
        with lock:
            spans[threading.current_thread().name].append(time.perf_counter())

    batches = [[Arrival(make_mail(subject=f"{w}-{i}")) for i in range(30)] for w in range(3)]
    results = _race([lambda b=b: app.ingest.ingest_batch(b) for b in batches])
    assert sum(len(r) for r in results) == 90
    ordered = sorted((s[0], s[-1]) for s in spans.values())
    assert len(ordered) == 3
    for (_, end), (start, _) in itertools.pairwise(ordered):
        assert end <= start, ordered
