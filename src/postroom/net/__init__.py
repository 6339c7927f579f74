"""The shared floor below the adapters: mail URLs, TLS, failure classes and SASL.

Mailboxes (POP3), outbound (SMTP) and diagnostics (connection checks) speak to
servers; what they have in common lives here once, so a channel's check and its
poll agree on what a URL means, how TLS is set up and how a failure is classified.
"""
