"""Migration 0010 on SQLite and PostgreSQL, on a database holding messages and outbound
mail: the overview's counts are the same after it and read from its indexes
(``ix_messages_status``, ``ix_outbox_status``), which match the tables; downgrade and
upgrade again."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, event, text

from postroom.storage.blobs import FileBlobStore
from postroom.storage.database import alembic_config, current_revision, make_engine
from postroom.storage.tables import metadata
from postroom.storage.tallies import TallyRepository
from postroom.storage.unit import Storage

NOW = datetime(2026, 12, 2, 9, 0)
MIDNIGHT = datetime(2026, 12, 2)
MINE = {"ix_messages_status", "ix_outbox_status"}
MESSAGES = [  # (status, rule, channel: 0 the first, 1 the second, None none)
    *[("handled", "A1", 0)] * 3,
    ("handled", "B2", 1),
    ("duplicate", None, 0),
    ("quarantined", None, None),
    ("unhandled", None, 1),
]
FILLER = 2000
"""Handled messages of rule C1 with a decision of the size real ones have, and as many
messages sent on earlier days: tables large enough for PostgreSQL's planner to weigh."""
DECISION = (
    '{"trace": [' + ", ".join(['{"rule": "X", "hit": false, "why": "' + "w" * 60 + '"}'] * 8) + "]}"
)
OUTBOX = [  # (status, attempts, sent today by)
    ("sent", 1, "smtp:relay"),
    ("sent", 2, "smtp:relay"),
    ("sent", 1, "smtp:backup"),
    ("queued", 0, None),
    ("failed", 5, None),
]


def _fill(engine: Engine) -> None:
    with engine.begin() as conn:
        for name in ("one", "two"):
            conn.execute(
                text(
                    "INSERT INTO channels (name, url, interval_s, max_failures, timeout_s,"
                    " enabled, failure_count, created_at, uidl_reuse_seen)"
                    " VALUES (:n, 'pop3s://u@h', 60, 10, 30, true, 0, :t, false)"
                ),
                {"n": name, "t": NOW},
            )
        ids = [row[0] for row in conn.execute(text("SELECT id FROM channels ORDER BY name"))]
        for n, (status, rule, channel) in enumerate(MESSAGES):
            conn.execute(
                text(
                    "INSERT INTO messages (raw_sha256, size, channel_id, source_uid,"
                    " received_at, status, rule, attempts)"
                    " VALUES (:sha, 10, :ch, :uid, :t, :st, :rule, 0)"
                ),
                {
                    "sha": f"{n:064x}",
                    "ch": None if channel is None else ids[channel],
                    "uid": f"u{n}",
                    "t": NOW,
                    "st": status,
                    "rule": rule,
                },
            )
        conn.execute(
            text(
                "INSERT INTO messages (raw_sha256, size, channel_id, source_uid, received_at,"
                " status, rule, decision, attempts)"
                " VALUES (:sha, 10, :ch, :uid, :t, 'handled', 'C1', :d, 0)"
            ),
            [
                {"sha": f"f{n:063x}", "ch": ids[1], "uid": f"f{n}", "t": NOW, "d": DECISION}
                for n in range(FILLER)
            ],
        )
        conn.execute(
            text(
                "INSERT INTO outbox (kind, sender, recipients, subject, message_id, raw_sha256,"
                " status, attempts, created_at, sent_at, smtp_server)"
                " VALUES ('reply', 'desk@example.org', '[]', :s, :mid, 'h', 'sent', 1, :t, :t,"
                " 'smtp:relay')"
            ),
            [
                {"s": "s" * 300, "mid": f"<old{n}@x>", "t": NOW - timedelta(days=1 + n % 90)}
                for n in range(FILLER)
            ],
        )
        for n, (status, attempts, server) in enumerate(OUTBOX):
            conn.execute(
                text(
                    "INSERT INTO outbox (kind, sender, recipients, subject, message_id,"
                    " raw_sha256, status, attempts, created_at, sent_at, smtp_server)"
                    " VALUES ('reply', 'desk@example.org', '[\"a@example.org\"]', 's', :mid,"
                    " 'h', :st, :att, :t, :sent, :srv)"
                ),
                {
                    "mid": f"<{n}@x>",
                    "st": status,
                    "att": attempts,
                    "t": NOW,
                    "sent": NOW if server else None,
                    "srv": server,
                },
            )


def _analyze(engine: Engine) -> None:
    """Statistics for the planner (PostgreSQL: and the visibility map an index-only scan
    reads)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("ANALYZE" if engine.dialect.name == "sqlite" else "VACUUM ANALYZE")


def _counts(engine: Engine) -> tuple[object, ...]:
    with engine.connect() as conn:
        tallies = TallyRepository(conn)
        ledger = tallies.ledger()
        return (
            ledger.by_status,
            sorted(ledger.by_channel.values()),
            tallies.outbox(),
            tallies.sent_between(MIDNIGHT, MIDNIGHT + timedelta(days=1)),
        )


def _plans(engine: Engine) -> str:
    """The query plans of the overview's counts."""
    statements: list[tuple[str, object]] = []

    def seen(_c: Connection, _cur: object, sql: str, params: object, *_: object) -> None:
        if not sql.startswith("EXPLAIN"):
            statements.append((sql, params))

    with engine.connect() as conn:
        event.listen(conn, "before_cursor_execute", seen)
        tallies = TallyRepository(conn)
        tallies.ledger()
        tallies.outbox()
        tallies.sent_between(MIDNIGHT, MIDNIGHT + timedelta(days=1))
        event.remove(conn, "before_cursor_execute", seen)
        explain = "EXPLAIN QUERY PLAN " if engine.dialect.name == "sqlite" else "EXPLAIN "
        lines = [
            " ".join(str(v) for v in row)
            for sql, params in statements
            for row in conn.exec_driver_sql(explain + sql, params)  # type: ignore[arg-type]
        ]
    return "\n".join(lines)


def _differences(engine: Engine) -> list[object]:
    with engine.connect() as conn:
        found = compare_metadata(MigrationContext.configure(conn), metadata)
    flat = [d for diff in found for d in (diff if isinstance(diff, list) else [diff])]
    return [d for d in flat if any(getattr(x, "name", None) in MINE for x in d)]


@pytest.mark.filterwarnings("ignore:autogenerate skipping")
def test_0010_keeps_the_counts_and_serves_them_from_its_indexes(
    database_url: str, tmp_path: Path
) -> None:
    engine = make_engine(database_url)
    command.upgrade(alembic_config(engine), "0009")
    _fill(engine)
    _analyze(engine)
    before = _counts(engine)
    plans = _plans(engine)
    assert not any(name in plans for name in MINE)
    command.upgrade(alembic_config(engine), "0010")
    _analyze(engine)
    assert current_revision(engine) == "0010"
    assert _counts(engine) == before
    assert before[0] == {
        ("handled", "A1"): 3,
        ("handled", "B2"): 1,
        ("handled", "C1"): FILLER,
        ("duplicate", None): 1,
        ("quarantined", None): 1,
        ("unhandled", None): 1,
    }
    assert before[2] == {"sent": (3 + FILLER, 4 + FILLER), "queued": (1, 0), "failed": (1, 5)}
    assert before[3] == {"smtp:relay": 2, "smtp:backup": 1}
    plans = _plans(engine)
    assert "ix_messages_status" in plans and "ix_outbox_status" in plans, plans
    if engine.dialect.name == "sqlite":
        assert "USE TEMP B-TREE" not in plans.split("ix_outbox_status")[0], plans
    assert _differences(engine) == []
    storage = Storage(engine, FileBlobStore(tmp_path / "blobs"))
    with storage.reading() as uow:
        assert uow.tallies.outbox()["failed"] == (1, 5)
    command.downgrade(alembic_config(engine), "0009")
    assert _counts(engine) == before
    command.upgrade(alembic_config(engine), "head")
    assert _differences(engine) == []
    engine.dispose()
