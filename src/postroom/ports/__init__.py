"""What the services need of the outside world, as Protocols and plain values.

A service drives a mailbox (`ports.mailbox`) or an SMTP server (`ports.sending`) through
these types only; the adapters (`postroom.mailboxes`, `postroom.outbound`) implement them and
`postroom.bootstrap` picks one. So a new mailbox protocol is a new adapter and a line in
bootstrap, and a service's unit test passes a fake instead of a server.
"""
