"""Ingest throughput and memory: Postroom's `ingest` path against stdlib parsing alone.

Prints, for N generated ~8 KB messages (text + HTML, every fifth with an
attachment), messages per second for
  * `email.message_from_bytes(raw, policy=policy.default)` alone (the yardstick),
  * Postroom's ingest path (store blob + parse + match + route + apply + commit)
    on SQLite and on PostgreSQL (a fresh schema each run),
and the ratio to the yardstick (target: >= 0.6 on SQLite); the same N messages
stored by one `postroom ingest --maildir DIR` process (the batch mode, start-up
included) on SQLite; the start-up of a one-message `postroom ingest` (bench/startup.py,
target <= 0.25 s); then the peak RSS of a fresh process that ingests one ~25 MB
message (an 18 MB attachment), target < 200 MB. Each measurement runs in its own
process.

    .venv/bin/python bench/ingest.py [--n 2000] [--postgres URL] [--startup-n 15]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import quote

sys.path.insert(0, str(Path(__file__).parent))

DEFAULT_PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def _peak_mb() -> float:
    """This process's peak RSS (VmHWM): ru_maxrss would carry over the parent's peak."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def run_parse(n: int) -> dict[str, float]:
    import email
    from email import policy

    from corpus import corpus

    msgs = corpus(n)
    t0 = time.perf_counter()
    for raw in msgs:
        email.message_from_bytes(raw, policy=policy.default)
    dt = time.perf_counter() - t0
    return {"rate": n / dt, "seconds": dt, "peak_mb": _peak_mb()}


def _service(home: Path, url: str):  # type: ignore[no-untyped-def]
    os.environ["POSTROOM_HOME"] = str(home)
    os.environ["POSTROOM_DATABASE_URL"] = url
    from postroom.bootstrap import App
    from postroom.domain.routes import Route
    from postroom.storage.config import ConfigRepository

    app = App()
    with app.engine.begin() as conn:
        ConfigRepository(conn).add_route(
            Route("support@example.com", "Acme", "Query", "billing"), _now()
        )
    return app


def _now():  # type: ignore[no-untyped-def]
    from postroom.clock import utcnow

    return utcnow()


def run_ingest(n: int, url: str) -> dict[str, float]:
    from corpus import corpus

    msgs = corpus(n)
    with tempfile.TemporaryDirectory() as home:
        app = _service(Path(home), url)
        service = app.ingest
        t0 = time.perf_counter()
        outcomes: dict[str, int] = {}
        for raw in msgs:
            result = service.ingest(raw)
            outcomes[result.outcome] = outcomes.get(result.outcome, 0) + 1
        dt = time.perf_counter() - t0
        app.engine.dispose()
    return {"rate": n / dt, "seconds": dt, "peak_mb": _peak_mb(), "outcomes": outcomes}  # type: ignore[dict-item]


def run_cli_batch(n: int, url: str) -> dict[str, float]:
    """`postroom ingest --maildir DIR` over N messages in a process of its own, timed from
    its launch to its exit (the route made here first, as in `run_ingest`)."""
    from corpus import corpus
    from startup import cached_env

    with tempfile.TemporaryDirectory() as tmp:
        env = {**cached_env(tmp), "POSTROOM_DATABASE_URL": url}
        app = _service(Path(env["POSTROOM_HOME"]), url)
        app.engine.dispose()
        new = Path(tmp) / "Maildir" / "new"
        new.mkdir(parents=True)
        for i, raw in enumerate(corpus(n)):
            (new / f"{i:06d}.bench:2,").write_bytes(raw)
        cmd = [sys.executable, "-m", "postroom"]
        subprocess.run([*cmd, "--help"], env=env, check=True, stdout=subprocess.DEVNULL)
        t0 = time.perf_counter()
        out = subprocess.run(
            [*cmd, "ingest", "--maildir", str(new.parent)],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        )
        dt = time.perf_counter() - t0
        left = len(list(new.iterdir()))
    return {"rate": n / dt, "seconds": dt, "left": left, "summary": out.stdout.strip()}  # type: ignore[dict-item]


def run_startup(n: int) -> dict[str, float]:
    from startup import measure

    return measure(n)


def run_big(url: str, path: str) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as home:
        app = _service(Path(home), url)
        raw = Path(path).read_bytes()
        base = _peak_mb()
        t0 = time.perf_counter()
        result = app.ingest.ingest(raw)
        dt = time.perf_counter() - t0
    return {
        "size_mb": len(raw) / 1e6,
        "seconds": dt,
        "peak_mb": _peak_mb(),
        "baseline_mb": base,
        "outcome": result.outcome,  # type: ignore[dict-item]
    }


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


def _child(kind: str, n: int, url: str, path: str = "") -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", kind, "--n", str(n), "--url", url, "--file", path],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--postgres", default=os.environ.get("POSTROOM_TEST_POSTGRES_URL", DEFAULT_PG))
    ap.add_argument("--child")
    ap.add_argument("--url", default="")
    ap.add_argument("--file", default="")
    ap.add_argument("--startup-n", type=int, default=15)
    args = ap.parse_args()
    if args.child:
        fn = {
            "parse": lambda: run_parse(args.n),
            "ingest": lambda: run_ingest(args.n, args.url),
            "big": lambda: run_big(args.url, args.file),
            "cli": lambda: run_cli_batch(args.n, args.url),
            "startup": lambda: run_startup(args.n),
        }[args.child]
        print(json.dumps(fn()))
        return

    with tempfile.TemporaryDirectory() as tmp:
        sqlite_url = f"sqlite:///{tmp}/bench.db"
        parse = _child("parse", args.n, "")
        print(
            f"stdlib parse (policy.default) : {parse['rate']:8.1f} msg/s  ({args.n} msgs, {parse['seconds']:.2f} s)"
        )
        sq = _child("ingest", args.n, sqlite_url)
        print(
            f"postroom ingest, SQLite       : {sq['rate']:8.1f} msg/s  = {sq['rate'] / parse['rate']:.2f}x parse  (target >= 0.60x)  peak {sq['peak_mb']:.0f} MB  {sq['outcomes']}"
        )
        cli = _child("cli", args.n, f"sqlite:///{tmp}/cli.db")
        print(
            f"postroom ingest --maildir     : {cli['rate']:8.1f} msg/s  = {cli['rate'] / sq['rate']:.2f}x in-process  ({cli['seconds']:.2f} s, one process, start-up included; {cli['left']} files left)  {cli['summary']}"
        )
        up = _child("startup", args.startup_n, "")
        print(
            f"postroom ingest, one message  : {up['wall']:8.3f} s wall per process (median of {args.startup_n}; target <= 0.25 s), CPU {up['cpu']:.3f} s, imports {up['imports']:.3f} s, python -c pass {up['bare']:.3f} s"
        )
        schema, pg_url = _pg_schema_url(args.postgres)
        try:
            pg = _child("ingest", args.n, pg_url)
        finally:
            _drop_schema(args.postgres, schema)
        print(
            f"postroom ingest, PostgreSQL   : {pg['rate']:8.1f} msg/s  = {pg['rate'] / parse['rate']:.2f}x parse  peak {pg['peak_mb']:.0f} MB  {pg['outcomes']}"
        )
        from corpus import big_message

        big_path = Path(tmp) / "big.eml"
        big_path.write_bytes(big_message())
        big = _child("big", 1, f"sqlite:///{tmp}/big.db", str(big_path))
        print(
            f"one {big['size_mb']:.1f} MB message (18 MB attachment): {big['seconds']:.2f} s, peak RSS {big['peak_mb']:.0f} MB (process baseline {big['baseline_mb']:.0f} MB; target < 200 MB), {big['outcome']}"
        )


if __name__ == "__main__":
    main()
