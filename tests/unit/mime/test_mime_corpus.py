"""The hand-written corpus in tests/data/mail: one row of expectations per file.

A parsing bug fixed = an .eml added there and a row added here.
Keys: ``from`` (address, name), ``to``/``cc``/… (addresses), ``subject``,
``message_id``, ``in_reply_to``, ``references``, ``content_type``,
``body`` (substrings), ``not_in_body``, ``html`` (has HTML), ``attachments``
((filename, content_type, size, content_id, inline) …), ``attachment_names``
(filenames in order), ``report`` (fields), ``headers`` (name -> value),
``defects`` (substrings; ``()`` = none at all), ``from_source``,
``quote_starts_with`` / ``signature_starts_with`` (the body text at the
offset; None = no offset).

The ``rw_*.eml`` messages (mail as mailers really write it, one family per
kind of breakage, bounces of each MTA's style) and their rows in
``realworld.json`` are written by ``tests/data/mail/make_corpus.py``.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest

from postroom.domain.mail import ParsedMail
from postroom.mime import parse

CORPUS = Path(__file__).resolve().parents[2] / "data" / "mail"

EXPECTED: dict[str, dict[str, Any]] = {
    "plain_ascii.eml": {
        "from": ("john.carter@acme-logistics.example", "John Carter"),
        "to": ["support@postroom.example"],
        "subject": "Invoice 4471 shows the wrong VAT rate",
        "date": datetime(2026, 3, 2, 9, 14, 2, tzinfo=UTC),
        "message_id": "<CAF3x9z1-invoice4471@mail.acme-logistics.example>",
        "body": ["states 7% for the logistics services"],
        "html": False,
        "attachments": [],
        "headers": {"return-path": "<john.carter@acme-logistics.example>"},
        "defects": (),
    },
    "utf8_quoted_printable.eml": {
        "from": ("joerg.weiss@kontor.example.de", "Jörg Weiß"),
        "to": ["service@postroom.example"],
        "subject": "Lieferung unvollständig – Auftrag 88213",
        "body": ["Grüße aus Köln!", "„Bürobedarf“ – bitte"],
        "defects": (),
    },
    "latin1_8bit.eml": {
        "from": ("helene.dubois@exemple.fr", "Hélène Dubois"),
        "subject": "Facture de février",
        "body": ["reçu la facture de février", "à nouveau"],
        "defects": (),
    },
    "windows1252_labelled_latin1.eml": {
        "from": ("mike.oneill@contoso-partners.example", "Mike O'Neill"),
        "body": ["“quarterly report” costs € 1,200 – that’s"],
        "message_id": "<000d01dab1c2$5f3e2a10$1dba7e30$@contoso-partners.example>",
        "date": datetime(2026, 3, 5, 8, 0, tzinfo=timezone(timedelta(hours=-5))),
        "defects": (),
    },
    "shift_jis.eml": {
        "from": ("t.yamada@shoji.example.jp", "山田太郎"),
        "subject": "請求書について",
        "body": ["請求書の件でご連絡いたしました。"],
        "defects": (),
    },
    "iso2022jp.eml": {
        "from": ("hanako.sato@kaisha.example.jp", "佐藤花子"),
        "to": ["suzuki@postroom.example"],
        "subject": "会議の資料",
        "body": ["会議の資料を添付いたします。"],
        "defects": (),
    },
    "gb2312_base64.eml": {
        "from": ("wang.wei@maoyi.example.cn", "王伟"),
        "subject": "订单发货问题",
        "body": ["我们的订单 20260307 还没有发货"],
        "defects": (),
    },
    "koi8r.eml": {
        "from": ("ivan.petrov@zavod.example.ru", "Иван Петров"),
        "subject": "Акт сверки за февраль",
        "body": ["Прошу выслать акт сверки за февраль."],
        "defects": (),
    },
    "rfc2047_split_words.eml": {
        "from": ("zoe@chatelain.example", "Zoë Châtelain"),
        "to": ["andre@postroom.example", "team@postroom.example"],
        "to_names": ["André", "Team Support"],
        "subject": "Ümlaut-Prüfung für Bestellung [ref 42]",
        "defects": (),
    },
    "unknown_charset.eml": {
        "subject": "Status übersicht",
        "body": ["1.204 Datensätze übertragen."],
        "defects": ["unknown charset 'x-unknown'"],
    },
    "wrong_charset.eml": {
        "from": ("pierre@atelier.example.fr", "Pierre Lefèvre"),
        "subject": "Commande référence 7781",
        "body": ["est arrivée abîmée."],
        "defects": ["bytes not valid in declared charset 'utf-8'; decoded as windows-1252"],
    },
    "no_charset_8bit.eml": {
        "from": ("bjorn@fiske.example.se", "Björn Åkesson"),
        "body": ["Göteborg är försenad två dagar"],
        "defects": ["8-bit data without a charset; decoded as utf-8"],
    },
    "charset_utf8_alias.eml": {
        "subject": "Solicitação de orçamento",
        "body": ["Olá, gostaria de um orçamento"],
        "defects": (),
    },
    "nested_mixed_alternative_related.eml": {
        "cc": ["ops@northwind.example"],
        "content_type": "multipart/mixed",
        "body": ["the dashboard shows an error (see the screenshot)"],
        "not_in_body": ["<p>", "This is a multi-part message"],
        "html": True,
        "attachments": [
            ("screenshot.png", "image/png", 411, "logo.0012@northwind.example", True),
            ("contract-signed.pdf", "application/pdf", 1464, None, False),
        ],
        "defects": (),
    },
    "html_only.eml": {
        "content_type": "text/html",
        "html": True,
        "body": [
            "Dear customer,\nyour order #A-99812 has been received.\nReference: [100456-T]",
            "Café mug & lid 1 € 12.00",
            "- Shipping: 2–3 days",
            "here <https://webshop.example/track/A-99812>",
        ],
        "not_in_body": ["track('open')", "padding", "<td>", "&euro;"],
        "defects": (),
    },
    "rfc2231_attachments.eml": {
        "body": ["Anbei die Unterlagen."],
        "attachments": [
            ("Übersicht März 2026.pdf", "application/pdf", 1464, None, False),
            (
                "Kostenübersicht Quartal 1.xlsx",
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                18,
                None,
                False,
            ),
            ("Prüfbericht.txt", "text/plain", 19, None, False),
        ],
        "not_in_body": ["Prüfung bestanden"],
        "defects": (),
    },
    "winmail_dat.eml": {
        "from": ("tom.baker@fabrikam.example", "Baker, Tom"),
        # A TNEF signature and no attachment in it: listed as the one
        # winmail.dat, with a defect saying why.
        "attachments": [("winmail.dat", "application/ms-tnef", 772, None, False)],
        "headers": {"thread-topic": "Meeting notes"},
        "defects": ["winmail.dat holds no file"],
    },
    "dsn_bounce.eml": {
        "from": ("MAILER-DAEMON@mx.customer.example", "Mail Delivery System"),
        "content_type": "multipart/report",
        "body": ["could not be delivered"],
        "headers": {"return-path": "<>", "auto-submitted": "auto-replied"},
        "report": {
            "original_message_ids": ("<postroom.100789-T.1@postroom.example>",),
            "failed_recipients": ("gone.user@customer.example",),
            "status": "5.1.1",
            "action": "failed",
            "diagnostic": "550 5.1.1 <gone.user@customer.example>: Recipient address "
            "rejected: User unknown in virtual mailbox table",
        },
        "defects": (),
    },
    "postfix_bounce.eml": {
        "from": ("MAILER-DAEMON@mx.postroom.example", "Mail Delivery System"),
        "subject": "Undelivered Mail Returned to Sender",
        "message_id": "<20260317073012.9F8E7D6C5B@mx.postroom.example>",
        "report": {
            "original_message_ids": ("<postroom.100812-T.3@postroom.example>",),
            "failed_recipients": ("nobody@closed-company.example",),
            "status": "5.7.1",
            "action": "failed",
        },
        "attachments": [
            ("delivery-status.txt", "message/delivery-status", 433, None, False),
            ("headers.txt", "text/rfc822-headers", 434, None, False),
        ],
        "defects": (),
    },
    "exchange_ndr.eml": {
        "subject": "Undeliverable: [100900-C] Case update",
        "in_reply_to": "<postroom.100900-C.7@postroom.example>",
        "html": True,
        "body": ["Delivery has failed to these recipients or groups:"],
        "report": {
            "original_message_ids": ("<postroom.100900-C.7@postroom.example>",),
            "failed_recipients": ("m.schmidt@corp.example",),
            "status": "5.1.10",
        },
        "headers": {"x-ms-exchange-message-is-ndr": ""},
        "defects": (),
    },
    "qmail_failure_notice.eml": {
        "from": ("MAILER-DAEMON@oldhost.example.net", ""),
        "message_id": None,
        "report": {
            "original_message_ids": ("<postroom.100655-T.2@postroom.example>",),
            "failed_recipients": ("former.employee@oldhost.example.net",),
            "status": "5.1.1",
            "action": "failed",
        },
        "defects": ["no Message-ID header"],
    },
    "out_of_office.eml": {
        "in_reply_to": "<postroom.100321-T.1@postroom.example>",
        "headers": {"auto-submitted": "auto-replied", "x-autoreply": "yes", "return-path": "<>"},
        "report": None,
        "defects": (),
    },
    "mailing_list.eml": {
        "headers": {
            "list-id": "Developer discussion <devlist.lists.opensource.example>",
            "precedence": "list",
        },
        "body": ["planned for 3 April", "devlist mailing list"],
        "attachments": [],
        "defects": (),
    },
    "missing_from.eml": {
        "from": None,
        "subject": "Monitoring alert: disk usage 91%",
        "defects": ["no From header"],
    },
    "missing_message_id.eml": {
        "from": ("printer@office.example", ""),
        "message_id": None,
        "defects": ["no Message-ID header"],
    },
    "garbled_headers.eml": {
        "from": ("broken@garbled.example", "Unclosed quote"),
        "to": ["support@postroom.example"],
        "cc": ["cc@garbled.example"],
        "subject": "Café menu",
        "date": None,
        "message_id": "<garbled.headers.1@garbled.example>",
        "body": ["Body survived."],
        "defects": ["unreadable Date", "unknown charset 'bogus-charset-99'", "broken base64"],
    },
    "header_without_colon.eml": {
        "subject": "Header line without colon",
        "message_id": "<no.colon.line@berg.example>",
        "body": ["must survive"],
        "not_in_body": ["This line has no colon"],
        "defects": ["header line without a colon"],
    },
    "truncated_multipart.eml": {
        "body": ["See the photo."],
        "attachments": [("parcel.jpg", "image/jpeg", 120, None, False)],
        "defects": ["close delimiter missing"],
    },
    "empty.eml": {
        "from": None,
        "subject": "",
        "message_id": None,
        "body": [],
        "headers": {},
        "content_type": "text/plain",
        "defects": ["empty message"],
    },
    "forwarded_alias.eml": {
        "to": ["it-help@bigcorp-alias.example"],
        "delivered_to": ["helpdesk-inbox@postroom.example"],
        "x_original_to": ["it-help@bigcorp-alias.example"],
        "envelope_to": ["helpdesk-inbox@postroom.example"],
        "resent_to": ["helpdesk@postroom.example"],
        "defects": (),
    },
    "reply_threaded.eml": {
        "in_reply_to": "<postroom.101203-T.4@postroom.example>",
        "references": (
            "<first.request.emma@tailspin.example>",
            "<postroom.101203-T.2@postroom.example>",
            "<postroom.101203-T.4@postroom.example>",
        ),
        "defects": (),
    },
    "reply_reference_subject.eml": {
        "subject": "Re: [100123-T] Password reset does not arrive",
        "body": ["> Your ticket 100123-T has been updated."],
        "defects": (),
    },
    "raw_utf8_headers.eml": {
        "from": ("soren@filosofi.example.dk", "Søren Kierkegaard"),
        "to_names": ["Støtte – Kundeservice"],
        "subject": "Spørgsmål om fakturaen – café № 7",
        "defects": (),
    },
    "long_lines.eml": {
        "body": ["data," * 1000 + "\nend"],
        "defects": (),
    },
    "return_path_empty_autoreply.eml": {
        "headers": {"return-path": "<>", "auto-submitted": "auto-generated"},
        "report": None,
        "defects": (),
    },
    "forwarded_rfc822.eml": {
        "body": ["Is this message genuine?"],
        "not_in_body": ["Click here"],
        "attachments": [("Suspicious login.eml", "message/rfc822", 209, None, False)],
        "report": None,
        "defects": (),
    },
    "groups_and_comments.eml": {
        "from": ("bob@example.org", "Bob Example"),
        "to": [],
        "cc": ["alice@example.org", "carol@example.org", "dave@example.org"],
        "cc_names": ["", "Smith, Carol", "Dave, the intern"],
        "reply_to": ["replies@example.org"],
        "date": datetime(2026, 3, 25, 10, 0, tzinfo=UTC),
        "defects": (),
    },
    "cr_only_mac.eml": {
        "from": ("claude.martin@vieux-mac.example", "Claude Martin"),
        "to": ["support@postroom.example"],
        "subject": "Re: [100789-T] Imprimante toujours en panne",
        "date": datetime(2026, 3, 13, 8, 30, 5, tzinfo=timezone(timedelta(hours=1))),
        "message_id": "<mac.cr.only.1@vieux-mac.example>",
        "body": ["Bonjour,\n\nl'imprimante du 2e étage est toujours en panne.\nMerci"],
        "not_in_body": ["\r", "X-Mailer"],
        "headers": {"return-path": "<claude.martin@vieux-mac.example>", "x-mailer": "Eudora 5.1"},
        "defects": ["bare CR line endings read as line breaks"],
    },
    "crlf_mbox_from.eml": {
        "from": ("rita@example.net", "Rita Gomez"),
        "delivered_to": ["support@postroom.example"],
        "body": ["Line one\nLine two"],
        "not_in_body": ["\r"],
        "html": True,
        "defects": (),
    },
    "binary_garbage.eml": {
        "from": None,
        "message_id": None,
    },
    "multipart_without_boundary.eml": {
        "content_type": "text/plain",
        "body": ["Text that should still be readable."],
        "defects": ["without boundary"],
    },
}


def _realworld() -> dict[str, dict[str, Any]]:
    rows: dict[str, dict[str, Any]] = json.loads((CORPUS / "realworld.json").read_text())
    for row in rows.values():
        if isinstance(row.get("from"), list):
            row["from"] = tuple(row["from"])
        for key, value in (row.get("report") or {}).items():
            if isinstance(value, list):
                row["report"][key] = tuple(value)
    return rows


EXPECTED.update(_realworld())
FILES = sorted(path.name for path in CORPUS.glob("*.eml"))


def _parse(name: str) -> ParsedMail:
    return parse((CORPUS / name).read_bytes())


def test_corpus_is_large_and_every_file_has_a_row() -> None:
    assert len(FILES) >= 150
    assert sorted(EXPECTED) == FILES


@pytest.mark.parametrize("name", FILES)
def test_every_file_parses_without_raising(name: str) -> None:
    mail = _parse(name)
    assert isinstance(mail, ParsedMail)
    assert len(mail.content_hash) == 64
    assert all(isinstance(defect, str) and defect for defect in mail.defects)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_expectations(name: str) -> None:
    mail = _parse(name)
    row = EXPECTED[name]
    if "from" in row:
        expected_from = row["from"]
        if expected_from is None:
            assert mail.from_ is None
        else:
            assert mail.from_ is not None
            assert (mail.from_.address, mail.from_.name) == expected_from
    for field in ("to", "cc", "reply_to", "delivered_to", "x_original_to", "envelope_to"):
        if field in row:
            assert [a.address for a in getattr(mail, field)] == row[field], field
    if "resent_to" in row:
        assert [a.address for a in mail.resent_to] == row["resent_to"]
    if "to_names" in row:
        assert [a.name for a in mail.to] == row["to_names"]
    if "cc_names" in row:
        assert [a.name for a in mail.cc] == row["cc_names"]
    for field in ("subject", "date", "message_id", "in_reply_to", "references", "content_type"):
        if field in row:
            assert getattr(mail, field) == row[field], field
    for text in row.get("body", []):
        assert text in mail.body_text
    for text in row.get("not_in_body", []):
        assert text not in mail.body_text
    if "html" in row:
        assert mail.has_html is row["html"]
    if "attachments" in row:
        got = [
            (a.filename, a.content_type, a.size, a.content_id, a.inline) for a in mail.attachments
        ]
        assert got == row["attachments"]
    if "attachment_names" in row:
        assert [a.filename for a in mail.attachments] == row["attachment_names"]
    if "from_source" in row:
        assert mail.from_source == row["from_source"]
    for key, offset in (
        ("quote_starts_with", mail.quote_start),
        ("signature_starts_with", mail.signature_start),
    ):
        if key in row:
            if row[key] is None:
                assert offset is None, key
            else:
                assert offset is not None, key
                assert mail.body_text[offset:].startswith(row[key]), key
    if "report" in row:
        if row["report"] is None:
            assert mail.report is None
        else:
            assert mail.report is not None
            for key, value in row["report"].items():
                assert getattr(mail.report, key) == value, key
    for key, value in row.get("headers", {}).items():
        assert mail.headers.get(key) == value, key
    if row.get("headers") == {}:
        assert dict(mail.headers) == {}
    if "defects" in row:
        if row["defects"] == ():
            assert mail.defects == ()
        for text in row["defects"]:
            assert any(text in defect for defect in mail.defects), (text, mail.defects)


def test_same_message_through_two_mailboxes_hashes_the_same() -> None:
    raw = (CORPUS / "plain_ascii.eml").read_bytes()
    head, _, body = raw.partition(b"\n\n")
    second = (
        b"Delivered-To: other-box@postroom.example\r\n"
        b"X-Original-To: alias@postroom.example\r\n"
        b"Envelope-To: other-box@postroom.example\r\n"
        b"Received: from elsewhere\r\n\tby mx2; Mon, 2 Mar 2026 09:15:00 +0000\r\n"
        + b"\r\n".join(line for line in head.split(b"\n") if not line.startswith(b"Return-Path"))
        + b"\r\n\r\n"
        + body.replace(b"\n", b"\r\n")
    )
    assert parse(second).content_hash == parse(raw).content_hash
    changed = raw.replace(b"reissue it", b"reissue them")
    assert parse(changed).content_hash != parse(raw).content_hash
