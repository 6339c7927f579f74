"""The REST API's throughput against a real `postroom web` process, beside the same run's
in-process ingest rate.

Prints requests per second for
  * GET /api/v1/items?limit=100 over 100 work items (each with its history),
  * POST /api/v1/messages with N generated ~8 KB messages (bench/corpus.py's kind),
and, on a fresh database of the same kind, the rate of the `postroom ingest` path in
process (`App.ingest.ingest`, as bench/ingest.py measures it) over the same N messages.
Target: ingest through HTTP >= 0.7x the in-process rate.

The two ingests take turns, `SLICE` messages at a time (in-process first, then HTTP, then
HTTP first), so both meet the same minutes of a shared machine, whose speed moves by a
factor of two between minutes; the CPU each costs (the server's process and its
parser's child, the client; the in-process ingest's process and child) is printed too.

The client sends one request at a time on one keep-alive connection (``--clients``
threads for more), so each figure is what one sender or one reader gets. The POSTs are
sent twice, each time with messages of their own: by the standard library's
``http.client`` (the first line, and the ratio the target is for) and by httpx (the line
below it, with its ratio): on two cores a single sender's own CPU is on the critical path,
and httpx spends ~1.5 ms more of it per request than ``http.client`` (bench/README.md).

    .venv/bin/python bench/api.py [--n 500] [--gets 300] [--clients 1] [--postgres URL]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Callable
from functools import partial
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).parent))

import httpx

ROUTE = ("support@example.com", "Acme", "Query", "billing")
SLICE = 50
"""Messages ingested one way before the other takes its turn."""


def _cpu(pid: int) -> float:
    """CPU seconds (user + system) of process ``pid`` and its live descendants (the
    parser's children), read from /proc; 0 for a process that is gone."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        total += (int(fields[11]) + int(fields[12])) / tick
        for task in Path(f"/proc/{pid}/task").iterdir():
            for child in (task / "children").read_text().split():
                total += _cpu(int(child))
    except (FileNotFoundError, ProcessLookupError):
        pass
    return total


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _app(home: Path, url: str):  # type: ignore[no-untyped-def]
    os.environ["POSTROOM_HOME"] = str(home)
    os.environ["POSTROOM_DATABASE_URL"] = url
    from postroom.bootstrap import App

    app = App()
    app.routes.add(*ROUTE)
    return app


def _seed_message(i: int) -> bytes:
    return (
        f"From: Seed {i} <seed{i}@client.test>\r\nTo: support@example.com\r\n"
        f"Subject: seeded question {i}\r\nMessage-ID: <seed.{i}@client.test>\r\n"
        "Date: Mon, 02 Nov 2026 09:30:00 +0000\r\n\r\nPlease help.\r\n"
    ).encode()


def _messages(n: int) -> list[bytes]:
    """N generated messages of ~8 KB (text + HTML, every fifth with an attachment)."""
    import random

    from corpus import message

    rng = random.Random(7)
    return [message(i, rng, attach=(i % 5 == 0), size_kb=12) for i in range(n)]


class _Stdlib:
    """The standard library's keep-alive client, as a sender would use it: ``post`` and
    ``get`` answer (status, body)."""

    def __init__(self, base: str) -> None:
        host, port = base.removeprefix("http://").rsplit(":", 1)
        self.connection = http.client.HTTPConnection(host, int(port), timeout=60)

    def post(self, path: str, content: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        self.connection.request("POST", path, body=content, headers=headers)
        answer = self.connection.getresponse()
        return answer.status, answer.read()

    def close(self) -> None:
        self.connection.close()


class _Httpx:
    """httpx's keep-alive client, with `_Stdlib`'s ``post``."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.client = httpx.Client(timeout=60)

    def post(self, path: str, content: bytes, headers: dict[str, str]) -> tuple[int, bytes]:
        answer = self.client.post(f"{self.base}{path}", content=content, headers=headers)
        return answer.status_code, answer.content

    def close(self) -> None:
        self.client.close()


def _timed(clients: int, jobs: list[object], call, make=lambda: httpx.Client(timeout=60)) -> float:  # type: ignore[no-untyped-def]
    """Seconds to run ``call(client, job)`` over ``jobs`` from ``clients`` threads, each
    with a client of its own (``make()``)."""
    lock = threading.Lock()
    pending = list(reversed(jobs))
    failures: list[str] = []

    def worker(client: object) -> None:
        while True:
            with lock:
                if not pending or failures:
                    return
                job = pending.pop()
            failure = call(client, job)
            if failure:
                with lock:
                    failures.append(failure)

    made = [make() for _ in range(clients)]
    threads = [threading.Thread(target=worker, args=(c,)) for c in made]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dt = time.perf_counter() - t0
    for c in made:
        c.close()
    if failures:
        raise SystemExit(f"a request failed: {failures[0]}")
    return dt


def run_web(n: int, gets: int, clients: int, url: str, local_url: str) -> dict[str, float]:
    """A `postroom web` process over a database seeded with 100 work items: GET items,
    then POST the N messages, in turns with the in-process ingest of the same messages
    into a fresh database (``local_url``)."""
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        app = _app(home, url)
        for i in range(100):
            app.ingest.ingest(_seed_message(i))
        app.users.add("bench", "bench@example.org", _admin_role())
        _, token = app.accounts.create_token("bench", "bench")
        items = len(app.items().list(None, None))
        app.engine.dispose()
        port = _free_port()
        env = {**os.environ, "POSTROOM_HOME": str(home), "POSTROOM_DATABASE_URL": url}
        server = subprocess.Popen(
            [sys.executable, "-m", "postroom", "web", "--listen", f"127.0.0.1:{port}"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        base = f"http://127.0.0.1:{port}"
        auth = {"Authorization": f"Bearer {token}"}
        try:
            _wait(base, server)

            def get(client: httpx.Client, _: object) -> str | None:
                r = client.get(f"{base}/api/v1/items?limit=100", headers=auth)
                ok = r.status_code == 200 and len(r.json()) == 100
                return None if ok else f"GET {r.status_code} {r.text[:200]}"

            def post(client: _Stdlib | _Httpx, raw: object) -> str | None:
                assert isinstance(raw, bytes)
                status, body = client.post(
                    "/api/v1/messages",
                    content=raw,
                    headers={**auth, "Content-Type": "message/rfc822"},
                )
                return None if status in (200, 201) else f"POST {status} {body[:200]!r}"

            msgs = _messages(n)
            others = _messages(2 * n)[n:]  # httpx's: as many, of the same kinds
            cpu0 = _cpu(server.pid)
            get_seconds = _timed(clients, [None] * gets, get)
            cpu1 = _cpu(server.pid)
            turns = _Turns(Path(tmp) / "local", local_url, server.pid)
            stdlib, with_httpx = _Posts(server.pid), _Posts(server.pid)
            send_stdlib = partial(stdlib.send, clients, post=post, make=lambda: _Stdlib(base))
            send_httpx = partial(with_httpx.send, clients, post=post, make=lambda: _Httpx(base))
            for k, start in enumerate(range(0, n, SLICE)):
                end = start + SLICE
                ways: list[tuple[Callable[[list[bytes]], None], list[bytes]]] = [
                    (turns.local, msgs[start:end]),
                    (send_stdlib, msgs[start:end]),
                    (send_httpx, others[start:end]),
                ]
                for way, chunk in ways[k % 3 :] + ways[: k % 3]:  # each goes first in turn
                    way(chunk)
            turns.close()
        finally:
            server.terminate()
            server.wait(timeout=30)
    return {
        "items": items,
        "get_rate": gets / get_seconds,
        "get_seconds": get_seconds,
        "get_cpu_ms": 1000 * (cpu1 - cpu0) / gets,
        **stdlib.figures("post", n),
        **with_httpx.figures("httpx", n),
        "local_rate": n / turns.local_seconds,
        "local_cpu_ms": 1000 * turns.local_cpu / n,
        "size_kb": sum(len(m) for m in msgs) / n / 1024,
    }


class _Posts:
    """One client's POST turns: seconds, the server's CPU and the client's own."""

    def __init__(self, server: int) -> None:
        self.server = server
        self.seconds = self.server_cpu = self.client_cpu = 0.0

    def send(self, clients: int, chunk: list[bytes], post, make) -> None:  # type: ignore[no-untyped-def]
        server0, client0 = _cpu(self.server), time.process_time()
        self.seconds += _timed(clients, list(chunk), post, make)
        self.client_cpu += time.process_time() - client0
        self.server_cpu += _cpu(self.server) - server0

    def figures(self, name: str, n: int) -> dict[str, float]:
        return {
            f"{name}_rate": n / self.seconds,
            f"{name}_cpu_ms": 1000 * self.server_cpu / n,
            f"{name}_client_cpu_ms": 1000 * self.client_cpu / n,
        }


class _Turns:
    """The in-process ingest (`postroom ingest`'s path: `App.ingest.ingest`) into a fresh
    database, a slice at a time, with its seconds and its CPU (this process and the
    parser's child; not the server's, a child of this process too: the client and the
    server are idle meanwhile)."""

    def __init__(self, home: Path, url: str, server: int) -> None:
        self.app = _app(home, url)
        self.server = server
        self.local_seconds = self.local_cpu = 0.0

    def local(self, chunk: list[bytes]) -> None:
        cpu0 = _cpu(os.getpid()) - _cpu(self.server)
        t0 = time.perf_counter()
        for raw in chunk:
            self.app.ingest.ingest(raw)
        self.local_seconds += time.perf_counter() - t0
        self.local_cpu += _cpu(os.getpid()) - _cpu(self.server) - cpu0

    def close(self) -> None:
        self.app.engine.dispose()


def _admin_role():  # type: ignore[no-untyped-def]
    from postroom.records.config import Role

    return Role.ADMIN


def _wait(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            err = server.stderr.read().decode() if server.stderr else ""
            raise SystemExit(f"postroom web exited: {err[-2000:]}")
        try:
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise SystemExit("postroom web did not answer /healthz within 60 s")


def _pg_schema_url(base: str) -> tuple[str, str]:
    schema = f"bench_{uuid.uuid4().hex[:8]}"
    from sqlalchemy import create_engine, text

    with create_engine(base).begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    return schema, f"{base}{sep}options={quote(f'-csearch_path={schema}')}"


def _drop_schema(base: str, schema: str) -> None:
    from sqlalchemy import create_engine, text

    with create_engine(base).begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))


def _child(args: argparse.Namespace, url: str, local_url: str) -> dict[str, float]:
    out = subprocess.run(
        [
            sys.executable,
            __file__,
            "--child",
            "--n",
            str(args.n),
            "--gets",
            str(args.gets),
            "--clients",
            str(args.clients),
            "--url",
            url,
            "--local-url",
            local_url,
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def _run(label: str, args: argparse.Namespace, make_url) -> None:  # type: ignore[no-untyped-def]
    url, cleanup = make_url()
    local_url, local_cleanup = make_url()
    try:
        web = _child(args, url, local_url)
    finally:
        cleanup()
        local_cleanup()
    ratio = web["post_rate"] / web["local_rate"]
    print(f"[{label}] {args.clients} client(s), {args.n} messages of ~{web['size_kb']:.1f} KB")
    print(
        f"  GET /api/v1/items ({web['items']:.0f} items)      : {web['get_rate']:8.1f} req/s"
        f"  ({args.gets} requests, httpx; server CPU {web['get_cpu_ms']:.2f} ms each)"
    )
    for name, client in (("post", "http.client"), ("httpx", "httpx")):
        print(
            f"  POST /api/v1/messages ({client:11}): {web[name + '_rate']:8.1f} req/s"
            f"  (server CPU {web[name + '_cpu_ms']:.2f} ms each,"
            f" client {web[name + '_client_cpu_ms']:.2f} ms)"
        )
    print(
        f"  in-process ingest (in turns)       : {web['local_rate']:8.1f} msg/s"
        f"  (CPU {web['local_cpu_ms']:.2f} ms each)"
    )
    print(f"  HTTP / in-process                  : {ratio:8.2f}x  (target >= 0.70)")
    print(f"  HTTP (httpx) / in-process          : {web['httpx_rate'] / web['local_rate']:8.2f}x")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=500)
    ap.add_argument("--gets", type=int, default=300)
    ap.add_argument("--clients", type=int, default=1)
    ap.add_argument("--postgres", default=os.environ.get("POSTROOM_TEST_POSTGRES_URL"))
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--url", default="")
    ap.add_argument("--local-url", default="")
    args = ap.parse_args()
    if args.child:
        result = run_web(args.n, args.gets, args.clients, args.url, args.local_url)
        print(json.dumps(result))
        return

    with tempfile.TemporaryDirectory() as tmp:
        counter = iter(range(100))

        def sqlite():  # type: ignore[no-untyped-def]
            return f"sqlite:///{tmp}/bench{next(counter)}.db", lambda: None

        _run("SQLite", args, sqlite)
    if args.postgres:

        def postgres():  # type: ignore[no-untyped-def]
            schema, url = _pg_schema_url(args.postgres)
            return url, lambda: _drop_schema(args.postgres, schema)

        _run("PostgreSQL", args, postgres)


if __name__ == "__main__":
    main()
