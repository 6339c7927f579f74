"""`postroom ingest --url URL` as an MTA's pipe runs it (cli/mailgate.py): the message handed
to a real running `postroom web` over POST /api/v1/messages, the decision printed as the
direct path prints it; exit 0 stored, 75 when the MTA should try again (the service down,
stopped, trickling, 5xx), 1 refused (a bad token), 2 unusable input; the token never
printed; nothing of SQLAlchemy, pydantic or Typer imported."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from e2e.cli import Result, run_cli
from postroom.cli import mailgate, pipe
from postroom.cli.pipe import PipeCall, pipe_shape
from postroom.settings_values import SettingsValues
from support.mails import make_mail

FORBIDDEN = ("sqlalchemy", "pydantic", "pydantic_settings", "typer", "click", "fastapi")
"""Packages the --url path must not import (rule: start-up, issue 12 item 5)."""


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def _base_env() -> dict[str, str]:
    return {k: v for k, v in os.environ.items() if not k.startswith("POSTROOM_")}


@dataclass
class Service:
    """A running `postroom web`: its process, base URL, environment, token and token file."""

    process: subprocess.Popen[bytes]
    url: str
    env: dict[str, str]
    token: str
    token_file: Path


def _postroom(env: dict[str, str], *argv: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "postroom", *argv],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def _wait_healthy(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 30
    host, port = url.removeprefix("http://").split(":")
    while True:
        assert process.poll() is None, "postroom web ended"
        try:
            with socket.create_connection((host, int(port)), timeout=1) as sock:
                sock.sendall(b"GET /healthz HTTP/1.0\r\n\r\n")
                if sock.recv(64).startswith(b"HTTP/1.1 200"):
                    return
        except OSError:
            pass
        assert time.monotonic() < deadline, "postroom web never answered"
        time.sleep(0.05)


@pytest.fixture(scope="module")
def service(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Service]:
    tmp = tmp_path_factory.mktemp("service")
    env = {
        **_base_env(),
        "POSTROOM_HOME": str(tmp / "home"),
        "POSTROOM_DATABASE_URL": f"sqlite:///{tmp / 'postroom.db'}",
    }
    _postroom(env, "user", "add", "mta", "--role", "agent")
    token = _postroom(env, "token", "create", "mta").splitlines()[0].strip()
    token_file = tmp / "mta.token"
    token_file.write_text(token + "\n")
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "postroom", "web", "--listen", f"127.0.0.1:{port}"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, process)
        yield Service(process, url, env, token, token_file)
    finally:
        process.send_signal(signal.SIGCONT)
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=20)


@dataclass
class Run:
    code: int
    out: str
    err: str


def mta(*argv: str, stdin: bytes = b"", env: dict[str, str] | None = None) -> Run:
    """``postroom ingest ARGV`` in a process of its own, as an MTA starts it."""
    done = subprocess.run(
        [sys.executable, "-m", "postroom", "ingest", *argv],
        env=env if env is not None else _base_env(),
        input=stdin,
        capture_output=True,
        timeout=60,
        check=False,
    )
    return Run(done.returncode, done.stdout.decode(), done.stderr.decode())


def _mail(tag: str) -> bytes:
    return make_mail(message_id=f"<{tag}.{time.time_ns()}@customer.test>", subject=f"url {tag}")


def test_a_message_is_stored_by_the_service(service: Service) -> None:
    run = mta(
        "--url",
        service.url,
        "--token-file",
        str(service.token_file),
        "--json",
        "-",
        stdin=_mail("stored"),
    )
    assert run.code == 0, run.err
    assert run.err == ""
    decision = json.loads(run.out)
    assert decision["outcome"] == "new_ticket"
    ref = decision["work_items"][0]["reference"]
    items = json.loads(_postroom(service.env, "item", "list", "--json"))
    assert ref in [item["reference"] for item in items]


def test_the_text_line_and_the_token_from_the_environment(service: Service, tmp_path: Path) -> None:
    mail = tmp_path / "m.eml"
    mail.write_bytes(_mail("text"))
    env = {**_base_env(), "POSTROOM_API_TOKEN": service.token}
    run = mta("--url", f"{service.url}/", str(mail), env=env)
    assert run.code == 0, run.err
    assert run.out.startswith("new_ticket [")
    assert service.token not in run.out + run.err


def test_the_url_path_imports_no_sqlalchemy_pydantic_or_typer(service: Service) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-X",
            "importtime",
            "-m",
            "postroom",
            "ingest",
            "--url",
            service.url,
            "--token-file",
            str(service.token_file),
            "--json",
        ],
        env=_base_env(),
        input=_mail("imports"),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    imported = {
        line.split("|")[-1].strip().split(".")[0]
        for line in done.stderr.decode().splitlines()
        if line.startswith("import time:")
    }
    assert "http" in imported  # the reading works
    assert imported.isdisjoint(FORBIDDEN), imported & set(FORBIDDEN)


def test_a_bad_token_keeps_the_mail_queued_in_one_line_without_the_token(
    service: Service, tmp_path: Path
) -> None:
    """A fault of the set-up is 75: the MTA keeps the mail until the token is fixed; 1
    would return customers' mail to its senders."""
    secret = "pr_not-a-token-of-this-service"
    bad = tmp_path / "bad.token"
    bad.write_text(secret + "\n")
    run = mta("--url", service.url, "--token-file", str(bad), stdin=_mail("bad"))
    assert run.code == 75
    assert run.out == ""
    assert run.err.count("\n") == 1
    assert run.err.startswith(
        f"postroom: not stored, kept for later: {service.url} refused the API token"
    )
    assert "postroom token create" in run.err
    assert secret not in run.err


def test_no_token_or_an_unusable_one_keeps_the_mail_queued_and_is_never_shown(
    service: Service, tmp_path: Path
) -> None:
    run = mta("--url", service.url, stdin=_mail("none"))
    assert run.code == 75
    assert run.err.startswith("postroom: not stored, kept for later: no API token")
    assert "--token-file FILE" in run.err and "POSTROOM_API_TOKEN" in run.err
    missing = mta("--url", service.url, "--token-file", str(tmp_path / "nope"))
    assert missing.code == 75 and "cannot read the token file" in missing.err
    garbled = tmp_path / "garbled.token"
    garbled.write_text("pr_secret with spaces\x1b[2J\n")
    odd = mta("--url", service.url, "--token-file", str(garbled), stdin=_mail("odd"))
    assert odd.code == 75 and "holds no token" in odd.err
    assert "secret" not in odd.err and "\x1b" not in odd.err


def test_the_service_down_is_exit_75(service: Service) -> None:
    down = f"http://127.0.0.1:{_free_port()}"
    run = mta("--url", down, "--token-file", str(service.token_file), stdin=_mail("down"))
    assert run.code == 75
    assert run.err.startswith(f"postroom: not stored, try again later: nothing answers at {down}")
    assert run.err.count("\n") == 1


def test_a_stopped_service_is_exit_75_at_the_deadline(service: Service) -> None:
    """The process is there (the kernel takes the connection) but never answers."""
    service.process.send_signal(signal.SIGSTOP)
    try:
        started = time.monotonic()
        run = mta(
            "--url",
            service.url,
            "--token-file",
            str(service.token_file),
            "--timeout",
            "1.5",
            stdin=_mail("stopped"),
        )
        took = time.monotonic() - started
    finally:
        service.process.send_signal(signal.SIGCONT)
    assert run.code == 75, run.err
    assert run.err == (
        f"postroom: not stored, try again later: {service.url} did not answer within 1.5 s\n"
    )
    assert took < 30  # ended by the deadline, not by the test's own timeout
    _wait_healthy(service.url, service.process)


# ----------------------------------------------------------------------------------------
# A stand-in service with a chosen answer: statuses the real one gives only under failure,
# a trickled answer, TLS with a certificate of a test CA.

Answer = Callable[[socket.socket, "threading.Event"], None]


def answering(status: str, body: bytes, content_type: str = "application/json") -> Answer:
    def send(conn: socket.socket, _stop: threading.Event) -> None:
        conn.sendall(
            f"HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
            + body
        )

    return send


def trickle(conn: socket.socket, stop: threading.Event) -> None:
    """A good answer, one byte every 0.1 s: each read well inside any timeout."""
    whole = DECISION_ANSWER
    for i in range(len(whole)):
        if stop.wait(0.1):
            return
        conn.sendall(whole[i : i + 1])


DECISION = {
    "outcome": "updated",
    "rule": "M1",
    "path": ["D1", "M1"],
    "matched_by": "thread",
    "work_items": [{"reference": "100007-T", "state": "to-do", "queue": "billing"}],
    "auto_reply": None,
    "reason": "It answers a known thread: \x1b[31mred\x1b[0m.",
    "message": 7,
    "trace": ["M1: hit"],
}
_BODY = json.dumps(DECISION).encode()
DECISION_ANSWER = (
    b"HTTP/1.1 201 Created\r\nContent-Type: application/json\r\n"
    + f"Content-Length: {len(_BODY)}\r\n\r\n".encode()
    + _BODY
)


@contextmanager
def stand_in(send: Answer, tls: trustme.CA | None = None) -> Iterator[tuple[str, list[bytes]]]:
    """A server on 127.0.0.1 that reads each request (head and body), then ``send``s."""
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.2)
    stop = threading.Event()
    requests: list[bytes] = []
    context = None
    if tls is not None:
        import ssl

        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        tls.issue_cert("127.0.0.1").configure_cert(context)

    def one(conn: socket.socket) -> None:
        with conn:
            conn.settimeout(10)
            data = b""
            while b"\r\n\r\n" not in data:
                data += conn.recv(65536)
            head, _, body = data.partition(b"\r\n\r\n")
            sizes = [
                int(line.split(b":")[1])
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            ]
            while len(body) < (sizes[0] if sizes else 0):
                body += conn.recv(65536)
            requests.append(head + b"\r\n\r\n" + body)
            try:
                send(conn, stop)
            except OSError:
                return

    def serve() -> None:
        with listener:
            while not stop.is_set():
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    continue
                try:
                    if context is not None:
                        conn = context.wrap_socket(conn, server_side=True)
                    one(conn)
                except OSError:
                    continue

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    scheme = "https" if tls is not None else "http"
    try:
        yield f"{scheme}://127.0.0.1:{listener.getsockname()[1]}", requests
    finally:
        stop.set()
        thread.join(10)


SECRET = "pr_stand-in-secret-0123456789"


@pytest.fixture
def token_file(tmp_path: Path) -> str:
    path = tmp_path / "t.token"
    path.write_text(SECRET + "\n")
    return str(path)


def test_the_request_is_the_api_call(token_file: str) -> None:
    raw = _mail("request")
    with stand_in(answering("201 Created", _BODY)) as (url, requests):
        run = mta("--url", url, "--token-file", token_file, "--json", stdin=raw)
    assert run.code == 0, run.err
    assert json.loads(run.out) == DECISION
    head, _, body = requests[0].partition(b"\r\n\r\n")
    lines = head.decode().split("\r\n")
    assert lines[0] == "POST /api/v1/messages HTTP/1.1"
    assert f"Authorization: Bearer {SECRET}" in lines
    assert "Content-Type: message/rfc822" in lines
    assert body == raw


def test_the_channel_goes_as_the_query(token_file: str) -> None:
    with stand_in(answering("201 Created", _BODY)) as (url, requests):
        run = mta(
            "--url", url, "--token-file", token_file, "--channel", "café box", stdin=_mail("c")
        )
    assert run.code == 0, run.err
    assert requests[0].startswith(b"POST /api/v1/messages?channel=caf%C3%A9%20box HTTP/1.1\r\n")


def test_a_channel_the_service_lacks_keeps_the_mail_queued(service: Service) -> None:
    run = mta(
        "--url",
        service.url,
        "--token-file",
        str(service.token_file),
        "--channel",
        "nobox",
        stdin=_mail("nobox"),
    )
    assert run.code == 75, run.err
    assert "nobox" in run.err and "add the channel there, or fix --channel" in run.err
    assert run.err.count("\n") == 1


def test_a_message_past_the_limit_is_exit_1_and_never_sent(
    token_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Held to the service's limit as the service reads it: a refusal its 413 would be, so
    the message is not even sent (nothing answers at the URL: sending it would be 75)."""
    down = f"http://127.0.0.1:{_free_port()}"
    big = make_mail(body="x" * 70_000)
    env = {**_base_env(), "POSTROOM_MAX_MESSAGE_BYTES": "65536"}
    run = mta("--url", down, "--token-file", token_file, stdin=big, env=env)
    assert run.code == 1, run.err
    assert "larger than POSTROOM_MAX_MESSAGE_BYTES (65536 octets)" in run.err
    assert SettingsValues.max_message_bytes == mailgate.DEFAULT_LIMIT


STATUSES = [
    ("503 Service Unavailable", {"detail": "the database is away"}, 75, "try again later"),
    ("500 Internal Server Error", {"title": "Internal Server Error"}, 75, "try again later"),
    ("429 Too Many Requests", {}, 75, "try again later"),
    ("403 Forbidden", {"detail": "only an admin may do this"}, 75, "only an admin may do this"),
    ("413 Content Too Large", {"detail": "larger than 65536 bytes"}, 1, "MAX_MESSAGE_BYTES"),
    ("422 Unprocessable Content", {"detail": "no"}, 1, "refused it: 422"),
    ("404 Not Found", {"detail": "Not Found"}, 75, "give --url the address of postroom web"),
    ("201 Created", "<html>not a decision</html>", 75, "without a decision"),
    ("200 OK", {"no": "outcome"}, 75, "without a decision"),
]


@pytest.mark.parametrize(("status", "body", "code", "said"), STATUSES, ids=[s[0] for s in STATUSES])
def test_each_answer_is_its_exit_status(
    token_file: str, status: str, body: object, code: int, said: str
) -> None:
    data = body.encode() if isinstance(body, str) else json.dumps(body).encode()
    with stand_in(answering(status, data, "application/problem+json")) as (url, _):
        run = mta("--url", url, "--token-file", token_file, stdin=_mail("status"))
    assert run.code == code, run.err
    assert run.out == ""
    assert run.err.count("\n") == 1 and said in run.err, run.err
    assert SECRET not in run.err


def test_a_redirect_keeps_the_mail_queued_naming_where(token_file: str) -> None:
    def send(conn: socket.socket, _stop: threading.Event) -> None:
        conn.sendall(
            b"HTTP/1.1 308 Permanent Redirect\r\nLocation: https://postroom.example/api/v1/"
            b"messages\r\nContent-Length: 0\r\n\r\n"
        )

    with stand_in(send) as (url, _):
        run = mta("--url", url, "--token-file", token_file, stdin=_mail("moved"))
    assert run.code == 75
    assert "308 Permanent Redirect to https://postroom.example/api/v1/messages" in run.err


def test_a_trickled_answer_ends_at_the_deadline(token_file: str) -> None:
    """Each byte comes well within any per-read timeout; the whole answer would take
    longer than the deadline."""
    assert len(DECISION_ANSWER) * 0.1 > 10
    with stand_in(trickle) as (url, _):
        started = time.monotonic()
        run = mta(
            "--url", url, "--token-file", token_file, "--timeout", "2", stdin=_mail("trickle")
        )
        took = time.monotonic() - started
    assert run.code == 75
    assert run.err.endswith(f"{url} did not answer within 2 s\n")
    assert took < 10


def test_https_is_verified(token_file: str, tmp_path: Path) -> None:
    ca = trustme.CA()
    ca_file = tmp_path / "ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    with stand_in(answering("201 Created", _BODY), tls=ca) as (url, _):
        trusted = mta(
            "--url",
            url,
            "--token-file",
            token_file,
            "--ca-file",
            str(ca_file),
            "--json",
            stdin=_mail("tls"),
        )
        untrusted = mta("--url", url, "--token-file", token_file, stdin=_mail("tls2"))
    assert trusted.code == 0, trusted.err
    assert json.loads(trusted.out) == DECISION
    assert untrusted.code == 75
    assert "is not trusted" in untrusted.err and "--ca-file" in untrusted.err


USAGE = [
    (["--url", "ftp://h"], "--url takes the address of postroom web"),
    (["--url", "h:8025"], "--url takes the address of postroom web"),
    (["--url", "http://mta:secret@h"], "does not belong in --url"),
    (["--url", "http://h?x=1"], "without a query"),
    (["--url", "http://h:99999"], "cannot be read"),
    (["--url", "http://h:0"], "cannot be read"),
    (["--url", "http://ho st"], "cannot be read"),
    (["--url", "http://a..b"], "cannot be read"),
    (["--url", f"http://{'a' * 64}.test"], "cannot be read"),
    (["--url", "http://h/post room"], "its path is not one of ASCII characters"),
    (["--url", "http://h/pöst"], "its path is not one of ASCII characters"),
    (["--url", "http://h", "--ca-file", "/x"], "--ca-file goes with an https://"),
    (["--url", "http://h", "--channel", "a/b"], "--channel takes a channel's name"),
    (["--url", "http://h", "--timeout", "0"], "--timeout takes a number of seconds"),
    (["--url", "http://h", "--timeout", "nan"], "--timeout takes a number of seconds"),
    (["--token-file", "t"], "go with --url URL"),
    (["--url", "http://h", "a.eml", "b.eml"], "--url takes one message"),
    (["--url", "http://h", "--maildir", "md"], "--url takes one message"),
]


@pytest.mark.parametrize(("argv", "said"), USAGE, ids=[" ".join(a) for a, _ in USAGE])
def test_what_cannot_be_used_is_exit_2(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    said: str,
) -> None:
    monkeypatch.setenv("POSTROOM_API_TOKEN", SECRET)
    result = run_cli(capsys, "ingest", *argv, stdin=b"x")
    assert result.code == 2
    assert result.err.count("\n") == 1 and said in result.err, result.err
    assert "secret" not in result.err


# ----------------------------------------------------------------------------------------
# The fast path (cli/pipe.py) and the Typer command give the same output, stderr and exit.

SHAPES = [
    (["ingest", "--url", "U"], PipeCall(url="U")),
    (["ingest", "--url=U", "--json", "-"], PipeCall("-", as_json=True, url="U")),
    (
        ["ingest", "m.eml", "--url", "U", "--token-file", "t", "--timeout", "2.5"],
        PipeCall("m.eml", url="U", token_file="t", timeout=2.5),
    ),
    (["ingest", "--url", "U", "--ca-file=ca.pem"], PipeCall(url="U", ca_file="ca.pem")),
    (["ingest", "--timeout", "3"], PipeCall(timeout=3.0)),
]
NOT_SHAPES = [
    ["ingest", "--url"],
    ["ingest", "--url", "--json"],
    ["ingest", "--url="],
    ["ingest", "--url", "a", "--url", "b"],
    ["ingest", "--timeout", "soon"],
    ["ingest", "--token-file", "-"],
    ["ingest", "--url", "U", "--token"],
]


@pytest.mark.parametrize(("argv", "call"), SHAPES, ids=[" ".join(a) for a, _ in SHAPES])
def test_the_url_shapes(argv: list[str], call: PipeCall) -> None:
    assert pipe_shape(argv) == call


@pytest.mark.parametrize("argv", NOT_SHAPES, ids=" ".join)
def test_other_url_shapes_are_left_to_typer(argv: list[str]) -> None:
    assert pipe_shape(argv) is None


def _both_ways(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, argv: list[str]
) -> tuple[Result, Result]:
    results = []
    for way in ("pipe", "typer"):
        with monkeypatch.context() as m:
            if way == "typer":
                m.setattr(pipe, "pipe_shape", lambda _args: None)
            else:
                assert pipe_shape(argv) is not None, argv
            results.append(run_cli(capsys, *argv, stdin=make_mail(message_id="<w@c.test>")))
    return results[0], results[1]


@pytest.mark.parametrize("as_json", [[], ["--json"]], ids=["text", "json"])
def test_both_ways_agree_on_a_decision(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    token_file: str,
    as_json: list[str],
) -> None:
    with stand_in(answering("201 Created", _BODY)) as (url, requests):
        argv = ["ingest", "--url", url, "--token-file", token_file, *as_json]
        by_pipe, by_typer = _both_ways(capsys, monkeypatch, argv)
    assert len(requests) == 2
    assert by_pipe == by_typer
    assert by_pipe.code == 0 and by_pipe.err == ""
    if as_json:
        assert json.loads(by_pipe.out) == DECISION
    else:  # describe()'s line, the service's remote text escaped
        assert by_pipe.out.startswith(
            "updated [D1 → M1] by thread: 100007-T (to-do, queue billing)"
        )
        assert "\x1b" not in by_pipe.out


def test_both_ways_agree_on_failures(
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    service: Service,
    token_file: str,
    tmp_path: Path,
) -> None:
    down = f"http://127.0.0.1:{_free_port()}"
    for argv in (
        ["ingest", "--url", service.url, "--token-file", token_file],  # refused: 1
        ["ingest", "--url", down, "--token-file", token_file, "--json"],  # down: 75
        ["ingest", "--url", service.url, "--token-file", str(tmp_path / "none")],  # 2
        ["ingest", "--url", service.url, "--token-file", token_file, str(tmp_path / "no.eml")],
        ["ingest", "--url", service.url, "--channel", "c"],
        ["ingest", "--url", service.url, "--timeout=-1"],
    ):
        by_pipe, by_typer = _both_ways(capsys, monkeypatch, argv)
        assert by_pipe == by_typer, argv
        assert by_pipe.code in (1, 2, 75) and by_pipe.err.count("\n") == 1, by_pipe
        assert SECRET not in by_pipe.err


def test_both_ways_store_through_the_service(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, service: Service
) -> None:
    """The same message twice: stored, then recognised (rule D1) by the service."""
    argv = ["ingest", "--url", service.url, "--token-file", str(service.token_file), "--json"]
    by_pipe, by_typer = _both_ways(capsys, monkeypatch, argv)
    assert by_pipe.code == by_typer.code == 0, (by_pipe.err, by_typer.err)
    assert by_pipe.err == by_typer.err == ""
    assert json.loads(by_typer.out)["rule"] == "D1"
    assert service.token not in by_pipe.out + by_typer.out


def test_the_pipe_fails_as_the_cli_does(capsys: pytest.CaptureFixture[str]) -> None:
    """`pipe.fail_line` (no Typer) writes what `cli.output.fail` writes."""
    from postroom.cli.output import fail

    message = "not stored: \x1b[2Jbad\r\nsecond line"
    lines = []
    for way in (pipe.fail_line, fail):
        with pytest.raises(SystemExit) as exited:
            way(message, 75)
        assert exited.value.code == 75
        lines.append(capsys.readouterr().err)
    assert lines[0] == lines[1]
    assert lines[0].count("\n") == 1 and "\x1b" not in lines[0]
