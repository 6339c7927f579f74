"""The REST API's routers, one module per concern (docs/web.md's table)."""
