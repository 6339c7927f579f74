"""`run_check`: the steps an engineer runs by hand against a mail server, in order.

Each step records its figure or its failure; a failing step stops the steps that depend on
it, which are reported as not run (``ok`` None).  Nothing here raises for a server problem:
everything ends up in the `CheckReport`.

A person watching a check (the web page's Test connection) sees each step as it ends:
inside `reporting_steps`, every check calls the given function with a copy of each step
the moment it passes, fails or is skipped (scrubbed of the password as the report is).
The hook is held in a context variable, so the services between the page and this module
need not carry it; the report is the same with or without one.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import ssl
from collections.abc import Callable, Iterator
from contextvars import ContextVar
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar

from postroom.diagnostics import network
from postroom.diagnostics.certificate import CertificateInfo, judge
from postroom.diagnostics.failure import StepFailure, explain, starttls_missing
from postroom.diagnostics.imap import ImapSession
from postroom.diagnostics.pop3 import Pop3Session
from postroom.diagnostics.report import CheckReport, Step, StepName
from postroom.diagnostics.session import Session
from postroom.diagnostics.submission import SmtpSession
from postroom.net import sasl
from postroom.net.connection import MailUrl, Security, tls_context
from postroom.net.sasl import AuthMechanism, secret_forms

T = TypeVar("T")
Progress = Callable[[Step], None]
"""Called with each step as it ends (a copy: changing it changes nothing)."""
log = logging.getLogger(__name__)
_PROGRESS: ContextVar[Progress | None] = ContextVar("check_progress", default=None)
_SESSIONS: dict[str, Callable[[Any, str, float], Session]] = {
    "pop3": Pop3Session,
    "imap": ImapSession,
    "smtp": SmtpSession,
}


class _Stopped(Exception):
    """A step failed: the rest do not run."""


@contextlib.contextmanager
def reporting_steps(progress: Progress) -> Iterator[None]:
    """Every check run in this context calls ``progress`` with each step as it ends (a
    check passes a failing hook by, with a warning in the log)."""
    token = _PROGRESS.set(progress)
    try:
        yield
    finally:
        _PROGRESS.reset(token)


def step_names(url: MailUrl) -> list[StepName]:
    """The steps for this URL, in the order they run (STARTTLS comes after the greeting)."""
    tls = [StepName.TLS, StepName.CERTIFICATE]
    talk = [StepName.GREETING, StepName.CAPABILITIES]
    middle = tls + talk if url.security is Security.IMPLICIT else talk + tls
    last = StepName.SEND if url.protocol == "smtp" else StepName.MAILBOX
    return [StepName.DNS, StepName.TCP, *middle, StepName.AUTH, last]


def run_check(
    url: MailUrl,
    password: str | None,
    authzid: str | None,
    ca_file: Path | None,
    send_to: str | None,
    timeout: float,
    *,
    folder: str | None = None,
    mechanism: AuthMechanism = AuthMechanism.AUTO,
    move_to: str | None = None,
) -> CheckReport:
    """Check `url` step by step.  `password` None checks everything up to the login; `send_to`
    (SMTP only) sends a test message there.  A CA file that cannot be read is a `UserError`.
    IMAP: ``folder`` (INBOX when None) is the folder the mailbox step opens read-only;
    ``mechanism`` the login's (XOAUTH2 or OAUTHBEARER: ``password`` is an access token);
    ``move_to`` the folder ``--after move:`` moves mail to, which must exist."""
    context = tls_context(ca_file)
    report = CheckReport(str(url), [Step(name) for name in step_names(url)])
    secrets = _secret_forms(url, password, authzid) if password else []
    check = _Check(url, report, context, ca_file, timeout)
    check.folder = folder or "INBOX"
    check.mechanism = mechanism
    check.move_to = move_to
    check.progress = _watcher(_PROGRESS.get(), report.url, secrets)
    try:
        check.run(password, authzid, send_to)
    except _Stopped:
        pass
    finally:
        check.close()
    if secrets:
        report.scrub(secrets)
    return report


def _secret_forms(url: MailUrl, password: str, authzid: str | None) -> list[str]:
    """Every form the password (or access token) could leak in, for scrubbing."""
    forms = secret_forms(password, url.user, authzid)
    user = url.user or ""
    forms.append(sasl.encode(sasl.xoauth2(user, password)))
    forms.append(sasl.encode(sasl.oauthbearer(user, password, url.host, url.port)))
    return forms


def _watcher(progress: Progress | None, url: str, secrets: list[str]) -> Progress | None:
    """``progress`` given a scrubbed copy of each step; None without a hook."""
    if progress is None:
        return None
    hook = progress

    def watch(step: Step) -> None:
        shown = copy.deepcopy(step)
        CheckReport(url, [shown]).scrub(secrets)
        try:
            hook(shown)
        except Exception:  # a watcher's fault must not change the check
            log.warning("a check's progress hook failed on step %s", step.name, exc_info=True)

    return watch


class _Check:
    def __init__(
        self,
        url: MailUrl,
        report: CheckReport,
        context: ssl.SSLContext,
        ca_file: Path | None,
        timeout: float,
    ) -> None:
        self.url = url
        self.report = report
        self.context = context
        self.ca_file = ca_file
        self.timeout = timeout
        self.addresses: list[str] = []
        self.sock: Any = None
        self.session: Session | None = None
        self.progress: Progress | None = None
        self.folder = "INBOX"
        self.mechanism = AuthMechanism.AUTO
        self.move_to: str | None = None

    # ------------------------------------------------------------------ steps
    def run(self, password: str | None, authzid: str | None, send_to: str | None) -> None:
        url = self.url
        self.addresses = self._step(StepName.DNS, self._dns)
        connected = self._step(StepName.TCP, self._tcp)
        self.sock = connected.sock
        if url.security is Security.IMPLICIT:
            self._tls(lambda: network.handshake(self.sock, self.context, url.host))
            self._talk()
        else:
            self._talk()
            if url.security is Security.STARTTLS:
                self._starttls()
            else:
                for name in (StepName.TLS, StepName.CERTIFICATE):
                    self._skip(
                        name,
                        "the URL says tls=none: everything, the password too, "
                        "crosses the network in clear",
                    )
        session = self.session
        assert session is not None
        if password is None or url.user is None:
            why = "no password given" if url.user else "no user name in the URL"
            self._skip(StepName.AUTH, why)
            if url.protocol != "smtp" or send_to is None:
                self._skip(self.report.steps[-1].name, "needs a login")
                return
        else:
            user = url.user
            self._step(StepName.AUTH, lambda: self._auth(session, user, password, authzid))
        if url.protocol == "smtp":
            if send_to is None:
                self._skip(StepName.SEND, "no --send-to address given")
            else:
                sender = _sender(url, authzid)
                smtp = session
                assert isinstance(smtp, SmtpSession)
                self._step(StepName.SEND, lambda: self._send(smtp, sender, send_to))
        else:
            assert isinstance(session, Pop3Session | ImapSession)
            self._step(StepName.MAILBOX, lambda: self._mailbox(session))

    def _dns(self) -> tuple[list[str], str, dict[str, Any]]:
        addresses = network.resolve(self.url.host, self.url.port)
        detail = {"host": self.url.host, "addresses": addresses}
        return addresses, f"{self.url.host} → {', '.join(addresses)}", detail

    def _tcp(self) -> tuple[network.Connected, str, dict[str, Any]]:
        c = network.connect(self.addresses, self.url.port, self.timeout)
        detail = {"address": c.address, "port": self.url.port, "ms": c.ms}
        return c, f"connected to {c.address}:{self.url.port} in {c.ms} ms", detail

    def _talk(self) -> None:
        factory = _SESSIONS[self.url.protocol]

        def greet() -> tuple[Session, str, dict[str, Any]]:
            session = factory(self.sock, self.url.host, self.timeout)
            return session, session.greeting, {"greeting": session.greeting}

        self.session = self._step(StepName.GREETING, greet)
        session = self.session

        def capabilities() -> tuple[list[str], str, dict[str, Any]]:
            caps = session.capabilities()
            return caps, " ".join(c.split(" ", 1)[0] for c in caps), {"capabilities": caps}

        self._step(StepName.CAPABILITIES, capabilities)

    def _starttls(self) -> None:
        session = self.session
        assert session is not None
        if not session.offers_starttls():
            self._fail(StepName.TLS, starttls_missing(self.url))
        self._tls(lambda: _timed_starttls(session, self.context))
        step = self.report.step(StepName.CAPABILITIES)
        try:
            after = session.capabilities()
        except Exception as exc:  # noqa: BLE001 - every failure becomes the step's error
            self._fail(StepName.CAPABILITIES, explain(exc, StepName.CAPABILITIES, self.url, 0))
        step.detail["before_tls"] = step.detail["capabilities"]
        step.detail["capabilities"] = after
        step.summary = " ".join(c.split(" ", 1)[0] for c in after) + " (after STARTTLS)"
        self._ended(step)  # again: what it offers once encrypted

    def _tls(self, handshake: Callable[[], tuple[ssl.SSLSocket, int]]) -> None:
        """The verifying handshake; if the certificate is refused, a second, non-verifying
        handshake on a new connection, only to read the certificate for the report."""
        step, verify_error = self.report.step(StepName.TLS), None
        try:
            tls, ms = handshake()
        except ssl.SSLCertVerificationError as exc:
            verify_error = exc
            self.sock = None
            tls, ms = self._step(StepName.TLS, self._inspect, ended=False), None
        except Exception as exc:  # noqa: BLE001 - every failure becomes the step's error
            self._fail(StepName.TLS, explain(exc, StepName.TLS, self.url, self.timeout))
        step.ok, step.detail = True, network.tls_detail(tls, ms)
        step.detail["verified"] = verify_error is None
        step.summary = f"{step.detail['version']}, {step.detail['cipher']}"
        self._ended(step)
        der = network.peer_certificate(tls)
        if verify_error is None:
            self.sock = tls
        else:
            network.close_quietly(tls)
        info = CertificateInfo.from_der(der)
        verdict = judge(info, self.url.host, verify_error, _str(self.ca_file), datetime.now(UTC))
        cert = self.report.step(StepName.CERTIFICATE)
        cert.ok, cert.detail, cert.hint = verdict.ok, verdict.detail, verdict.hint
        cert.summary = _certificate_summary(verdict.detail)
        if not verdict.ok:
            cert.error = verdict.error
        self._ended(cert)
        if not verdict.ok:
            raise _Stopped

    def _inspect(self) -> tuple[ssl.SSLSocket, str, dict[str, Any]]:
        """Read the certificate over a fresh connection that accepts any certificate."""
        c = network.connect(self.addresses, self.url.port, self.timeout)
        context = network.inspection_context()
        if self.url.security is Security.IMPLICIT:
            tls, _ = network.handshake(c.sock, context, self.url.host)
        else:
            session = _SESSIONS[self.url.protocol](c.sock, self.url.host, self.timeout)
            session.capabilities()
            tls = session.starttls(context)
        return tls, "", {}

    def _auth(
        self, session: Session, user: str, password: str, authzid: str | None
    ) -> tuple[None, str, dict[str, Any]]:
        if isinstance(session, ImapSession | SmtpSession | Pop3Session):
            said = session.authenticate(user, password, authzid, self.mechanism)
        else:
            said = session.authenticate(user, password, authzid)
        detail = {"user": user, **said}
        acting = f" for {authzid}" if authzid else ""
        return None, f"logged in as {user}{acting} ({detail['mechanism']})", detail

    def _mailbox(self, session: Pop3Session | ImapSession) -> tuple[None, str, dict[str, Any]]:
        if isinstance(session, ImapSession):
            detail = session.mailbox(self.folder, self.move_to)
            return None, f"{detail['folder']}: {detail['messages']} messages", detail
        detail = session.mailbox()
        return None, f"{detail['messages']} messages", detail

    @staticmethod
    def _send(session: SmtpSession, sender: str, to: str) -> tuple[None, str, dict[str, Any]]:
        detail = session.send(sender, to)
        return None, f"sent to {to}: {detail['response']}", detail

    # ------------------------------------------------------------------ bookkeeping
    def _step(
        self,
        name: StepName,
        action: Callable[[], tuple[T, str, dict[str, Any]]],
        *,
        ended: bool = True,
    ) -> T:
        """``action``'s value; its figure in the step (which has ``ended`` unless its caller
        completes it), or its failure."""
        step = self.report.step(name)
        try:
            value, summary, detail = action()
        except Exception as exc:  # noqa: BLE001 - every failure becomes the step's error
            self._fail(name, explain(exc, name, self.url, self.timeout))
        step.ok, step.summary, step.detail = True, summary, detail
        if ended:
            self._ended(step)
        return value

    def _fail(self, name: StepName, failure: StepFailure) -> Any:
        step = self.report.step(name)
        step.ok, step.error, step.hint = False, failure.error, failure.hint
        if failure.detail:
            step.detail = failure.detail
        step.failure_class = failure.failure_class
        self._ended(step)
        raise _Stopped

    def _skip(self, name: StepName, why: str) -> None:
        step = self.report.step(name)
        step.summary, step.detail = f"skipped: {why}", {"skipped": why}
        self._ended(step)

    def _ended(self, step: Step) -> None:
        if self.progress is not None:
            self.progress(step)

    def close(self) -> None:
        if self.session is not None:
            # closing after a failure may fail too; the report already says why
            with contextlib.suppress(Exception):
                self.session.close()
        network.close_quietly(self.sock)


def _timed_starttls(session: Session, context: ssl.SSLContext) -> tuple[ssl.SSLSocket, int]:
    started = datetime.now(UTC)
    tls = session.starttls(context)
    return tls, round((datetime.now(UTC) - started).total_seconds() * 1000)


def _certificate_summary(detail: dict[str, Any]) -> str:
    until = str(detail["not_after"])[:10]
    text = f"{detail['subject']}, issued by {detail['issuer']}, until {until}"
    return f"{text} ({detail['days_left']} days left)"


def _sender(url: MailUrl, authzid: str | None) -> str:
    """The test message's sender: the mailbox acted for, the user, or a placeholder."""
    for candidate in (authzid, url.user):
        if candidate and "@" in candidate:
            return candidate
    return "postroom-check@localhost"


def _str(path: Path | None) -> str | None:
    return str(path) if path else None
