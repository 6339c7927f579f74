"""Outbound SMTP: the adapter behind `postroom.ports.sending`.

Nothing above this package sees ``smtplib``, ``ssl`` or ``socket`` errors: a
server that cannot be used raises `postroom.net.connection.ConnectionFailure`, and
a message the server answered is described by a `postroom.ports.sending.Delivery`.
"""

from postroom.outbound.connection import SmtpConnection, SmtplibConnector

__all__ = ["SmtpConnection", "SmtplibConnector"]
