"""`postroom ingest FILE...` and `postroom ingest --maildir DIR` (docs/cli.md, the batch case):
every readable file stored in batches, an unreadable one reported and skipped, a maildir's
files deleted once stored, and a second run files nothing twice."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from e2e.cli import Shell
from support.mails import make_mail

pytestmark = pytest.mark.usefixtures("postroom_env")


@pytest.fixture
def sh(capsys: pytest.CaptureFixture[str]) -> Shell:
    shell = Shell(capsys)
    shell.ok(
        "route",
        "add",
        "support@example.com",
        "--context",
        "Acme",
        "--category",
        "Query",
        "--queue",
        "billing",
    )
    return shell


def _files(folder: Path, count: int) -> list[str]:
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for i in range(count):
        path = folder / f"{i:03d}.eml"
        path.write_bytes(make_mail(subject=f"Invoice question {i}"))
        paths.append(str(path))
    return paths


def _maildir(root: Path, new: int, cur: int) -> Path:
    _files(root / "new", new)
    (root / "cur").mkdir()
    for i in range(cur):
        (root / "cur" / f"{i}.host:2,S").write_bytes(make_mail(subject=f"Seen {i}"))
    (root / "tmp").mkdir()
    (root / "tmp" / "half-written").write_bytes(b"From: x")
    return root


def _tickets(sh: Shell) -> list[dict[str, Any]]:
    items: list[dict[str, Any]] = sh.json("item", "list")
    return items


def test_several_files_one_entry_each_with_the_single_keys(sh: Shell, tmp_path: Path) -> None:
    single = set(sh.ingest(make_mail(subject="One on its own")))
    files = _files(tmp_path / "in", 7)
    result = sh("ingest", *files, "--json")
    assert result.code == 0, result.err
    entries = result.json()
    assert [e["file"] for e in entries] == files
    for entry in entries:
        assert set(entry) == single | {"file"}, entry
        assert entry["outcome"] == "new_ticket"
    assert len({e["work_items"][0]["reference"] for e in entries}) == 7
    assert len(_tickets(sh)) == 8
    assert all(Path(f).exists() for f in files), "files given by name are never touched"


def test_summary_line_without_json(sh: Shell, tmp_path: Path) -> None:
    files = _files(tmp_path / "in", 3)
    out = sh.ok("ingest", *files)
    assert out == "3 files: 3 stored (3 new_ticket)"


def test_a_second_run_over_the_same_files_files_nothing_twice(sh: Shell, tmp_path: Path) -> None:
    files = _files(tmp_path / "in", 4)
    sh.ok("ingest", *files)
    again = sh("ingest", *files, "--json")
    assert again.code == 0, again.err
    assert {e["outcome"] for e in again.json()} == {"ignored"}
    assert len(_tickets(sh)) == 4


def test_maildir_stored_then_deleted_and_a_rerun_files_nothing(sh: Shell, tmp_path: Path) -> None:
    root = _maildir(tmp_path / "Maildir", new=5, cur=2)
    result = sh("ingest", "--maildir", str(root), "--json")
    assert result.code == 0, result.err
    entries = result.json()
    assert len(entries) == 7
    assert [Path(e["file"]).parent.name for e in entries] == ["new"] * 5 + ["cur"] * 2
    assert all(e["outcome"] == "new_ticket" for e in entries)
    assert list((root / "new").iterdir()) == [] and list((root / "cur").iterdir()) == []
    assert (root / "tmp" / "half-written").exists(), "tmp/ is the writer's, never read"
    rerun = sh("ingest", "--maildir", str(root), "--json")
    assert rerun.code == 0 and rerun.json() == []
    assert len(_tickets(sh)) == 7


def test_maildir_with_an_unreadable_file_stores_the_others(sh: Shell, tmp_path: Path) -> None:
    root = _maildir(tmp_path / "Maildir", new=3, cur=1)
    dangling = root / "new" / "001b.eml"
    dangling.symlink_to(tmp_path / "gone.eml")
    folder = root / "new" / "002b"
    folder.mkdir()
    result = sh("ingest", "--maildir", str(root), "--json")
    assert result.code == 1, "some files could not be read"
    entries = {Path(e["file"]).name: e for e in result.json()}
    assert entries["001b.eml"]["reason"] == "missing"
    assert entries["002b"]["reason"] == "not-a-file"
    assert "cannot read" in entries["001b.eml"]["error"]
    stored = [e for e in entries.values() if "outcome" in e]
    assert len(stored) == 4
    assert "cannot read" in result.err and "Traceback" not in result.err
    assert sorted(p.name for p in (root / "new").iterdir()) == ["001b.eml", "002b"]
    assert len(_tickets(sh)) == 4


def test_a_file_past_the_limit_is_skipped_and_left_in_the_maildir(
    sh: Shell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTROOM_MAX_MESSAGE_BYTES", "65536")
    root = _maildir(tmp_path / "Maildir", new=2, cur=0)
    big = root / "new" / "001big.eml"
    big.write_bytes(make_mail(body="x" * 70_000))
    result = sh("ingest", "--maildir", str(root), "--json")
    assert result.code == 1
    entries = {Path(e["file"]).name: e for e in result.json()}
    assert entries["001big.eml"]["reason"] == "too-large"
    assert "larger than POSTROOM_MAX_MESSAGE_BYTES (65536 octets)" in entries["001big.eml"]["error"]
    assert sorted(p.name for p in (root / "new").iterdir()) == ["001big.eml"]
    assert len(_tickets(sh)) == 2


def test_summary_counts_the_skipped(sh: Shell, tmp_path: Path) -> None:
    files = _files(tmp_path / "in", 2)
    result = sh("ingest", files[0], str(tmp_path / "nope.eml"), files[1])
    assert result.code == 1
    assert result.out.strip() == "3 files: 2 stored (2 new_ticket), 1 missing"


def test_not_a_maildir_is_a_usage_error(sh: Shell, tmp_path: Path) -> None:
    result = sh("ingest", "--maildir", str(tmp_path / "nowhere"))
    assert result.code == 2
    assert result.err.startswith("postroom: cannot read the maildir")


def test_batches_commit_one_by_one(
    sh: Shell, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """More files than a batch holds: every batch stored, progress said on stderr."""
    monkeypatch.setenv("POSTROOM_POLL_BATCH", "3")
    monkeypatch.setattr("postroom.cli.ingest_batch.PROGRESS_SECONDS", 0.0)
    files = _files(tmp_path / "in", 8)
    result = sh("ingest", *files)
    assert result.code == 0, result.err
    assert result.out.strip() == "8 files: 8 stored (8 new_ticket)"
    progress = [line for line in result.err.splitlines() if line.startswith("ingest: ")]
    assert progress == [
        "ingest: 3/8 files, 3 stored",
        "ingest: 6/8 files, 6 stored",
        "ingest: 8/8 files, 8 stored",
    ]


def test_storage_away_is_tempfail_and_the_maildir_kept(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("POSTROOM_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("POSTROOM_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:1/x")
    root = _maildir(tmp_path / "Maildir", new=2, cur=0)
    result = Shell(capsys)("ingest", "--maildir", str(root), "--json")
    assert result.code == 75
    assert "Traceback" not in result.err
    assert len(list((root / "new").iterdir())) == 2
