"""Polling real Dovecot mailboxes: every message filed once, failures classified per channel."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, update

from postroom.storage.tables import channels
from support.mails import make_mail
from support.polling import Box, Postroom

DATA = Path(__file__).resolve().parents[2] / "data" / "mail"


def test_poll_files_every_message_once_and_empties_the_mailbox(postroom: Postroom) -> None:
    box = postroom.mailbox()
    postroom.stack.fill(box.address, 20)
    [report] = postroom.poll_json()
    assert (report["fetched"], report["handled"], report["errors"]) == (20, 20, [])
    assert postroom.stack.count(box.address) == 0
    counts = postroom.counts()
    assert counts["messages"] == counts["inbound"] == counts["tickets"] == 20
    [again] = postroom.poll_json()
    assert again["fetched"] == 0
    channel = postroom.channel(box.channel)
    assert channel["failure_count"] == 0 and channel["last_success"] is not None


@pytest.mark.parametrize(
    ("scheme", "mechanism"),
    [("pop3s", "plain"), ("pop3s", "login"), ("pop3s", "user"), ("pop3", "auto")],
)
def test_each_login_form(postroom: Postroom, scheme: str, mechanism: str) -> None:
    address, password = postroom.stack.new_user("auth")
    port = postroom.stack.pop3s_port if scheme == "pop3s" else postroom.stack.pop3_port
    url = f"{scheme}://{address}@127.0.0.1:{port}"
    result = postroom.channel_add("c", url, password, "--mechanism", mechanism)
    assert result.code == 0 and "enabled" in result.out, result.out
    postroom.stack.fill(address, 3)
    [report] = postroom.poll_json()
    assert report["handled"] == 3 and postroom.stack.count(address) == 0


def test_shared_mailbox_by_authorization_identity(postroom: Postroom) -> None:
    delegate, password = postroom.stack.new_user("delegate")
    shared = postroom.stack.new_shared_mailbox([delegate])
    url = f"pop3s://{delegate}@127.0.0.1:{postroom.stack.pop3s_port}"
    result = postroom.channel_add("shared", url, password, "--authzid", shared)
    assert result.code == 0 and "enabled" in result.out, result.out
    postroom.stack.fill(shared, 4)
    postroom.stack.fill(delegate, 2)
    [report] = postroom.poll_json()
    assert report["handled"] == 4
    assert postroom.stack.count(shared) == 0 and postroom.stack.count(delegate) == 2
    assert postroom.channel("shared")["address"] == shared


def test_wrong_password_shows_authentication_and_leaves_the_mail(postroom: Postroom) -> None:
    address, _ = postroom.stack.new_user("wrongpw")
    postroom.stack.fill(address, 2)
    url = f"pop3s://{address}@127.0.0.1:{postroom.stack.pop3s_port}"
    result = postroom.channel_add("bad", url, "not-the-password")
    assert result.code == 1 and "disabled" in result.out + result.err  # kept, disabled
    channel = postroom.channel("bad")
    assert (channel["enabled"], channel["failure_count"], channel["last_error_class"]) == (
        False,
        1,
        "authentication",
    )
    assert "not-the-password" not in postroom("channel", "list", "--json").out
    postroom.ok("channel", "enable", "bad", "--force")
    [report] = postroom.poll_json()
    assert report["error_class"] == "authentication"
    assert postroom.stack.count(address) == 2
    assert postroom.channel("bad")["failure_count"] == 1


def _forced(postroom: Postroom, name: str, url: str, *extra: str) -> None:
    result = postroom.channel_add(name, url, "pw", "--force", *extra)
    assert result.code == 0, result.err


@pytest.mark.parametrize(
    ("kind", "expected", "detail"),
    [
        ("refused", "connection", "refused"),
        ("dns", "dns", "resolve"),
        ("expired", "tls", "expired"),
        ("selfsigned", "tls", "self-signed"),
        ("wronghost", "tls", "mismatch"),
    ],
)
def test_failure_classes(postroom: Postroom, kind: str, expected: str, detail: str) -> None:
    stack = postroom.stack
    address, _ = stack.new_user("fail")
    if kind == "refused":
        url = f"pop3s://{address}@127.0.0.1:1"
    elif kind == "dns":
        url = f"pop3s://{address}@mail.postroom-test.invalid:995"
    else:
        url = f"pop3s://{address}@127.0.0.1:{stack.bad_cert(kind).pop3s}"
    _forced(postroom, "c", url)
    [report] = postroom.poll_json()
    channel = postroom.channel("c")
    assert report["error_class"] == channel["last_error_class"] == expected
    assert detail in channel["last_error"].lower()
    assert channel["failure_count"] >= 1


def test_timeout_is_classified(postroom: Postroom, silent_server: int) -> None:
    _forced(postroom, "slow", f"pop3s://x@127.0.0.1:{silent_server}", "--timeout", "1")
    [report] = postroom.poll_json()
    assert report["error_class"] == "timeout"
    assert postroom.channel("slow")["last_error_class"] == "timeout"


def test_switched_off_after_max_failures_and_others_go_on(postroom: Postroom) -> None:
    good = postroom.mailbox("good")
    postroom.stack.fill(good.address, 3)
    _forced(postroom, "broken", "pop3s://x@127.0.0.1:1", "--max-failures", "3")
    assert postroom.channel("broken")["failure_count"] == 1  # the check at `channel add`
    first = {r["channel"]: r for r in postroom.poll_json()}
    assert first[good.channel]["handled"] == 3
    reports = {r["channel"]: r for r in postroom.poll_json()}
    assert reports["broken"]["switched_off"] is True
    assert reports[good.channel]["errors"] == []
    broken = postroom.channel("broken")
    assert (broken["enabled"], broken["failure_count"]) == (False, 3)
    assert "3 consecutive failures" in broken["disabled_reason"]
    assert [r["channel"] for r in postroom.poll_json()] == [good.channel]


def test_success_resets_the_failure_count(postroom: Postroom) -> None:
    box = postroom.mailbox()
    engine = create_engine(postroom.env["POSTROOM_DATABASE_URL"])
    good_url = postroom.channel(box.channel)["url"]
    with engine.begin() as conn:
        conn.execute(update(channels).values(url="pop3s://x@127.0.0.1:1"))
    postroom.poll_json()
    assert postroom.channel(box.channel)["failure_count"] == 1
    with engine.begin() as conn:
        conn.execute(update(channels).values(url=good_url))
    engine.dispose()
    postroom.poll_json()
    channel = postroom.channel(box.channel)
    assert (channel["failure_count"], channel["last_error_class"]) == (0, None)


def test_poison_message_is_quarantined_and_the_poll_goes_on(
    postroom: Postroom, monkeypatch: pytest.MonkeyPatch
) -> None:
    import postroom.services.ingest as ingest_module

    original = ingest_module.decide

    def fragile(mail: Any, *args: Any) -> Any:
        if mail.subject == "poison":
            raise ValueError("cannot digest this one")
        return original(mail, *args)

    monkeypatch.setattr(ingest_module, "decide", fragile)
    box = postroom.mailbox()
    postroom.stack.fill(box.address, 2)
    postroom.stack.deliver(box.address, make_mail(subject="poison", to=box.address))
    postroom.stack.fill(box.address, 2)
    [report] = postroom.poll_json()
    assert (report["handled"], report["quarantined"], report["errors"]) == (4, 1, [])
    assert postroom.stack.count(box.address) == 0
    [q] = postroom("quarantine", "list", "--json").json()
    assert "cannot digest" in q["error"]
    monkeypatch.setattr(ingest_module, "decide", original)
    assert postroom("quarantine", "retry", str(q["id"]), "--json").json()["rule"] == "N1"


def test_every_corpus_message_is_stored_once(postroom: Postroom) -> None:
    box = postroom.mailbox()
    files = [p for p in sorted(DATA.glob("*.eml")) if p.stat().st_size]
    for path in files:
        postroom.stack.deliver(box.address, path.read_bytes())
    [report] = postroom.poll_json()
    assert report["fetched"] == len(files) and not report["errors"]
    assert report["handled"] + report["quarantined"] + report["duplicates"] == len(files)
    assert postroom.stack.count(box.address) == 0
    assert postroom.counts()["messages"] == len(files)


def test_same_message_through_two_channels_is_filed_once(postroom: Postroom) -> None:
    one, two = postroom.mailbox("one"), postroom.mailbox("two")
    raw = make_mail(to=f"{one.address}, {two.address}", message_id="<bcc-copy@customer.test>")
    postroom.stack.deliver(one.address, raw)
    postroom.stack.deliver(two.address, b"Delivered-To: " + two.address.encode() + b"\r\n" + raw)
    postroom.poll_json()
    counts = postroom.counts()
    assert counts["messages"] == 2 and counts["tickets"] == 2  # one Ticket per routed address
    assert counts["inbound"] == 2


def test_two_pollers_at_once_file_each_message_once(postroom: Postroom) -> None:
    from postroom.bootstrap import App

    box = postroom.mailbox()
    postroom.stack.fill(box.address, 40)
    apps = [App(), App()]
    for i, app in enumerate(apps):
        app.poller.owner = f"poller-{i}"
    results: list[Any] = []

    def run(app: App) -> None:
        results.extend(app.scheduler().poll_once())

    threads = [threading.Thread(target=run, args=(a,)) for a in apps]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(bool(r.skipped) for r in results) == [False, True]
    counts = postroom.counts()
    assert counts["messages"] == counts["tickets"] == 40
    assert postroom.stack.count(box.address) == 0


def test_two_thousand_messages_in_one_mailbox(postroom: Postroom) -> None:
    box: Box = postroom.mailbox("big")
    postroom.stack.fill(box.address, 2000)
    reports = postroom.poll_json()
    handled = sum(r["handled"] for r in reports)
    while postroom.stack.count(box.address):
        handled += sum(r["handled"] for r in postroom.poll_json())
    assert handled == 2000
    counts = postroom.counts()
    assert counts["messages"] == counts["distinct_ids"] == counts["tickets"] == 2000


def test_a_channel_that_stored_mail_is_disabled_not_removed(postroom: Postroom) -> None:
    box = postroom.mailbox()
    postroom.stack.fill(box.address, 1)
    postroom.poll_json()
    refused = postroom("channel", "remove", box.channel)
    assert refused.code == 1 and "disable it instead" in refused.err
    assert len(refused.err.strip().splitlines()) == 1
    assert postroom.channel(box.channel)["enabled"] is True
    empty = postroom.mailbox("empty")
    assert postroom("channel", "remove", empty.channel).code == 0


def test_pop3_keep_leaves_the_mail_and_never_takes_it_twice(postroom: Postroom) -> None:
    address, password = postroom.stack.new_user("keep")
    postroom.ok(
        "route", "add", address, "--context", "Acme", "--category", "Mail", "--queue", "inbox"
    )
    url = f"pop3s://{address}@127.0.0.1:{postroom.stack.pop3s_port}"
    result = postroom.channel_add("keep", url, password, "--after", "keep")
    assert result.code == 0, result.out + result.err
    postroom.stack.fill(address, 3)
    (first,) = postroom.poll_json("keep")
    assert first["handled"] == 3, first
    assert postroom.stack.count(address) == 3
    (second,) = postroom.poll_json("keep")
    assert second["fetched"] == 0 and second["deleted_known"] == 0, second
    postroom.stack.fill(address, 2)
    (third,) = postroom.poll_json("keep")
    assert third["fetched"] == 2, third
    assert postroom.stack.count(address) == 5
    counts = postroom.counts()
    assert counts["messages"] == counts["tickets"] == 5


def test_pop3_refuses_a_folder_or_a_move(postroom: Postroom) -> None:
    address, password = postroom.stack.new_user("nomove")
    url = f"pop3s://{address}@127.0.0.1:{postroom.stack.pop3s_port}"
    for extra in (("--after", "move:Done"), ("--folder", "Support")):
        result = postroom.channel_add("nomove", url, password, *extra)
        assert result.code != 0
        assert "need an imap:// or imaps:// URL" in result.err
    assert postroom("channel", "list", "--json").json() == []
