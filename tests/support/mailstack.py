"""Fixtures for the loopback mail stack (tests/servers/mailstack).

``make servers`` (``tests/servers/mailstack/start``, as root) runs real Dovecot and Postfix on
127.0.0.1 and writes their coordinates to ``$MAILSTACK_DIR/mailstack.env``.  The session
fixture `mailstack` reads that file and *fails* (never skips) when the stack is not up.

Tests that change a mailbox make their own user with `Mailstack.new_user`: Dovecot reads one
passwd-file per user, and Postfix accepts the ``PREFIX-tHEX@domain`` names without a reload,
so parallel workers never share a mailbox.
"""

from __future__ import annotations

import grp
import itertools
import os
import re
import secrets
import socket
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import pytest

DEFAULT_DIR = Path("/tmp/postroom-mailstack")
"""Where `start` keeps its state unless ``MAILSTACK_DIR`` says otherwise."""

BAD_CERT_KINDS = ("expired", "selfsigned", "wronghost")
_counter = itertools.count()
_SESSION_START = time.time() - 2.0
"""Mail captured before this test process started is no test's (benchmarks leave tens of
thousands of files in the capture Maildir): `Mailstack.captured` skips it unread."""
_CAPTURED: dict[str, bytes] = {}
"""Captured files read so far, by name: each is read once per process, not per call."""
_BEFORE: set[str] = set()
"""Captured files older than the process, by name: each is looked at once."""


@dataclass(frozen=True, slots=True)
class CertPorts:
    """The TLS-capable ports of one certificate: STARTTLS ones and implicit-TLS ones."""

    pop3: int
    pop3s: int
    imap: int
    imaps: int
    submission: int
    smtps: int


@dataclass(frozen=True, slots=True)
class Mailstack:
    host: str
    domain: str
    state_dir: Path
    ca_file: Path
    pop3_port: int
    pop3s_port: int
    imap_port: int
    imaps_port: int
    smtp_port: int
    submission_port: int
    smtps_port: int
    bad_certs: dict[str, CertPorts]
    """``expired``, ``selfsigned``, ``wronghost`` -> ports presenting that certificate."""
    mail_uid: int
    mail_gid: int

    # ------------------------------------------------------------------ loading
    @classmethod
    def from_env_file(cls, path: Path) -> Mailstack:
        env: dict[str, str] = {}
        for line in path.read_text().splitlines():
            m = re.match(r"(?:export\s+)?(MAILSTACK_\w+)=(.*)$", line.strip())
            if m:
                env[m[1]] = m[2]
        state = Path(env["MAILSTACK_DIR"])

        def port(name: str) -> int:
            return int(env[f"MAILSTACK_{name}_PORT"])

        bad = {
            kind: CertPorts(
                *(port(f"{kind}_{svc}".upper()) for svc in CertPorts.__dataclass_fields__)
            )
            for kind in BAD_CERT_KINDS
            if f"MAILSTACK_{kind.upper()}_POP3S_PORT" in env
        }
        return cls(
            host=env.get("MAILSTACK_HOST", "127.0.0.1"),
            domain=env.get("MAILSTACK_DOMAIN", "example.test"),
            state_dir=state,
            ca_file=Path(env["MAILSTACK_CA"]),
            pop3_port=port("POP3"),
            pop3s_port=port("POP3S"),
            imap_port=port("IMAP"),
            imaps_port=port("IMAPS"),
            smtp_port=port("SMTP"),
            submission_port=port("SUBMISSION"),
            smtps_port=port("SMTPS"),
            bad_certs=bad,
            mail_uid=int(env.get("MAILSTACK_MAIL_UID", "8")),
            mail_gid=int(env.get("MAILSTACK_MAIL_GID", "8")),
        )

    def bad_cert(self, kind: str) -> CertPorts:
        """The ports presenting the ``expired``, ``selfsigned`` or ``wronghost`` certificate."""
        try:
            return self.bad_certs[kind]
        except KeyError:
            pytest.fail(
                f"the mail stack in {self.state_dir} has no {kind!r} certificate listeners: "
                "start it with tests/servers/mailstack/start"
            )

    # ------------------------------------------------------------------ users
    def maildir(self, address: str) -> Path:
        return self.state_dir / "mail" / address / "Maildir"

    def password(self, address: str) -> str:
        """The password of any user of the stack (static or made by `new_user`)."""
        line = (self.state_dir / "etc/dovecot/users.d" / address).read_text()
        return line.split(":")[1].removeprefix("{PLAIN}")

    def new_user(self, prefix: str = "user") -> tuple[str, str]:
        """A fresh mailbox: ``(address, password)``, usable at once over POP3, IMAP and SMTP.

        Dovecot reads a passwd-file per user (``users.d/%u``); a file it has not seen before
        is read at once, so there is nothing to reload and nothing to wait for.
        """
        clean = re.sub(r"[^a-z0-9.]", "", prefix.lower()) or "user"
        address = f"{clean}-t{secrets.token_hex(5)}@{self.domain}"
        password = secrets.token_urlsafe(12)
        self._make_maildir(address)
        self._write_passwd_file("users.d", address, f"{address}:{{PLAIN}}{password}::::::")
        return address, password

    def new_shared_mailbox(self, delegates: Sequence[str], prefix: str = "shared") -> str:
        """A fresh mailbox that each of `delegates` may open with their own password,
        by SASL authorization identity or as ``mailbox*delegate``."""
        address, _ = self.new_user(prefix)
        lines = [f"{address}/{d}:{{PLAIN}}{self.password(d)}" for d in delegates]
        self._write_passwd_file("delegations.d", address, *lines)
        return address

    def _make_maildir(self, address: str) -> None:
        home = self.state_dir / "mail" / address
        for sub in ("cur", "new", "tmp"):
            (home / "Maildir" / sub).mkdir(parents=True, exist_ok=True)
        for path in (home, home / "Maildir", *(home / "Maildir").iterdir()):
            os.chown(path, self.mail_uid, self.mail_gid)
        home.chmod(0o700)

    def _write_passwd_file(self, directory: str, name: str, *lines: str) -> None:
        path = self.state_dir / "etc/dovecot" / directory / name
        tmp = path.with_name(f".{name}.tmp")
        tmp.write_text("".join(f"{line}\n" for line in lines))
        tmp.chmod(0o640)
        os.chown(tmp, 0, grp.getgrnam("dovecot").gr_gid)
        tmp.replace(path)

    # ------------------------------------------------------------------ mail
    def deliver(self, address: str, raw: bytes) -> Path:
        """Put `raw` into the user's Maildir/new as a delivery agent does (tmp/, then rename)."""
        maildir = self.maildir(address)
        name = f"{time.time_ns()}.P{os.getpid()}Q{next(_counter)}.postroom-tests,S={len(raw)}"
        tmp = maildir / "tmp" / name
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        try:
            os.write(fd, raw)
            os.fchown(fd, self.mail_uid, self.mail_gid)
        finally:
            os.close(fd)
        target = maildir / "new" / name
        tmp.rename(target)
        return target

    def fill(self, address: str, n: int, size_kb: int = 8) -> None:
        """Deliver `n` plain-text messages of about `size_kb` KiB each."""
        line = b"The quick brown fox jumps over the lazy dog, again and again.\r\n"
        body = line * max(1, size_kb * 1024 // len(line))
        for i in range(n):
            head = (
                f"From: Sender {i} <sender{i}@customer.invalid>\r\nTo: {address}\r\n"
                f"Subject: Test message {i}\r\nMessage-ID: <fill.{i}.{secrets.token_hex(6)}"
                f"@customer.invalid>\r\nDate: Mon, 01 Jan 2024 10:00:00 +0000\r\n"
                "MIME-Version: 1.0\r\nContent-Type: text/plain; charset=us-ascii\r\n\r\n"
            )
            self.deliver(address, head.encode() + body)

    def count(self, address: str) -> int:
        maildir = self.maildir(address)
        return sum(1 for sub in ("new", "cur") for _ in (maildir / sub).iterdir())

    def wait_count(self, address: str, n: int, timeout: float = 10.0) -> int:
        """Poll until the mailbox holds at least `n` messages (LMTP delivery is asynchronous)."""
        deadline = time.monotonic() + timeout
        while (found := self.count(address)) < n and time.monotonic() < deadline:
            time.sleep(0.05)
        return found

    def captured(self, to: str | None = None) -> list[bytes]:
        """Outbound mail Postfix captured (to any other domain), oldest first; one file per
        envelope recipient, headed by ``X-Mailstack-Envelope-From/-To`` lines."""
        maildir = self.state_dir / "mail/capture/Maildir"
        names: list[str] = []
        for sub in ("new", "cur"):
            with os.scandir(maildir / sub) as entries:
                for entry in entries:
                    if entry.name in _BEFORE:
                        continue
                    if entry.name not in _CAPTURED:
                        if entry.stat().st_mtime < _SESSION_START:
                            _BEFORE.add(entry.name)
                            continue
                        _CAPTURED[entry.name] = Path(entry.path).read_bytes()
                    names.append(entry.name)
        mails = [_CAPTURED[name] for name in sorted(names)]
        if to is None:
            return mails
        marker = f"X-Mailstack-Envelope-To: <{to}>\n".encode()
        return [m for m in mails if marker in m.split(b"\n\n", 1)[0] + b"\n"]

    def wait_captured(self, to: str, timeout: float = 10.0) -> list[bytes]:
        """Poll until mail for envelope recipient `to` has been captured."""
        deadline = time.monotonic() + timeout
        while not (found := self.captured(to)) and time.monotonic() < deadline:
            time.sleep(0.05)
        return found


def _env_file() -> Path:
    return Path(os.environ.get("MAILSTACK_DIR") or DEFAULT_DIR) / "mailstack.env"


def _listening(host: str, port: int) -> bool:
    try:
        with socket.create_connection((host, port), timeout=2):
            return True
    except OSError:
        return False


@pytest.fixture(scope="session")
def mailstack() -> Mailstack:
    """The running loopback mail stack; fails with a how-to when it is not running."""
    how = "start it with `make servers` (tests/servers/mailstack/start, as root)"
    env_file = _env_file()
    if not env_file.is_file():
        pytest.fail(f"the test mail stack is not running: no {env_file}; {how}", pytrace=False)
    stack = Mailstack.from_env_file(env_file)
    down = [
        port
        for port in (stack.pop3s_port, stack.imaps_port, stack.smtp_port, stack.submission_port)
        if not _listening(stack.host, port)
    ]
    if down:
        pytest.fail(
            f"the test mail stack of {env_file} is not running (nothing listens on "
            f"{stack.host} port {', '.join(map(str, down))}); {how}",
            pytrace=False,
        )
    if os.geteuid() != 0:
        pytest.fail("tests that use the mail stack write its Maildirs: run them as root")
    return stack
