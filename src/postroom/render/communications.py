"""One communication as `GET /api/v1/communications/{id}` shows it: the fields of
`item show`'s communications, the item's reference, the headers (first value of each,
decoded), the text, the sanitised HTML and the attachments with their download URLs."""

from __future__ import annotations

from typing import Any

from postroom.render.mail import communications_json
from postroom.services.communications import CommunicationView

API = "/api/v1/communications"


def communication_json(view: CommunicationView) -> dict[str, Any]:
    data = communications_json([view.record])[0]
    cid = view.record.id
    data.update(
        {
            "reference": view.item_reference,
            "headers": view.headers,
            "text": view.text,
            "html": view.html,
            "attachments": [
                {
                    "index": a.index,
                    "name": a.name,
                    "size": a.size,
                    "content_type": a.content_type,
                    "inline": a.inline,
                    "content_id": a.content_id,
                    "url": f"{API}/{cid}/attachments/{a.index}",
                }
                for a in view.attachments
            ],
            "defects": list(view.defects),
            "raw_url": f"{API}/{cid}/raw",
        }
    )
    return data
