"""`--log-format json` (postroom/logging_format.py): the services' own lines become named
events with their fields, and a secret in a URL's query never reaches a line."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

import postroom
from e2e.cli import Shell
from postroom.logging_format import KNOWN, JsonFormatter

SRC = Path(postroom.__file__).parent


@pytest.fixture
def json_log() -> Iterator[io.StringIO]:
    """The ``postroom`` logger's lines as `postroom run --log-format json` writes them."""
    out = io.StringIO()
    handler = logging.StreamHandler(out)
    handler.setFormatter(JsonFormatter())
    logger = logging.getLogger("postroom")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield out
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_a_quarantined_message_is_an_event_with_its_reason(
    capsys: pytest.CaptureFixture[str], postroom_env: dict[str, str], json_log: io.StringIO
) -> None:
    shell = Shell(capsys)
    shell("ingest", "-", stdin=b"\x00\x01 not mail at all \xff\xfe")
    lines = [json.loads(line) for line in json_log.getvalue().splitlines()]
    [line] = [x for x in lines if x["event"] == "message.quarantined"]
    assert line["level"] == "warning" and line["logger"] == "postroom.services.ingest"
    assert len(line["sha256"]) == 12 and line["reason"]
    assert line["reason"] in line["message"]


@pytest.mark.parametrize(("logger", "template"), sorted(KNOWN))
def test_every_known_line_is_one_the_services_log(logger: str, template: str) -> None:
    """A service that rewords its line must reword it here too, or its event is lost."""
    module = {"postroom.services.poll": "postroom.services.poll_outcomes"}.get(logger, logger)
    module = {"postroom.send": "postroom.runtime.sending"}.get(module, module)
    source = (SRC.parent / (module.replace(".", "/") + ".py")).read_text()
    joined = source.replace('"\n            "', "").replace('"\n        "', "")
    assert template in joined, f"{logger}: {template!r}"


def _record(msg: str, *args: object, **extra: object) -> logging.LogRecord:
    record = logging.LogRecord("postroom.x", logging.INFO, __file__, 1, msg, args, None)
    for key, value in extra.items():
        setattr(record, key, value)
    return record


def test_a_secret_in_a_query_string_is_cut_and_keys_come_first() -> None:
    line = json.loads(
        JsonFormatter().format(
            _record(
                "GET %s",
                "/signup?token=s3cr3t-token&next=/ and pop3s://u@h?password=pw1",
                event="http.request",
                data={"status": 200, "ts": "forged"},
            )
        )
    )
    assert list(line)[:6] == ["ts", "level", "event", "logger", "pid", "message"]
    assert line["ts"] != "forged" and line["status"] == 200 and line["event"] == "http.request"
    assert "s3cr3t" not in line["message"] and "pw1" not in line["message"]
    assert "next=/" in line["message"]


def test_a_printed_line_keeps_its_link_and_a_line_is_ascii() -> None:
    text = JsonFormatter().format(
        _record("sign up at http://h/signup?token=abc\u2028é", printed=True)
    )
    assert text.isascii() and "\n" not in text
    assert json.loads(text)["message"] == "sign up at http://h/signup?token=abc\u2028é"
    assert json.loads(text)["event"] == "log"
