"""Start-up of `postroom ingest` as an MTA pipe runs it: one process per message.

Runs `postroom ingest FILE` N times, each a small message, into one fresh POSTROOM_HOME
(made, and its schema created, by a first run that is not counted), and prints the median
wall time per process next to `python -c pass` (the interpreter's own start) and the
import time of the command (`python -X importtime`, the top-level imports summed), with
the packages that take the most of it (each one's modules' own times).
Target (issue 12): <= 0.25 s wall for a one-message ingest. The CPU seconds are printed
too: on a machine busy with other work they move less than the wall time.

Then the same for ``postroom ingest --url URL --token-file FILE`` (cli/mailgate.py: the
message handed to a running service over its REST API): this script starts `postroom web`
on a free port of 127.0.0.1 over the same data folder, with an agent's token, and times N
such processes after one that warms the service up. Its CPU is the MTA process's alone
(the service's own work is not in it; bench/api.py measures that side).

    .venv/bin/python bench/startup.py [--n 15]
"""

from __future__ import annotations

import argparse
import http.client
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))

TARGET_SECONDS = 0.25


def _small(i: int) -> bytes:
    return (
        f"From: Carol <carol{i}@customer.test>\r\nTo: support@example.com\r\n"
        f"Subject: start-up {i}\r\nMessage-ID: <startup.{i}.{time.time_ns()}@customer.test>\r\n"
        "Date: Mon, 02 Nov 2026 09:30:00 +0000\r\n\r\nHello, please help.\r\n"
    ).encode()


def _wall(argv: list[str], env: dict[str, str]) -> float:
    return _timed(argv, env)[0]


def _timed(argv: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds (user + system) of one process: on a busy machine the CPU
    figure moves less than the wall one."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    subprocess.run(argv, env=env, check=True, stdout=subprocess.DEVNULL)
    wall = time.perf_counter() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


def _import_seconds(argv: list[str], env: dict[str, str]) -> dict[str, float]:
    """The top-level imports' cumulative times (microseconds in `-X importtime`'s lines),
    as ``total``, and each top-level package's own times (``import:NAME``)."""
    out = subprocess.run(
        [sys.executable, "-X", "importtime", *argv[1:]],
        env=env,
        check=True,
        capture_output=True,
        text=True,
    )
    total = 0
    own: dict[str, int] = {}
    for line in out.stderr.splitlines():
        if line.startswith("import time:") and "|" in line:
            mine, cumulative, name = line.split("|")
            if not cumulative.strip().isdigit():
                continue
            if not name.startswith("  "):
                total += int(cumulative)
            package = name.strip().split(".")[0]
            own[package] = own.get(package, 0) + int(mine.removeprefix("import time:"))
    return {"total": total / 1e6, **{f"import:{k}": v / 1e6 for k, v in own.items()}}


def cached_env(tmp: str) -> dict[str, str]:
    """The environment of a `postroom` process with its bytecode cached as an installed
    package has it (in a folder of the run's own), whatever PYTHONDONTWRITEBYTECODE says."""
    env = {**os.environ, "POSTROOM_HOME": f"{tmp}/home", "PYTHONPYCACHEPREFIX": f"{tmp}/pyc"}
    env.pop("POSTROOM_DATABASE_URL", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def measure(n: int) -> dict[str, float]:
    """Median wall seconds of N one-message `postroom ingest` processes and of
    `python -c pass`, and the import seconds of one such process."""
    with tempfile.TemporaryDirectory() as tmp:
        env = cached_env(tmp)
        files = []
        for i in range(n + 2):
            path = Path(tmp) / f"{i}.eml"
            path.write_bytes(_small(i))
            files.append(str(path))
        cmd = [sys.executable, "-m", "postroom", "ingest"]
        _wall([*cmd, files[0]], env)  # makes the data folder, the schema and the bytecode
        runs = [_timed([*cmd, f], env) for f in files[1 : n + 1]]
        bare = [_wall([sys.executable, "-c", "pass"], env) for _ in range(n)]
        imports = _import_seconds([*cmd, files[-1]], env)
    return {
        "wall": statistics.median(w for w, _ in runs),
        "cpu": statistics.median(c for _, c in runs),
        "bare": statistics.median(bare),
        "imports": imports.pop("total"),
        **imports,
    }


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextmanager
def serving(env: dict[str, str], tmp: str) -> Iterator[tuple[str, str]]:
    """`postroom web` over ``env``'s data folder on a free port: its URL and the file of an
    agent's API token."""
    cmd = [sys.executable, "-m", "postroom"]
    subprocess.run(
        [*cmd, "user", "add", "bench-mta", "--role", "agent"],
        env=env,
        check=True,
        capture_output=True,
    )
    made = subprocess.run(
        [*cmd, "token", "create", "bench-mta"], env=env, check=True, capture_output=True, text=True
    )
    token_file = Path(tmp) / "mta.token"
    token_file.write_text(made.stdout.splitlines()[0].strip() + "\n")
    port = _free_port()
    web = subprocess.Popen(
        [*cmd, "web", "--listen", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            if web.poll() is not None:
                raise SystemExit("postroom web ended at start")
            try:
                connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
                connection.request("GET", "/healthz")
                if connection.getresponse().status == 200:
                    break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit("postroom web never answered") from None
                time.sleep(0.05)
        yield f"http://127.0.0.1:{port}", str(token_file)
    finally:
        web.terminate()
        web.wait(timeout=30)


def measure_url(n: int) -> dict[str, float]:
    """Median wall and CPU seconds of N one-message `postroom ingest --url` processes
    against a `postroom web` this starts, and the import seconds of one."""
    with tempfile.TemporaryDirectory() as tmp:
        env = cached_env(tmp)
        env.pop("POSTROOM_API_TOKEN", None)
        files = []
        for i in range(n + 3):
            path = Path(tmp) / f"{i}.eml"
            path.write_bytes(_small(i))
            files.append(str(path))
        cmd = [sys.executable, "-m", "postroom", "ingest"]
        _wall([*cmd, files[0]], env)  # the data folder, the schema and the bytecode
        with serving(env, tmp) as (url, token_file):
            remote = [*cmd, "--url", url, "--token-file", token_file]
            _wall([*remote, files[1]], env)  # the service's first message
            runs = [_timed([*remote, f], env) for f in files[2 : n + 2]]
            imports = _import_seconds([*remote, files[-1]], env)
    return {
        "wall": statistics.median(w for w, _ in runs),
        "cpu": statistics.median(c for _, c in runs),
        "imports": imports["total"],
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--n", type=int, default=15)
    args = ap.parse_args()
    m = measure(args.n)
    print(f"python -c pass                  : {m['bare']:6.3f} s (median of {args.n})")
    print(
        f"postroom ingest, one message    : {m['wall']:6.3f} s wall (median of {args.n}; "
        f"target <= {TARGET_SECONDS:.2f} s), CPU {m['cpu']:.3f} s, imports {m['imports']:.3f} s"
    )
    own = sorted(((v, k[7:]) for k, v in m.items() if k.startswith("import:")), reverse=True)
    listed = ", ".join(f"{name} {seconds / m['imports']:.0%}" for seconds, name in own[:8])
    print(f"imports by package (own time)   : {listed}")
    u = measure_url(args.n)
    print(
        f"postroom ingest --url, one msg  : {u['wall']:6.3f} s wall (median of {args.n}; "
        f"target <= {TARGET_SECONDS:.2f} s), CPU {u['cpu']:.3f} s, imports {u['imports']:.3f} s"
        " (to a postroom web on 127.0.0.1 started here)"
    )


if __name__ == "__main__":
    main()
