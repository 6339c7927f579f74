"""``/``: the dashboard. Every channel at a glance (failing ones first), the SMTP servers,
the outbox by status, what waits in quarantine and unhandled; one snapshot of
`services.overview`, refreshed by the browser every `REFRESH_SECONDS` (a
``<meta http-equiv="refresh">``: no script needed)."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from postroom.services.overview import ChannelHealth
from postroom.web.auth import Postroom
from postroom.web.ui.pages import Browser, page, serves

router = APIRouter(include_in_schema=False)

REFRESH_SECONDS = 30


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, app: Postroom, visitor: Browser) -> HTMLResponse:
    overview = app.overview.overview()
    channels = sorted(overview.channels, key=_attention)
    return page(
        request,
        visitor,
        "dashboard.html",
        title="Dashboard",
        refresh=REFRESH_SECONDS,
        overview=overview,
        channels=channels,
        channels_on=sum(1 for c in channels if c.enabled),
        failing=sum(1 for c in channels if c.failure_count),
        outbox_waiting=sum(overview.outbox.get(s, 0) for s in ("queued", "sending", "delivering")),
        outbox_stuck=sum(overview.outbox.get(s, 0) for s in ("failed", "unknown", "bounced")),
        channel_pages=visitor.admin and serves(request, "/channels/{name}"),
        server_pages=visitor.admin and serves(request, "/smtp-servers/{name}"),
        serves_new_channel=visitor.admin and serves(request, "/channels/new"),
        list_pages={p: serves(request, p) for p in ("/quarantine", "/unhandled", "/outbox")},
    )


def _attention(channel: ChannelHealth) -> tuple[int, int, str]:
    """Failing channels first (most failures first), then the ones switched off, then the
    rest; by name within each."""
    if channel.failure_count:
        return (0, -channel.failure_count, channel.name)
    return (1 if not channel.enabled else 2, 0, channel.name)
