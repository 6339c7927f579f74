"""Reply templates: parsed once per file and kept while the file is unchanged."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from postroom.mime import templates
from postroom.mime.templates import load_template, parse_template


def test_a_template_is_parsed_once(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[str] = []
    real = templates.parse_template

    def counting(text: str) -> templates.ReplyTemplate:
        calls.append(text)
        return real(text)

    monkeypatch.setattr(templates, "_parsed", {})
    monkeypatch.setattr(templates, "_found", {})
    monkeypatch.setattr(templates, "parse_template", counting)
    first = load_template("acknowledgement", None)
    for _ in range(50):
        assert load_template("acknowledgement", None) is first
    assert len(calls) == 1


def test_a_folder_overrides_the_built_in_template_and_an_edit_is_seen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    clock = [1000.0]
    monkeypatch.setattr(templates.time, "monotonic", lambda: clock[0])
    path = tmp_path / "acknowledgement.txt"
    path.write_text("Subject: Got it [$reference]\n\nThanks, $sender_name.\n", encoding="utf-8")
    values = {"reference": "101203-T", "sender_name": "Carol"}
    assert load_template("acknowledgement", tmp_path).render(values) == (
        "Got it [101203-T]",
        "Thanks, Carol.\n",
    )
    path.write_text("Subject: Received $reference\n\nHello $sender_name.\n", encoding="utf-8")
    stamp = path.stat().st_mtime_ns + 1_000_000_000
    os.utime(path, ns=(stamp, stamp))
    clock[0] += 0.5  # the files are looked at once a second at most
    assert load_template("acknowledgement", tmp_path).render(values)[0] == "Got it [101203-T]"
    clock[0] += 0.6
    assert load_template("acknowledgement", tmp_path).render(values) == (
        "Received 101203-T",
        "Hello Carol.\n",
    )
    # Kinds the folder does not have come from the built-in ones.
    subject, _ = load_template("address-not-configured", tmp_path).render(values)
    assert subject.startswith("[101203-T] Undeliverable:")


def test_a_missing_template_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_template("no-such-kind", tmp_path)


def test_a_template_without_a_subject_is_all_body() -> None:
    template = parse_template("Hello $sender_name,\nbye\n")
    assert template.render({"sender_name": "Carol"}) == ("", "Hello Carol,\nbye\n")
