"""The dashboard (``GET /``) with many channels: the time of the whole page as a signed-in
browser gets it (the overview's queries, the template, the response), in-process through
the ASGI app so the figure is Postroom's, not the network's.

Sets up a fresh POSTROOM_HOME on SQLite with `--channels` input channels (one in ten
failing with a classified error and a failed check, one in twenty switched off, the rest
polled a moment ago), three SMTP servers and `--messages` stored messages spread over the
channels today, then asks for the page `--n` times after two warm-up requests and prints
the median and the slowest. Target (issue 15): < 200 ms with 500 channels.

    .venv/bin/python bench/dashboard.py [--channels 500] [--messages 2000] [--n 30]
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))

TARGET_MS = 200.0
KINDS = (
    ("authentication", "LOGIN refused: [AUTHENTICATIONFAILED] Authentication failed."),
    ("dns", "host name does not resolve: Name or service not known"),
    ("tls", "certificate expired: certificate has expired"),
    ("timeout", "timed out"),
)


def _report(url: str, error: str | None = None) -> dict[str, Any]:
    """A check report of the size a real one has (every step, the certificate's details)."""
    certificate = {
        "subject": "CN=mail.example.com",
        "issuer": "CN=R11, O=Let's Encrypt, C=US",
        "sans": [f"mail{i}.example.com" for i in range(8)],
        "not_before": "2026-10-01T00:00:00Z",
        "not_after": "2026-12-30T00:00:00Z",
        "days_left": 29,
        "trusted": True,
        "hostname_match": True,
    }
    steps: list[dict[str, Any]] = [
        {"name": name, "ok": True, "detail": {}, "error": None, "hint": None}
        for name in ("dns", "tcp", "tls", "certificate", "greeting", "capabilities", "auth")
    ]
    steps[0]["detail"] = {"addresses": ["192.0.2.10", "2001:db8::10"]}
    steps[2]["detail"] = {"version": "TLSv1.3", "cipher": "TLS_AES_256_GCM_SHA384"}
    steps[3]["detail"] = certificate
    steps[5]["detail"] = {"capabilities": ["TOP", "UIDL", "SASL PLAIN LOGIN", "USER", "STLS"]}
    if error:
        steps[6].update(ok=False, error=error, hint="check the user name and the password")
    return {"url": url, "ok": error is None, "steps": steps}


def _fill(app: object, channels: int, messages: int) -> None:
    from corpus import message

    from postroom.bootstrap import App
    from postroom.clock import utcnow
    from postroom.services.ingest import Arrival

    assert isinstance(app, App)
    rng = random.Random(15)
    now = utcnow()
    ids: list[int] = []
    with app.storage.writing() as uow:
        for i in range(channels):
            scheme = ("pop3s", "imaps", "pop3")[i % 3]
            record = uow.channels.add(
                name=f"mailbox-{i:04d}",
                url=f"{scheme}://box{i}@mail{i % 7}.example.com",
                now=now,
                enabled=i % 20 != 0,
                max_failures=10,
            )
            ids.append(record.id)
            uow.channels.record_check(record.id, _report(record.url), None, now - timedelta(days=1))
            uow.polls.record_success(
                record.id, now - timedelta(seconds=rng.randint(5, 300)), now + timedelta(minutes=1)
            )
            if i % 10 == 3:
                kind, text = KINDS[i % len(KINDS)]
                failed = _report(record.url, text)
                uow.channels.record_check(record.id, failed, (kind, text), now)
                for _ in range(rng.randint(1, 5)):
                    uow.polls.record_failure(record.id, kind, text, now, now)
        for name in ("relay", "send-as", "backup"):
            uow.servers.add(name=name, url=f"smtp://{name}.example.com:587", now=now)
    for start in range(0, messages, 100):
        batch = [
            Arrival(message(n, rng), ids[n % len(ids)], f"uid-{n}")
            for n in range(start, min(start + 100, messages))
        ]
        app.ingest.ingest_batch(batch)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--channels", type=int, default=500)
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--n", type=int, default=30)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="postroom-bench-dashboard-") as home:
        os.environ["POSTROOM_HOME"] = home
        os.environ["POSTROOM_DATABASE_URL"] = f"sqlite:///{home}/postroom.db"
        from fastapi.testclient import TestClient

        from postroom.bootstrap import App
        from postroom.records.config import Role
        from postroom.web.app import create_app

        app = App()
        app.upgrade_schema()
        t0 = time.perf_counter()
        _fill(app, args.channels, args.messages)
        filled = time.perf_counter() - t0
        app.users.add("bench", None, Role.ADMIN)
        app.accounts.set_password("bench", "bench-password")
        principal = app.accounts.verify_password("bench", "bench-password")
        assert principal is not None
        secret, _ = app.accounts.start_session(principal)
        client = TestClient(create_app(app), cookies={"postroom_session": secret})
        headers = {"Accept": "text/html"}
        for _ in range(2):
            warm = client.get("/", headers=headers)
            assert warm.status_code == 200, warm.status_code
            assert warm.text.count("<tr") >= args.channels, "the page does not list every channel"
        times, cpu = [], []
        for _ in range(args.n):
            t0, c0 = time.perf_counter(), time.process_time()
            answer = client.get("/", headers=headers)
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
            assert answer.status_code == 200
        median = statistics.median(times)
        print(
            f"dashboard: {args.channels} channels, {args.messages} messages (set up in "
            f"{filled:.1f} s), page {len(answer.content) // 1024} KiB"
        )
        print(
            f"GET / median {median:.1f} ms, slowest {max(times):.1f} ms over {args.n} "
            f"(target < {TARGET_MS:.0f} ms: {'met' if median < TARGET_MS else 'MISSED'}); "
            f"CPU median {statistics.median(cpu):.1f} ms (moves less on a busy machine)"
        )
        app.engine.dispose()


if __name__ == "__main__":
    main()
