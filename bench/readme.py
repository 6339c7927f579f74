"""The README's benchmark figures, regenerated from one run: never edited by hand.

Runs each benchmark of README.md's list one after the other, on this machine, with the
arguments below, and writes what each printed — its lines as they came, nothing
reworded — between the ``<!-- bench:begin -->`` and ``<!-- bench:end -->`` marks of
README.md, headed by the commit, the date, the machine's cores and its load average
before and after. A benchmark that fails is written as failed, with its exit status and its
last line, and this script exits 1 after writing the rest.

Needs what the benchmarks need: the loopback mail stack and root (``bench/poll.py``,
``send.py``, ``headline.py``), PostgreSQL (``ingest.py``), and ``../shared/peer`` for the
peer's figure. About 20 minutes on the 2-core development machine.

    .venv/bin/python bench/readme.py              # every benchmark, README.md rewritten
    .venv/bin/python bench/readme.py --dry-run    # print the section instead of writing it
    .venv/bin/python bench/readme.py --only send,replies
"""

from __future__ import annotations

import argparse
import datetime
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
README = ROOT / "README.md"
BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"

RUNS: dict[str, list[str]] = {
    "ingest": ["bench/ingest.py", "--n", "1000", "--startup-n", "9"],
    "startup": ["bench/startup.py", "--n", "15"],
    "replies": ["bench/replies.py"],
    "poll": ["bench/poll.py", "--rounds", "3", "--acknowledge"],  # imap, channels, big too
    "send": ["bench/send.py", "300"],
    "api": ["bench/api.py"],
    "dashboard": ["bench/dashboard.py"],
    "headline": ["bench/headline.py", "--peer", "--rounds", "1"],
}


def _load() -> str:
    return f"{os.getloadavg()[0]:.2f}"


def run(name: str, argv: list[str], timeout: float) -> tuple[str, bool]:
    """One benchmark's printed lines (standard output, blank lines dropped), and whether it
    passed."""
    command = [sys.executable, *argv]
    start = time.monotonic()
    try:
        done = subprocess.run(
            command, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        return f"# {' '.join(argv)}: no result within {timeout:.0f} s", False
    took = time.monotonic() - start
    lines = [line.rstrip() for line in done.stdout.splitlines() if line.strip()]
    head = f"# {' '.join(argv)}  ({took:.0f} s)"
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(nothing on stderr)"])[-1]
        return "\n".join([head, *lines, f"FAILED (exit {done.returncode}): {last}"]), False
    return "\n".join([head, *lines]), True


def _git(*args: str) -> str:
    done = subprocess.run(["git", *args], cwd=ROOT, capture_output=True, text=True, check=False)
    return done.stdout.strip()


def section(outputs: list[str], started: str, load_before: str) -> str:
    commit = _git("rev-parse", "--short", "HEAD")
    dirty = _git("status", "--porcelain", "--untracked-files=no")
    code = commit + (" with uncommitted changes" if dirty else "")
    intro = (
        f"Written by `bench/readme.py` from one run, {started}, code of `{code}`, on a "
        f"{os.cpu_count()}-core machine (load average {load_before} before, {_load()} after); "
        "each benchmark's lines as it printed them:"
    )
    return "\n".join([BEGIN, intro, "", "```", "\n\n".join(outputs), "```", END])


def write(text: str) -> None:
    readme = README.read_text(encoding="utf-8")
    first, last = readme.find(BEGIN), readme.find(END)
    if first < 0 or last < first:
        sys.exit(f"README.md has no {BEGIN} … {END} section to write into")
    README.write_text(readme[:first] + text + readme[last + len(END) :], encoding="utf-8")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--only", default=",".join(RUNS), help=",".join(RUNS))
    ap.add_argument("--dry-run", action="store_true", help="print, do not write README.md")
    ap.add_argument("--timeout", type=float, default=1800, help="seconds per benchmark")
    args = ap.parse_args()
    names = [n for n in args.only.split(",") if n]
    unknown = [n for n in names if n not in RUNS]
    if unknown:
        ap.error(f"unknown benchmark(s) {', '.join(unknown)}; choose from {', '.join(RUNS)}")
    started = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%d %H:%M UTC")
    load_before = _load()
    outputs, ok = [], True
    for name in names:
        print(f"bench/readme.py: {name} …", file=sys.stderr, flush=True)
        text, passed = run(name, RUNS[name], args.timeout)
        outputs.append(text)
        ok = ok and passed
    text = section(outputs, started, load_before)
    if args.dry_run:
        print(text)
    else:
        write(text)
        print(f"README.md: figures of {len(names)} benchmark(s) written", file=sys.stderr)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
