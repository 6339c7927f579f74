"""Polling throughput and memory against the loopback Dovecot (tests/servers/mailstack).

Prints, in one run, each measurement in its own process:
  raw       one process doing poplib RETR + DELE (QUIT at the end) over POP3S of N
            stored ~8 KB messages (`fill`'s default) and parsing each with
            `email.message_from_bytes(raw, policy=policy.default)` (the yardstick);
  one       Postroom's poll (`Scheduler.poll_once`, the code path of `postroom poll`,
            in-process, repeated until the mailbox is empty) of the same N messages
            from one mailbox into Tickets, on SQLite in a fresh POSTROOM_HOME
            (target >= 0.8x raw, aiming at >= 1.0x); with --acknowledge run a second
            time with an acknowledging route (every new Ticket queues an
            acknowledgement in the outbox), both lines side by side (target: with
            >= 0.8x without);
  imap      the same over IMAPS: raw imaplib (UID FETCH BODY.PEEK[] 50 at a time,
            parse, UID STORE \\Deleted + UID EXPUNGE) vs Postroom's poll of an imaps://
            channel, each on its own mailbox of N messages (target >= 0.8x raw);
  many      --boxes mailboxes (8) sharing --many-n messages (4000), drained by
            `postroom run --workers 2` (--workers): from the first stored message
            until every Maildir is empty, then SIGTERM (target >= 1.5x `one`);
  channels  200 channels holding 10 messages each, emptied by `postroom run`
            (target: within one 60 s poll cycle);
  big       peak memory (VmHWM) of a `postroom poll` process for a mailbox holding
            one ~25 MB message (an 18 MB attachment, bench/corpus.py big_message()).

Every mailbox is a fresh user of the running stack (made as tests/support/mailstack.py
does, without a restart) and is removed afterwards. Run as root with the stack up:

    sudo tests/servers/mailstack/start
    .venv/bin/python bench/poll.py [--n 2000] [--quick] [--only raw,one,many,channels,big]
                                   [--acknowledge]
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import grp
import importlib.machinery
import importlib.util
import json
import os
import re
import secrets
import shutil
import signal
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
STACK_TOOLS = ROOT / "tests" / "servers" / "mailstack"
POSTROOM = Path(sys.executable).parent / "postroom"
SCENARIOS = ("raw", "one", "imap", "many", "channels", "big")
sys.path.insert(0, str(Path(__file__).parent))


def _machine_busy() -> tuple[float, float]:
    """Busy and total CPU seconds of the whole machine so far (all cores, /proc/stat)."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(fields[:8]) - idle) / tick, sum(fields[:8]) / tick


def _cores_busy(before: tuple[float, float], after: tuple[float, float], wall: float) -> float:
    """How many cores were busy on average between two `_machine_busy` readings."""
    return (after[0] - before[0]) / wall if wall else 0.0


def _peak_mb() -> float:
    """This process's peak RSS (VmHWM)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return 0.0


# --------------------------------------------------------------------------- mail stack
@dataclass(frozen=True)
class Stack:
    state_dir: Path
    host: str
    domain: str
    pop3s_port: int
    ca_file: Path
    mail_uid: int
    mail_gid: int
    imaps_port: int = 0

    @classmethod
    def load(cls) -> Stack:
        state = Path(os.environ.get("MAILSTACK_DIR") or "/tmp/postroom-mailstack")
        env_file = state / "mailstack.env"
        if not env_file.is_file():
            sys.exit(f"no mail stack: {env_file} is missing (sudo {STACK_TOOLS}/start)")
        env: dict[str, str] = {}
        for line in env_file.read_text().splitlines():
            m = re.match(r"(?:export\s+)?(MAILSTACK_\w+)=(.*)$", line.strip())
            if m:
                env[m[1]] = m[2]
        return cls(
            state_dir=Path(env["MAILSTACK_DIR"]),
            host=env.get("MAILSTACK_HOST", "127.0.0.1"),
            domain=env.get("MAILSTACK_DOMAIN", "example.test"),
            pop3s_port=int(env["MAILSTACK_POP3S_PORT"]),
            ca_file=Path(env["MAILSTACK_CA"]),
            mail_uid=int(env.get("MAILSTACK_MAIL_UID", "8")),
            mail_gid=int(env.get("MAILSTACK_MAIL_GID", "8")),
            imaps_port=int(env.get("MAILSTACK_IMAPS_PORT", "0")),
        )

    def maildir(self, address: str) -> Path:
        return self.state_dir / "mail" / address / "Maildir"

    def new_user(self, prefix: str) -> tuple[str, str]:
        """A fresh mailbox (one passwd-file per user: Dovecot reads it at once)."""
        address = f"{prefix}-t{secrets.token_hex(5)}@{self.domain}"
        password = secrets.token_urlsafe(12)
        home = self.state_dir / "mail" / address
        for sub in ("cur", "new", "tmp"):
            (home / "Maildir" / sub).mkdir(parents=True, exist_ok=True)
        for path in (home, home / "Maildir", *(home / "Maildir").iterdir()):
            os.chown(path, self.mail_uid, self.mail_gid)
        home.chmod(0o700)
        users = self.state_dir / "etc/dovecot/users.d"
        tmp = users / f".{address}.tmp"
        tmp.write_text(f"{address}:{{PLAIN}}{password}::::::\n")
        tmp.chmod(0o640)
        os.chown(tmp, 0, grp.getgrnam("dovecot").gr_gid)
        tmp.replace(users / address)
        return address, password

    def remove_user(self, address: str) -> None:
        (self.state_dir / "etc/dovecot/users.d" / address).unlink(missing_ok=True)
        shutil.rmtree(self.state_dir / "mail" / address, ignore_errors=True)

    def fill(self, address: str, n: int, raw: bytes | None = None) -> None:
        """`fill ADDRESS N` in-process (its own message generator): tmp/ then rename to new/."""
        maildir = self.maildir(address)
        for i in range(n):
            data = raw if raw is not None else _message(address, i)
            name = f"{time.time_ns()}.P{os.getpid()}Q{i}.postroom-bench,S={len(data)}"
            fd = os.open(maildir / "tmp" / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            try:
                os.write(fd, data)
                os.fchown(fd, self.mail_uid, self.mail_gid)
            finally:
                os.close(fd)
            os.rename(maildir / "tmp" / name, maildir / "new" / name)

    def count(self, address: str) -> int:
        maildir = self.maildir(address)
        return sum(len(os.listdir(maildir / sub)) for sub in ("new", "cur"))


@functools.cache
def _message(address: str, i: int) -> bytes:
    """The stored messages: multipart text + HTML, quoted-printable UTF-8, ~8.3 KB (the
    recipe's yardstick mail), or `fill`'s plain text with POSTROOM_BENCH_PLAIN=1."""
    if os.environ.get("POSTROOM_BENCH_PLAIN") == "1":
        return _fill_module().message(address, i, 8)  # type: ignore[no-any-return]
    from corpus import mailbox_message

    return mailbox_message(address, i)


def _fill_module() -> Any:
    """tests/servers/mailstack/fill (a script without .py), for its `message()`."""
    loader = importlib.machinery.SourceFileLoader("mailstack_fill", str(STACK_TOOLS / "fill"))
    spec = importlib.util.spec_from_loader("mailstack_fill", loader)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    loader.exec_module(module)
    return module


@contextlib.contextmanager
def users(stack: Stack, prefix: str, count: int) -> Iterator[list[tuple[str, str]]]:
    made = [stack.new_user(prefix) for _ in range(count)]
    try:
        yield made
    finally:
        for address, _ in made:
            stack.remove_user(address)


# --------------------------------------------------------------------------- children
def child_raw(p: dict[str, Any]) -> dict[str, Any]:
    import email
    import poplib
    import ssl
    from email import policy

    ctx = ssl.create_default_context(cafile=p["ca"])
    t0 = time.perf_counter()
    pop = poplib.POP3_SSL(p["host"], p["port"], context=ctx, timeout=30)
    pop.user(p["address"])
    pop.pass_(p["password"])
    count, _ = pop.stat()
    t_login = time.perf_counter()
    size = 0
    for i in range(1, count + 1):
        _, lines, _ = pop.retr(i)
        raw = b"\r\n".join(lines) + b"\r\n"
        size += len(raw)
        email.message_from_bytes(raw, policy=policy.default)
        pop.dele(i)
    pop.quit()
    dt = time.perf_counter() - t0
    return {
        "n": count,
        "seconds": dt,
        "login_s": t_login - t0,
        "rate": count / dt,
        "avg_kb": size / max(count, 1) / 1024,
        "peak_mb": _peak_mb(),
    }


def child_imapraw(p: dict[str, Any]) -> dict[str, Any]:
    """The IMAP yardstick: imaplib over IMAPS, UID FETCH (BODY.PEEK[]) 50 at a time, each
    parsed as `raw` parses, then UID STORE \\Deleted and UID EXPUNGE of them all."""
    import email
    import imaplib
    import ssl
    from email import policy

    ctx = ssl.create_default_context(cafile=p["ca"])
    t0 = time.perf_counter()
    imap = imaplib.IMAP4_SSL(p["host"], p["imaps_port"], ssl_context=ctx, timeout=30)
    imap.login(p["address"], p["password"])
    imap.select("INBOX")
    t_login = time.perf_counter()
    _, found = imap.uid("SEARCH", "ALL")
    uids = found[0].split()
    size = count = 0
    for start in range(0, len(uids), 50):
        chunk = b",".join(uids[start : start + 50]).decode()
        _, data = imap.uid("FETCH", chunk, "(UID BODY.PEEK[])")
        for item in data:
            if isinstance(item, tuple):
                raw = item[1]
                size += len(raw)
                count += 1
                email.message_from_bytes(raw, policy=policy.default)
    if uids:
        every = f"{uids[0].decode()}:{uids[-1].decode()}"
        imap.uid("STORE", every, "+FLAGS.SILENT", "(\\Deleted)")
        imap.uid("EXPUNGE", every)
    imap.logout()
    dt = time.perf_counter() - t0
    return {
        "n": count,
        "seconds": dt,
        "login_s": t_login - t0,
        "rate": count / dt,
        "avg_kb": size / max(count, 1) / 1024,
        "peak_mb": _peak_mb(),
    }


def _app(home: str) -> Any:
    os.environ["POSTROOM_HOME"] = home
    os.environ.pop("POSTROOM_DATABASE_URL", None)
    from postroom.bootstrap import App

    return App()


def child_setup(p: dict[str, Any]) -> dict[str, Any]:
    """A fresh POSTROOM_HOME with one route (-> Tickets) and one enabled channel per mailbox,
    stored as `postroom route add` and `postroom channel add` store them (the connection
    check of `channel add` is left out: 200 checks would only slow the set-up). With
    ``acknowledge`` the routes acknowledge: each new Ticket queues an acknowledgement."""
    from postroom.clock import utcnow
    from postroom.credentials import Secret
    from postroom.domain.routes import Route

    app = _app(p["home"])
    now = utcnow()
    with app.storage.writing() as uow:
        for i, (address, password) in enumerate(p["users"]):
            route = Route(address, "Bench", "Inbound", f"queue{i % 4}", p.get("acknowledge", False))
            uow.config.add_route(route, now)
            uow.channels.add(
                now=now,
                name=f"box{i:03d}",
                url=(
                    f"imaps://{address}@{p['host']}:{p['imaps_port']}"
                    if p.get("imap")
                    else f"pop3s://{address}@{p['host']}:{p['port']}"
                ),
                address=address,
                password_enc=app.secrets.seal(Secret(password)),
                ca_file=p["ca"],
                mechanism="auto",
                interval_s=60,
                max_failures=10,
                timeout_s=30,
                enabled=True,
            )
    app.engine.dispose()
    return {"channels": len(p["users"])}


def child_one(p: dict[str, Any]) -> dict[str, Any]:
    """`postroom poll`'s code path in-process, repeated until nothing is left."""
    app = _app(p["home"])

    scheduler = app.scheduler(8)
    app.poller  # noqa: B018 - built before the clock starts, as the CLI does
    profiler = None
    if p.get("profile"):
        import cProfile

        profiler = cProfile.Profile()
        profiler.enable()
    totals: dict[str, int] = {}
    rounds = 0
    errors: list[str] = []
    machine0, cpu0 = _machine_busy(), time.process_time()
    t0 = time.perf_counter()
    while True:
        rounds += 1
        if profiler is None:
            reports = scheduler.poll_once()
        else:  # cProfile sees only its own thread: poll in this one
            with app.storage.reading() as uow:
                targets = [c for c in uow.channels.all() if c.enabled]
            reports = [app.poller.poll(c) for c in targets]
        for r in reports:
            for key in ("fetched", "handled", "quarantined", "duplicates", "deleted_known"):
                totals[key] = totals.get(key, 0) + getattr(r, key)
            errors += r.errors
        if not any(r.remaining for r in reports) or errors or rounds > 20:
            break
    dt = time.perf_counter() - t0
    cpu, machine = time.process_time() - cpu0, _machine_busy()
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(p["profile"])
    app.engine.dispose()
    n = totals.get("fetched", 0)
    return {
        "n": n,
        "seconds": dt,
        "rate": n / dt if dt else 0.0,
        "rounds": rounds,
        "cpu_s": cpu,
        "cores": _cores_busy(machine0, machine, dt),
        "totals": totals,
        "errors": errors[:3],
        "peak_mb": _peak_mb(),
    }


def child_cli(p: dict[str, Any]) -> dict[str, Any]:
    """One `postroom poll` process (the CLI entry point), its wall time and VmHWM."""
    os.environ["POSTROOM_HOME"] = p["home"]
    t0 = time.perf_counter()
    from postroom.cli.app import main

    code: int | str | None = 0
    stdout = sys.stdout
    sys.stdout = sys.stderr  # keep the JSON line the only thing on stdout
    try:
        main(["poll"])
    except SystemExit as exc:
        code = exc.code
    finally:
        sys.stdout = stdout
    return {"seconds": time.perf_counter() - t0, "exit": code, "peak_mb": _peak_mb()}


CHILDREN = {
    "raw": child_raw,
    "imapraw": child_imapraw,
    "setup": child_setup,
    "one": child_one,
    "cli": child_cli,
}


def _child(kind: str, params: dict[str, Any]) -> dict[str, Any]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--params", json.dumps(params)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0:
        sys.exit(f"{kind} failed ({out.returncode}):\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _db_counts(home: Path) -> dict[str, int]:
    db = sqlite3.connect(f"file:{home / 'postroom.db'}?mode=ro", uri=True, timeout=30)
    try:
        counts = dict(db.execute("SELECT status, count(*) FROM messages GROUP BY status"))
        counts["tickets"] = db.execute(
            "SELECT count(*) FROM work_items WHERE type = 'ticket'"
        ).fetchone()[0]
        counts["outbox"] = db.execute("SELECT count(*) FROM outbox").fetchone()[0]
        return counts
    finally:
        db.close()


def _stored(home: Path) -> int:
    try:
        db = sqlite3.connect(f"file:{home / 'postroom.db'}?mode=ro", uri=True, timeout=0.05)
        try:
            return int(db.execute("SELECT count(*) FROM messages").fetchone()[0])
        finally:
            db.close()
    except sqlite3.Error:
        return 0


def _cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children_of(pid: int) -> list[int]:
    try:
        return [int(x) for x in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        return []


def drain_with_run(
    stack: Stack,
    home: Path,
    addresses: list[str],
    workers: int,
    max_connections: int,
    timeout: float,
) -> dict[str, Any]:
    """Start `postroom run`, wait until every mailbox is empty, SIGTERM it."""
    total = sum(stack.count(a) for a in addresses)
    env = {**os.environ, "POSTROOM_HOME": str(home)}
    env.pop("POSTROOM_DATABASE_URL", None)
    log = (home / "run.log").open("wb")
    argv = [str(POSTROOM), "run", "--workers", str(workers)]
    argv += ["--max-connections", str(max_connections), "--tick", "0.2"]
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)
    t_first: float | None = None
    machine_first = _machine_busy()
    left = total
    cpu: dict[int, float] = {}
    cpu_first: dict[int, float] = {}
    try:
        while time.perf_counter() - t0 < timeout:
            for pid in (proc.pid, *_children_of(proc.pid)):
                cpu[pid] = max(cpu.get(pid, 0.0), _cpu_seconds(pid))
            stored = _stored(home)
            if t_first is None and stored > 0:
                t_first, machine_first = time.perf_counter(), _machine_busy()
                cpu_first = {pid: _cpu_seconds(pid) for pid in cpu}
            # Listing the Maildirs costs ~5 ms of CPU for 8 x 500 files: only once every
            # message is stored, to see the last QUITs empty them.
            if stored >= total:
                left = sum(stack.count(a) for a in addresses)
                if left == 0:
                    break
            if proc.poll() is not None:
                break
            time.sleep(0.05 if stored < total else 0.01)
        t_end, machine_end = time.perf_counter(), _machine_busy()
        left = sum(stack.count(a) for a in addresses)
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=40)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()
    wall = t_end - t0
    busy = t_end - (t_first or t0)
    moved = total - left
    return {
        "n": moved,
        "total": total,
        "left": left,
        "wall_s": wall,
        "startup_s": (t_first or t_end) - t0,
        "busy_s": busy,
        "rate_wall": moved / wall if wall else 0.0,
        "rate": moved / busy if busy else 0.0,
        "cpu": sorted(cpu.values(), reverse=True),
        "cpu_after_first": sum(cpu.values()) - sum(cpu_first.values()),
        "cores": _cores_busy(machine_first, machine_end, busy),
        "db": _db_counts(home),
        "exit": proc.returncode,
    }


# --------------------------------------------------------------------------- scenarios
def _stack_params(stack: Stack) -> dict[str, Any]:
    return {
        "host": stack.host,
        "port": stack.pop3s_port,
        "imaps_port": stack.imaps_port,
        "ca": str(stack.ca_file),
    }


def scenario_imap(stack: Stack, n: int, tmp: Path, round_: int = 0) -> dict[str, dict[str, Any]]:
    """raw imaplib and Postroom's poll over IMAPS, each on its own mailbox of n messages."""
    with users(stack, "benchimapraw", 1) as made:
        address, password = made[0]
        stack.fill(address, n)
        raw = _child("imapraw", {**_stack_params(stack), "address": address, "password": password})
        raw["left"] = stack.count(address)
    home = tmp / f"imap-{round_}"
    with users(stack, "benchimap", 1) as made:
        stack.fill(made[0][0], n)
        _child("setup", {**_stack_params(stack), "home": str(home), "users": made, "imap": True})
        one = _child("one", {"home": str(home)})
        one["left"] = stack.count(made[0][0])
    one["db"] = _db_counts(home)
    return {"raw": raw, "one": one}


def scenario_raw(stack: Stack, n: int) -> dict[str, Any]:
    with users(stack, "benchraw", 1) as made:
        address, password = made[0]
        stack.fill(address, n)
        res = _child("raw", {**_stack_params(stack), "address": address, "password": password})
        res["left"] = stack.count(address)
    return res


def scenario_one(
    stack: Stack,
    n: int,
    tmp: Path,
    profile: str | None,
    round_: int = 0,
    acknowledge: bool = False,
) -> dict[str, Any]:
    home = tmp / f"one-{round_}{'-ack' if acknowledge else ''}"
    with users(stack, "benchone", 1) as made:
        stack.fill(made[0][0], n)
        setup = {**_stack_params(stack), "home": str(home), "users": made}
        _child("setup", {**setup, "acknowledge": acknowledge})
        params: dict[str, Any] = {"home": str(home)}
        if profile:
            params["profile"] = profile
        res = _child("one", params)
        res["left"] = stack.count(made[0][0])
    res["db"] = _db_counts(home)
    return res


def scenario_many(
    stack: Stack,
    n: int,
    boxes: int,
    tmp: Path,
    max_connections: int,
    round_: int = 0,
    workers: int = 2,
) -> dict[str, Any]:
    home = tmp / f"many-{max_connections}-{round_}"
    with users(stack, "benchmany", boxes) as made:
        for address, _ in made:
            stack.fill(address, n // boxes)
        _child("setup", {**_stack_params(stack), "home": str(home), "users": made})
        return drain_with_run(stack, home, [a for a, _ in made], workers, max_connections, 300)


def scenario_channels(stack: Stack, count: int, per: int, tmp: Path) -> dict[str, Any]:
    home = tmp / "channels"
    with users(stack, "benchch", count) as made:
        for address, _ in made:
            stack.fill(address, per)
        _child("setup", {**_stack_params(stack), "home": str(home), "users": made})
        workers = max(1, os.cpu_count() or 1)
        return drain_with_run(stack, home, [a for a, _ in made], workers, 8, 180)


def scenario_big(stack: Stack, tmp: Path) -> dict[str, Any]:
    from corpus import big_message

    home = tmp / "big"
    raw = big_message()
    with users(stack, "benchbig", 1) as made:
        stack.fill(made[0][0], 1, raw=raw)
        _child("setup", {**_stack_params(stack), "home": str(home), "users": made})
        res = _child("cli", {"home": str(home)})
        res["left"] = stack.count(made[0][0])
    res["size_mb"] = len(raw) / 1e6
    res["db"] = _db_counts(home)
    return res


def _cores(res: dict[str, Any]) -> str:
    cpu = [c for c in res["cpu"] if c >= 0.05] or [0.0]
    return f"CPU {' + '.join(f'{c:.1f}' for c in cpu)} s over {res['wall_s']:.1f} s"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=2000, help="messages for raw, one and many")
    ap.add_argument("--boxes", type=int, default=8, help="mailboxes for many")
    ap.add_argument(
        "--many-n", type=int, default=4000, help="messages for many, spread over --boxes"
    )
    ap.add_argument(
        "--rounds",
        type=int,
        default=3,
        help="rounds of one and many, taken in turn; the summary gives their medians",
    )
    ap.add_argument("--channels", type=int, default=200, help="channels for channels")
    ap.add_argument("--per-channel", type=int, default=10)
    ap.add_argument(
        "--max-connections",
        default="8,2",
        help="--max-connections of `postroom run` in many (comma-separated: one run each)",
    )
    ap.add_argument("--workers", type=int, default=2, help="--workers of `postroom run` in many")
    ap.add_argument("--quick", action="store_true", help="smoke run: 200 msgs, 20 channels")
    ap.add_argument("--only", default=",".join(SCENARIOS), help=",".join(SCENARIOS))
    ap.add_argument(
        "--profile",
        help="write a cProfile of `one` to this file (of its acknowledging run to FILE.ack)",
    )
    ap.add_argument(
        "--acknowledge",
        action="store_true",
        help="run `one` also with an acknowledging route (an acknowledgement per Ticket)",
    )
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--params", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        print(json.dumps(CHILDREN[args.child](json.loads(args.params))))
        return
    if args.quick:
        args.n, args.channels = min(args.n, 200), min(args.channels, 20)
        args.many_n, args.rounds = min(args.many_n, 400), 1
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    unknown = only - set(SCENARIOS)
    if unknown:
        ap.error(f"unknown scenario(s): {', '.join(sorted(unknown))}")
    if os.geteuid() != 0:
        sys.exit("run as root: the benchmark writes the mail stack's Maildirs and users")
    stack = Stack.load()
    mcs = [int(x) for x in args.max_connections.split(",")]
    raw = None
    with tempfile.TemporaryDirectory(prefix="postroom-bench-poll-") as tmpdir:
        tmp = Path(tmpdir)
        if "raw" in only:
            raw = scenario_raw(stack, args.n)
            print(
                f"raw poplib RETR+DELE+parse, POP3S : {raw['rate']:7.1f} msg/s  "
                f"({raw['n']} x {raw['avg_kb']:.1f} KB in {raw['seconds']:.2f} s, "
                f"login {raw['login_s'] * 1000:.0f} ms; peak {raw['peak_mb']:.0f} MB)",
                flush=True,
            )
        ones: list[float] = []
        acks: list[float] = []
        manys: dict[int, list[float]] = {mc: [] for mc in mcs}
        for round_ in range(args.rounds if only & {"one", "many"} else 0):
            one = None
            if "one" in only:
                one = scenario_one(stack, args.n, tmp, args.profile, round_)
                ones.append(one["rate"])
                ratio = f" = {one['rate'] / raw['rate']:.2f}x raw" if raw else ""
                print(
                    f"[{round_ + 1}] postroom poll, 1 mailbox, SQLite  : {one['rate']:7.1f} "
                    f"msg/s{ratio}  (target >= 0.8x, aim 1.0x; {one['n']} msgs in "
                    f"{one['seconds']:.2f} s, {one['rounds']} poll round(s), Postroom CPU "
                    f"{one['cpu_s']:.2f} s, machine {one['cores']:.2f} cores busy, peak "
                    f"{one['peak_mb']:.0f} MB, {one['left']} left; db {one['db']}"
                    + (f"; errors {one['errors']}" if one["errors"] else "")
                    + ")",
                    flush=True,
                )
            if one is not None and args.acknowledge:
                ack_profile = f"{args.profile}.ack" if args.profile else None
                ack = scenario_one(stack, args.n, tmp, ack_profile, round_, acknowledge=True)
                acks.append(ack["rate"])
                print(
                    f"[{round_ + 1}] postroom poll, acknowledging   : {ack['rate']:7.1f} msg/s"
                    f" = {ack['rate'] / one['rate']:.2f}x without  (target >= 0.8x; {ack['n']}"
                    f" msgs in {ack['seconds']:.2f} s, Postroom CPU {ack['cpu_s']:.2f} s, "
                    f"{ack['left']} left; db {ack['db']}"
                    + (f"; errors {ack['errors']}" if ack["errors"] else "")
                    + ")",
                    flush=True,
                )
            for mc in mcs if "many" in only else []:
                many = scenario_many(stack, args.many_n, args.boxes, tmp, mc, round_, args.workers)
                manys[mc].append(many["rate"])
                ratio = f" = {many['rate'] / one['rate']:.2f}x one" if one else ""
                print(
                    f"[{round_ + 1}] postroom run --workers {args.workers} --max-connections {mc}, "
                    f"{args.boxes} x {args.many_n // args.boxes}: {many['rate']:7.1f} "
                    f"msg/s{ratio}  (target >= 1.5x; {many['n']}/{many['total']} msgs emptied "
                    f"{many['busy_s']:.2f} s after the first was stored, "
                    f"{many['wall_s']:.2f} s after launch = {many['rate_wall']:.1f} msg/s; "
                    f"{_cores(many)}, {many['cpu_after_first']:.1f} s of it after the first, "
                    f"machine {many['cores']:.2f} cores busy after the first; "
                    f"db {many['db']})",
                    flush=True,
                )
        if ones:
            one_rate = statistics.median(ones)
            ratio = f" = {one_rate / raw['rate']:.2f}x raw" if raw else ""
            print(
                f"median of {len(ones)}: postroom poll, 1 mailbox: {one_rate:7.1f} msg/s{ratio}",
                flush=True,
            )
        if acks:
            ack_rate = statistics.median(acks)
            print(
                f"median of {len(acks)}: postroom poll, acknowledging: {ack_rate:7.1f} msg/s = "
                f"{ack_rate / statistics.median(ones):.2f}x without  (target >= 0.8x)",
                flush=True,
            )
        for mc, rates in manys.items():
            if rates:
                rate = statistics.median(rates)
                ratio = f" = {rate / statistics.median(ones):.2f}x one" if ones else ""
                print(
                    f"median of {len(rates)}: postroom run --workers {args.workers} "
                    f"--max-connections {mc}, "
                    f"{args.boxes} mailboxes: {rate:7.1f} msg/s{ratio}  (target >= 1.5x)",
                    flush=True,
                )
        imaps: list[float] = []
        for round_ in range(args.rounds if "imap" in only else 0):
            got = scenario_imap(stack, args.n, tmp, round_)
            raw_i, one_i = got["raw"], got["one"]
            imaps.append(one_i["rate"] / raw_i["rate"])
            print(
                f"[{round_ + 1}] IMAPS: raw imaplib UID FETCH+parse+STORE/EXPUNGE "
                f"{raw_i['rate']:7.1f} msg/s ({raw_i['n']} msgs, {raw_i['left']} left); "
                f"postroom poll {one_i['rate']:7.1f} msg/s = {imaps[-1]:.2f}x raw  "
                f"(target >= 0.8x; {one_i['n']} msgs in {one_i['seconds']:.2f} s, "
                f"{one_i['rounds']} round(s), {one_i['left']} left; db {one_i['db']}"
                + (f"; errors {one_i['errors']}" if one_i["errors"] else "")
                + ")",
                flush=True,
            )
        if imaps:
            print(
                f"median of {len(imaps)}: postroom poll over IMAPS = "
                f"{statistics.median(imaps):.2f}x raw imaplib  (target >= 0.8x)",
                flush=True,
            )
        if "channels" in only:
            ch = scenario_channels(stack, args.channels, args.per_channel, tmp)
            verdict = "within" if ch["left"] == 0 and ch["wall_s"] <= 60 else "NOT within"
            print(
                f"postroom run, {args.channels} channels x {args.per_channel}: all empty "
                f"{ch['wall_s']:.1f} s after launch ({ch['busy_s']:.1f} s after the first "
                f"message was stored) -> {verdict} one 60 s cycle  ({ch['n']}/{ch['total']} "
                f"msgs, {ch['rate']:.1f} msg/s; {_cores(ch)}; db {ch['db']})",
                flush=True,
            )
        if "big" in only:
            big = scenario_big(stack, tmp)
            print(
                f"postroom poll, one {big['size_mb']:.1f} MB message (18 MB attachment): "
                f"peak RSS (VmHWM) {big['peak_mb']:.0f} MB, {big['seconds']:.2f} s incl. "
                f"start-up, exit {big['exit']}, {big['left']} left; db {big['db']}",
                flush=True,
            )


if __name__ == "__main__":
    main()
