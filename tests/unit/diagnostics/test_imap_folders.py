"""The folders of a LIST answer as a check's hint shows them: parsed whatever the form,
decoded from modified UTF-7, control characters escaped, at most 50 names."""

from __future__ import annotations

from postroom.diagnostics.imap_folders import escaped, folder_names, shown_folders


def test_names_are_read_from_quoted_atom_and_literal_forms() -> None:
    data: list[object] = [
        b'(\\HasNoChildren) "." "INBOX"',
        b'(\\HasNoChildren) "." Archive',
        b'(\\HasNoChildren) "." "Say \\"hi\\""',
        (b'(\\HasNoChildren) "." {5}', b"Lit\r\n"),
        b'(\\HasNoChildren) "." "Entw&APw-rfe"',
        None,
    ]
    assert folder_names(data) == ["INBOX", "Archive", 'Say "hi"', "Lit\r\n", "Entwürfe"]


def test_control_characters_are_escaped_and_long_names_cut() -> None:
    assert escaped("a\x1b[31mred\r\nb\\") == "a\\x1b[31mred\\x0d\\x0ab\\\\"
    assert len(escaped("x" * 5000)) == 101


def test_at_most_fifty_names_inbox_first() -> None:
    names = [f"F{i:03d}" for i in range(120, 0, -1)] + ["INBOX"]
    shown = shown_folders(names)
    assert shown.startswith("INBOX, F001, F002")
    assert shown.count(", ") == 49 and shown.endswith(" … and 71 more")
    assert shown_folders([]) == "no folders"
