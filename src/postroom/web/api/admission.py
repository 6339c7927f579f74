"""An enable refused by its connection check (services/enabling.py), as HTTP: a 409
problem whose ``detail`` names the failed step and the fields to change, with the check
itself as the extension member ``check`` (RFC 9457 §3.2), so a client shows each step
without a second request, and those fields as ``fix`` (render.fixes.fix_json). One wording
for channels and SMTP servers, in the API's field names (never a command-line option)."""

from __future__ import annotations

from http import HTTPStatus
from typing import Any

from fastapi.responses import JSONResponse
from pydantic import BaseModel

from postroom.render.fixes import fix_json
from postroom.services.enabling import Admission
from postroom.web.api.checks import CheckOut, check_out
from postroom.web.api.wording import for_the_api
from postroom.web.problems import MEDIA_TYPE, Problem

_DETAIL_LIMIT = 500
"""As every problem's detail (web/problems.py): an error can quote a server."""


class FixOut(BaseModel):
    """What to change after a failed check: any of ``settings`` (the fields of PATCH) may
    be the cause; ``about`` is what of them the failed step depends on."""

    settings: list[str]
    about: str


class AdmissionProblem(Problem):
    """409: the connection check failed, so it stays disabled."""

    check: CheckOut | None
    fix: FixOut | None = None

    @classmethod
    def responses(cls) -> dict[int | str, dict[str, Any]]:
        """The 409 of an enable path, for OpenAPI."""
        return {
            409: {
                "model": cls,
                "description": "the connection check failed: it stays disabled",
                "content": {
                    MEDIA_TYPE: {"schema": {"$ref": f"#/components/schemas/{cls.__name__}"}}
                },
            }
        }


def refused(what: str, path: str, admission: Admission) -> JSONResponse:
    """The 409 for ``what`` (``channel inbox``) left disabled by ``admission``'s check;
    ``path`` is where its settings are changed (PATCH), which checks it again."""
    fix = fix_json(admission.remedy)
    change = f"{' or '.join(fix['settings'])} ({fix['about']})" if fix else "what it depends on"
    detail = (
        f"{what} stays disabled: check failed at {for_the_api(admission.failure)}; change "
        f"{change} with PATCH {path} (it is checked again), or enable anyway with ?force=true"
    )
    body = AdmissionProblem(
        title=HTTPStatus.CONFLICT.phrase,
        status=409,
        detail=detail[:_DETAIL_LIMIT],
        check=CheckOut.model_validate(check_out(admission.report))
        if admission.report is not None
        else None,
        fix=FixOut.model_validate(fix) if fix else None,
    )
    return JSONResponse(body.model_dump(), status_code=409, media_type=MEDIA_TYPE)
