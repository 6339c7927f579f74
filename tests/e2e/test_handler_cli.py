"""Every rule of docs/handler.md driven through the public CLI, on SQLite and PostgreSQL.

Each test sets the scene with the commands an administrator or agent would
type, feeds a message to `postroom ingest --json`, and checks the decision
and what `item show --json` says afterwards.
"""

from __future__ import annotations

from typing import Any

import pytest

from e2e.cli import Shell as BaseShell
from support.mails import make_mail

pytestmark = pytest.mark.usefixtures("postroom_env")


class Shell(BaseShell):
    def new_ticket(self, subject: str = "Invoice question", **kw: Any) -> tuple[str, bytes]:
        raw = make_mail(subject=subject, **kw)
        decision = self.ingest(raw)
        assert decision["outcome"] == "new_ticket", decision
        return decision["work_items"][0]["reference"], raw


@pytest.fixture
def sh(capsys: pytest.CaptureFixture[str]) -> Shell:
    shell = Shell(capsys)
    shell.ok(
        "route",
        "add",
        "support@example.com",
        "--context",
        "Acme/Payroll",
        "--category",
        "Query",
        "--queue",
        "billing",
    )
    return shell


def reply(ref: str, **kw: Any) -> bytes:
    return make_mail(subject=f"RE: [{ref}] Invoice question", **kw)


def test_n1_new_ticket_in_the_route(sh: Shell) -> None:
    d = sh.ingest(make_mail(to="Support <support@example.com>"))
    assert (d["outcome"], d["rule"], d["path"], d["matched_by"]) == (
        "new_ticket",
        "N1",
        ["N1"],
        None,
    )
    item = d["work_items"][0]
    assert item["reference"].endswith("-T")
    assert (item["state"], item["queue"], item["context"], item["category"]) == (
        "to-do",
        "billing",
        "Acme/Payroll",
        "Query",
    )
    assert d["auto_reply"] is None


def test_n1_one_ticket_per_route_and_acknowledgement(sh: Shell) -> None:
    sh.ok(
        "route",
        "add",
        "hr@example.com",
        "--context",
        "Acme/HR",
        "--category",
        "Leave",
        "--queue",
        "hr",
        "--acknowledge",
    )
    d = sh.ingest(make_mail(to="support@example.com", cc="hr@example.com"))
    assert d["rule"] == "N1"
    assert sorted(i["queue"] for i in d["work_items"]) == ["billing", "hr"]
    assert d["auto_reply"] == "acknowledgement"
    outbox = sh("outbox", "list", "--json").json()
    assert [o["kind"] for o in outbox] == ["acknowledgement"]
    assert outbox[0]["to"] == ["carol@customer.test"]


def test_n1_by_delivered_to_and_plus_address(sh: Shell) -> None:
    d = sh.ingest(
        make_mail(to="list@elsewhere.test", headers={"Delivered-To": "support@example.com"})
    )
    assert (d["rule"], d["work_items"][0]["queue"]) == ("N1", "billing")
    d = sh.ingest(make_mail(to="support+invoices@example.com"))
    assert (d["rule"], d["work_items"][0]["queue"]) == ("N1", "billing")


def test_n2_address_not_configured(sh: Shell) -> None:
    d = sh.ingest(make_mail(to="nobody@example.com"))
    assert (d["outcome"], d["rule"], d["auto_reply"]) == (
        "new_ticket",
        "N2",
        "address-not-configured",
    )
    item = d["work_items"][0]
    assert (item["state"], item["queue"], item["context"], item["category"]) == (
        "resolved",
        None,
        None,
        None,
    )
    outbox = sh("outbox", "list", "--json").json()
    assert outbox[0]["kind"] == "address-not-configured"
    assert outbox[0]["reference"] == item["reference"]
    assert f"[{item['reference']}]" in outbox[0]["subject"]


def test_n3_unhandled_policy(sh: Shell, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("POSTROOM_UNROUTED_POLICY", "unhandled")
    d = sh.ingest(make_mail(to="nobody@example.com", subject="lost"))
    assert (d["outcome"], d["rule"], d["work_items"]) == ("unhandled", "N3", [])
    listed = sh("unhandled", "list", "--json").json()
    assert [m["subject"] for m in listed] == ["lost"]
    assert sh("item", "list", "--json").json() == []


@pytest.mark.parametrize("state", ["to-do", "in-progress", "waiting"])
def test_t4_active_ticket_is_updated_and_requeued(sh: Shell, state: str) -> None:
    ref, _ = sh.new_ticket()
    sh.ok("item", "set-state", ref, state)
    d = sh.ingest(reply(ref))
    assert (d["outcome"], d["rule"], d["path"], d["matched_by"]) == (
        "updated",
        "T4",
        ["T4"],
        "subject",
    )
    assert d["work_items"][0]["reference"] == ref
    assert d["work_items"][0]["state"] == "to-do"
    assert len(sh.show(ref)["communications"]) == 2


def test_t1_resolved_ticket_reopens(sh: Shell) -> None:
    ref, _ = sh.new_ticket()
    sh.ok("item", "set-state", ref, "resolved")
    d = sh.ingest(reply(ref))
    assert (d["rule"], d["path"], d["work_items"][0]["state"]) == ("T1", ["T1"], "to-do")


@pytest.mark.parametrize(
    ("policy", "rule", "outcome"),
    [("auto-reply", "N1", "new_ticket"), ("unhandled", "N1", "new_ticket")],
)
def test_t2_closed_ticket_starts_a_linked_ticket(
    sh: Shell, policy: str, rule: str, outcome: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("POSTROOM_UNROUTED_POLICY", policy)
    ref, _ = sh.new_ticket()
    sh.ok("item", "set-state", ref, "closed")
    d = sh.ingest(reply(ref))
    assert (d["outcome"], d["rule"], d["path"]) == (outcome, rule, ["T2", rule])
    new = d["work_items"][0]
    assert new["reference"] != ref and new["linked_to"] == ref


def test_t2_then_n2_and_n3_when_no_route(sh: Shell, monkeypatch: pytest.MonkeyPatch) -> None:
    ref, _ = sh.new_ticket()
    sh.ok("item", "set-state", ref, "closed")
    d = sh.ingest(reply(ref, to="other@example.com"))
    assert (d["rule"], d["path"], d["work_items"][0]["linked_to"]) == ("N2", ["T2", "N2"], ref)
    monkeypatch.setenv("POSTROOM_UNROUTED_POLICY", "unhandled")
    d = sh.ingest(reply(ref, to="other@example.com"))
    assert (d["outcome"], d["path"]) == ("unhandled", ["T2", "N3"])


def test_t3_ticket_that_started_a_case_updates_the_case(sh: Shell) -> None:
    ref, _ = sh.new_ticket()
    case = sh.ok("item", "start-case", ref)
    assert case == ref.replace("-T", "-C")
    assert sh.show(ref)["state"] == "waiting"
    sh.ok("user", "add", "alice", "--email", "alice@example.com")
    sh.ok("item", "set-owner", case, "alice")
    d = sh.ingest(reply(ref))
    assert (d["rule"], d["path"]) == ("C1", ["T3", "C1"])
    assert d["work_items"][0]["reference"] == case
    assert d["work_items"][0]["assignee"] == "alice"


def test_c1_without_owner_c2_and_c3(sh: Shell) -> None:
    ref, _ = sh.new_ticket()
    case = sh.ok("item", "start-case", ref)
    d = sh.ingest(reply(case))
    assert (d["rule"], d["path"], d["work_items"][0]["assignee"]) == ("C1", ["C1"], None)
    sh.ok("item", "set-state", case, "resolved")
    d = sh.ingest(reply(case))
    assert (d["rule"], d["work_items"][0]["state"]) == ("C2", "to-do")
    sh.ok("item", "set-state", case, "closed")
    assert sh.show(ref)["state"] == "closed"
    d = sh.ingest(reply(case))
    assert (d["outcome"], d["path"]) == ("new_ticket", ["C3", "N1"])
    assert d["work_items"][0]["linked_to"] == case


def test_a1_and_a2(sh: Shell) -> None:
    ref, _ = sh.new_ticket()
    case = sh.ok("item", "start-case", ref)
    action = sh.ok("item", "add-action", case)
    assert action == case + "-A1"
    sh.ok("item", "set-state", action, "waiting")
    d = sh.ingest(reply(action))
    assert (d["rule"], d["work_items"][0]["reference"], d["work_items"][0]["state"]) == (
        "A1",
        action,
        "to-do",
    )
    sh.ok("item", "set-state", action, "closed")
    d = sh.ingest(reply(action))
    assert (d["rule"], d["path"], d["work_items"][0]["reference"]) == ("C1", ["A2", "C1"], case)
    sh.ok("item", "set-state", case, "closed")
    d = sh.ingest(reply(action))
    assert d["path"] == ["A2", "C3", "N1"]


def test_matching_by_thread_plus_address_and_body(sh: Shell) -> None:
    ref, _raw = sh.new_ticket(message_id="<first@customer.test>")
    d = sh.ingest(make_mail(subject="no reference", in_reply_to="<first@customer.test>"))
    assert (d["rule"], d["matched_by"], d["work_items"][0]["reference"]) == ("T4", "thread", ref)
    d = sh.ingest(make_mail(subject="plain", to=f"support+{ref}@example.com"))
    assert (d["matched_by"], d["work_items"][0]["reference"]) == ("plus-address", ref)
    d = sh.ingest(make_mail(subject="plain", body=f"About ticket {ref}, thanks"))
    assert (d["matched_by"], d["work_items"][0]["reference"]) == ("body", ref)


def test_d1_duplicate_is_ignored(sh: Shell) -> None:
    ref, raw = sh.new_ticket()
    d = sh.ingest(raw)
    assert (d["outcome"], d["rule"], d["work_items"]) == ("ignored", "D1", [])
    assert len(sh.show(ref)["communications"]) == 1


def test_d2_own_mail_and_d3_bounce(sh: Shell) -> None:
    d = sh.ingest(make_mail(to="nobody@example.com"))
    ref = d["work_items"][0]["reference"]
    sent = sh("outbox", "list", "--json").json()[0]
    own = make_mail(
        sender=sent["from"],
        to="support@example.com",
        message_id=sent["message_id"],
        headers={"X-Postroom-Marker": "1"},
    )
    d = sh.ingest(own)
    assert (d["outcome"], d["rule"]) == ("ignored", "D2")
    dsn = dsn_about(sent["message_id"], "carol@customer.test")
    d = sh.ingest(dsn)
    assert (d["outcome"], d["rule"], d["auto_reply"]) == ("updated", "D3", None)
    assert d["work_items"][0]["reference"] == ref
    comms = sh.show(ref)["communications"]
    assert [c["status"] for c in comms if c["direction"] == "out"] == ["bounced"]
    assert sh("outbox", "list", "--json").json()[0]["status"] == "bounced"


def test_q1_quarantine_and_retry(sh: Shell, monkeypatch: pytest.MonkeyPatch) -> None:
    import postroom.services.ingest as ingest_module

    def broken(*_a: Any, **_k: Any) -> Any:
        raise RuntimeError("handler exploded")

    original = ingest_module.decide
    monkeypatch.setattr(ingest_module, "decide", broken)
    d = sh.ingest(make_mail())
    assert (d["outcome"], d["rule"]) == ("quarantined", "Q1")
    listed = sh("quarantine", "list", "--json").json()
    assert len(listed) == 1 and "handler exploded" in listed[0]["error"]
    monkeypatch.setattr(ingest_module, "decide", original)
    retried = sh("quarantine", "retry", str(listed[0]["id"]), "--json").json()
    assert (retried["outcome"], retried["rule"]) == ("new_ticket", "N1")
    assert sh("quarantine", "list", "--json").json() == []


def test_empty_and_garbage_input_are_stored(sh: Shell) -> None:
    for raw in (b"", b"\x00\xff\xfe garbage \r\n\r\n\x80"):
        result = sh("ingest", "-", "--json", stdin=raw)
        assert result.code == 0, result.err
        assert result.json()["outcome"] in ("new_ticket", "quarantined", "unhandled")


def dsn_about(message_id: str, recipient: str) -> bytes:
    boundary = "dsn-boundary-1"
    return (
        "From: Mail Delivery System <MAILER-DAEMON@mx.example.com>\r\n"
        "To: support@example.com\r\n"
        "Subject: Undelivered Mail Returned to Sender\r\n"
        "Message-ID: <dsn1@mx.example.com>\r\n"
        "Auto-Submitted: auto-replied\r\n"
        "MIME-Version: 1.0\r\n"
        f'Content-Type: multipart/report; report-type=delivery-status; boundary="{boundary}"\r\n'
        "\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/plain\r\n\r\n"
        "Your message could not be delivered.\r\n"
        f"--{boundary}\r\n"
        "Content-Type: message/delivery-status\r\n\r\n"
        "Reporting-MTA: dns; mx.example.com\r\n\r\n"
        f"Final-Recipient: rfc822; {recipient}\r\n"
        "Action: failed\r\n"
        "Status: 5.1.1\r\n"
        "Diagnostic-Code: smtp; 550 5.1.1 user unknown\r\n"
        f"--{boundary}\r\n"
        "Content-Type: text/rfc822-headers\r\n\r\n"
        f"Message-ID: {message_id}\r\n"
        "Subject: whatever\r\n"
        f"--{boundary}--\r\n"
    ).encode()


def test_automated_replies_are_rate_limited_per_recipient(sh: Shell) -> None:
    sh.ok(
        "route",
        "add",
        "ack@example.com",
        "--context",
        "Acme",
        "--category",
        "Query",
        "--queue",
        "q",
        "--acknowledge",
    )
    kinds = [
        sh.ingest(make_mail(to="ack@example.com", subject=f"n{i}"))["auto_reply"] for i in range(4)
    ]
    assert kinds == ["acknowledgement"] * 3 + [None]
    fourth = sh("item", "list", "--json").json()
    assert len(fourth) == 4
    other = sh.ingest(make_mail(to="ack@example.com", sender="dave@other.test"))
    assert other["auto_reply"] == "acknowledgement"


def test_every_change_is_recorded_with_its_cause(sh: Shell) -> None:
    ref, _ = sh.new_ticket()
    sh.ok("user", "add", "alice")
    sh.ok("item", "set-owner", ref, "alice")
    sh.ok("item", "set-state", ref, "resolved")
    sh.ingest(reply(ref))
    history = sh.show(ref)["history"]
    fields = [(h["field"], h["cause"]) for h in history]
    assert fields[0] == ("created", "email-handler")
    assert ("owner", "user") in fields and ("state", "user") in fields
    reopened = [h for h in history if h["field"] == "reopened"]
    assert reopened and reopened[0]["cause"] == "email-handler"
    assert reopened[0]["communication"] is not None


def test_item_list_has_the_keys_of_item_show_but_communications(sh: Shell) -> None:
    ref, _ = sh.new_ticket()
    [listed] = sh("item", "list", "--json").json()
    shown = sh.show(ref)
    assert set(listed) == set(shown) - {"communications"}
    required = {
        "reference",
        "type",
        "state",
        "queue",
        "context",
        "category",
        "owner",
        "assignee",
        "case",
        "linked_to",
    }
    assert required <= set(listed)
