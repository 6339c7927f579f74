"""Name resolution, TCP connect and TLS handshakes, each timed, for the check steps."""

from __future__ import annotations

import contextlib
import socket
import ssl
import time
from dataclasses import dataclass
from typing import Any


def resolve(host: str, port: int) -> list[str]:
    """Every address `host` resolves to for a TCP connection, in the resolver's order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    addresses: list[str] = []
    for *_, sockaddr in infos:
        address = str(sockaddr[0])
        if address not in addresses:
            addresses.append(address)
    return addresses


@dataclass(frozen=True, slots=True)
class Connected:
    sock: socket.socket
    address: str
    ms: int


def connect(addresses: list[str], port: int, timeout: float) -> Connected:
    """Connect to the first address that accepts; the last error if none does."""
    error: OSError | None = None
    for address in addresses:
        started = time.monotonic()
        try:
            sock = socket.create_connection((address, port), timeout=timeout)
        except OSError as exc:
            error = exc
            continue
        return Connected(sock, address, _ms(started))
    assert error is not None
    raise error


def handshake(sock: socket.socket, context: ssl.SSLContext, host: str) -> tuple[ssl.SSLSocket, int]:
    """TLS from the first byte on `sock` (implicit TLS); the TLS socket and the time taken."""
    started = time.monotonic()
    tls = context.wrap_socket(sock, server_hostname=host)
    return tls, _ms(started)


def inspection_context() -> ssl.SSLContext:
    """A context that accepts any certificate.  Used only to *read* the certificate of a
    server whose certificate failed verification, so the report can say what is wrong with
    it; the connection is closed right after the handshake and nothing is sent over it."""
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    return context


def tls_detail(tls: ssl.SSLSocket, ms: int | None) -> dict[str, Any]:
    cipher = tls.cipher()
    detail: dict[str, Any] = {
        "version": tls.version(),
        "cipher": cipher[0] if cipher else None,
        "bits": cipher[2] if cipher else None,
    }
    if ms is not None:
        detail["ms"] = ms
    return detail


def peer_certificate(tls: ssl.SSLSocket) -> bytes:
    der = tls.getpeercert(binary_form=True)
    if not der:
        raise ssl.SSLError("the server sent no certificate")
    return der


def close_quietly(sock: socket.socket | None) -> None:
    if sock is None:
        return
    with contextlib.suppress(OSError):
        sock.close()


def _ms(started: float) -> int:
    return round((time.monotonic() - started) * 1000)
