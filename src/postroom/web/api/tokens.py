"""``/api/v1/tokens`` (admin only): as ``token list``, ``token create``, ``token revoke``.
The secret comes back once, in the answer to the POST that made it; never again."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel

from postroom.render.config import token_created_json, token_json
from postroom.web.auth import Admin, Postroom, forget_tokens
from postroom.web.fields import Name, RowId
from postroom.web.paging import Paging, page
from postroom.web.problems import API_PROBLEMS, responses

router = APIRouter(prefix="/api/v1/tokens", tags=["tokens"], responses=API_PROBLEMS)


class TokenOut(BaseModel):
    id: int
    user: str
    name: str | None
    created_at: str | None
    last_used_at: str | None
    revoked_at: str | None


class TokenCreated(TokenOut):
    token: str
    """The secret: shown this once, stored only as a hash."""


class TokenIn(BaseModel):
    user: Name
    name: Name | None = None


@router.get("", response_model=list[TokenOut])
def list_tokens(
    _: Admin, app: Postroom, paging: Paging, request: Request, response: Response
) -> list[dict[str, Any]]:
    """Every token, oldest first (revoked ones with ``revoked_at``), paged by id."""
    tokens = page(app.accounts.list_tokens(), lambda t: f"{t.id:012d}", paging, request, response)
    return [token_json(t) for t in tokens]


@router.post("", status_code=201, response_model=TokenCreated, responses=responses(404))
def create_token(body: TokenIn, _: Admin, app: Postroom) -> dict[str, Any]:
    """A new token for a user; its secret (``token``) is in this answer only."""
    record, secret = app.accounts.create_token(body.user, body.name)
    return token_created_json(record, secret)


@router.delete("/{token_id}", status_code=204, responses=responses(404))
def revoke_token(token_id: RowId, _: Admin, app: Postroom, request: Request) -> Response:
    """The token stops working now."""
    app.accounts.revoke_token(token_id)
    forget_tokens(request)
    return Response(status_code=204)
