"""Measure the MIME layer: parse speed on ~8 KB text+HTML mail, and peak memory on a 25 MB one.

Usage::

    python bench/parse_memory.py speed            # msg/s of parse() vs email policy.default
    python bench/parse_memory.py memory [MB]      # peak RSS of parse() on a generated message

Memory is measured in this (fresh) process with ``resource.getrusage``;
``ru_maxrss`` includes the interpreter baseline.
"""

from __future__ import annotations

import base64
import email
import email.policy
import os
import resource
import sys
import time

from postroom.mime import parse


def sample_message(index: int = 0) -> bytes:
    """A ~8 KB multipart/alternative message like a real support mail."""
    paragraph = (
        "Dear support team, our payroll export for the March period failed again with the "
        "same error as last week. Could you please have a look at ticket [100123-T] and tell "
        "us whether the fix is already deployed? Kind regards, Anna. "
    )
    text = "\n\n".join(paragraph for _ in range(14))
    html = "".join(f"<p>{paragraph}</p>" for _ in range(14))
    return (
        "Return-Path: <anna@customer.example>\r\n"
        "Received: from mx1.customer.example (mx1.customer.example [192.0.2.10])\r\n"
        "\tby mail.example.com (Postfix) with ESMTPS id 4F1A2B3C4D\r\n"
        "\tfor <support@example.com>; Tue, 3 Mar 2026 10:00:01 +0100 (CET)\r\n"
        "Delivered-To: support@example.com\r\n"
        f"Message-ID: <{index}.20260303100000@customer.example>\r\n"
        "In-Reply-To: <outbound.100123@example.com>\r\n"
        "References: <first@customer.example> <outbound.100123@example.com>\r\n"
        "From: =?utf-8?q?Anna_M=C3=BCller?= <anna@customer.example>\r\n"
        "To: Support <support@example.com>\r\n"
        "Cc: payroll@customer.example\r\n"
        "Subject: =?utf-8?q?Re=3A_Payroll_export_f=C3=A4ilt?= [100123-T]\r\n"
        "Date: Tue, 3 Mar 2026 10:00:00 +0100\r\n"
        "MIME-Version: 1.0\r\n"
        'Content-Type: multipart/alternative; boundary="b1_abc"\r\n'
        "\r\n"
        "--b1_abc\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        "Content-Transfer-Encoding: quoted-printable\r\n"
        "\r\n"
        f"{text}\r\n"
        "--b1_abc\r\n"
        "Content-Type: text/html; charset=utf-8\r\n"
        "\r\n"
        f"<html><body>{html}</body></html>\r\n"
        "--b1_abc--\r\n"
    ).encode()


def write_big_message(path: str, megabytes: int = 25) -> None:
    """Write a message with an 18 MB (decoded) attachment, about ``megabytes`` MB in total.

    Written in chunks so that the writing process stays small too.
    """
    encoded_size = (18 * 1024 * 1024) * 4 // 3 * 77 // 76
    filler = b"Lorem ipsum dolor sit amet, consectetur adipiscing elit, sed do eiusmod tem.\n"
    text_lines = max(0, (megabytes * 1024 * 1024 - encoded_size - 2000) // len(filler))
    with open(path, "wb") as out:
        out.write(
            b"From: Big Sender <big@example.com>\n"
            b"To: support@example.com\n"
            b"Subject: large attachment\n"
            b"Message-ID: <big@example.com>\n"
            b'Content-Type: multipart/mixed; boundary="BIG"\n\n'
            b"--BIG\nContent-Type: text/plain; charset=utf-8\n\n"
        )
        for _ in range(text_lines // 1000):
            out.write(filler * 1000)
        out.write(
            b"\n--BIG\nContent-Type: application/octet-stream\n"
            b'Content-Disposition: attachment; filename="dump.bin"\n'
            b"Content-Transfer-Encoding: base64\n\n"
        )
        for _ in range(18):
            out.write(base64.encodebytes(os.urandom(1024 * 1024 // 57 * 57)))
        out.write(base64.encodebytes(os.urandom(18 * 1024 * 1024 - 18 * (1024 * 1024 // 57 * 57))))
        out.write(b"--BIG--\n")


def peak_rss_kib() -> int:
    """Peak resident memory of this process in KiB.

    ``VmHWM`` is reset by exec; ``ru_maxrss`` on Linux keeps the parent's
    peak across fork and exec, so it is only the fallback.
    """
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def speed(count: int = 2000) -> None:
    messages = [sample_message(index) for index in range(count)]
    start = time.perf_counter()
    for raw in messages:
        parse(raw)
    ours = count / (time.perf_counter() - start)
    start = time.perf_counter()
    for raw in messages:
        email.message_from_bytes(raw, policy=email.policy.default)
    stdlib = count / (time.perf_counter() - start)
    size = len(messages[0])
    print(f"message size {size} bytes, {count} messages")
    print(f"parse():                        {ours:8.0f} msg/s")
    print(f"message_from_bytes(default):    {stdlib:8.0f} msg/s  (ratio {ours / stdlib:.1f}x)")


def parse_file(path: str) -> None:
    """Read and parse one file; print the peak RSS (KiB) of this process."""
    with open(path, "rb") as handle:
        raw = handle.read()
    before = peak_rss_kib()
    mail = parse(raw)
    peak = peak_rss_kib()
    sizes = [attachment.size for attachment in mail.attachments]
    print(f"{peak} {before} {len(raw)} {sizes}")


def memory(megabytes: int = 25) -> None:
    """Generate the message here, parse it in a fresh process, report that process's peak."""
    import subprocess
    import tempfile

    with tempfile.TemporaryDirectory() as folder:
        path = os.path.join(folder, "big.eml")
        write_big_message(path, megabytes)
        out = subprocess.run(
            [sys.executable, __file__, "parse-file", path],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.split(maxsplit=3)
    peak, before, size = (int(value) for value in out[:3])
    print(
        f"message {size / 1e6:.1f} MB, attachment sizes {out[3].strip()}, peak RSS after read "
        f"{before / 1024:.0f} MB, after parse {peak / 1024:.0f} MB"
    )


if __name__ == "__main__":
    command = sys.argv[1] if len(sys.argv) > 1 else "speed"
    if command == "parse-file":
        parse_file(sys.argv[2])
    elif command == "memory":
        memory(int(sys.argv[2]) if len(sys.argv) > 2 else 25)
    else:
        speed()
