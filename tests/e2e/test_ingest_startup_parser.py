"""`postroom ingest` parses in a child process it starts before its own imports: the
process itself does not load the parser (tests/unit/mime/test_isolated_early.py: the
first parser takes that child)."""

from __future__ import annotations

from pathlib import Path

from e2e.test_ingest_startup import _ingest_in_fresh_process, _loaded
from support.mails import make_mail

PARSER_ONLY = ("postroom.mime.parser", "postroom.mime.html", "charset_normalizer", "tnefparse")


def test_ingest_leaves_the_parser_to_its_child(tmp_path: Path) -> None:
    code, _, _ = _ingest_in_fresh_process(tmp_path, make_mail(subject="first"))
    assert code == 0
    code, modules, out = _ingest_in_fresh_process(tmp_path, make_mail(subject="second"))
    assert code == 0 and '"outcome": "new_ticket"' in out
    assert "postroom.mime.isolated" in modules
    for package in PARSER_ONLY:
        assert _loaded(modules, package) == [], f"postroom ingest imported {package}"
