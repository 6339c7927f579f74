"""The token endpoint exchange has one deadline: a server that trickles its answer (each
byte well within the socket timeout) fails the exchange once ``timeout`` has passed, as a
timeout that names the endpoint and the seconds and never a secret."""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager

import pytest

from postroom.net import oauth
from postroom.net.connection import ConnectionFailure, FailureClass

TOKEN = json.dumps({"access_token": "at-1", "expires_in": 3600}).encode()
PADDED = TOKEN + b" " * 60
HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n"
PACE = 0.05
"""Seconds between two trickled bytes: far inside any socket timeout. Either trickle takes
over 3 s, three times the exchange's deadline, then completes a good answer."""


def _trickle_head(conn: socket.socket, stop: threading.Event) -> None:
    """The status line and headers one byte at a time, then the body."""
    head = HEAD % len(TOKEN)
    for i in range(len(head)):
        if stop.wait(PACE):
            return
        conn.sendall(head[i : i + 1])
    conn.sendall(TOKEN)


def _trickle_body(conn: socket.socket, stop: threading.Event) -> None:
    """The head at once, then the body (padded with spaces) one byte at a time."""
    conn.sendall(HEAD % len(PADDED))
    for i in range(len(PADDED)):
        if stop.wait(PACE):
            return
        conn.sendall(PADDED[i : i + 1])


@contextmanager
def trickling(send: Callable[[socket.socket, threading.Event], None]) -> Iterator[str]:
    """A token URL on 127.0.0.1 whose server reads the request, then ``send``s its answer."""
    listener = socket.create_server(("127.0.0.1", 0))
    stop = threading.Event()
    requests: list[bytes] = []

    def serve() -> None:
        with listener:
            conn, _ = listener.accept()
            with conn:
                data = b""
                while b"\r\n\r\n" not in data:
                    data += conn.recv(65536)
                requests.append(data)
                try:
                    send(conn, stop)
                except OSError:
                    return  # the client gave up and closed

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/token"
    finally:
        stop.set()
        thread.join(10)
    assert requests, "the client never sent its request"


@pytest.mark.parametrize("send", [_trickle_head, _trickle_body], ids=["head", "body"])
def test_a_trickling_endpoint_fails_at_the_deadline(
    send: Callable[[socket.socket, threading.Event], None],
) -> None:
    with trickling(send) as url:
        endpoint = oauth.provider("custom", token_url=url)
        with pytest.raises(ConnectionFailure) as failed:
            oauth.refresh(endpoint, "client", "client-s3cret", "rt-s3cret", timeout=1)
    assert failed.value.kind is FailureClass.TIMEOUT
    text = str(failed.value)
    assert text == f"{url}: the token endpoint did not answer within 1 s"
    assert "s3cret" not in text and failed.value.__cause__ is None


def test_an_answer_in_time_is_read_whole() -> None:
    def at_once(conn: socket.socket, _stop: threading.Event) -> None:
        conn.sendall(HEAD % len(TOKEN) + TOKEN)

    with trickling(at_once) as url:
        tokens = oauth.refresh(oauth.provider("custom", token_url=url), "c", None, "rt", timeout=5)
    assert tokens.access_token == "at-1" and tokens.expires_in == 3600
