"""A 25 MB message with an 18 MB base64 attachment parses in under 200 MB of peak memory.

The message is written to disk in chunks, then parsed in a fresh process
that reports its own peak resident size (``VmHWM``, which exec resets;
``ru_maxrss`` would carry over the pytest process's peak on Linux).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[3] / "bench" / "parse_memory.py"
LIMIT_KIB = 200 * 1024


def test_25_mb_message_parses_under_200_mb_peak(tmp_path: Path) -> None:
    sys.path.insert(0, str(BENCH.parent))
    try:
        from parse_memory import write_big_message
    finally:
        sys.path.remove(str(BENCH.parent))
    path = tmp_path / "big.eml"
    write_big_message(str(path), 25)
    assert path.stat().st_size > 25 * 1000 * 1000
    result = subprocess.run(
        [sys.executable, str(BENCH), "parse-file", str(path)],
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    peak, _before, size, sizes = result.stdout.split(maxsplit=3)
    assert int(size) == path.stat().st_size
    assert sizes.strip() == f"[{18 * 1024 * 1024}]"
    assert int(peak) < LIMIT_KIB, f"peak RSS {int(peak) // 1024} MB"
