"""Polling IMAP channels against the loopback Dovecot: each --after mode, TLS, folders."""

from __future__ import annotations

from sqlalchemy import create_engine, select

from postroom.storage.tables import channels
from support.imap_boxes import Imap
from support.polling import Postroom


def test_imaps_delete_files_each_message_once_and_expunges(postroom: Postroom, imap: Imap) -> None:
    box = imap.box("del")
    postroom.stack.fill(box.address, 5)
    (report,) = postroom.poll_json(box.channel)
    assert report["fetched"] == 5 and report["handled"] == 5, report
    assert imap.count(box.address) == 0
    counts = postroom.counts()
    assert counts["messages"] == counts["tickets"] == 5
    (again,) = postroom.poll_json(box.channel)
    assert again["fetched"] == 0


def test_starttls_keep_leaves_the_mail_and_never_takes_it_twice(
    postroom: Postroom, imap: Imap
) -> None:
    box = imap.box("keep", "--after", "keep", scheme="imap")
    postroom.stack.fill(box.address, 3)
    (first,) = postroom.poll_json(box.channel)
    assert first["fetched"] == 3 and first["handled"] == 3, first
    assert imap.count(box.address) == 3
    assert imap.seen_flags(box.address) == 0  # BODY.PEEK: nothing marked read
    (second,) = postroom.poll_json(box.channel)
    assert second["fetched"] == 0 and second["deleted_known"] == 0, second
    postroom.stack.fill(box.address, 2)
    (third,) = postroom.poll_json(box.channel)
    assert third["fetched"] == 2, third
    assert imap.count(box.address) == 5
    counts = postroom.counts()
    assert counts["messages"] == counts["tickets"] == 5


def test_cleartext_imap_is_refused_unless_the_url_allows_it(postroom: Postroom, imap: Imap) -> None:
    box = imap.box("plain", "--after", "keep", scheme="imap")
    url = f"imap://{box.address}@127.0.0.1:{postroom.stack.imap_port}?tls=none"
    result = postroom.channel_add("clear", url, box.password)
    assert result.code == 0, result.out + result.err  # said in the URL: allowed
    postroom.stack.fill(box.address, 1)
    (report,) = postroom.poll_json("clear")
    assert report["fetched"] == 1, report


def test_mail_read_by_another_client_is_taken(postroom: Postroom, imap: Imap) -> None:
    box = imap.box("seen")
    postroom.stack.fill(box.address, 2)
    maildir = postroom.stack.maildir(box.address)
    for path in list((maildir / "new").iterdir()):
        path.rename(maildir / "cur" / f"{path.name}:2,S")
    assert imap.seen_flags(box.address) == 2
    (report,) = postroom.poll_json(box.channel)
    assert report["fetched"] == 2, report
    assert imap.count(box.address) == 0


def test_move_files_the_mail_into_the_folder(postroom: Postroom, imap: Imap) -> None:
    address, password = postroom.stack.new_user("move")
    imap.folder(address, "Done")
    box = imap.box("move", "--after", "move:Done", address=address, password=password)
    postroom.stack.fill(box.address, 4)
    (report,) = postroom.poll_json(box.channel)
    assert report["handled"] == 4, report
    assert imap.count(box.address) == 0
    assert imap.count(box.address, "Done") == 4
    (again,) = postroom.poll_json(box.channel)
    assert again["fetched"] == 0
    assert postroom.counts()["tickets"] == 4


def test_a_folder_other_than_inbox(postroom: Postroom, imap: Imap) -> None:
    address, password = postroom.stack.new_user("folder")
    support = imap.folder(address, "Support")
    box = imap.box("folder", "--folder", "Support", address=address, password=password)
    postroom.stack.fill(box.address, 2)  # INBOX: not this channel's
    moved = sorted((postroom.stack.maildir(address) / "new").iterdir())[:1]
    for path in moved:
        path.rename(support / "new" / path.name)
    (report,) = postroom.poll_json(box.channel)
    assert report["fetched"] == 1, report
    assert imap.count(box.address) == 1  # INBOX untouched
    assert imap.count(box.address, "Support") == 0


def test_shared_mailbox_by_authorization_identity(postroom: Postroom, imap: Imap) -> None:
    delegate, delegate_pw = postroom.stack.new_user("delegate")
    shared = postroom.stack.new_shared_mailbox([delegate])
    box = imap.box(
        "shared", "--authzid", shared, address=shared, user=delegate, password=delegate_pw
    )
    postroom.stack.fill(shared, 2)
    postroom.stack.fill(delegate, 1)
    (report,) = postroom.poll_json(box.channel)
    assert report["fetched"] == 2, report
    assert imap.count(shared) == 0 and imap.count(delegate) == 1


def test_wrong_password_is_an_authentication_failure(postroom: Postroom, imap: Imap) -> None:
    address, _ = postroom.stack.new_user("wrongpw")
    url = f"imaps://{address}@127.0.0.1:{postroom.stack.imaps_port}"
    result = postroom.channel_add("bad", url, "not-the-password", "--force")
    assert "not-the-password" not in result.out + result.err
    (report,) = postroom.poll_json("bad")
    assert report["error_class"] == "authentication", report
    assert "not-the-password" not in str(report)


def test_a_message_over_the_limit_stays_with_a_reason(postroom: Postroom, imap: Imap) -> None:
    postroom.env["POSTROOM_MAX_MESSAGE_BYTES"] = "65536"
    box = imap.box("big")
    postroom.stack.fill(box.address, 2, size_kb=4)
    postroom.stack.fill(box.address, 1, size_kb=128)
    code, out = imap.poll()
    assert code in (0, 1), out
    assert imap.count(box.address) == 1, out
    assert "limit" in (postroom.channel(box.channel)["last_error"] or ""), out
    code, out = imap.poll()
    assert imap.count(box.address) == 1
    assert postroom.counts()["tickets"] == 2


def test_channel_set_changes_the_folder_and_what_happens_after(
    postroom: Postroom, imap: Imap
) -> None:
    address, password = postroom.stack.new_user("setafter")
    imap.folder(address, "Support")
    box = imap.box("setafter", address=address, password=password)
    postroom.ok("channel", "set", box.channel, "--after", "keep", "--folder", "Support")
    engine = create_engine(postroom.env["POSTROOM_DATABASE_URL"])
    with engine.connect() as conn:
        stored = conn.execute(
            select(channels.c.folder, channels.c.after).where(channels.c.name == box.channel)
        ).one()
    engine.dispose()
    assert tuple(stored) == ("Support", "keep")
    postroom.stack.fill(box.address, 1)
    moved = next((postroom.stack.maildir(address) / "new").iterdir())
    moved.rename(imap.folder(address, "Support") / "new" / moved.name)
    (report,) = postroom.poll_json(box.channel)
    assert report["fetched"] == 1, report
    assert imap.count(box.address, "Support") == 1  # kept
    refused = postroom("channel", "set", box.channel, "--after", "archive")
    assert refused.code != 0 and "use delete, keep or move:FOLDER" in refused.err
