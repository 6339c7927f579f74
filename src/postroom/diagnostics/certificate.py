"""The server certificate as an operator wants to see it, read with `cryptography.x509`.

The verdict combines what we read from the certificate (names, dates) with what OpenSSL
said during the verifying handshake (chain of trust).  OpenSSL reports only its first
objection, so the host-name match and the validity dates are worked out here as well.
"""

from __future__ import annotations

import ipaddress
import ssl
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from cryptography import x509

EXPIRY_WARNING_DAYS = 30

# OpenSSL X509_V_ERR_HOSTNAME_MISMATCH, X509_V_ERR_IP_ADDRESS_MISMATCH: the chain itself was
# accepted before the name check objected (x509_vfy.c checks names after building the chain).
_NAME_ERRORS = {62, 64}


@dataclass(frozen=True, slots=True)
class CertificateInfo:
    subject: str
    issuer: str
    san: list[str]
    not_before: datetime
    not_after: datetime
    self_signed: bool

    @classmethod
    def from_der(cls, der: bytes) -> CertificateInfo:
        cert = x509.load_der_x509_certificate(der)
        san: list[str] = []
        try:
            ext = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName)
        except x509.ExtensionNotFound:
            pass
        else:
            names = ext.value
            san += [f"DNS:{n}" for n in names.get_values_for_type(x509.DNSName)]
            san += [f"IP:{n}" for n in names.get_values_for_type(x509.IPAddress)]
        return cls(
            subject=cert.subject.rfc4514_string(),
            issuer=cert.issuer.rfc4514_string(),
            san=san,
            not_before=cert.not_valid_before_utc,
            not_after=cert.not_valid_after_utc,
            self_signed=cert.subject == cert.issuer,
        )

    def days_left(self, now: datetime) -> int:
        return (self.not_after - now).days

    def matches(self, host: str) -> bool:
        """RFC 6125 §6.4: the host against the SANs (the subject CN only when there are
        none), with a wildcard only as the whole left-most label."""
        try:
            ip = ipaddress.ip_address(host.strip("[]"))
        except ValueError:
            ip = None
        if ip is not None:
            return any(n == f"IP:{ip}" for n in self.san)
        dns = [n[4:] for n in self.san if n.startswith("DNS:")]
        if not self.san:
            dns = [p[3:] for p in self.subject.split(",") if p.startswith("CN=")]
        return any(_dns_match(pattern, host) for pattern in dns)


def _dns_match(pattern: str, host: str) -> bool:
    pattern, host = pattern.lower().rstrip("."), host.lower().rstrip(".")
    if pattern.startswith("*."):
        head, _, rest = host.partition(".")
        return bool(head) and rest == pattern[2:]
    return pattern == host


@dataclass(frozen=True, slots=True)
class Verdict:
    detail: dict[str, Any]
    ok: bool
    error: str | None
    hint: str | None


def judge(
    info: CertificateInfo,
    host: str,
    verify_error: ssl.SSLCertVerificationError | None,
    ca_file: str | None,
    now: datetime | None = None,
) -> Verdict:
    """The certificate step's result, from the certificate and the verifying handshake."""
    now = now or datetime.now(UTC)
    days_left = info.days_left(now)
    hostname_match = info.matches(host)
    in_time = info.not_before <= now <= info.not_after
    why_untrusted: str | None = None
    if verify_error is not None:
        code = verify_error.verify_code
        if code not in _NAME_ERRORS:
            why_untrusted = verify_error.verify_message or str(verify_error)
        elif not in_time:
            why_untrusted = "certificate has expired" if now > info.not_after else "not yet valid"
    trusted = why_untrusted is None
    detail: dict[str, Any] = {
        "subject": info.subject,
        "issuer": info.issuer,
        "san": info.san,
        "not_before": info.not_before.isoformat(),
        "not_after": info.not_after.isoformat(),
        "days_left": days_left,
        "hostname_match": hostname_match,
        "trusted": trusted,
        "why_untrusted": why_untrusted,
    }
    names = ", ".join(n.split(":", 1)[1] for n in info.san) or info.subject
    if not trusted:
        return Verdict(
            detail, False, f"not trusted: {why_untrusted}", _untrusted_hint(info, now, ca_file)
        )
    if not hostname_match:
        return Verdict(
            detail,
            False,
            f"the certificate is for {names}, not {host}",
            f"connect with a name the certificate holds ({names}), or have the server's "
            f"certificate reissued to include {host}",
        )
    if days_left < EXPIRY_WARNING_DAYS:
        detail["warning"] = f"expires in {days_left} days"
        return Verdict(detail, True, None, "renew the certificate before it expires")
    return Verdict(detail, True, None, None)


def _untrusted_hint(info: CertificateInfo, now: datetime, ca_file: str | None) -> str:
    if now > info.not_after:
        return (
            f"the certificate expired on {info.not_after:%Y-%m-%d}: the server's administrator "
            "must install a renewed one (check the server's clock, too)"
        )
    if now < info.not_before:
        return f"the certificate is valid only from {info.not_before:%Y-%m-%d}: check clocks"
    if info.self_signed:
        return (
            "the server presents a self-signed certificate: install one issued by a trusted "
            "CA, or (if you trust it) pass it with --ca-file"
        )
    where = f"the CA file {ca_file}" if ca_file else "the system's trusted CAs"
    return (
        f"the issuer ({info.issuer}) is not among {where}: pass the issuing CA's certificate "
        "with --ca-file"
    )
