"""``/api/v1/users`` (admin only): as ``user list`` and ``user add``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field

from postroom.records.config import Role
from postroom.render.config import user_json
from postroom.web.auth import Admin, Postroom
from postroom.web.fields import Address, Name
from postroom.web.paging import Paging, page
from postroom.web.problems import API_PROBLEMS, responses

router = APIRouter(prefix="/api/v1/users", tags=["users"], responses=API_PROBLEMS)


class UserOut(BaseModel):
    name: str
    email: str | None
    role: str


class UserIn(BaseModel):
    name: Name
    email: Address | None = None
    role: Role = Role.AGENT
    password: str | None = Field(default=None, min_length=1, max_length=1024, pattern=r"^[^\x00]*$")
    """Write-only: without one, the user cannot sign in (a token still works)."""


@router.get("", response_model=list[UserOut])
def list_users(
    _: Admin, app: Postroom, paging: Paging, request: Request, response: Response
) -> list[dict[str, Any]]:
    """Every user, by name (``user list --json``), paged."""
    users = page(app.users.list(), lambda u: u.name, paging, request, response)
    return [user_json(u) for u in users]


@router.post("", status_code=201, response_model=UserOut, responses=responses(409))
def add_user(body: UserIn, _: Admin, app: Postroom) -> dict[str, Any]:
    """A new user (``user add``); 409 if the name is taken."""
    user = app.users.add(body.name, body.email, body.role)
    if body.password is not None:
        app.accounts.set_password(user.name, body.password)
    return user_json(user)
