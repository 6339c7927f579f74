"""Fakes for the mail services: storage on SQLite in memory with one route, and the
services built on it as bootstrap builds them (without a parser process)."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

from postroom.domain.ports import HandlerSettings
from postroom.domain.routes import Route
from postroom.services.ingest import IngestService
from postroom.storage.blobs import FileBlobStore
from postroom.storage.database import ensure_schema, make_engine
from postroom.storage.unit import Storage

NOW = datetime(2026, 11, 2, 9, 30)
ROUTE = Route("support@example.com", "Acme", "Query", "billing")
SENDER = "desk@example.com"


def routed_storage(tmp_path: Path) -> Storage:
    """A fresh database in memory with the route of ``support@example.com``."""
    engine = make_engine("sqlite://")
    ensure_schema(engine)
    storage = Storage(engine, FileBlobStore(tmp_path / "blobs", fsync=False))
    with storage.writing() as uow:
        uow.config.add_route(ROUTE, NOW)
    return storage


def ingest_service(storage: Storage) -> IngestService:
    return IngestService(storage, HandlerSettings(), SENDER, clock=lambda: NOW)
