"""Lists for people show the newest first and `--limit N` keeps the N newest; `--json` keeps
docs/cli.md's order (oldest first) of the same rows."""

from __future__ import annotations

import pytest

from e2e.cli import Shell
from support.mails import make_mail

pytestmark = pytest.mark.usefixtures("postroom_env")


@pytest.fixture
def sh(capsys: pytest.CaptureFixture[str]) -> Shell:
    return Shell(capsys)


def test_item_outbox_and_quarantine_lists_newest_first_with_a_limit(sh: Shell) -> None:
    sh.ok("route", "add", "support@example.com", "--context", "C", "--category", "K",
          "--queue", "q", "--acknowledge")  # fmt: skip
    refs = [
        sh.ingest(make_mail(subject=f"number {n}"))["work_items"][0]["reference"] for n in range(4)
    ]
    lines = sh.ok("item", "list", "--limit", "2").splitlines()
    assert [line.split("\t")[0] for line in lines[:2]] == [refs[3], refs[2]]
    assert lines[2] == "… 2 older not shown (raise --limit)"
    assert [i["reference"] for i in sh.json("item", "list", "--limit", "2")] == refs[2:]
    assert [i["reference"] for i in sh.json("item", "list")] == refs  # documented order
    outbox = sh.json("outbox", "list")
    assert len(outbox) >= 2  # acknowledgements (the rate limit may hold some back)
    newest = sh.ok("outbox", "list", "--limit", "1").splitlines()
    assert newest[0].split("\t")[0] == str(outbox[-1]["id"]) and len(newest) == 2
    for _ in range(3):
        sh.ingest(b"")
    quarantined = sh.json("quarantine", "list")
    assert [q["id"] for q in sh.json("quarantine", "list", "--limit", "2")] == [
        q["id"] for q in quarantined[1:]
    ]
    text = sh.ok("quarantine", "list").splitlines()
    assert [line.split("\t")[0] for line in text] == [str(q["id"]) for q in quarantined[::-1]]
    assert len(sh.json("route", "list", "--limit", "1")) == 1
    refused = sh("item", "list", "--limit", "0")
    assert refused.code == 2
