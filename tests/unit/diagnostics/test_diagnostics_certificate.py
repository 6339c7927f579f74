"""The certificate verdict: names, dates, trust, from certificates made in the test."""

from __future__ import annotations

import ssl
from datetime import UTC, datetime, timedelta

import pytest
import trustme
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from postroom.diagnostics.certificate import CertificateInfo, judge

NOW = datetime(2025, 6, 1, tzinfo=UTC)


def _info(*names: str, days: int = 365, start_days: int = -10) -> CertificateInfo:
    ca = trustme.CA()
    leaf = ca.issue_cert(
        *names, not_before=NOW + timedelta(days=start_days), not_after=NOW + timedelta(days=days)
    )
    pem = leaf.cert_chain_pems[0].bytes()
    der = x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)
    return CertificateInfo.from_der(der)


def _verify_error(code: int, message: str) -> ssl.SSLCertVerificationError:
    error = ssl.SSLCertVerificationError(1, message)
    error.verify_code = code
    error.verify_message = message
    return error


@pytest.mark.parametrize(
    ("pattern_names", "host", "expected"),
    [
        (("mail.example.com",), "mail.example.com", True),
        (("mail.example.com",), "MAIL.example.com.", True),
        (("mail.example.com",), "pop.example.com", False),
        (("*.example.com",), "pop.example.com", True),
        (("*.example.com",), "a.b.example.com", False),
        (("*.example.com",), "example.com", False),
        (("127.0.0.1",), "127.0.0.1", True),
        (("127.0.0.1",), "127.0.0.2", False),
        (("localhost", "::1"), "::1", True),
        (("localhost",), "127.0.0.1", False),
    ],
)
def test_host_name_match(pattern_names: tuple[str, ...], host: str, expected: bool) -> None:
    assert _info(*pattern_names).matches(host) is expected


def test_reads_subject_issuer_names_and_dates() -> None:
    info = _info("mail.example.com", "127.0.0.1", days=100)
    assert info.san == ["DNS:mail.example.com", "IP:127.0.0.1"]
    assert "trustme" in info.issuer
    assert info.not_after == NOW + timedelta(days=100)
    assert info.days_left(NOW) == 100
    assert not info.self_signed


def test_a_good_certificate_passes_without_a_note() -> None:
    verdict = judge(_info("mail.example.com"), "mail.example.com", None, None, NOW)
    assert verdict.ok and verdict.error is None and verdict.hint is None
    assert verdict.detail["trusted"] is True
    assert verdict.detail["hostname_match"] is True
    assert set(verdict.detail) >= {
        "subject", "issuer", "san", "not_before", "not_after", "days_left", "hostname_match",
        "trusted",
    }  # fmt: skip


def test_expiring_within_30_days_passes_with_a_warning() -> None:
    verdict = judge(_info("mail.example.com", days=12), "mail.example.com", None, None, NOW)
    assert verdict.ok
    assert verdict.detail["warning"] == "expires in 12 days"
    assert verdict.hint is not None and "renew" in verdict.hint


def test_expired_is_untrusted_and_says_when() -> None:
    info = _info("mail.example.com", days=-3, start_days=-60)
    verdict = judge(
        info, "mail.example.com", _verify_error(10, "certificate has expired"), None, NOW
    )
    assert not verdict.ok
    assert verdict.detail["trusted"] is False
    assert verdict.detail["days_left"] < 0
    assert verdict.error == "not trusted: certificate has expired"
    assert verdict.hint is not None and "expired on" in verdict.hint


def test_unknown_issuer_points_at_ca_file() -> None:
    error = _verify_error(20, "unable to get local issuer certificate")
    verdict = judge(_info("mail.example.com"), "mail.example.com", error, "/etc/ca.pem", NOW)
    assert not verdict.ok
    assert (
        verdict.hint is not None and "--ca-file" in verdict.hint and "/etc/ca.pem" in verdict.hint
    )


def test_wrong_host_with_a_trusted_chain_is_trusted_but_fails_on_the_name() -> None:
    error = _verify_error(64, "IP address mismatch")
    verdict = judge(_info("wrong.example.com"), "127.0.0.1", error, None, NOW)
    assert not verdict.ok
    assert verdict.detail["trusted"] is True
    assert verdict.detail["hostname_match"] is False
    assert verdict.error == "the certificate is for wrong.example.com, not 127.0.0.1"
