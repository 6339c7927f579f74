"""CPU per automated reply: the email package's `compose` against the direct writer.

Both lines do what `services/apply.py` does for each acknowledgement: fill the
template, put the reference in the subject, write the message to bytes.  The
same 2,000 varied inputs (ASCII and non-ASCII subjects and names, long subjects,
0–30 References, some long ids) go through each, each line in a process of its
own (``--only`` runs one).  Target: the direct writer ≤ 0.5 ms per reply.

    .venv/bin/python bench/replies.py [N] [--rounds R]
"""

from __future__ import annotations

import argparse
import random
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path
from typing import Any

from postroom.mime import templates
from postroom.mime.autoreply import compose_automated
from postroom.mime.compose import compose
from postroom.mime.header_text import subject_with_reference
from postroom.mime.templates import load_template, parse_template

SENDER = "support@example.test"
_TEMPLATE = Path(templates.__file__).resolve().parent.parent / "templates" / "acknowledgement.txt"
_SUBJECTS = [
    "Question about my invoice",
    "Re: Commande n° 4411 — livraison retardée",
    "Fwd: Anfrage zur Rechnung für März",
    "日本語の件名：請求書について",
    "Заказ не пришёл",
    "printer on the 3rd floor is broken again " * 3,
    "Urgent!!! 😀 please call me back",
    "",
]
_NAMES = ["Carol Smith", "Chloé Garcia", "Jürgen Müller", "山田太郎", "", "O'Brien, Pat"]


def _inputs(n: int) -> list[dict[str, Any]]:
    rng = random.Random(12)
    made = []
    for i in range(n):
        ids = [
            f"<{rng.getrandbits(64):x}.{i}@mail.customer.test>" for _ in range(rng.randint(0, 30))
        ]
        if rng.random() < 0.05:
            ids.append("<" + "x" * 400 + "@exchange.example>")
        made.append(
            {
                "subject": rng.choice(_SUBJECTS),
                "name": rng.choice(_NAMES),
                "to": f"customer{i}@customer.test",
                "references": tuple(ids),
                "parent": ids[-1] if ids else None,
            }
        )
    return made


def _values(case: dict[str, Any]) -> dict[str, str]:
    return {
        "reference": "101203-T",
        "subject": case["subject"] or "(no subject)",
        "sender": case["to"],
        "sender_name": case["name"] or case["to"],
        "recipient": "",
        "context": "Support",
        "category": "Billing",
        "queue": "first-line",
    }


def _email_package(case: dict[str, Any], now: datetime) -> bytes:
    # As apply.py did before: the template read and parsed for every reply.
    subject, body = parse_template(_TEMPLATE.read_text("utf-8")).render(_values(case))
    subject = subject_with_reference(subject or case["subject"], "101203-T")
    return compose(
        sender=SENDER,
        to=[case["to"]],
        subject=subject,
        body=body,
        now=now,
        in_reply_to=case["parent"],
        references=case["references"],
        automated=True,
    ).raw


def _direct(case: dict[str, Any], now: datetime) -> bytes:
    subject, body = load_template("acknowledgement", None).render(_values(case))
    subject = subject_with_reference(subject or case["subject"], "101203-T")
    return compose_automated(
        sender=SENDER,
        to=(case["to"],),
        subject=subject,
        body=body,
        now=now,
        in_reply_to=case["parent"],
        references=case["references"],
    ).raw


_LINES = {"compose": _email_package, "direct": _direct}


def measure(line: str, n: int) -> float:
    """ms of CPU per reply for ``line`` over ``n`` inputs (after a warm-up of 50)."""
    write = _LINES[line]
    cases = _inputs(n)
    now = datetime(2026, 12, 1, 12, 0)
    for case in cases[:50]:
        write(case, now)
    start = time.process_time()
    for case in cases:
        write(case, now)
    return (time.process_time() - start) * 1000 / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", nargs="?", type=int, default=2000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--only", choices=sorted(_LINES))
    args = parser.parse_args()
    if args.only:
        print(f"{measure(args.only, args.n):.4f}")
        return
    figures: dict[str, list[float]] = {line: [] for line in _LINES}
    for _ in range(args.rounds):
        for line in _LINES:
            out = subprocess.run(
                [sys.executable, __file__, str(args.n), "--only", line],
                check=True,
                capture_output=True,
                text=True,
            )
            figures[line].append(float(out.stdout))
    medians = {line: sorted(v)[len(v) // 2] for line, v in figures.items()}
    for line, values in figures.items():
        rounds = ", ".join(f"{v:.3f}" for v in values)
        print(f"{line:8} {medians[line]:.3f} ms/reply (median; rounds {rounds}) over {args.n}")
    print(f"direct is {medians['compose'] / medians['direct']:.1f}x faster; target ≤ 0.5 ms")


if __name__ == "__main__":
    main()
