"""TLS contexts are shared per CA file, made anew when the file changes, never for a bad file."""

from __future__ import annotations

import os
import ssl
from pathlib import Path

import pytest
import trustme

from postroom.errors import UserError
from postroom.net.connection import tls_context


def test_one_context_per_ca_file_until_the_file_changes(tmp_path: Path) -> None:
    ca_file = tmp_path / "ca.pem"
    trustme.CA().cert_pem.write_to_path(str(ca_file))
    first = tls_context(ca_file)
    assert tls_context(ca_file) is first
    assert first.verify_mode is ssl.CERT_REQUIRED and first.check_hostname
    assert first.minimum_version is ssl.TLSVersion.TLSv1_2
    trustme.CA().cert_pem.write_to_path(str(ca_file))
    stat = ca_file.stat()
    os.utime(ca_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert tls_context(ca_file) is not first


def test_the_system_trust_store_is_shared_too() -> None:
    assert tls_context() is tls_context(None)


def test_an_unreadable_ca_file_is_a_user_error_every_time(tmp_path: Path) -> None:
    bad = tmp_path / "bad.pem"
    bad.write_text("not a certificate")
    for _ in range(2):
        with pytest.raises(UserError, match="cannot read CA file"):
            tls_context(bad)
    with pytest.raises(UserError, match="cannot read CA file"):
        tls_context(tmp_path / "missing.pem")
