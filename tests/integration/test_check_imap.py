"""The check of an IMAP mailbox, step by step against the loopback Dovecot: greeting,
capabilities, login (a password, or an OAuth2 access token with XOAUTH2 or OAUTHBEARER),
the channel's folder opened read-only (EXAMINE) and its message count; a folder the server
lacks fails the mailbox step naming the folders it has."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from unittest.mock import ANY

import pytest

from postroom.diagnostics import CheckReport, StepName, run_check
from postroom.net.connection import MailUrl
from postroom.net.sasl import AuthMechanism
from support.imap_proxy import ImapProxy, imap_proxy
from support.mailstack import Mailstack
from support.polling import Postroom, postroom

pytestmark = pytest.mark.servers
POSTROOM = str(Path(sys.executable).with_name("postroom"))
__all__ = ["imap_proxy", "postroom"]


def _folder(stack: Mailstack, address: str, name: str, messages: int = 0) -> None:
    """A Maildir++ folder of the mailbox holding ``messages`` short messages."""
    root = stack.maildir(address) / f".{name}"
    for sub in ("", "cur", "new", "tmp"):
        (root / sub).mkdir(exist_ok=True)
        os.chown(root / sub, stack.mail_uid, stack.mail_gid)
    for i in range(messages):
        path = root / "new" / f"{i}.check.{name.encode().hex()}"
        path.write_bytes(f"Subject: {i}\r\nMessage-ID: <{i}.{name}@x>\r\n\r\nbody\r\n".encode())
        os.chown(path, stack.mail_uid, stack.mail_gid)


def _check(
    stack: Mailstack, url: str, password: str, *, folder: str | None = None, **kw: object
) -> CheckReport:
    return run_check(
        MailUrl.parse(url), password, None, stack.ca_file, None, 5, folder=folder, **kw
    )  # type: ignore[arg-type]


def test_check_opens_the_folder_read_only_and_counts_its_messages(mailstack: Mailstack) -> None:
    address, password = mailstack.new_user("chkfolder")
    mailstack.fill(address, 2, size_kb=1)
    _folder(mailstack, address, "Tickets", 3)
    url = f"imaps://{address}@{mailstack.host}:{mailstack.imaps_port}"
    report = _check(mailstack, url, password, folder="Tickets")
    assert report.ok, report.to_json()
    step = report.step(StepName.MAILBOX)
    assert step.detail["folder"] == "Tickets" and step.detail["messages"] == 3
    assert isinstance(step.detail["uidvalidity"], int)
    assert step.summary == "Tickets: 3 messages"
    assert _check(mailstack, url, password).step(StepName.MAILBOX).detail["messages"] == 2
    assert mailstack.count(address) == 2  # EXAMINE: nothing moved to cur, nothing flagged
    assert not any((mailstack.maildir(address) / "cur").iterdir())


def test_missing_folder_fails_the_mailbox_step_naming_the_folders_there(
    mailstack: Mailstack,
) -> None:
    address, password = mailstack.new_user("chkmissing")
    for i in range(60):
        _folder(mailstack, address, f"F{i:02d}")
    url = f"imap://{address}@{mailstack.host}:{mailstack.imap_port}"
    report = _check(mailstack, url, password, folder="Tikets")
    step = report.step(StepName.MAILBOX)
    assert step.ok is False and report.step(StepName.AUTH).ok is True
    assert "'Tikets'" in (step.error or "")
    hint = step.hint or ""
    assert "--folder" in hint and "channel set NAME --folder" in hint
    assert "INBOX" in hint and "F00" in hint
    shown = hint.split("the server has: ", 1)[1]
    assert shown.count(",") == 49 and shown.endswith("… and 11 more"), shown


def test_channel_check_and_add_open_the_channels_folder(
    postroom: Postroom, mailstack: Mailstack
) -> None:
    address, password = mailstack.new_user("chkchan")
    _folder(mailstack, address, "Tickets", 1)
    url = f"imaps://{address}@127.0.0.1:{mailstack.imaps_port}"
    bad = postroom.channel_add("chkbad", url, password, "--folder", "Nope")
    assert bad.code == 1, bad.out + bad.err
    said = bad.out + bad.err
    assert "mailbox" in said and "'Nope'" in said and "Tickets" in said
    assert "channel set chkbad --folder" in said
    assert postroom.channel("chkbad")["enabled"] is False
    good = postroom.channel_add("chkgood", url, password, "--folder", "Tickets")
    assert good.code == 0, good.out + good.err
    result = postroom("channel", "check", "chkgood", "--json")
    assert result.code == 0, result.out + result.err
    mailbox = next(s for s in result.json()["steps"] if s["name"] == "mailbox")
    assert mailbox["detail"]["folder"] == "Tickets" and mailbox["detail"]["messages"] == 1


def test_check_command_takes_folder(mailstack: Mailstack) -> None:
    address, password = mailstack.new_user("chkcli")
    _folder(mailstack, address, "Done", 2)
    url = f"imaps://{address}@{mailstack.host}:{mailstack.imaps_port}"
    result = subprocess.run(
        [POSTROOM, "check", url, "--password-env", "PW", "--ca-file", str(mailstack.ca_file),
         "--folder", "Done", "--json"],
        env={**os.environ, "PW": password}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    steps = {s["name"]: s for s in json.loads(result.stdout)["steps"]}
    assert steps["mailbox"]["detail"]["folder"] == "Done"
    assert steps["mailbox"]["detail"]["messages"] == 2
    pop = f"pop3s://{address}@{mailstack.host}:{mailstack.pop3s_port}"
    refused = subprocess.run(
        [POSTROOM, "check", pop, "--folder", "Done"], capture_output=True, text=True, check=False
    )
    assert refused.returncode == 2 and "imap://" in refused.stderr


@pytest.mark.parametrize("mechanism", ["xoauth2", "oauthbearer"])
def test_check_logs_in_with_an_oauth2_access_token(
    mailstack: Mailstack, imap_proxy: type[ImapProxy], mechanism: str
) -> None:
    address, password = mailstack.new_user("chkoauth")
    mailstack.fill(address, 1, size_kb=1)
    token = "ya29.test-" + os.urandom(8).hex()
    proxy = imap_proxy(mailstack.imap_port, tokens={token: (address, password)})
    url = f"imap://{address}@127.0.0.1:{proxy.port}/?tls=none"

    def check(secret: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [POSTROOM, "check", url, "--password-env", "TOKEN", "--mechanism", mechanism,
             "--json"],
            env={**os.environ, "TOKEN": secret}, capture_output=True, text=True, check=False,
        )  # fmt: skip

    result = check(token)
    assert result.returncode == 0, result.stdout + result.stderr
    steps = {s["name"]: s for s in json.loads(result.stdout)["steps"]}
    assert steps["auth"]["detail"]["mechanism"] == f"AUTHENTICATE {mechanism.upper()}"
    assert steps["mailbox"]["detail"]["messages"] == 1
    assert "AUTHENTICATE" in proxy.commands and "LOGIN" not in proxy.commands
    wrong = "ya29.revoked-" + os.urandom(8).hex()
    refused = check(wrong)
    assert refused.returncode == 1
    steps = {s["name"]: s for s in json.loads(refused.stdout)["steps"]}
    assert steps["auth"]["ok"] is False and "token" in steps["auth"]["hint"]
    assert wrong not in refused.stdout + refused.stderr


def test_oauth_mechanism_the_server_lacks_fails_the_login_step(
    mailstack: Mailstack, imap_proxy: type[ImapProxy]
) -> None:
    proxy = imap_proxy(mailstack.imap_port, drop=("AUTH=XOAUTH2", "AUTH=OAUTHBEARER"))
    address, _ = mailstack.new_user("chknooauth")
    url = f"imap://{address}@127.0.0.1:{proxy.port}/?tls=none"
    report = _check(mailstack, url, "tok-123", mechanism=AuthMechanism.XOAUTH2)
    step = report.step(StepName.AUTH)
    assert step.ok is False and "AUTH=XOAUTH2" in (step.error or "")


def test_channel_set_folder_checks_the_new_folder(postroom: Postroom, mailstack: Mailstack) -> None:
    address, password = mailstack.new_user("chkset")
    _folder(mailstack, address, "Tickets", 2)
    url = f"imaps://{address}@127.0.0.1:{mailstack.imaps_port}"
    added = postroom.channel_add("chkset", url, password)
    assert added.code == 0, added.out + added.err
    bad = postroom("channel", "set", "chkset", "--folder", "Nope")
    assert bad.code == 1, bad.out + bad.err
    assert "fix it with: postroom channel set chkset --folder" in bad.out + bad.err
    assert postroom.channel("chkset")["enabled"] is False
    good = postroom("channel", "set", "chkset", "--folder", "Tickets")
    assert good.code == 0 and "enabled" in good.out, good.out + good.err
    row = postroom.channel("chkset")
    assert row["enabled"] is True and row["folder"] == "Tickets"
    shown = postroom("channel", "check", "chkset", "--json").json()
    mailbox = next(s for s in shown["steps"] if s["name"] == "mailbox")
    assert mailbox["detail"] == {"folder": "Tickets", "messages": 2, "uidvalidity": ANY}


def test_check_of_a_channel_that_moves_mail_needs_the_target_folder(
    postroom: Postroom, mailstack: Mailstack
) -> None:
    address, password = mailstack.new_user("chkmove")
    _folder(mailstack, address, "Done")
    url = f"imaps://{address}@127.0.0.1:{mailstack.imaps_port}"
    bad = postroom.channel_add("chkmove", url, password, "--after", "move:Dnoe")
    assert bad.code == 1, bad.out + bad.err
    said = bad.out + bad.err
    assert "'Dnoe'" in said and "Done" in said
    assert "fix it with: postroom channel set chkmove --after move:FOLDER" in said
    good = postroom("channel", "set", "chkmove", "--after", "move:Done")
    assert good.code == 0 and "enabled" in good.out, good.out + good.err
    shown = postroom("channel", "check", "chkmove", "--json").json()
    mailbox = next(s for s in shown["steps"] if s["name"] == "mailbox")
    assert mailbox["ok"] is True and mailbox["detail"]["move_to"] == "Done"
