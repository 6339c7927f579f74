# ruff: noqa: E501 - literal header values and expected fields read best one per line
"""Writes the real-world corpus (rw_*.eml) and its expectations (realworld.json).

    .venv/bin/python tests/data/mail/make_corpus.py

Each message is written the way some mailer really writes it (loose
encoded-words, unlabelled 8-bit headers, no usable From, broken header
blocks, odd display names, attachments named every way, flowed and quoted
bodies, bounces of each MTA's style); its expected fields are written here
by hand, next to it, never computed by the parser. The .eml files are
committed; run this again only to change the corpus.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Iterable
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROWS: dict[str, dict[str, Any]] = {}
_DATE = "Tue, 17 Mar 2026 09:30:00 +0100"


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def wrap64(data: bytes) -> bytes:
    text = base64.b64encode(data)
    return b"\n".join(text[i : i + 76] for i in range(0, len(text), 76)) + b"\n"


def message(
    headers: Iterable[tuple[str, str | bytes]],
    body: str | bytes = "Hello,\n\nplease see below.\n\nRegards\n",
    *,
    mid: str | None = "auto",
    date: bool = True,
    newline: bytes = b"\n",
) -> bytes:
    lines: list[bytes] = []
    names = set()
    for name, value in headers:
        names.add(name.lower())
        raw = value if isinstance(value, bytes) else value.encode("utf-8")
        lines.append(name.encode("ascii") + b": " + raw)
    if date and "date" not in names:
        lines.append(b"Date: " + _DATE.encode())
    if mid == "auto" and "message-id" not in names:
        lines.append(f"Message-ID: <{len(ROWS) + 1}.rw@mail.example>".encode())
    if "mime-version" not in names and "content-type" in names:
        lines.append(b"MIME-Version: 1.0")
    raw_body = body if isinstance(body, bytes) else body.encode("utf-8")
    return newline.join(lines) + newline + newline + raw_body.replace(b"\n", newline)


def add(name: str, raw: bytes, **expected: Any) -> None:
    assert name not in ROWS, name
    (HERE / f"rw_{name}.eml").write_bytes(raw)
    ROWS[f"rw_{name}.eml"] = expected


def multipart(
    headers: list[tuple[str, str | bytes]],
    parts: list[bytes],
    kind: str = "mixed",
    boundary: str = "b1=_rw",
    extra: str = "",
) -> bytes:
    body = b"This is a multi-part message in MIME format.\n"
    for part in parts:
        body += b"\n--" + boundary.encode() + b"\n" + part
    body += b"\n--" + boundary.encode() + b"--\n"
    return message(
        [*headers, ("Content-Type", f'multipart/{kind}; boundary="{boundary}"{extra}')], body
    )


TEXT_PART = b'Content-Type: text/plain; charset="utf-8"\n\nPlease find the file attached.\n'


def part(headers: str, payload: bytes) -> bytes:
    return headers.strip("\n").encode("utf-8") + b"\n\n" + payload


FROM = ("From", "Anna Berg <anna.berg@kunde.example>")
TO = ("To", "support@postroom.example")
ANNA = ("anna.berg@kunde.example", "Anna Berg")


# --- 1. Encoded-words written loosely --------------------------------------------------------
SUBJECTS = [
    ("space_inside_q", "=?UTF-8?Q? Personal=C3=A4nderung?=", "Personaländerung"),
    ("space_inside_ascii", "=?us-ascii?Q?ABC / 123?=", "ABC / 123"),
    ("utf7_label", "=?unicode-1-1-utf-7?Q?Caf+AOk ouvert?=", "Café ouvert"),
    ("x_unknown_latin", "=?x-unknown?Q?Gr=FC=DFe aus Wien?=", "Grüße aus Wien"),
    ("ks_c_5601", f"=?ks_c_5601-1987?B?{b64('견적 요청'.encode('cp949'))}?=", "견적 요청"),
    (
        "gb2312_holding_gbk",
        f"=?gb2312?B?{b64('订单 囍 喆'.encode('gbk'))}?=",
        "订单 囍 喆",
    ),
    (
        "split_multibyte",
        "=?utf-8?B?"
        + b64("日本語".encode()[:4])
        + "?= =?utf-8?B?"
        + b64("日本語".encode()[4:])
        + "?=",
        "日本語",
    ),
    (
        "lowercase_b",
        f"=?utf-8?b?{b64('Rückfrage zur Lieferung'.encode())}?=",
        "Rückfrage zur Lieferung",
    ),
    ("windows1252_dash", "=?windows-1252?Q?Caf=E9_=96_menu?=", "Café – menu"),
    ("glued_to_text", "Re:=?utf-8?Q?Angebot_f=C3=BCr_Mai?=", "Re:Angebot für Mai"),
    ("latin9_euro", "=?ISO-8859-15?Q?Preis_in_=A4?=", "Preis in €"),
    (
        "split_ascii_words",
        "=?utf-8?Q?Bestellung=20Nr.=2012?= =?utf-8?Q?345?=",
        "Bestellung Nr. 12345",
    ),
    (
        "spaces_in_base64",
        "=?UTF-8?B?"
        + b64("Zählerstand März".encode())[:8]
        + " "
        + b64("Zählerstand März".encode())[8:]
        + "?=",
        "Zählerstand März",
    ),
    ("question_mark_encoded", "=?utf-8?Q?Warum=3F_Rechnung_offen?=", "Warum? Rechnung offen"),
    ("big5", f"=?big5?B?{b64('會議資料'.encode('big5'))}?=", "會議資料"),
    ("euc_jp", f"=?euc-jp?B?{b64('見積書の件'.encode('euc_jp'))}?=", "見積書の件"),
    ("koi8_u", f"=?koi8-u?B?{b64('Рахунок'.encode('koi8_u'))}?=", "Рахунок"),
    ("iso8859_2", "=?iso-8859-2?Q?Zam=F3wienie_nr_7?=", "Zamówienie nr 7"),
    (
        "mixed_plain_and_words",
        "Fwd: =?utf-8?Q?K=C3=BCndigung?= Vertrag 12",
        "Fwd: Kündigung Vertrag 12",
    ),
    (
        "folded_words",
        "=?utf-8?Q?Lieferschein?=\n =?utf-8?Q?_f=C3=BCr_Juni?=",
        "Lieferschein für Juni",
    ),
]
for key, written, shown in SUBJECTS:
    add(
        f"subject_{key}",
        message([FROM, TO, ("Subject", written)]),
        **{"from": ANNA, "subject": shown},
    )

add(
    "name_encoded_comma",
    message(
        [
            ("From", "=?iso-8859-1?Q?M=FCller,=20Hans?= <hans.mueller@firma.example>"),
            TO,
            ("Subject", "Termin"),
        ]
    ),
    **{"from": ("hans.mueller@firma.example", "Müller, Hans"), "subject": "Termin"},
)
add(
    "name_encoded_comma_b",
    message(
        [
            ("From", f"=?utf-8?B?{b64('Dupont, Hélène'.encode())}?= <h.dupont@societe.example>"),
            TO,
            ("Subject", "Devis"),
        ]
    ),
    **{"from": ("h.dupont@societe.example", "Dupont, Hélène"), "subject": "Devis"},
)
add(
    "name_x_unknown",
    message(
        [
            ("From", "=?x-unknown?Q?J=F6rg_Wei=DF?= <joerg@weiss.example>"),
            TO,
            ("Subject", "Anfrage"),
        ]
    ),
    **{"from": ("joerg@weiss.example", "Jörg Weiß"), "subject": "Anfrage"},
)
add(
    "name_ks_c",
    message(
        [
            (
                "From",
                f"=?ks_c_5601-1987?B?{b64('김민수'.encode('cp949'))}?= <minsu.kim@hoesa.example>",
            ),
            TO,
            ("Subject", "Quote"),
        ]
    ),
    **{"from": ("minsu.kim@hoesa.example", "김민수"), "subject": "Quote"},
)

# --- 2. Undeclared 8-bit headers ---------------------------------------------------------------
EIGHT_BIT = [
    (
        "gbk",
        "gbk",
        "王小明",
        "关于订单的问题",
        "您好，我们的订单还没有收到，请尽快处理。谢谢！",
        "gb2312",
    ),
    ("gbk_undeclared", "gbk", "李华", "发票已经寄出", "发票已经通过快递寄出，请注意查收。", None),
    (
        "sjis",
        "shift_jis",
        "田中一郎",
        "見積もりのお願い",
        "お世話になっております。見積もりをお願いいたします。",
        "shift_jis",
    ),
    (
        "sjis_undeclared",
        "shift_jis",
        "鈴木花子",
        "納品書について",
        "納品書を確認しました。ありがとうございます。",
        None,
    ),
    ("big5", "big5", "陳大文", "報價單已附上", "您好，報價單已附上，請查收並確認。", "big5"),
    (
        "big5_undeclared",
        "big5",
        "林美玲",
        "會議時間更改",
        "明天的會議時間改為下午三點，請大家準時出席。",
        None,
    ),
    (
        "cp1252",
        "cp1252",
        "Hélène Lefèvre",
        "Réclamation reçue",
        "Bonjour, nous avons bien reçu votre réclamation à propos de la livraison.",
        "iso-8859-1",
    ),
    (
        "cp1252_undeclared",
        "cp1252",
        "Jürgen Müller",
        "Rückfrage zur Bestellung",
        "Guten Tag, ich habe eine Rückfrage zur Bestellung vom März.",
        None,
    ),
    (
        "cp1251",
        "cp1251",
        "Ольга Смирнова",
        "Счёт на оплату",
        "Здравствуйте! Направляем счёт на оплату за апрель.",
        "windows-1251",
    ),
    (
        "euckr",
        "cp949",
        "박지영",
        "계약서 검토 요청",
        "안녕하세요. 계약서 검토를 요청드립니다. 감사합니다.",
        "euc-kr",
    ),
]
for key, codec, name, subject, text, declared in EIGHT_BIT:
    addr = f"{key}.sender@mail.example"
    headers: list[tuple[str, str | bytes]] = [
        ("From", name.encode(codec) + f" <{addr}>".encode()),
        TO,
        ("Subject", subject.encode(codec)),
        ("MIME-Version", "1.0"),
        ("Content-Type", f"text/plain; charset={declared}" if declared else "text/plain"),
        ("Content-Transfer-Encoding", "8bit"),
    ]
    add(
        f"8bit_{key}",
        message(headers, (text + "\n").encode(codec)),
        **{"from": [addr, name], "subject": subject, "body": [text], "defects": ["8-bit data"]},
    )

# --- 3. No usable From --------------------------------------------------------------------------
add(
    "nofrom_sender",
    message(
        [("Sender", "Office Team <office@praxis.example>"), TO, ("Subject", "Rezept")], mid="auto"
    ),
    **{
        "from": ("office@praxis.example", "Office Team"),
        "from_source": "sender",
        "subject": "Rezept",
        "defects": ["no From header", "Sender"],
    },
)
add(
    "emptyfrom_replyto",
    message(
        [
            ("From", ""),
            ("Reply-To", "Karl Huber <karl.huber@bau.example>"),
            TO,
            ("Subject", "Baustelle"),
        ]
    ),
    **{
        "from": ("karl.huber@bau.example", "Karl Huber"),
        "from_source": "reply-to",
        "subject": "Baustelle",
    },
)
add(
    "undisclosed_returnpath",
    message(
        [
            ("Return-Path", "<bounces+442@news.shop.example>"),
            ("From", "undisclosed-sender:;"),
            TO,
            ("Subject", "Newsletter"),
        ]
    ),
    **{
        "from": ("bounces+442@news.shop.example", ""),
        "from_source": "return-path",
        "subject": "Newsletter",
    },
)
add(
    "mbox_line_only",
    b"From scanner@office.example Tue Mar 17 09:30:00 2026\n"
    + message([TO, ("Subject", "Scan 0042")], "Scanned document.\n"),
    **{"from": ("scanner@office.example", ""), "from_source": "envelope", "subject": "Scan 0042"},
)
add(
    "empty_angle_from_sender",
    message(
        [("From", "<>"), ("Sender", "robot@monitor.example"), TO, ("Subject", "Alarm: disk full")]
    ),
    **{
        "from": ("robot@monitor.example", ""),
        "from_source": "sender",
        "subject": "Alarm: disk full",
    },
)
add(
    "name_only_from_replyto",
    message(
        [
            ("From", "John Smith"),
            ("Reply-To", "john.smith@consult.example"),
            TO,
            ("Subject", "Call back"),
        ]
    ),
    **{
        "from": ("john.smith@consult.example", ""),
        "from_source": "reply-to",
        "subject": "Call back",
    },
)
add(
    "return_path_empty_then_mbox",
    b"From alerts@ups-monitor.example Tue Mar 17 09:30:00 2026\n"
    + message([("Return-Path", "<>"), TO, ("Subject", "UPS on battery")], "Power lost.\n"),
    **{
        "from": ("alerts@ups-monitor.example", ""),
        "from_source": "envelope",
        "subject": "UPS on battery",
    },
)
add(
    "no_sender_at_all",
    message([TO, ("Subject", "Who am I")], "Nobody signed this.\n"),
    **{"from": None, "from_source": "", "subject": "Who am I", "defects": ["no From header"]},
)

# --- 4. Broken header blocks ----------------------------------------------------------------------
add(
    "junk_line_before_headers",
    b"---- Original message ----\n" + message([FROM, TO, ("Subject", "Forwarded order")]),
    **{"from": ANNA, "subject": "Forwarded order"},
)
add(
    "junk_and_blank_before_headers",
    b"---------- Forwarded message ---------\n\n"
    + message([FROM, TO, ("Subject", "Weitergeleitet")]),
    **{"from": ANNA, "subject": "Weitergeleitet", "defects": ["lines before the headers skipped"]},
)
add(
    "blank_lines_before_headers",
    b"\n\n" + message([FROM, TO, ("Subject", "Pasted")]),
    **{"from": ANNA, "subject": "Pasted"},
)
LONG = "Your order 88231 of 12 March has been split into two shipments because"
add(
    "folded_without_whitespace",
    message([FROM, TO, ("Subject", LONG + "\nitem 4 is back-ordered"), ("X-Mailer", "Legacy 1.0")]),
    **{"from": ANNA, "subject": LONG + " item 4 is back-ordered", "defects": ["read as folded"]},
)
add(
    "folded_word_without_whitespace",
    message([FROM, TO, ("Subject", "=?utf-8?Q?Best=C3=A4tigung?=\n=?utf-8?Q?_Auftrag?=")]),
    **{"from": ANNA, "subject": "Bestätigung Auftrag"},
)
add(
    "mixed_crlf_lf",
    b"From: Anna Berg <anna.berg@kunde.example>\r\nTo: support@postroom.example\n"
    b"Subject: Mixed line ends\r\nDate: "
    + _DATE.encode()
    + b"\n\r\nBody line one.\r\nBody line two.\n",
    **{"from": ANNA, "subject": "Mixed line ends", "body": ["Body line one."]},
)
add(
    "no_blank_line",
    b"From: Anna Berg <anna.berg@kunde.example>\nTo: support@postroom.example\nSubject: No separator\n"
    b"Date: " + _DATE.encode() + b"\nThe body starts right here.\nSecond line.\n",
    **{"from": ANNA, "subject": "No separator", "body": ["The body starts right here."]},
)
add(
    "header_case_and_spaces",
    b"FROM : Anna Berg <anna.berg@kunde.example>\nto: support@postroom.example\nsUbJeCt:   Spaces\t around  \n\nText\n",
    **{"from": ANNA, "subject": "Spaces around"},
)

# --- 5. Display names ------------------------------------------------------------------------------
NAMES = [
    (
        "comment_only",
        "MAILER-DAEMON@mx.kunde.example (Mail Delivery System)",
        ("MAILER-DAEMON@mx.kunde.example", "Mail Delivery System"),
    ),
    (
        "phrase_and_comment",
        "Peter Lang (Sales) <peter.lang@vertrieb.example>",
        ("peter.lang@vertrieb.example", "Peter Lang"),
    ),
    (
        "quoted_encoded",
        f'"=?utf-8?B?{b64("Zoë Kraus".encode())}?=" <zoe@kraus.example>',
        ("zoe@kraus.example", "Zoë Kraus"),
    ),
    ("unbalanced_quote", '"Mark Twain <mark@river.example>', ("mark@river.example", "Mark Twain")),
    (
        "single_quotes",
        "'Mike Oldfield' <mike@tubular.example>",
        ("mike@tubular.example", "Mike Oldfield"),
    ),
    (
        "last_first_quoted",
        '"Meier, Eva" <eva.meier@amt.example>',
        ("eva.meier@amt.example", "Meier, Eva"),
    ),
    (
        "name_is_address",
        '"lisa@shop.example" <lisa@shop.example>',
        ("lisa@shop.example", "lisa@shop.example"),
    ),
    (
        "escaped_quote",
        '"Jim \\"JJ\\" Jones" <jim@jones.example>',
        ("jim@jones.example", 'Jim "JJ" Jones'),
    ),
    (
        "plain_and_word",
        "Hans =?utf-8?Q?M=C3=BCller?= <hans@mueller.example>",
        ("hans@mueller.example", "Hans Müller"),
    ),
    ("bare_angle", "<info@laden.example>", ("info@laden.example", "")),
    ("bare_address", "info@laden.example", ("info@laden.example", "")),
    (
        "outlook_quoted_address",
        "\"'sara@bureau.example'\" <sara@bureau.example>",
        ("sara@bureau.example", "sara@bureau.example"),
    ),
    (
        "name_with_dot_unquoted",
        "Dr. Ute Vogel <ute.vogel@klinik.example>",
        ("ute.vogel@klinik.example", "Dr. Ute Vogel"),
    ),
    (
        "encoded_in_quotes_with_comma",
        '"=?iso-8859-1?Q?G=F6tz,_Ralf?=" <ralf@goetz.example>',
        ("ralf@goetz.example", "Götz, Ralf"),
    ),
    (
        "comment_name_with_daemon",
        "MAILER-DAEMON (Mail Delivery System) <MAILER-DAEMON@relay.example>",
        ("MAILER-DAEMON@relay.example", "MAILER-DAEMON"),
    ),
]
for key, written, expected in NAMES:
    add(
        f"name_{key}",
        message([("From", written), TO, ("Subject", f"Name {key}")]),
        **{"from": expected, "subject": f"Name {key}"},
    )

# --- 6. Attachments -----------------------------------------------------------------------------
PDF = b"%PDF-1.4\n% fake pdf for tests\n" + b"0" * 200 + b"\n%%EOF\n"


def attached(
    name: str,
    headers: str,
    expected_names: list[str],
    *,
    extra: list[bytes] | None = None,
    subject: str | None = None,
) -> None:
    parts = [TEXT_PART, part(headers, wrap64(PDF)), *(extra or [])]
    add(
        f"att_{name}",
        multipart([FROM, TO, ("Subject", subject or f"Attachment {name}")], parts),
        **{
            "from": ANNA,
            "subject": subject or f"Attachment {name}",
            "attachment_names": expected_names,
        },
    )


attached(
    "ct_name_only",
    'Content-Type: application/pdf; name="Rechnung 2026-03.pdf"\nContent-Transfer-Encoding: base64',
    ["Rechnung 2026-03.pdf"],
)
attached(
    "rfc2231_continuation_utf8",
    "Content-Type: application/pdf\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment;\n"
    " filename*0*=UTF-8''%C3%9Cbersicht%20Bestellungen%20;\n filename*1*=M%C3%A4rz%202026.pdf",
    ["Übersicht Bestellungen März 2026.pdf"],
)
attached(
    "rfc2231_latin1",
    "Content-Type: application/pdf\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment;\n"
    " filename*=iso-8859-1'de'Pr%FCfbericht.pdf",
    ["Prüfbericht.pdf"],
)
attached(
    "rfc2231_plain_continuation",
    "Content-Type: application/pdf\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment;\n"
    ' filename*0="very_long_file_name_part_one_";\n filename*1="and_part_two.pdf"',
    ["very_long_file_name_part_one_and_part_two.pdf"],
)
attached(
    "encoded_word_in_filename",
    'Content-Type: application/pdf; name="=?utf-8?Q?Lieferschein_M=C3=A4rz.pdf?="\nContent-Transfer-Encoding: base64\n'
    'Content-Disposition: attachment; filename="=?utf-8?Q?Lieferschein_M=C3=A4rz.pdf?="',
    ["Lieferschein März.pdf"],
)
attached(
    "encoded_word_b_split",
    'Content-Type: application/pdf;\n name="=?UTF-8?B?'
    + b64("请款单_".encode())
    + "?= =?UTF-8?B?"
    + b64("三月.pdf".encode())
    + '?="\n'
    "Content-Transfer-Encoding: base64",
    ["请款单_三月.pdf"],
)
attached(
    "encoded_word_unquoted",
    "Content-Type: application/pdf; name==?iso-8859-1?Q?Gr=FC=DFe.pdf?=\nContent-Transfer-Encoding: base64",
    ["Grüße.pdf"],
)
attached(
    "windows_path",
    'Content-Type: application/pdf\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename="C:\\\\Users\\\\ab\\\\Desktop\\\\scan.pdf"',
    ["scan.pdf"],
)
attached(
    "filename_wins_over_name",
    'Content-Type: application/pdf; name="old.pdf"\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename="new.pdf"',
    ["new.pdf"],
)
attached(
    "nameless_pdf",
    "Content-Type: application/pdf\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment",
    ["attachment.pdf"],
)
attached(
    "nameless_octet",
    "Content-Type: application/octet-stream\nContent-Transfer-Encoding: base64",
    ["attachment.bin"],
)
attached(
    "two_files",
    'Content-Type: application/pdf; name="a.pdf"\nContent-Transfer-Encoding: base64',
    ["a.pdf", "b.xlsx"],
    extra=[
        part(
            'Content-Type: application/vnd.openxmlformats-officedocument.spreadsheetml.sheet\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename="b.xlsx"',
            wrap64(b"PK\x03\x04 fake"),
        )
    ],
)

for key, codec, filename in [
    ("utf8", "utf-8", "Übergabe_Protokoll.pdf"),
    ("cp1252", "cp1252", "Pièce_jointe.pdf"),
    ("gbk", "gbk", "合同草案.pdf"),
]:
    raw = multipart(
        [FROM, TO, ("Subject", f"8-bit name {key}")],
        [
            TEXT_PART
            if codec == "utf-8"
            else part(
                f"Content-Type: text/plain; charset={codec}",
                "Siehe Anhang / voir pièce jointe / 见附件\n".encode(codec, "replace"),
            ),
            b'Content-Type: application/pdf; name="'
            + filename.encode(codec)
            + b'"\nContent-Transfer-Encoding: base64\n'
            b'Content-Disposition: attachment; filename="'
            + filename.encode(codec)
            + b'"\n\n'
            + wrap64(PDF),
        ],
    )
    add(
        f"att_8bit_name_{key}",
        raw,
        **{"from": ANNA, "subject": f"8-bit name {key}", "attachment_names": [filename]},
    )

INLINE_PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 40
add(
    "att_nameless_inline_image",
    multipart(
        [FROM, TO, ("Subject", "Logo inline")],
        [
            part(
                "Content-Type: text/html; charset=utf-8", b'<p>Logo: <img src="cid:logo@x"></p>\n'
            ),
            part(
                "Content-Type: image/png\nContent-Transfer-Encoding: base64\nContent-ID: <logo@x>",
                wrap64(INLINE_PNG),
            ),
        ],
        kind="related",
    ),
    **{
        "from": ANNA,
        "subject": "Logo inline",
        "attachment_names": ["image.png"],
        "body": ["Logo:"],
    },
)
add(
    "att_calendar_nameless",
    multipart(
        [FROM, TO, ("Subject", "Einladung: Review")],
        [
            TEXT_PART,
            part(
                "Content-Type: text/calendar; method=REQUEST; charset=utf-8",
                b"BEGIN:VCALENDAR\nEND:VCALENDAR\n",
            ),
        ],
    ),
    **{"from": ANNA, "subject": "Einladung: Review", "attachment_names": ["invite.ics"]},
)

INNER = multipart(
    [
        ("From", "Lieferant <info@lieferant.example>"),
        ("To", "anna.berg@kunde.example"),
        ("Subject", "Auftragsbestätigung 5521"),
    ],
    [
        part("Content-Type: text/plain; charset=utf-8", "Anbei die Bestätigung.\n".encode()),
        part(
            'Content-Type: application/pdf; name="AB-5521.pdf"\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename="AB-5521.pdf"',
            wrap64(PDF),
        ),
    ],
    boundary="inner=_b",
)
add(
    "att_forwarded_with_pdf",
    multipart(
        [FROM, TO, ("Subject", "Fwd: Auftragsbestätigung 5521")],
        [TEXT_PART, part("Content-Type: message/rfc822", INNER)],
    ),
    **{
        "from": ANNA,
        "subject": "Fwd: Auftragsbestätigung 5521",
        "attachment_names": ["Auftragsbestätigung 5521.eml", "AB-5521.pdf"],
        "not_in_body": ["Anbei die Bestätigung"],
    },
)
add(
    "att_forwarded_named",
    multipart(
        [FROM, TO, ("Subject", "Fwd: order")],
        [
            TEXT_PART,
            part(
                'Content-Type: message/rfc822; name="original.eml"\nContent-Disposition: attachment; filename="original.eml"',
                INNER,
            ),
        ],
    ),
    **{"from": ANNA, "subject": "Fwd: order", "attachment_names": ["original.eml", "AB-5521.pdf"]},
)
add(
    "att_forwarded_base64",
    multipart(
        [FROM, TO, ("Subject", "Fwd: encoded")],
        [
            TEXT_PART,
            part("Content-Type: message/rfc822\nContent-Transfer-Encoding: base64", wrap64(INNER)),
        ],
    ),
    **{
        "from": ANNA,
        "subject": "Fwd: encoded",
        "attachment_names": ["Auftragsbestätigung 5521.eml", "AB-5521.pdf"],
    },
)


def tnef(files: list[tuple[str, bytes]], long_names: bool = False) -> bytes:
    def attr(level: int, name: int, kind: int, data: bytes) -> bytes:
        return (
            struct.pack("<BHHI", level, name, kind, len(data))
            + data
            + struct.pack("<H", sum(data) & 0xFFFF)
        )

    out = struct.pack("<IH", 0x223E9F78, 0x0101)
    out += attr(1, 0x9006, 0x0008, struct.pack("<I", 0x00010000))  # attTnefVersion
    out += attr(1, 0x9007, 0x0006, struct.pack("<II", 1252, 0))  # attOemCodepage
    out += attr(1, 0x8008, 0x0007, b"IPM.Microsoft Mail.Note\x00")
    for filename, content in files:
        out += attr(2, 0x9002, 0x0006, b"\x01\x00\xff\xff\xff\xff\x01\x00\x01\x00\x00\x00\x00\x00")
        short = (
            filename
            if not long_names
            else filename[:6].upper() + "~1" + filename[filename.rfind(".") :][:4].upper()
        )
        out += attr(2, 0x8010, 0x0001, short.encode("cp1252") + b"\x00")
        out += attr(2, 0x800F, 0x0006, content)
        if long_names:
            value = filename.encode("utf-16-le") + b"\x00\x00"
            props = (
                struct.pack("<I", 1)
                + struct.pack("<HH", 0x001F, 0x3707)
                + struct.pack("<II", 1, len(value))
                + value
            )
            props += b"\x00" * (-len(value) % 4)
            out += attr(2, 0x9005, 0x0006, props)
    return out


for key, files, long_names in [
    ("two_files", [("Agenda.docx", b"PK fake docx"), ("Budget.xlsx", b"PK fake xlsx " * 5)], False),
    ("long_names", [("Quarterly Report Final.pdf", PDF)], True),
]:
    add(
        f"att_winmail_{key}",
        multipart(
            [
                ("From", "Baker, Tom <tom.baker@fabrikam.example>"),
                TO,
                ("Subject", f"Meeting files {key}"),
            ],
            [
                TEXT_PART,
                part(
                    'Content-Type: application/ms-tnef; name="winmail.dat"\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename="winmail.dat"',
                    wrap64(tnef(files, long_names)),
                ),
            ],
        ),
        **{
            "from": ("tom.baker@fabrikam.example", "Baker, Tom"),
            "subject": f"Meeting files {key}",
            "attachment_names": [name for name, _ in files],
            "defects": ["winmail.dat (TNEF) unpacked"],
        },
    )


def uu(data: bytes) -> str:
    import binascii

    lines = [
        binascii.b2a_uu(data[i : i + 45]).decode("ascii").rstrip("\n")
        for i in range(0, len(data), 45)
    ]
    return "\n".join(lines) + "\n`\n"


add(
    "att_uuencoded",
    message(
        [FROM, TO, ("Subject", "Scan attached")],
        "Here is the scan.\n\nbegin 644 scan0042.pdf\n" + uu(PDF) + "end\n\nThanks\n",
    ),
    **{
        "from": ANNA,
        "subject": "Scan attached",
        "attachment_names": ["scan0042.pdf"],
        "body": ["Here is the scan.", "Thanks"],
        "not_in_body": ["begin 644"],
    },
)
add(
    "att_uuencoded_two",
    message(
        [FROM, TO, ("Subject", "Two files")],
        "begin 600 a.txt\n"
        + uu(b"hello world\n")
        + "end\nbegin 644 b.zip\n"
        + uu(b"PK" * 60)
        + "end\n",
    ),
    **{"from": ANNA, "subject": "Two files", "attachment_names": ["a.txt", "b.zip"]},
)
add(
    "att_not_uuencoded",
    message(
        [FROM, TO, ("Subject", "Begin 644 is just text")], "begin 644 reasons why\nno data here\n"
    ),
    **{
        "from": ANNA,
        "subject": "Begin 644 is just text",
        "attachment_names": [],
        "body": ["begin 644 reasons why"],
    },
)

# --- 7. Bodies --------------------------------------------------------------------------------------
FLOWED = "This is a long paragraph that the mailer \nwrapped with soft breaks so it \nfits.\n\nNew paragraph.\n"
add(
    "body_flowed",
    message(
        [
            FROM,
            TO,
            ("Subject", "Flowed"),
            ("Content-Type", "text/plain; charset=utf-8; format=flowed"),
        ],
        FLOWED,
    ),
    **{
        "from": ANNA,
        "subject": "Flowed",
        "body": [
            "This is a long paragraph that the mailer wrapped with soft breaks so it fits.\n\nNew paragraph."
        ],
    },
)
add(
    "body_flowed_delsp",
    message(
        [
            FROM,
            TO,
            ("Subject", "Flowed delsp"),
            ("Content-Type", "text/plain; charset=utf-8; format=flowed; delsp=yes"),
        ],
        "日本語の長い \n文章です。\n",
    ),
    **{"from": ANNA, "subject": "Flowed delsp", "body": ["日本語の長い文章です。"]},
)
add(
    "body_flowed_quoted",
    message(
        [
            FROM,
            TO,
            ("Subject", "Re: Flowed"),
            ("Content-Type", "text/plain; charset=utf-8; format=flowed"),
        ],
        "Yes, agreed.\n\n> The earlier text was \n> wrapped too.\n",
    ),
    **{"from": ANNA, "subject": "Re: Flowed", "body": ["> The earlier text was wrapped too."]},
)
add(
    "body_html_only",
    message(
        [FROM, TO, ("Subject", "HTML only"), ("Content-Type", "text/html; charset=utf-8")],
        "<html><body><p>Sehr geehrte Damen und Herren,</p><p>die <b>Lieferung</b> ist da.</p></body></html>\n",
    ),
    **{
        "from": ANNA,
        "subject": "HTML only",
        "body": ["Sehr geehrte Damen und Herren,", "Lieferung"],
        "html": True,
    },
)
REPLIES = [
    (
        "gmail",
        "Thanks, that works.\n\nOn Mon, 16 Mar 2026 at 10:02, Support <support@postroom.example> wrote:\n> Please try again.\n> Regards\n",
        "On Mon, 16 Mar 2026",
    ),
    (
        "gmail_wrapped",
        "Thanks!\n\nOn Mon, 16 Mar 2026 at 10:02, Support Team <support@postroom.example>\nwrote:\n> Please try again.\n",
        "On Mon, 16 Mar 2026",
    ),
    (
        "german",
        "Danke für die Info.\n\nAm 16.03.2026 um 10:02 schrieb Support <support@postroom.example>:\n> Bitte erneut versuchen.\n",
        "Am 16.03.2026",
    ),
    (
        "french",
        "Merci.\n\nLe lun. 16 mars 2026 à 10:02, Support <support@postroom.example> a écrit :\n> Réessayez.\n",
        "Le lun. 16 mars",
    ),
    (
        "outlook",
        "Please call me.\n\n-----Original Message-----\nFrom: Support <support@postroom.example>\nSent: Monday, March 16, 2026 10:02 AM\nSubject: Ticket\n\nPlease try again.\n",
        "-----Original Message-----",
    ),
    (
        "outlook_underscores",
        "See below.\n\n________________________________\nFrom: Support <support@postroom.example>\nSent: Monday, March 16, 2026 10:02\n",
        "________________________________",
    ),
    (
        "outlook_header_block",
        "Approved.\n\nFrom: Support <support@postroom.example>\nSent: Monday, March 16, 2026 10:02\nTo: Anna\n",
        "From: Support",
    ),
    ("quote_only_marks", "Agreed with both points.\n\n> point one\n> point two\n", "> point one"),
]
for key, text, starts in REPLIES:
    add(
        f"body_reply_{key}",
        message([FROM, TO, ("Subject", f"Re: reply {key}")], text),
        **{
            "from": ANNA,
            "subject": f"Re: reply {key}",
            "quote_starts_with": starts,
            "body": [text.strip().split("\n")[-1].strip()],
        },
    )
add(
    "body_signature",
    message(
        [FROM, TO, ("Subject", "Signed")],
        "The printer is broken again.\n\n-- \nAnna Berg\nKunde GmbH\n",
    ),
    **{
        "from": ANNA,
        "subject": "Signed",
        "signature_starts_with": "-- \nAnna Berg",
        "quote_starts_with": None,
    },
)
add(
    "body_signature_and_quote",
    message(
        [FROM, TO, ("Subject", "Re: Signed")],
        "Works now.\n\n-- \nAnna\n\nOn Mon, 16 Mar 2026, Support wrote:\n> Try this.\n",
    ),
    **{
        "from": ANNA,
        "subject": "Re: Signed",
        "signature_starts_with": "-- \nAnna",
        "quote_starts_with": "On Mon, 16 Mar 2026",
    },
)
add(
    "body_mobile_signature",
    message([FROM, TO, ("Subject", "Quick")], "On my way.\n\nSent from my iPhone\n"),
    **{"from": ANNA, "subject": "Quick", "signature_starts_with": "Sent from my iPhone"},
)

# --- 8. Bounces -------------------------------------------------------------------------------------
OUT_ID = "<postroom.{n}-T.1@postroom.example>"
ORIGINAL_HEADERS = (
    "From: Support <support@postroom.example>\nTo: {rcpt}\nSubject: Your ticket {n}-T\nMessage-ID: "
    + OUT_ID
    + "\nDate: Mon, 16 Mar 2026 10:00:00 +0000\n"
)
HARD = ("550", "5.1.1", "The email account that you tried to reach does not exist")
SOFT = ("452", "4.2.2", "The email account that you tried to reach is over quota")


def dsn(
    style: str,
    n: int,
    rcpt: str,
    code: tuple[str, str, str],
    *,
    mta: str,
    subject: str,
    sender: str,
    text: str,
    action: str | None = None,
) -> bytes:
    smtp, status, words = code
    act = action or ("failed" if status.startswith("5") else "delayed")
    status_part = (
        f"Reporting-MTA: dns; {mta}\nArrival-Date: Mon, 16 Mar 2026 10:00:01 +0000\n\n"
        f"Final-Recipient: rfc822; {rcpt}\nOriginal-Recipient: rfc822;{rcpt}\nAction: {act}\nStatus: {status}\n"
        f"Remote-MTA: dns; mx.{rcpt.split('@')[1]}\nDiagnostic-Code: smtp; {smtp} {status} {words}\n"
    )
    return multipart(
        [
            ("From", sender),
            ("To", "support@postroom.example"),
            ("Subject", subject),
            ("Auto-Submitted", "auto-replied"),
        ],
        [
            part("Content-Type: text/plain; charset=us-ascii", text.encode()),
            part("Content-Type: message/delivery-status", status_part.encode()),
            part(
                "Content-Type: text/rfc822-headers",
                ORIGINAL_HEADERS.format(n=n, rcpt=rcpt).encode(),
            ),
        ],
        kind="report",
        extra="; report-type=delivery-status",
        boundary=f"dsn=_{style}",
    )


def plain_bounce(n: int, sender: str, subject: str, text: str) -> bytes:
    return message(
        [("From", sender), ("To", "support@postroom.example"), ("Subject", subject)], text
    )


STYLES: dict[str, Any] = {}


def bounce_case(
    style: str,
    kind: str,
    n: int,
    rcpt: str,
    raw: bytes,
    status: str | None,
    sender: tuple[str, str],
    subject: str,
) -> None:
    report: dict[str, Any] = {
        "original_message_ids": [OUT_ID.format(n=n)],
        "failed_recipients": [rcpt],
        "kind": kind,
    }
    if status:
        report["status"] = status
    add(f"bounce_{style}_{kind}_{n}", raw, **{"from": sender, "subject": subject, "report": report})


n = 100900
for kind, code in (("hard", HARD), ("soft", SOFT)):
    for variant in range(2):
        n += 1
        rcpt = f"{'gone' if kind == 'hard' else 'full'}.user{variant}@customer{variant}.example"
        smtp, status, words = code
        # RFC 3464 (Postfix style, as Postfix sends it)
        bounce_case(
            "postfix",
            kind,
            n,
            rcpt,
            dsn(
                "postfix",
                n,
                rcpt,
                code,
                mta="mx.postroom.example",
                subject="Undelivered Mail Returned to Sender"
                if kind == "hard"
                else "Delayed Mail (still being retried)",
                sender="MAILER-DAEMON@mx.postroom.example (Mail Delivery System)",
                text=f"This is the mail system at host mx.postroom.example.\n\nI'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.\n\n<{rcpt}>: host mx.{rcpt.split('@')[1]} said: {smtp} {status} {words}\n",
            ),
            status,
            ("MAILER-DAEMON@mx.postroom.example", "Mail Delivery System"),
            "Undelivered Mail Returned to Sender"
            if kind == "hard"
            else "Delayed Mail (still being retried)",
        )
        n += 1
        bounce_case(
            "rfc3464",
            kind,
            n,
            rcpt,
            dsn(
                "rfc3464",
                n,
                rcpt,
                code,
                mta="gateway.customer.example",
                subject="Delivery Status Notification",
                sender="postmaster@gateway.customer.example",
                text="This is an automatically generated Delivery Status Notification.\n",
            ),
            status,
            ("postmaster@gateway.customer.example", ""),
            "Delivery Status Notification",
        )
        n += 1
        bounce_case(
            "gmail",
            kind,
            n,
            rcpt,
            dsn(
                "gmail",
                n,
                rcpt,
                code,
                mta="mx.google.com",
                subject="Delivery Status Notification (Failure)"
                if kind == "hard"
                else "Delivery Status Notification (Delay)",
                sender="Mail Delivery Subsystem <mailer-daemon@googlemail.com>",
                text=f"** Address not found **\n\nYour message wasn't delivered to {rcpt} because the address couldn't be found.\n",
            ),
            status,
            ("mailer-daemon@googlemail.com", "Mail Delivery Subsystem"),
            "Delivery Status Notification (Failure)"
            if kind == "hard"
            else "Delivery Status Notification (Delay)",
        )
        n += 1
        bounce_case(
            "exchange",
            kind,
            n,
            rcpt,
            dsn(
                "exchange",
                n,
                rcpt,
                code,
                mta="EXCH01.corp.example",
                subject="Undeliverable: Your ticket"
                if kind == "hard"
                else "Delivery delayed:Your ticket",
                sender="Microsoft Outlook <postmaster@corp.example>",
                text=f"Delivery has failed to these recipients or groups:\n\n{rcpt} ({rcpt})\nThe e-mail address you entered couldn't be found.\n",
            ),
            status,
            ("postmaster@corp.example", "Microsoft Outlook"),
            "Undeliverable: Your ticket" if kind == "hard" else "Delivery delayed:Your ticket",
        )
        n += 1
        copy = ORIGINAL_HEADERS.format(n=n, rcpt=rcpt)
        o365_text = (
            f"Your message to {rcpt} couldn't be delivered.\n{'The mailbox is full.' if kind == 'soft' else 'The address does not exist.'}\n\n"
            f"Remote Server returned '{smtp} {status} {words}'\n\nOriginal message headers:\n\n{copy}"
        )
        bounce_case(
            "o365_text",
            kind,
            n,
            rcpt,
            plain_bounce(n, "postmaster@outlook.example", "Undeliverable: Your ticket", o365_text),
            status,
            ("postmaster@outlook.example", ""),
            "Undeliverable: Your ticket",
        )
        n += 1
        copy = ORIGINAL_HEADERS.format(n=n, rcpt=rcpt)
        if kind == "hard":
            exim_text = (
                "This message was created automatically by mail delivery software.\n\n"
                "A message that you sent could not be delivered to one or more of its\n"
                "recipients. This is a permanent error. The following address(es) failed:\n\n"
                f"  {rcpt}\n    host mx.{rcpt.split('@')[1]} [192.0.2.7]\n"
                f"    SMTP error from remote mail server after RCPT TO:<{rcpt}>:\n    {smtp} {status} {words}\n\n"
                f"------ This is a copy of the message, including all the headers. ------\n\n{copy}\nHello\n"
            )
            exim_subject = "Mail delivery failed: returning message to sender"
        else:
            exim_text = (
                "This message was created automatically by mail delivery software.\n"
                "A message that you sent has not yet been delivered to one or more of its\n"
                "recipients after more than 24 hours on the queue on mx.sender.example.\n\n"
                f"The following address(es) deferred:\n\n  {rcpt}\n    {smtp} {status} {words}\n\n"
                "No action is required on your part. Delivery attempts will continue.\n\n"
                f"------ This is a copy of the message's headers. ------\n\n{copy}"
            )
            exim_subject = "Warning: message 1wXyZ-000abc-Qr delayed 24 hours"
        bounce_case(
            "exim",
            kind,
            n,
            rcpt,
            plain_bounce(
                n, "Mail Delivery System <Mailer-Daemon@mx.sender.example>", exim_subject, exim_text
            ),
            status,
            ("Mailer-Daemon@mx.sender.example", "Mail Delivery System"),
            exim_subject,
        )
        n += 1
        copy = ORIGINAL_HEADERS.format(n=n, rcpt=rcpt)
        qmail_text = (
            "Hi. This is the qmail-send program at mail.sender.example.\n"
            "I'm afraid I wasn't able to deliver your message to the following addresses.\n"
            f"{'This is a permanent error; I' if kind == 'hard' else 'This is a temporary error; I'}'ve given up. Sorry it didn't work out.\n\n"
            f"<{rcpt}>:\n192.0.2.9 does not like recipient.\nRemote host said: {smtp} {status} {words}\nGiving up on 192.0.2.9.\n\n"
            f"--- Below this line is a copy of the message.\n\n{copy}\nHello\n"
        )
        bounce_case(
            "qmail",
            kind,
            n,
            rcpt,
            plain_bounce(n, "MAILER-DAEMON@mail.sender.example", "failure notice", qmail_text),
            status,
            ("MAILER-DAEMON@mail.sender.example", ""),
            "failure notice",
        )
        n += 1
        copy = ORIGINAL_HEADERS.format(n=n, rcpt=rcpt)
        yahoo_text = (
            "Sorry, we were unable to deliver your message to the following address.\n\n"
            f"<{rcpt}>:\nRemote host said: {smtp} {status} {words} [RCPT_TO]\n\n"
            f"--- Below this line is a copy of the message.\n\n{copy}\nHello\n"
        )
        bounce_case(
            "yahoo",
            kind,
            n,
            rcpt,
            plain_bounce(n, "MAILER-DAEMON@yahoo.example", "Failure Notice", yahoo_text),
            status,
            ("MAILER-DAEMON@yahoo.example", ""),
            "Failure Notice",
        )

# A bounce without any status code: classified from its words.
n += 1
add(
    f"bounce_words_only_{n}",
    plain_bounce(
        n,
        "MAILER-DAEMON@old.example",
        "Returned mail: see transcript for details",
        "The original message was received at Mon, 16 Mar 2026.\n\n   ----- The following addresses had permanent fatal errors -----\n"
        "<nobody@old-customer.example>\n    (reason: User unknown)\n\n   ----- Original message follows -----\n\n"
        + ORIGINAL_HEADERS.format(n=n, rcpt="nobody@old-customer.example"),
    ),
    **{
        "from": ("MAILER-DAEMON@old.example", ""),
        "subject": "Returned mail: see transcript for details",
        "report": {
            "original_message_ids": [OUT_ID.format(n=n)],
            "failed_recipients": ["nobody@old-customer.example"],
            "kind": "hard",
        },
    },
)


# --- 7b. Whole messages as common mail clients write them ------------------------------------------
def alternative(plain: str, html: str, boundary: str) -> bytes:
    return (
        f'Content-Type: multipart/alternative; boundary="{boundary}"\n\n'
        f"--{boundary}\nContent-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: quoted-printable\n\n"
        f"{plain}\n--{boundary}\nContent-Type: text/html; charset=utf-8\n\n{html}\n--{boundary}--\n"
    ).encode()


CLIENTS: list[tuple[str, str, str, tuple[str, str], list[bytes], list[str]]] = [
    (
        "outlook_inline_logo_and_pdf",
        "=?iso-8859-1?Q?Angebot_f=FCr_Wartungsvertrag?=",
        "Angebot für Wartungsvertrag",
        ("Sabine Krüger", "s.krueger@technik-gmbh.example"),
        [
            part(
                'Content-Type: multipart/related; boundary="rel1"',
                b"--rel1\n"
                + alternative(
                    "Sehr geehrte Damen und Herren,",
                    '<p>Sehr geehrte Damen und Herren,<img src="cid:image001.png@01DA"></p>',
                    "alt1",
                )
                + b'\n--rel1\nContent-Type: image/png; name="image001.png"\nContent-Transfer-Encoding: base64\nContent-ID: <image001.png@01DA>\n\n'
                + wrap64(INLINE_PNG)
                + b"\n--rel1--\n",
            ),
            part(
                'Content-Type: application/pdf; name="=?iso-8859-1?Q?Angebot_W=FC-2026-17.pdf?="\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename="=?iso-8859-1?Q?Angebot_W=FC-2026-17.pdf?="',
                wrap64(PDF),
            ),
        ],
        ["image001.png", "Angebot Wü-2026-17.pdf"],
    ),
    (
        "apple_mail_inline_pdf",
        "Vertrag unterschrieben",
        "Vertrag unterschrieben",
        ("Tobias Brandt", "tobias.brandt@icloud.example"),
        [
            part("Content-Type: text/plain; charset=us-ascii", b"Hallo,\n\nanbei der Vertrag.\n"),
            part(
                'Content-Disposition: inline; filename="Vertrag signiert.pdf"\nContent-Type: application/pdf; name="Vertrag signiert.pdf"\nContent-Transfer-Encoding: base64',
                wrap64(PDF),
            ),
            part("Content-Type: text/plain; charset=us-ascii", b"\nGruss Tobias\n"),
        ],
        ["Vertrag signiert.pdf"],
    ),
    (
        "thunderbird_rfc2231_long",
        "Unterlagen",
        "Unterlagen",
        ("Eva Schulze", "eva.schulze@posteo.example"),
        [
            TEXT_PART,
            part(
                "Content-Type: application/vnd.openxmlformats-officedocument.wordprocessingml.document;\n name*0*=UTF-8''Stellungnahme%20zur%20K%C3%BCndigung%20des%20Mietvertrag;\n name*1*=s%20vom%2012.%20M%C3%A4rz.docx\nContent-Disposition: attachment;\n filename*0*=UTF-8''Stellungnahme%20zur%20K%C3%BCndigung%20des%20Mietvertrag;\n filename*1*=s%20vom%2012.%20M%C3%A4rz.docx\nContent-Transfer-Encoding: base64",
                wrap64(b"PK fake"),
            ),
        ],
        ["Stellungnahme zur Kündigung des Mietvertrags vom 12. März.docx"],
    ),
    (
        "gmail_two_images",
        "Fotos vom Schaden",
        "Fotos vom Schaden",
        ("Marco Rossi", "marco.rossi@gmail.example"),
        [
            alternative("Ecco le foto.", "<div>Ecco le foto.</div>", "alt2"),
            part(
                'Content-Type: image/jpeg; name="IMG_2041.jpg"\nContent-Disposition: attachment; filename="IMG_2041.jpg"\nContent-Transfer-Encoding: base64\nContent-ID: <f_lq1>\nX-Attachment-Id: f_lq1',
                wrap64(b"\xff\xd8\xff\xe0 fake jpeg"),
            ),
            part(
                'Content-Type: image/jpeg; name="IMG_2042.jpg"\nContent-Disposition: attachment; filename="IMG_2042.jpg"\nContent-Transfer-Encoding: base64\nContent-ID: <f_lq2>',
                wrap64(b"\xff\xd8\xff\xe0 fake jpeg 2"),
            ),
        ],
        ["IMG_2041.jpg", "IMG_2042.jpg"],
    ),
    (
        "outlook_att00001",
        "RE: Lieferung",
        "RE: Lieferung",
        ("Weber, Klaus", "k.weber@logistik.example"),
        [
            part(
                "Content-Type: text/plain; charset=iso-8859-1\nContent-Transfer-Encoding: quoted-printable",
                b"Lieferung erfolgt am Montag.\n",
            ),
            part(
                'Content-Type: application/pdf; name="Lieferschein.pdf"\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename="Lieferschein.pdf"',
                wrap64(PDF),
            ),
            part(
                'Content-Type: text/plain; charset=us-ascii; name="ATT00001.txt"\nContent-Disposition: attachment; filename="ATT00001.txt"',
                b"Company disclaimer.\n",
            ),
        ],
        ["Lieferschein.pdf", "ATT00001.txt"],
    ),
    (
        "smime_signed",
        "Signierte Rechnung",
        "Signierte Rechnung",
        ("Buchhaltung", "buchhaltung@stadtwerke.example"),
        [
            part("Content-Type: text/plain; charset=utf-8", b"Anbei die Rechnung.\n"),
            part(
                'Content-Type: application/pkcs7-signature; name="smime.p7s"\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment; filename="smime.p7s"',
                wrap64(b"0\x82 fake signature"),
            ),
        ],
        ["smime.p7s"],
    ),
    (
        "pgp_signed_nameless",
        "Release keys",
        "Release keys",
        ("Dana Fox", "dana@opensource.example"),
        [
            part("Content-Type: text/plain; charset=utf-8", b"The keys rotate on Friday.\n"),
            part(
                "Content-Type: application/pgp-signature\nContent-Description: OpenPGP digital signature",
                b"-----BEGIN PGP SIGNATURE-----\nfake\n-----END PGP SIGNATURE-----\n",
            ),
        ],
        ["signature.asc"],
    ),
    (
        "iso2022jp_attachment_name",
        "=?ISO-2022-JP?B?" + b64("見積依頼のお願い".encode("iso2022_jp")) + "?=",
        "見積依頼のお願い",
        ("Suzuki", "suzuki@torihiki.example.jp"),
        [
            part(
                "Content-Type: text/plain; charset=iso-2022-jp",
                "よろしくお願いします。\n".encode("iso2022_jp"),
            ),
            part(
                'Content-Type: application/pdf;\n name="=?ISO-2022-JP?B?'
                + b64("見積書.pdf".encode("iso2022_jp"))
                + '?="\nContent-Transfer-Encoding: base64\nContent-Disposition: attachment;\n filename="=?ISO-2022-JP?B?'
                + b64("見積書.pdf".encode("iso2022_jp"))
                + '?="',
                wrap64(PDF),
            ),
        ],
        ["見積書.pdf"],
    ),
    (
        "calendar_reply",
        "Accepted: Quarterly review",
        "Accepted: Quarterly review",
        ("Lee, Chris", "chris.lee@partner.example"),
        [
            part("Content-Type: text/plain; charset=utf-8", b"Chris Lee has accepted.\n"),
            part(
                'Content-Type: text/calendar; charset="utf-8"; method=REPLY; name="invite.ics"\nContent-Disposition: attachment; filename="invite.ics"',
                b"BEGIN:VCALENDAR\nMETHOD:REPLY\nEND:VCALENDAR\n",
            ),
        ],
        ["invite.ics"],
    ),
    (
        "scanner_csv_and_zip",
        "Scan to mail 2026-03-17 0930",
        "Scan to mail 2026-03-17 0930",
        ("MFP-3F Copier", "scanner@office.example"),
        [
            part("Content-Type: text/plain", b"Scanned by MFP-3F.\n"),
            part(
                "Content-Type: application/octet-stream; name=scan_0930.zip\nContent-Transfer-Encoding: base64",
                wrap64(b"PK" * 20),
            ),
            part(
                "Content-Type: text/csv; name=index.csv\nContent-Disposition: attachment",
                b"a,b\n1,2\n",
            ),
        ],
        ["scan_0930.zip", "index.csv"],
    ),
]
for key, written, shown, (name, addr), parts, names in CLIENTS:
    sender = f"{name} <{addr}>" if "," not in name else f'"{name}" <{addr}>'
    add(
        f"client_{key}",
        multipart([("From", sender), TO, ("Subject", written)], parts, boundary=f"mix_{key}"),
        **{"from": (addr, name), "subject": shown, "attachment_names": names},
    )

# Webmail forwarding a message as an attachment with only a Content-Type name, and an
# attached message whose own attachment is a winmail.dat.
add(
    "client_forward_winmail_inside",
    multipart(
        [FROM, TO, ("Subject", "Fwd: Meeting files")],
        [
            TEXT_PART,
            part(
                'Content-Type: message/rfc822; name="Meeting files.eml"',
                multipart(
                    [
                        ("From", '"Baker, Tom" <tom.baker@fabrikam.example>'),
                        ("To", "anna.berg@kunde.example"),
                        ("Subject", "Meeting files"),
                    ],
                    [
                        TEXT_PART,
                        part(
                            'Content-Type: application/ms-tnef; name="winmail.dat"\nContent-Transfer-Encoding: base64',
                            wrap64(tnef([("Minutes.docx", b"PK minutes")])),
                        ),
                    ],
                    boundary="innertnef",
                ),
            ),
        ],
    ),
    **{
        "from": ANNA,
        "subject": "Fwd: Meeting files",
        "attachment_names": ["Meeting files.eml", "Minutes.docx"],
    },
)

# More bounce shapes: several recipients in one Exchange report, a Postfix report with a
# delayed and a failed recipient, and a bounce in German.
n_extra = 101000
add(
    "bounce_exchange_two_recipients",
    multipart(
        [("From", "postmaster@corp.example"), TO, ("Subject", "Undeliverable: Your ticket")],
        [
            part(
                "Content-Type: text/plain",
                b"Delivery has failed to these recipients or groups:\n\na@one.example\nb@two.example\n",
            ),
            part(
                "Content-Type: message/delivery-status",
                b"Reporting-MTA: dns;EXCH01.corp.example\n\nFinal-Recipient: rfc822;a@one.example\nAction: failed\nStatus: 5.1.10\n"
                b"Diagnostic-Code: smtp;550 5.1.10 RESOLVER.ADR.RecipientNotFound; Recipient not found by SMTP address lookup\n\n"
                b"Final-Recipient: rfc822;b@two.example\nAction: failed\nStatus: 5.4.1\nDiagnostic-Code: smtp;550 5.4.1 Recipient address rejected: Access denied\n",
            ),
            part(
                "Content-Type: text/rfc822-headers",
                ORIGINAL_HEADERS.format(n=n_extra, rcpt="a@one.example").encode(),
            ),
        ],
        kind="report",
        extra="; report-type=delivery-status",
        boundary="exch2",
    ),
    **{
        "from": ("postmaster@corp.example", ""),
        "subject": "Undeliverable: Your ticket",
        "report": {
            "original_message_ids": [OUT_ID.format(n=n_extra)],
            "failed_recipients": ["a@one.example", "b@two.example"],
            "kind": "hard",
            "status": "5.1.10",
        },
    },
)
add(
    "bounce_postfix_failed_and_delayed",
    multipart(
        [
            ("From", "MAILER-DAEMON@mx.postroom.example (Mail Delivery System)"),
            TO,
            ("Subject", "Undelivered Mail Returned to Sender"),
        ],
        [
            part(
                "Content-Type: text/plain",
                b"I'm sorry to have to inform you that your message could not\nbe delivered to one or more recipients.\n",
            ),
            part(
                "Content-Type: message/delivery-status",
                b"Reporting-MTA: dns; mx.postroom.example\n\nFinal-Recipient: rfc822; slow@later.example\nAction: delayed\nStatus: 4.4.1\n\n"
                b"Final-Recipient: rfc822; gone@never.example\nAction: failed\nStatus: 5.1.1\nDiagnostic-Code: smtp; 550 5.1.1 User unknown\n",
            ),
            part(
                "Content-Type: message/rfc822",
                (
                    ORIGINAL_HEADERS.format(n=n_extra + 1, rcpt="gone@never.example") + "\nHello\n"
                ).encode(),
            ),
        ],
        kind="report",
        extra="; report-type=delivery-status",
        boundary="pf2",
    ),
    **{
        "from": ("MAILER-DAEMON@mx.postroom.example", "Mail Delivery System"),
        "subject": "Undelivered Mail Returned to Sender",
        "report": {
            "original_message_ids": [OUT_ID.format(n=n_extra + 1)],
            "failed_recipients": ["gone@never.example"],
            "kind": "hard",
            "status": "5.1.1",
        },
    },
)
add(
    "bounce_german_text",
    plain_bounce(
        n_extra + 2,
        "Mail Delivery System <MAILER-DAEMON@mail.firma.example>",
        "Unzustellbar: Ihr Ticket",
        "Ihre Nachricht konnte nicht zugestellt werden.\n\n<weg@kunde.example>: host mx.kunde.example said:\n    550 5.1.1 <weg@kunde.example>: Recipient address rejected: User unknown\n\n"
        "--- Below this line is a copy of the message.\n\n"
        + ORIGINAL_HEADERS.format(n=n_extra + 2, rcpt="weg@kunde.example"),
    ),
    **{
        "from": ("MAILER-DAEMON@mail.firma.example", "Mail Delivery System"),
        "subject": "Unzustellbar: Ihr Ticket",
        "report": {
            "original_message_ids": [OUT_ID.format(n=n_extra + 2)],
            "failed_recipients": ["weg@kunde.example"],
            "kind": "hard",
            "status": "5.1.1",
        },
    },
)

(HERE / "realworld.json").write_text(
    json.dumps(ROWS, ensure_ascii=False, indent=1, sort_keys=True) + "\n"
)
print(f"{len(ROWS)} messages written")
