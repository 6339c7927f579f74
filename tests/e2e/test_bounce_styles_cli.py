"""Bounces of every MTA style in the corpus, about mail Postroom sent, through `ingest`.

Each ``rw_bounce_*.eml`` (tests/data/mail, written by make_corpus.py) names an
outbound Message-ID; here it is rewritten to the Message-ID of a reply Postroom
really queued, and the bounce must be linked to it (rule D3), with the failed
recipient and hard or soft in the outbound communication's status detail.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from e2e.cli import Shell
from support.mails import make_mail

pytestmark = pytest.mark.usefixtures("postroom_env")

DATA = Path(__file__).resolve().parents[1] / "data" / "mail"
ROWS = json.loads((DATA / "realworld.json").read_text())
BOUNCES = sorted(name for name in ROWS if name.startswith("rw_bounce_"))
_OUT_ID = re.compile(rb"<postroom\.\d+-T\.1@postroom\.example>")


def test_every_style_is_in_the_corpus() -> None:
    styles = {name.split("_")[2] for name in BOUNCES}
    assert {"postfix", "rfc3464", "gmail", "exchange", "o365", "exim", "qmail", "yahoo"} <= styles
    assert {ROWS[name]["report"]["kind"] for name in BOUNCES} == {"hard", "soft"}


@pytest.mark.parametrize("name", BOUNCES)
def test_bounce_is_linked_with_recipient_and_kind(
    capsys: pytest.CaptureFixture[str], name: str
) -> None:
    sh = Shell(capsys)
    decision = sh.ingest(make_mail(to="nobody@example.com"))
    ref = decision["work_items"][0]["reference"]
    sent = sh.json("outbox", "list")[0]
    raw = _OUT_ID.sub(sent["message_id"].encode(), (DATA / name).read_bytes())
    bounce = sh.ingest(raw)
    assert (bounce["outcome"], bounce["rule"]) == ("updated", "D3"), bounce
    assert bounce["work_items"][0]["reference"] == ref
    out = [c for c in sh.show(ref)["communications"] if c["direction"] == "out"]
    assert out[0]["status"] == "bounced"
    report = ROWS[name]["report"]
    detail = out[0]["status_detail"]
    assert detail.startswith(f"{report['kind']} bounce; {report['failed_recipients'][0]}"), detail
