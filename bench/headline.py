"""The headline figure: acknowledged mail end to end, `postroom run` beside django-helpdesk.

One mailbox on the loopback stack (tests/servers/mailstack) holds N (2,000) ~8 KB messages,
each from its own sender; a share of the senders (113 of 2,000, as in the mail the peer was
measured with) have internationalised addresses such as ``chloé.garcia.…@customer7.invalid``.
A fresh POSTROOM_HOME (SQLite) gets what a user would type: a route with ``--acknowledge``, a
POP3 (STLS) or POP3S channel on the mailbox and the stack's Postfix as the default SMTP server.
Then `postroom run --workers W` is timed from launch until

  T1  the Maildir is empty (intake done: every message stored and deleted on the server), and
  T2  every acknowledgement's outbox row is final: `sent` (accepted by Postfix) or `failed`
      (refused, with its reason; counted and printed), nothing queued, claimed or retrying.

It prints msg/s (N / T2), the phases (start-up until the first message is stored, intake,
the outbox's tail after T1), CPU seconds per message of every Postroom process (the parent,
its workers and their parsing children, read from /proc at T2), the largest peak RSS of one
process and the sum of the peaks, and the checks: every message filed once (N stored, N
Tickets, N distinct Message-IDs), every acknowledgement queued once per Ticket and accepted
once, and Postfix's capture Maildir holding exactly one acknowledgement per sender, to the
address as written (none to a mangled address, none twice).

With ``--peer`` each round first runs ../shared/peer/peer-django-helpdesk.sh (one timed run of
`manage.py get_email` on bob@example.test of the same stack, filled by its own `fill`) and
then ours, and the last lines give both medians and the ratio (target >= 10x).

Run as root with the stack up (like bench/poll.py):

    sudo tests/servers/mailstack/start
    .venv/bin/python bench/headline.py [--n 2000] [--workers 2] [--rounds 1] [--peer]
                                       [--mode pop3|pop3s] [--smtp submission|smtp]
"""

from __future__ import annotations

import argparse
import base64
import binascii
import contextlib
import json
import os
import random
import re
import secrets
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

from poll import Stack, users

ROOT = Path(__file__).resolve().parent.parent
POSTROOM = Path(sys.executable).parent / "postroom"
PEER = ROOT.parent / "shared" / "peer" / "peer-django-helpdesk.sh"
INTL_SHARE = 113 / 2000
"""The share of internationalised senders in the mail the peer's figure was measured with."""

FIRST = ["anna", "ben", "david", "eva", "farid", "grete", "hugo", "ines", "jonas", "kim"]
INTL_FIRST = ["chloé", "jürgen", "zoë", "andré", "søren", "łukasz"]
LAST = ["schmidt", "meyer", "dubois", "rossi", "nowak", "jensen", "garcia", "weber"]
_TEXT = (
    "invoice order shipment delivery customer account payment refund question request support "
    "update status problem urgent please thanks regards meeting schedule attached document "
    "report review approve confirm cancel change address reference contract service Müller "
    "café naïve Zürich Ärger über Straße"
)
WORDS = _TEXT.split()
FINAL = ("sent", "failed", "bounced", "cancelled", "unknown")
"""Outbox statuses after which the sender will not touch a row again in this run."""


# --------------------------------------------------------------------------- the mail
def senders(n: int, token: str, seed: int = 5) -> list[str]:
    """One sender per message, ``round(n * INTL_SHARE)`` of them with a non-ASCII local part.

    Each address is unique (the index and the run's token are in it), so an acknowledgement
    captured twice for one address is a duplicate, and other runs' captured mail is not
    counted."""
    rng = random.Random(seed)
    intl = set(rng.sample(range(n), round(n * INTL_SHARE)))
    out = []
    for i in range(n):
        first = rng.choice(INTL_FIRST if i in intl else FIRST)
        out.append(f"{first}.{rng.choice(LAST)}.{token}{i}@customer{rng.randint(1, 500)}.invalid")
    return out


def message(i: int, sender: str, to: str, size: int = 8192) -> bytes:
    """A ~8 KB multipart/alternative text + HTML message, quoted-printable UTF-8, written by
    hand (the `email` package would take longer than filling the Maildir should)."""
    rng = random.Random(i)
    name = sender.split("@", 1)[0].split(".")[:2]
    display = " ".join(part.capitalize() for part in name)
    words: list[str] = []
    while sum(len(w) + 1 for w in words) < (size - 1400) * 0.45:
        words.append(rng.choice(WORDS))
    lines = [" ".join(words[j : j + 12]) for j in range(0, len(words), 12)]
    text = "Hello,\n\n" + "\n".join(lines) + f"\n\nBest regards,\n{display}\n"
    html = "<html><body>\n" + "".join(f"<p>{line}</p>\n" for line in lines) + "</body></html>\n"
    boundary = f"alt-{rng.getrandbits(64):016x}"
    encoded_name = display if display.isascii() else _encoded_word(display)
    head = (
        f"From: {encoded_name} <{sender}>\n"
        f"To: {to}\n"
        f"Subject: Question {i} about invoice {rng.randint(1000, 9999)}\n"
        f"Date: Tue, 01 Dec 2026 09:{i // 60 % 60:02d}:{i % 60:02d} +0000\n"
        f"Message-ID: <headline.{i}.{rng.getrandbits(48):x}@customer.invalid>\n"
        "MIME-Version: 1.0\n"
        f'Content-Type: multipart/alternative; boundary="{boundary}"\n\n'
    )
    part = 'Content-Type: text/{}; charset="utf-8"\nContent-Transfer-Encoding: quoted-printable\n\n'
    return (
        head.encode()
        + f"--{boundary}\n{part.format('plain')}".encode()
        + binascii.b2a_qp(text.encode())
        + f"\n--{boundary}\n{part.format('html')}".encode()
        + binascii.b2a_qp(html.encode())
        + f"\n--{boundary}--\n".encode()
    )


def _encoded_word(text: str) -> str:
    return f"=?utf-8?b?{base64.b64encode(text.encode()).decode()}?="


def fill(stack: Stack, address: str, mail: list[bytes]) -> None:
    """Write the messages into the Maildir (tmp/ then new/, as a delivery agent does)."""
    maildir = stack.maildir(address)
    for i, data in enumerate(mail):
        name = f"{time.time_ns()}.P{os.getpid()}Q{i}.postroom-headline,S={len(data)}"
        fd = os.open(maildir / "tmp" / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, data)
            os.fchown(fd, stack.mail_uid, stack.mail_gid)
        finally:
            os.close(fd)
        os.rename(maildir / "tmp" / name, maildir / "new" / name)


# --------------------------------------------------------------------------- set-up
def stack_ports(stack: Stack) -> dict[str, str]:
    env = {}
    for line in (stack.state_dir / "mailstack.env").read_text().splitlines():
        m = re.match(r"(?:export\s+)?(MAILSTACK_\w+)=(.*)$", line.strip())
        if m:
            env[m[1]] = m[2]
    return env


def configure(home: Path, stack: Stack, address: str, password: str, args: Any) -> None:
    """The fresh POSTROOM_HOME, set up through the command line as a user would."""
    ports = stack_ports(stack)
    port = ports["MAILSTACK_POP3S_PORT" if args.mode == "pop3s" else "MAILSTACK_POP3_PORT"]
    if args.smtp == "submission":
        smtp = f"submission://{address}@{stack.host}:{ports['MAILSTACK_SUBMISSION_PORT']}"
    else:  # Postfix's port 25 stand-in, as the peer sends (no AUTH, no TLS)
        smtp = f"submission://{address}@{stack.host}:{ports['MAILSTACK_SMTP_PORT']}?tls=none"
    route = ["--context", "Bench", "--category", "Inbound", "--queue", "headline"]
    secret = ["--password-env", "BENCH_PW", "--ca-file", str(stack.ca_file)]
    pop = f"{args.mode}://{address}@{stack.host}:{port}"
    steps = [
        ["route", "add", address, *route, "--acknowledge"],
        ["channel", "add", "box", "--url", pop, *secret, "--interval", "5"],
        ["smtp", "add", "relay", "--url", smtp, *secret, "--default"],
    ]
    env = _env(home, BENCH_PW=password)
    for step in steps:
        out = subprocess.run(
            [str(POSTROOM), *step], env=env, capture_output=True, text=True, check=False
        )
        if out.returncode != 0:
            sys.exit(f"postroom {' '.join(step)} failed:\n{out.stdout}{out.stderr}")


def _env(home: Path, **extra: str) -> dict[str, str]:
    env = {**os.environ, "POSTROOM_HOME": str(home), **extra}
    env.pop("POSTROOM_DATABASE_URL", None)
    return env


# --------------------------------------------------------------------------- watching
def _tree(pid: int) -> list[int]:
    """`pid` and every descendant alive (or not yet reaped) now.

    A child belongs to the thread that started it (`/proc/P/task/T/children`): the parsing
    child a poll thread starts is not among the main thread's, so every thread is read."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        with contextlib.suppress(OSError):
            for task in Path(f"/proc/{p}/task").iterdir():
                with contextlib.suppress(OSError):
                    todo += [int(x) for x in (task / "children").read_text().split()]
    return out


def _cpu_with_reaped(pid: int) -> float:
    """CPU seconds of a process and of its children it has already reaped."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return sum(int(f) for f in fields[11:15]) / os.sysconf("SC_CLK_TCK")


def _role(pid: int, root: int) -> str:
    """Which of Postroom's processes `pid` is: the parent, the web process, a parsing child
    (`python -m postroom.mime.isolated`) or a worker."""
    if pid == root:
        return "parent"
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
        comm = Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return "gone"
    if b"postroom.mime.isolated" in argv:
        return "parsers"
    return "web" if comm.endswith("-web") else "workers"


def _cpu_by_role(root: int) -> dict[str, float]:
    """CPU seconds of every process of the tree (reaped children in their parent's), by role."""
    out: dict[str, float] = {}
    for pid in _tree(root):
        role = _role(pid, root)
        out[role] = out.get(role, 0.0) + _cpu_with_reaped(pid)
    return out


def _hwm_mb(pid: int) -> float:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def _machine_busy() -> float:
    """Busy CPU seconds of the whole machine so far (every core, /proc/stat): Dovecot and
    Postfix share the machine with Postroom, so a busy machine is a ceiling of its own."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:8]]
    return (sum(fields) - fields[3] - fields[4]) / os.sysconf("SC_CLK_TCK")


def _query(home: Path, sql: str) -> list[tuple[Any, ...]]:
    try:
        db = sqlite3.connect(f"file:{home / 'postroom.db'}?mode=ro", uri=True, timeout=0.2)
        try:
            return db.execute(sql).fetchall()
        finally:
            db.close()
    except sqlite3.Error:
        return []


def _progress(home: Path) -> tuple[int, int, int, int]:
    """(messages stored, outbox rows, rows not yet final, rows sent); -1s while busy."""
    rows = _query(
        home,
        "SELECT (SELECT count(*) FROM messages), count(*), "
        f"coalesce(sum(status NOT IN ({', '.join(repr(s) for s in FINAL)})), 0), "
        "coalesce(sum(status = 'sent'), 0) FROM outbox",
    )
    return (
        (int(rows[0][0]), int(rows[0][1]), int(rows[0][2]), int(rows[0][3]))
        if rows
        else (-1, -1, -1, -1)
    )


@dataclass
class Run:
    n: int
    wall: float = 0.0
    t_first: float | None = None
    t_intake: float | None = None
    t_outbox: float | None = None
    t_first_sent: float | None = None
    sent_by_intake: int = 0
    machine: list[float] = field(default_factory=list)
    """Machine busy seconds at launch, T1 and T2."""
    cpu_intake: float = 0.0
    cpu: float = 0.0
    by_role: dict[str, float] = field(default_factory=dict)
    """CPU seconds at T2 of the parent, the workers, the web process and the parsing children."""
    hwm: dict[int, float] = field(default_factory=dict)
    left: int = 0
    exit: int | None = None


def drive(home: Path, stack: Stack, address: str, n: int, workers: int, timeout: float) -> Run:
    """Launch `postroom run`, watch T1 and T2, read CPU at each, then SIGTERM it."""
    run = Run(n)
    log = (home / "run.log").open("wb")
    argv = [str(POSTROOM), "run", "--workers", str(workers), "--tick", "0.2"]
    run.machine.append(_machine_busy())
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=_env(home), stdout=log, stderr=subprocess.STDOUT)
    try:
        while time.perf_counter() - t0 < timeout and proc.poll() is None:
            pids = _tree(proc.pid)
            for pid in pids:
                run.hwm[pid] = max(run.hwm.get(pid, 0.0), _hwm_mb(pid))
            stored, queued, open_, sent = _progress(home)
            now = time.perf_counter() - t0
            if run.t_first is None and stored > 0:
                run.t_first = now
            if run.t_first_sent is None and sent > 0:
                run.t_first_sent = now
            if run.t_intake is None and stored >= n and stack.count(address) == 0:
                run.t_intake, run.sent_by_intake = now, max(sent, 0)
                run.cpu_intake = sum(_cpu_with_reaped(p) for p in pids)
                run.machine.append(_machine_busy())
            # Done when nothing is open and every Ticket has its acknowledgement (or, should
            # some never be queued, 5 s after intake: the counts below then tell).
            settled = queued >= n or (run.t_intake is not None and now - run.t_intake > 5)
            if run.t_intake is not None and queued >= 0 and open_ == 0 and settled:
                run.t_outbox = now
                run.machine.append(_machine_busy())
                run.by_role = _cpu_by_role(proc.pid)
                run.cpu = sum(run.by_role.values())
                break
            time.sleep(0.02)
        run.wall = time.perf_counter() - t0
        if run.t_outbox is None:
            run.cpu = sum(_cpu_with_reaped(p) for p in _tree(proc.pid))
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    run.left, run.exit = stack.count(address), proc.returncode
    return run


# --------------------------------------------------------------------------- checks
def captured(stack: Stack, recipients: set[str], expect: int, wait: float = 15.0) -> Counter[str]:
    """Captured acknowledgements per envelope recipient of this run (Postfix writes the
    capture Maildir asynchronously: wait until `expect` have arrived or `wait` passes).
    Once counted, this run's files are removed: the Maildir is left as it was found (the
    tests read it too, and a Maildir of tens of thousands of files slows them)."""
    maildir = stack.state_dir / "mail" / "capture" / "Maildir"
    marker = re.compile(rb"^X-Mailstack-Envelope-To: <([^>]*)>", re.MULTILINE)
    deadline = time.monotonic() + wait
    seen: dict[Path, list[str]] = {}
    while True:
        for sub in ("new", "cur"):
            for path in (maildir / sub).iterdir():
                if path in seen:
                    continue
                try:
                    head = path.read_bytes().split(b"\n\n", 1)[0]
                except OSError:
                    continue
                found = [m.decode("utf-8", "replace") for m in marker.findall(head)]
                seen[path] = [r for r in found if r in recipients]
        counts: Counter[str] = Counter(r for rs in seen.values() for r in rs)
        if sum(counts.values()) >= expect or time.monotonic() > deadline:
            for path, ours in seen.items():
                if ours:
                    path.unlink(missing_ok=True)
            return counts
        time.sleep(0.2)


def audit(home: Path, stack: Stack, addresses: list[str]) -> dict[str, Any]:
    """The counts and the checks of one run, read once `postroom run` has stopped."""
    db = sqlite3.connect(f"file:{home / 'postroom.db'}?mode=ro", uri=True, timeout=30)
    try:
        return _audit(db.execute, stack, addresses)
    finally:
        db.close()


def _audit(execute: Any, stack: Stack, addresses: list[str]) -> dict[str, Any]:
    n = len(addresses)

    def q(sql: str) -> list[Any]:
        return list(execute(sql).fetchall())

    messages = q("SELECT count(*), count(DISTINCT message_id) FROM messages")[0]
    tickets = q("SELECT count(*) FROM work_items WHERE type = 'ticket'")[0][0]
    outbox = dict(q("SELECT status, count(*) FROM outbox GROUP BY status"))
    per_recipient = Counter(
        r for (rs,) in q("SELECT recipients FROM outbox") for r in json.loads(rs)
    )
    reasons = Counter(
        (r or "")[:100] for (r,) in q("SELECT last_error FROM outbox WHERE status != 'sent'")
    )
    sent_to = {
        r
        for (rs,) in q("SELECT recipients FROM outbox WHERE status = 'sent'")
        for r in json.loads(rs)
    }
    wanted = set(addresses)
    capture = captured(stack, wanted, len(sent_to))
    return {
        "stored": messages[0],
        "distinct_ids": messages[1],
        "tickets": tickets,
        "outbox": outbox,
        "acks_queued_twice": sum(1 for c in per_recipient.values() if c > 1),
        "acks_to_strangers": len(set(per_recipient) - wanted),
        "reasons": dict(reasons.most_common(5)),
        "captured": sum(capture.values()),
        "captured_twice": sum(1 for c in capture.values() if c > 1),
        "sent_not_captured": len(sent_to - set(capture)),
        "captured_intl": sum(1 for r in capture if not r.isascii()),
        "filed_once": messages[0] == messages[1] == tickets == n,
    }


# --------------------------------------------------------------------------- rounds
def ours(stack: Stack, args: Any, tmp: Path, round_: int) -> dict[str, Any]:
    token = secrets.token_hex(3)
    addresses = senders(args.n, token)
    home = tmp / f"home-{round_}"
    home.mkdir()
    with users(stack, "headline", 1) as made:
        address, password = made[0]
        fill(stack, address, [message(i, s, address) for i, s in enumerate(addresses)])
        configure(home, stack, address, password, args)
        run = drive(home, stack, address, args.n, args.workers, args.timeout)
        check = audit(home, stack, addresses)
    done = run.t_outbox if run.t_outbox is not None else run.wall
    return {
        "rate": args.n / done if done else 0.0,
        "run": run,
        "check": check,
        "done": run.t_outbox is not None and run.left == 0,
        "intl": sum(1 for a in addresses if not a.isascii()),
    }


def peer(args: Any, stack: Stack) -> dict[str, Any]:
    env = {**os.environ, "MAILSTACK_DIR": str(stack.state_dir)}
    env.setdefault("PEER_DH_DIR", "/tmp/peer-dh")
    argv = ["bash", str(PEER), str(args.n), "--runs", "1", "--mode", args.mode]
    out = subprocess.run(argv, env=env, capture_output=True, text=True, check=False)
    m = re.search(r"^run 1: ([\d.]+) msg/s\s+wall ([\d.]+)s\s+cpu ([\d.]+)s.*$", out.stdout, re.M)
    if out.returncode != 0 or not m:
        sys.exit(f"the peer failed ({out.returncode}):\n{out.stdout[-1500:]}{out.stderr[-1500:]}")
    return {"rate": float(m[1]), "wall": float(m[2]), "cpu": float(m[3]), "line": m[0]}


def report(res: dict[str, Any], round_: int, workers: int) -> None:
    run: Run = res["run"]
    c = res["check"]
    n = run.n
    first = run.t_first or 0.0
    intake = run.t_intake or run.wall
    tail = (run.t_outbox or run.wall) - intake
    peaks = [v for v in run.hwm.values() if v > 0]
    print(
        f"[{round_}] postroom run --workers {workers}: {res['rate']:7.1f} msg/s "
        f"({n} msgs, {res['intl']} non-ASCII senders; "
        f"{'done' if res['done'] else 'NOT done'} {run.t_outbox or run.wall:.2f} s after launch)\n"
        f"    phases: first message stored {first:.2f} s; intake done (T1) {intake:.2f} s "
        f"= {n / max(intake - first, 1e-9):.0f} msg/s after the first; outbox drained (T2) "
        f"{tail:.2f} s after T1; first acknowledgement accepted {run.t_first_sent or 0:.2f} s, "
        f"{run.sent_by_intake} accepted by T1, the other {n - run.sent_by_intake} after "
        f"({(n - run.sent_by_intake) / max(tail, 1e-9):.0f}/s)\n"
        f"    CPU: {run.cpu:.2f} s = {run.cpu / n * 1000:.2f} ms/msg "
        f"({run.cpu_intake:.2f} s by T1), {len(peaks)} processes; peak RSS {max(peaks, default=0):.0f} MB "
        f"(largest), {sum(peaks):.0f} MB (sum of the peaks)" + _cores(run, intake) + "\n"
        f"    CPU by process: {_roles(run)}" + _ceiling(run) + "\n"
        f"    filed: {c['stored']} stored, {c['distinct_ids']} Message-IDs, {c['tickets']} Tickets "
        f"-> {'every message filed once' if c['filed_once'] else 'NOT filed once each'}; "
        f"{run.left} left on the server\n"
        f"    acknowledgements: outbox {c['outbox']}; queued twice {c['acks_queued_twice']}, "
        f"to others {c['acks_to_strangers']}; captured by Postfix {c['captured']} "
        f"({c['captured_intl']} to non-ASCII addresses), twice {c['captured_twice']}, "
        f"sent but not captured {c['sent_not_captured']}"
        + (f"; reasons {c['reasons']}" if c["reasons"] else ""),
        flush=True,
    )


def _roles(run: Run) -> str:
    """ms per message of each kind of process (the web process mostly starts: its imports)."""
    order = ("parent", "workers", "parsers", "web", "gone")
    return ", ".join(
        f"{role} {run.by_role[role] / run.n * 1000:.2f} ms/msg"
        for role in order
        if role in run.by_role
    )


def _cores(run: Run, intake: float) -> str:
    """The machine's busy cores until T1 and from T1 to T2 (Postroom, Dovecot, Postfix)."""
    if len(run.machine) < 3 or run.t_outbox is None:
        return ""
    m0, m1, m2 = run.machine[:3]
    tail = run.t_outbox - intake
    return (
        f"; machine {(m1 - m0) / max(intake, 1e-9):.2f} cores busy until T1, "
        f"{(m2 - m1) / max(tail, 1e-9):.2f} after"
    )


def _rest(run: Run) -> float | None:
    """CPU seconds per message of everything but Postroom from launch to T2 (Dovecot,
    Postfix and its capture pipe, anything else the machine did meanwhile)."""
    if len(run.machine) < 3 or run.t_outbox is None:
        return None
    rest = (run.machine[2] - run.machine[0] - run.cpu) / run.n
    return rest if rest > 0 else None


def ceiling(run: Run) -> float | None:
    """msg/s the machine's cores would take if Postroom cost nothing."""
    rest = _rest(run)
    return (os.cpu_count() or 1) / rest if rest is not None else None


def _ceiling(run: Run) -> str:
    rest, most = _rest(run), ceiling(run)
    if rest is None or most is None:
        return ""
    return (
        f"\n    the rest of the machine (Dovecot, Postfix and its capture, other work): "
        f"{rest * 1000:.2f} ms of CPU per message: with Postroom costing nothing its "
        f"{os.cpu_count()} cores would take at most {most:.0f} msg/s"
    )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=2000, help="messages in the mailbox")
    ap.add_argument("--workers", type=int, default=2, help="--workers of `postroom run`")
    ap.add_argument("--rounds", type=int, default=1, help="rounds (peer, then ours, in turn)")
    ap.add_argument("--peer", action="store_true", help="run django-helpdesk in each round too")
    ap.add_argument("--mode", choices=("pop3", "pop3s"), default="pop3", help="pop3 = STLS")
    ap.add_argument(
        "--smtp",
        choices=("submission", "smtp"),
        default="submission",
        help="submission: port 587 stand-in, STARTTLS + AUTH (as the peer's --postroom mode);"
        " smtp: port 25 stand-in, no TLS, no AUTH (as the peer sends)",
    )
    ap.add_argument("--timeout", type=float, default=600, help="give up after this many s")
    args = ap.parse_args()
    if os.geteuid() != 0:
        sys.exit("run as root: the benchmark writes the mail stack's Maildirs and users")
    stack = Stack.load()
    rates: list[float] = []
    peers: list[float] = []
    ceilings: list[float] = []
    with tempfile.TemporaryDirectory(prefix="postroom-bench-headline-") as tmpdir:
        for round_ in range(1, args.rounds + 1):
            if args.peer:
                p = peer(args, stack)
                peers.append(p["rate"])
                print(f"[{round_}] django-helpdesk 2.6.1 get_email: {p['line']}", flush=True)
            res = ours(stack, args, Path(tmpdir), round_)
            rates.append(res["rate"])
            most = ceiling(res["run"])
            if most is not None:
                ceilings.append(most)
            report(res, round_, args.workers)
    rate = statistics.median(rates)
    print(f"median of {len(rates)}: postroom run: {rate:7.1f} msg/s", flush=True)
    if peers:
        peer_rate = statistics.median(peers)
        print(
            f"median of {len(peers)}: django-helpdesk: {peer_rate:7.1f} msg/s -> postroom "
            f"{rate / peer_rate:.2f}x the peer (target >= 10x)",
            flush=True,
        )
        if ceilings:
            most = statistics.median(ceilings)
            print(
                f"10x the peer is {10 * peer_rate:.0f} msg/s; this machine's cores take at most "
                f"{most:.0f} msg/s with Postroom costing nothing (median of {len(ceilings)}), "
                f"{most / peer_rate:.1f}x the peer",
                flush=True,
            )


if __name__ == "__main__":
    main()
