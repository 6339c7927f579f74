"""Outbound SMTP: connections with a security mode, delivery results per recipient.

Nothing above this package sees ``smtplib``, ``ssl`` or ``socket`` errors: a
server that cannot be used raises `postroom.net.connection.ConnectionFailure`, and
a message the server answered is described by a `Delivery`.
"""

from postroom.outbound.results import Delivery, Outcome, RecipientResult
from postroom.outbound.smtp import SmtpConnection, SmtpServer

__all__ = ["Delivery", "Outcome", "RecipientResult", "SmtpConnection", "SmtpServer"]
