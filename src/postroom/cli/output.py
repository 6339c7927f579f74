"""Printing for the CLI: JSON for scripts, short lines for people."""

from __future__ import annotations

import json
import sys
from typing import Any, NoReturn


def print_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, ensure_ascii=False, default=str) + "\n")


def fail(message: str, code: int = 1) -> NoReturn:
    first = message.strip().splitlines()[0] if message.strip() else "error"
    sys.stderr.write(f"postroom: {first}\n")
    raise SystemExit(code)
