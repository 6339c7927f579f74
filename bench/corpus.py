"""Generated ~8 KB messages (text + HTML, some with attachments) shared by the benchmarks."""

from __future__ import annotations

import base64
import random
from email.message import EmailMessage
from email.policy import SMTP

WORDS = [
    "invoice",
    "payroll",
    "contract",
    "service",
    "request",
    "please",
    "attached",
    "kindly",
    "regards",
    "update",
    "schedule",
    "approval",
    "payment",
    "overdue",
    "account",
    "reference",
    "question",
    "answer",
    "team",
]


def message(i: int, rng: random.Random, attach: bool = False, size_kb: int = 8) -> bytes:
    msg = EmailMessage(policy=SMTP)
    msg["From"] = f"Customer {i} <customer{i % 97}@client{i % 13}.test>"
    msg["To"] = "support@example.com" if i % 3 else f"support+{100000 + i % 50:06d}-T@example.com"
    msg["Subject"] = f"Re: question {i} about invoice {rng.randint(1000, 9999)}"
    msg["Message-ID"] = f"<bench.{i}.{rng.getrandbits(48):x}@client.test>"
    msg["Date"] = "Mon, 02 Nov 2026 09:30:00 +0000"
    target = size_kb * 1024 // 2
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < target * 0.55:
        words.append(rng.choice(WORDS))
    text = "\n".join(" ".join(words[j : j + 12]) for j in range(0, len(words), 12))
    html = (
        "<html><body>" + "".join(f"<p>{line}</p>" for line in text.splitlines()) + "</body></html>"
    )
    msg.set_content(text)
    msg.add_alternative(html, subtype="html")
    if attach:
        blob = rng.randbytes(2048)
        msg.add_attachment(blob, maintype="application", subtype="pdf", filename=f"doc{i}.pdf")
    return msg.as_bytes()


def corpus(n: int, seed: int = 7) -> list[bytes]:
    rng = random.Random(seed)
    return [message(i, rng, attach=(i % 5 == 0)) for i in range(n)]


def big_message(attachment_mb: int = 18) -> bytes:
    """A ~25 MB message: an 18 MB attachment (base64 makes it ~24.6 MB)."""
    rng = random.Random(1)
    payload = base64.encodebytes(rng.randbytes(attachment_mb * 1024 * 1024))
    head = (
        b"From: Big Sender <big@client.test>\r\nTo: support@example.com\r\n"
        b"Subject: the big scan\r\nMessage-ID: <big.1@client.test>\r\nMIME-Version: 1.0\r\n"
        b'Content-Type: multipart/mixed; boundary="BIG"\r\n\r\n'
        b"--BIG\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nPlease find the scan.\r\n"
        b"--BIG\r\nContent-Type: application/octet-stream; name=scan.bin\r\n"
        b"Content-Disposition: attachment; filename=scan.bin\r\n"
        b"Content-Transfer-Encoding: base64\r\n\r\n"
    )
    return head + payload.replace(b"\n", b"\r\n") + b"--BIG--\r\n"


def mailbox_message(address: str, i: int, seed: int = 11) -> bytes:
    """A ~8.3 KB multipart/alternative text + HTML message, quoted-printable UTF-8,
    addressed to ``address``: the kind of mail the polling yardstick was measured with."""
    rng = random.Random(seed * 100003 + i)
    msg = EmailMessage(policy=SMTP)
    msg["From"] = f"Clément Customer {i} <customer{i % 97}@client{i % 13}.test>"
    msg["To"] = address
    msg["Subject"] = f"Réf. question {i} about invoice {rng.randint(1000, 9999)}"
    msg["Message-ID"] = f"<poll.{i}.{rng.getrandbits(48):x}@client.test>"
    msg["Date"] = "Mon, 02 Nov 2026 09:30:00 +0000"
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < 3400:
        words.append(rng.choice(WORDS) + ("é" if rng.random() < 0.05 else ""))
    text = "\n".join(" ".join(words[j : j + 12]) for j in range(0, len(words), 12))
    html = "<html><body>" + "".join(f"<p>{line}</p>\n" for line in text.splitlines())
    msg.set_content(text, cte="quoted-printable")
    msg.add_alternative(html + "</body></html>", subtype="html", cte="quoted-printable")
    return msg.as_bytes()
