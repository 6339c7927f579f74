"""Operations: ``/healthz`` (the process runs), ``/readyz`` (the database answers),
``/metrics`` (Prometheus text format; a token unless ``POSTROOM_METRICS_PUBLIC=true``)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Request, Response
from fastapi.security import HTTPAuthorizationCredentials
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from postroom.web.auth import Postroom, bearer, principal_of
from postroom.web.problems import responses

router = APIRouter(tags=["operations"])


@router.get("/healthz", openapi_extra={"security": []}, responses=responses(500))
def healthz() -> dict[str, str]:
    """200 while the process runs."""
    return {"status": "ok"}


@router.get("/readyz", openapi_extra={"security": []}, responses=responses(500, 503))
def readyz(app: Postroom) -> dict[str, str]:
    """200 when the database answers; 503 (with Retry-After) when it does not."""
    app.overview.ready()
    return {"status": "ready"}


@router.get(
    "/metrics",
    response_class=Response,
    responses={
        200: {"content": {CONTENT_TYPE_LATEST.split(";")[0]: {"schema": {"type": "string"}}}},
        **responses(401, 500, 503),
    },
)
def metrics(
    request: Request,
    app: Postroom,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)],
) -> Response:
    """Prometheus text format: every figure read from the database now."""
    if not app.settings.metrics_public:
        principal_of(request, credentials)
    body = generate_latest(request.app.state.metrics)
    return Response(body, media_type=CONTENT_TYPE_LATEST)
