"""Every message of the corpus through `postroom ingest` and `postroom explain`, on both engines.

Nothing crashes, every message is stored (exit 0), `explain --json` has every
key of the contract, and a second ingest of the same file is a duplicate (D1)
or, for mail that cannot be told apart, at least never files it twice.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from e2e.cli import run_cli

pytestmark = pytest.mark.usefixtures("postroom_env")

DATA = Path(__file__).resolve().parents[1] / "data" / "mail"
NOT_MAIL_FILES = ("binary_garbage.eml", "empty.eml")
NOT_MAIL_REASON = "not mail: no header block, no sender and no recipient"
MAIL_KEYS = {
    "from",
    "from_name",
    "to",
    "cc",
    "reply_to",
    "subject",
    "date",
    "message_id",
    "in_reply_to",
    "references",
    "body_text",
    "has_html",
    "attachments",
    "automatic",
    "defects",
}
DECISION_KEYS = {"outcome", "rule", "path", "matched_by", "work_items", "auto_reply"}


def test_every_corpus_file_is_explained_stored_and_filed_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    run_cli(
        capsys,
        "route",
        "add",
        "support@example.com",
        "--context",
        "Acme",
        "--category",
        "Query",
        "--queue",
        "q",
    )
    files = sorted(DATA.glob("*.eml"))
    assert len(files) >= 30
    for path in files:
        explained = run_cli(capsys, "explain", str(path), "--json")
        assert explained.code == 0, (path.name, explained.err)
        data = explained.json()
        assert set(data["mail"]) >= MAIL_KEYS, path.name
        assert set(data["decision"]) >= DECISION_KEYS, path.name
        for attachment in data["mail"]["attachments"]:
            assert {"filename", "content_type", "size", "content_id"} <= set(attachment)
        first = run_cli(capsys, "ingest", str(path), "--json")
        assert first.code == 0, (path.name, first.err)
        again = run_cli(capsys, "ingest", str(path), "--json")
        assert again.code == 0
        assert again.json()["rule"] in ("D1", "D2", "Q1"), (path.name, again.json())
    quarantined = run_cli(capsys, "quarantine", "list", "--json").json()
    # Only the bytes that are not mail (no header, sender or recipient) are quarantined,
    # once per ingest: never a Ticket, and never anything else.
    assert [q["error"] for q in quarantined] == [NOT_MAIL_REASON] * 2 * len(NOT_MAIL_FILES)


def test_automatic_mail_is_never_auto_replied(capsys: pytest.CaptureFixture[str]) -> None:
    for name in (
        "out_of_office.eml",
        "mailing_list.eml",
        "return_path_empty_autoreply.eml",
        "postfix_bounce.eml",
    ):
        explained = run_cli(capsys, "explain", str(DATA / name), "--json").json()
        assert explained["mail"]["automatic"], name
        decided = run_cli(capsys, "ingest", str(DATA / name), "--json").json()
        assert decided["auto_reply"] is None, name
    assert run_cli(capsys, "outbox", "list", "--json").json() == []
