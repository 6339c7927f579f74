"""`postroom ingest` tells an MTA to try again (exit 75, EX_TEMPFAIL) when it cannot store."""

from __future__ import annotations

from pathlib import Path

import pytest

from e2e.cli import run_cli
from support.mails import make_mail


def test_database_unreachable_is_tempfail(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("POSTROOM_HOME", str(tmp_path))
    monkeypatch.setenv("POSTROOM_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/x")
    result = run_cli(capsys, "ingest", "-", stdin=make_mail())
    assert result.code == 75
    assert result.err.startswith("postroom: not stored, try again later")
    assert len(result.err.strip().splitlines()) == 1


def test_data_folder_not_writable_is_tempfail(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the data folder should be")
    monkeypatch.setenv("POSTROOM_HOME", str(blocker))
    monkeypatch.delenv("POSTROOM_DATABASE_URL", raising=False)
    result = run_cli(capsys, "ingest", "-", stdin=make_mail())
    assert result.code == 75, result.err
    assert "Traceback" not in result.err


def test_missing_file_is_a_usage_error(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("POSTROOM_HOME", str(tmp_path))
    result = run_cli(capsys, "ingest", str(tmp_path / "nope.eml"))
    assert result.code == 2
    assert "cannot read" in result.err
