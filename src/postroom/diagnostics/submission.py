"""SMTP for the check (RFC 5321; STARTTLS: RFC 3207; AUTH: RFC 4954).

The AUTH answers are the outbound adapter's (`postroom.outbound.auth.responder`), so a server's
check logs in with the same bytes as its sending."""

from __future__ import annotations

import smtplib
import socket
import ssl
import uuid
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any

from postroom.credentials import Secret
from postroom.diagnostics.failure import StepFailure
from postroom.net.sasl import AuthMechanism, Credentials
from postroom.outbound.auth import responder
from postroom.outbound.bounded import BoundedSMTP


class SmtpSession:
    def __init__(self, sock: socket.socket, host: str, timeout: float) -> None:
        # A fixed EHLO name: smtplib would otherwise look up our own FQDN in DNS.
        self._client = BoundedSMTP(local_hostname=socket.gethostname(), timeout=timeout)
        self._client.sock = sock
        # smtplib.starttls checks the certificate against _host, which connect() would set.
        self._client._host = host  # type: ignore[attr-defined]
        code, message = self._client.getreply()
        if code != 220:
            raise smtplib.SMTPConnectError(code, message)
        self.greeting = f"{code} {message.decode(errors='replace')}"

    def capabilities(self) -> list[str]:
        code, message = self._client.ehlo()
        if code != 250:
            raise smtplib.SMTPHeloError(code, message)
        return [f"{k.upper()} {v.strip()}".strip() for k, v in self._client.esmtp_features.items()]

    def offers_starttls(self) -> bool:
        return self._client.has_extn("starttls")

    def starttls(self, context: ssl.SSLContext) -> ssl.SSLSocket:
        self._client.starttls(context=context)
        sock = self._client.sock
        assert isinstance(sock, ssl.SSLSocket)
        return sock

    def authenticate(
        self,
        user: str,
        password: str,
        authzid: str | None,
        mechanism: AuthMechanism = AuthMechanism.AUTO,
    ) -> dict[str, Any]:
        client = self._client
        if not client.has_extn("auth"):
            raise StepFailure(
                "the server does not offer AUTH here",
                "many servers offer AUTH only after STARTTLS: drop ?tls=none, or use "
                "submission:// or smtps://",
            )
        mechanisms = client.esmtp_features["auth"].upper().split()
        if mechanism in (AuthMechanism.XOAUTH2, AuthMechanism.OAUTHBEARER):
            if mechanism.sasl_name not in mechanisms:
                raise StepFailure(
                    f"the server does not offer AUTH {mechanism.sasl_name} "
                    f"(it offers: {' '.join(mechanisms)})",
                    "log in with a password, or ask the server's administrator for OAuth2",
                )
            token = Credentials(user, Secret(password), None, mechanism)
            port = client.sock.getpeername()[1] if client.sock else 0
            host = str(getattr(client, "_host", ""))
            client.auth(mechanism.sasl_name, responder(mechanism, token, host, port))
            return {"mechanism": mechanism.sasl_name, "authzid": None}
        if authzid or "PLAIN" in mechanisms:
            if "PLAIN" not in mechanisms:
                raise StepFailure(
                    "the server does not offer AUTH PLAIN, which an authorization identity needs",
                    "drop --authzid, or ask the server's administrator to enable AUTH PLAIN",
                )
            login = Credentials(user, Secret(password), authzid)
            client.auth("PLAIN", responder(AuthMechanism.PLAIN, login))
            return {"mechanism": "PLAIN", "authzid": authzid}
        if "LOGIN" not in mechanisms:
            raise StepFailure(
                f"the server offers no mechanism Postroom speaks ({' '.join(mechanisms)})",
                "ask the server's administrator to enable AUTH PLAIN or LOGIN",
            )
        client.auth("LOGIN", responder(AuthMechanism.LOGIN, Credentials(user, Secret(password))))
        return {"mechanism": "LOGIN", "authzid": None}

    def send(self, sender: str, recipient: str) -> dict[str, Any]:
        """A short test message, like the one an engineer sends by hand."""
        msg = EmailMessage()
        msg["From"] = sender
        msg["To"] = recipient
        msg["Subject"] = "Postroom connection test"
        msg["Date"] = formatdate(localtime=False)
        msg["Message-ID"] = make_msgid(idstring=uuid.uuid4().hex[:12], domain="postroom.check")
        msg.set_content("This message was sent by `postroom check` to test sending mail.\n")
        client = self._client
        code, reply = client.mail(sender)
        if code != 250:
            raise smtplib.SMTPSenderRefused(code, reply, sender)
        code, reply = client.rcpt(recipient)
        if code not in (250, 251):
            raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})
        code, reply = client.data(msg.as_bytes())
        if code != 250:
            raise smtplib.SMTPDataError(code, reply)
        return {
            "from": sender,
            "to": recipient,
            "message_id": msg["Message-ID"],
            "response": f"{code} {reply.decode(errors='replace')}",
        }

    def close(self) -> None:
        try:
            self._client.quit()
        except (OSError, smtplib.SMTPException):
            self._client.close()
