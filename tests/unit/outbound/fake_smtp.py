"""A scripted SMTP server on loopback: answers chosen replies per command, records deliveries.

``replies`` maps a command to the replies it gives, in turn (the last one
repeats): ``{"DATA": ["451 4.3.0 try later", "250 ok"]}``; ``rcpt`` maps a
recipient to its reply.  No TLS, so clients must use ``?tls=none``.
"""

from __future__ import annotations

import select
import socketserver
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field


@dataclass
class Delivered:
    sender: str
    recipients: list[str]
    data: bytes


@dataclass
class Script:
    replies: dict[str, list[str]] = field(default_factory=dict)
    rcpt: dict[str, str] = field(default_factory=dict)
    auth: bool = False
    smtputf8: bool = False
    """Offer SMTPUTF8 (RFC 6531) in the EHLO reply."""
    pipelining: bool = False
    """Offer PIPELINING (RFC 2920) in the EHLO reply."""
    watch_pipelining: bool = False
    """Fill ``pipelined`` even without ``pipelining`` (each MAIL then waits 0.5 s)."""
    pipelined: list[bool] = field(default_factory=list)
    """With ``pipelining`` or ``watch_pipelining``, per MAIL: the next command had arrived
    before MAIL's reply."""
    followed: list[tuple[str, bool]] = field(default_factory=list)
    """With ``pipelining``, per RSET and RCPT: the next command had arrived before its reply
    (each waits up to 0.5 s for it)."""
    data_without_recipients: bool = False
    """Answer DATA with 354 even when no recipient was accepted (RFC 2920 §3.1 says 554)."""
    delivered: list[Delivered] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)
    envelope: list[str] = field(default_factory=list)
    """Every MAIL and RCPT command line as it arrived (decoded as UTF-8)."""
    raw_lines: list[bytes] = field(default_factory=list)
    """Every command line's octets (not the content after DATA)."""
    connections: int = 0
    drop_after_data: bool = False
    on: dict[str, Callable[[], None]] = field(default_factory=dict)
    """Called when a command arrives, before it is answered (e.g. kill the client)."""
    data_seen: list[bytes] = field(default_factory=list)
    """What arrived after 354, final dot or not (a client may drop the line before it)."""
    lock: threading.Lock = field(default_factory=threading.Lock)

    def reply(self, verb: str, default: str) -> str:
        with self.lock:
            queue = self.replies.get(verb)
            if not queue:
                return default
            return queue.pop(0) if len(queue) > 1 else queue[0]


class _Handler(socketserver.StreamRequestHandler):
    script: Script
    rbufsize = 0
    """Unbuffered: a command not read yet is still in the socket, where `select` sees it."""

    def send(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def handle(self) -> None:
        try:
            self._serve()
        except OSError:  # the client died (some tests kill it on purpose)
            return

    def _serve(self) -> None:
        script = self.server.script  # type: ignore[attr-defined]
        with script.lock:
            script.connections += 1
        self.send("220 fake.test ESMTP")
        sender, rcpts, in_mail = "", list[str](), False
        while line := self.rfile.readline():
            text = line.decode("utf-8", "replace").rstrip("\r\n")
            verb = text.split(" ", 1)[0].upper()
            with script.lock:
                script.commands.append(verb)
                script.raw_lines.append(line)
                if verb in ("MAIL", "RCPT"):
                    script.envelope.append(text)
            if verb in script.on:
                script.on[verb]()
            if verb == "EHLO":
                features = ["fake.test", "8BITMIME"] + (["AUTH PLAIN LOGIN"] if script.auth else [])
                features += ["SMTPUTF8"] if script.smtputf8 else []
                features += ["PIPELINING"] if script.pipelining else []
                for i, f in enumerate(features):
                    self.send(f"250{'-' if i < len(features) - 1 else ' '}{f}")
            elif verb == "AUTH":
                self.send(script.reply("AUTH", "235 2.7.0 ok"))
            elif verb == "MAIL":
                answer = script.reply("MAIL", "250 2.1.0 ok")
                in_mail = answer.startswith("2")
                sender = text.split(":", 1)[1].split()[0].strip("<>")
                rcpts = []
                if script.pipelining or script.watch_pipelining:
                    waiting = select.select([self.connection], [], [], 0.5)[0]
                    with script.lock:
                        script.pipelined.append(bool(waiting))
                self.send(answer)
            elif verb == "RCPT":
                self._follows(script, verb)
                address = text.split(":", 1)[1].strip().strip("<>")
                answer = script.rcpt.get(address, "250 2.1.5 ok") if in_mail else "503 need MAIL"
                if answer.startswith("2"):
                    rcpts.append(address)
                self.send(answer)
            elif verb == "DATA":
                if not rcpts and not script.data_without_recipients:
                    self.send("554 5.5.1 no valid recipients")
                    continue
                self.send("354 go ahead")
                data = b""
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk
                with script.lock:
                    script.data_seen.append(data)
                if chunk != b".\r\n":
                    return  # the client went away before the final dot: nothing was taken
                if script.drop_after_data:
                    return
                answer = script.reply("DATA", "250 2.0.0 queued")
                if answer.startswith("2"):
                    with script.lock:
                        script.delivered.append(Delivered(sender, rcpts, data))
                self.send(answer)
            elif verb == "RSET":
                self._follows(script, verb)
                sender, rcpts, in_mail = "", [], False
                self.send("250 2.0.0 ok")
            elif verb == "QUIT":
                self.send("221 2.0.0 bye")
                return
            else:
                self.send("502 5.5.2 not implemented")

    def _follows(self, script: Script, verb: str) -> None:
        if script.pipelining:
            waiting = select.select([self.connection], [], [], 0.5)[0]
            with script.lock:
                script.followed.append((verb, bool(waiting)))


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


@contextmanager
def fake_smtp(script: Script | None = None) -> Iterator[tuple[Script, int]]:
    """Run a scripted server; yields the script and the port."""
    script = script or Script()
    server = _Server(("127.0.0.1", 0), _Handler)
    server.script = script  # type: ignore[attr-defined]
    thread = threading.Thread(target=server.serve_forever, args=(0.02,), daemon=True)
    thread.start()
    try:
        yield script, server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
