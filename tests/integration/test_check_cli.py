"""`postroom check` and `postroom auth-string` on the command line: output, exit status,
and no secret in any output, whatever fails."""

from __future__ import annotations

import base64
import json
import logging
import os
import secrets
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from postroom.cli.app import build_app
from support.mailstack import Mailstack

pytestmark = pytest.mark.servers
POSTROOM = str(Path(sys.executable).with_name("postroom"))


@pytest.fixture
def silent_port() -> Iterator[int]:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen(8)
        yield int(server.getsockname()[1])


def test_json_is_the_documented_contract_and_exit_0(mailstack: Mailstack) -> None:
    address, password = mailstack.new_user("cli")
    url = f"pop3s://{address}@{mailstack.host}:{mailstack.pop3s_port}"
    result = subprocess.run(
        [POSTROOM, "check", url, "--password-env", "PW", "--ca-file", str(mailstack.ca_file),
         "--json"],
        env={**os.environ, "PW": password}, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    data = json.loads(result.stdout)
    assert set(data) == {"url", "ok", "complete", "untested", "steps"} and data["ok"] is True
    assert data["complete"] is True and data["untested"] == []
    assert data["url"] == url
    assert [s["name"] for s in data["steps"]] == [
        "dns", "tcp", "tls", "certificate", "greeting", "capabilities", "auth", "mailbox",
    ]  # fmt: skip
    for step in data["steps"]:
        assert set(step) == {"name", "ok", "detail", "error", "hint"}
    cert = data["steps"][3]["detail"]
    for key in ("subject", "issuer", "san", "not_before", "not_after", "days_left"):
        assert key in cert
    assert cert["hostname_match"] is True and cert["trusted"] is True


def test_failure_prints_a_cross_and_a_hint_and_exits_1(mailstack: Mailstack) -> None:
    port = mailstack.bad_cert("expired").imaps
    result = subprocess.run(
        [POSTROOM, "check", f"imaps://{mailstack.host}:{port}", "--ca-file",
         str(mailstack.ca_file)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert result.returncode == 1
    assert "✓ tls" in result.stdout
    assert "✗ certificate  not trusted: certificate has expired" in result.stdout
    assert "hint: the certificate expired on 2020-02-01" in result.stdout
    assert "· greeting     not run" in result.stdout


@pytest.mark.parametrize(
    "args",
    [
        ["check", "gopher://host"],
        ["check", "pop3s://u:pw@host"],
        ["check", "pop3s://host", "--password-env", "POSTROOM_TEST_UNSET_VARIABLE"],
        ["check", "pop3s://host", "--send-to", "x@example.test"],
        ["check", "pop3s://host", "--timeout", "0"],
        ["check", "pop3s://host", "--ca-file", "/nonexistent/ca.pem"],
        ["auth-string", "--user", "u", "--mechanism", "cram-md5"],
    ],
)
def test_bad_usage_exits_2_with_one_line(args: list[str]) -> None:
    result = subprocess.run([POSTROOM, *args], capture_output=True, text=True, check=False)
    assert result.returncode == 2, result
    assert "Traceback" not in result.stderr
    assert "pw@" not in result.stderr


def test_auth_string_plain_and_login() -> None:
    env = {**os.environ, "PW": "alicepw"}
    plain = subprocess.run(
        [POSTROOM, "auth-string", "--user", "alice@example.test", "--password-env", "PW",
         "--authzid", "shared@example.test"],
        env=env, capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    assert plain[:2] == ["AUTH", "PLAIN"]
    assert base64.b64decode(plain[2]) == b"shared@example.test\0alice@example.test\0alicepw"
    login = subprocess.run(
        [POSTROOM, "auth-string", "--user", "alice@example.test", "--mechanism", "login"],
        input="alicepw\n", capture_output=True, text=True, check=True,
    ).stdout.splitlines()  # fmt: skip
    assert login == ["AUTH LOGIN", "YWxpY2VAZXhhbXBsZS50ZXN0", "YWxpY2Vwdw=="]


def test_no_failure_case_reveals_the_password(
    mailstack: Mailstack, silent_port: int, caplog: pytest.LogCaptureFixture
) -> None:
    """Every failure case, in text and JSON: the password, and the Base64 forms that carry it,
    appear neither on stdout nor on stderr nor in a log record."""
    address, _ = mailstack.new_user("secret")
    password = f"Secret-{secrets.token_hex(8)}"
    shared = mailstack.new_shared_mailbox([address])
    host, ca = mailstack.host, str(mailstack.ca_file)
    bad = mailstack.bad_cert
    urls = [
        (f"pop3s://{address}@{host}:{mailstack.pop3s_port}", []),
        (f"pop3://{address}@{host}:{mailstack.pop3_port}", ["--authzid", "bob@example.test"]),
        (f"imaps://{address}@{host}:{mailstack.imaps_port}", []),
        (f"imap://{address}@{host}:{mailstack.imap_port}?tls=none", []),
        (f"submission://{address}@{host}:{mailstack.submission_port}", ["--authzid", shared]),
        (f"submission://{address}@{host}:{mailstack.submission_port}?tls=none", []),
        (f"smtp://{address}@{host}:{mailstack.smtp_port}?tls=none", []),
        (f"smtps://{address}@{host}:{mailstack.smtps_port}", ["--send-to", "x@customer.invalid"]),
        (f"smtps://{address}@{host}:{bad('expired').smtps}", []),
        (f"imaps://{address}@{host}:{bad('selfsigned').imaps}", []),
        (f"submission://{address}@{host}:{bad('wronghost').submission}", []),
        (f"pop3s://{address}@{host}:{silent_port}", ["--timeout", "0.3"]),
        (f"imaps://{address}@no-such-host.invalid:993", []),
        (f"pop3s://{address}@{host}:1", []),
    ]
    forbidden = [
        password,
        base64.b64encode(password.encode()).decode(),
        base64.b64encode(f"\0{address}\0{password}".encode()).decode(),
        base64.b64encode(f"{shared}\0{address}\0{password}".encode()).decode(),
    ]
    runner = CliRunner()
    caplog.set_level(logging.DEBUG)
    for url, extra in urls:
        for output in ([], ["--json"]):
            args = ["check", url, "--password-env", "PW", "--ca-file", ca, *extra, *output]
            result = runner.invoke(build_app(), args, env={"PW": password})
            assert result.exit_code == 1, (url, result.output)
            seen = result.stdout + result.stderr + caplog.text + repr(result.exception or "")
            for secret in forbidden:
                assert secret not in seen, (url, output)
