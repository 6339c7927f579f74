"""What the channel and SMTP server API paths share (`api.channels`, `api.servers`): one
`ApiDoor` per kind answers a thing as its JSON (in the API's field names,
`wording.worded`), runs a check or an enable within the budget (a service's refusal a
problem, a failed enable's check the 409 of `admission.refused`), and disables. Each
kind keeps its own paths, bodies, docstrings and OpenAPI shapes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from fastapi.responses import JSONResponse

from postroom.diagnostics import CheckReport
from postroom.services.enabling import Admission
from postroom.web.api.admission import refused
from postroom.web.api.budget import CheckBudget
from postroom.web.api.checks import check_out
from postroom.web.api.refusals import judged
from postroom.web.api.wording import worded


class Connections(Protocol):
    """What the door calls of `ChannelService` or `ServerService`."""

    def show(self, name: str) -> Any: ...
    def enable(self, name: str, *, force: bool = False) -> Admission: ...
    def disable(self, name: str) -> Any: ...


@dataclass(frozen=True, slots=True)
class ApiDoor:
    """One kind: ``channel`` at ``/api/v1/channels``, shown by ``detail``
    (render.config's ``channel_detail_json``)."""

    base: str
    """``/api/v1/channels``"""
    noun: str
    """``channel``: how an answer names one."""
    detail: Callable[[Any], dict[str, Any]]

    def later(self, name: str) -> str:
        """Where a check that outlasts the budget keeps its result."""
        return f"its result will be in last_check (GET {self.base}/{name})"

    def shown(self, service: Connections, name: str) -> dict[str, Any]:
        """One as ``show --json``, in the API's field names."""
        return worded(self.detail(service.show(name)))

    def run(self, budget: CheckBudget, name: str, work: Callable[[], Any], what: str = "") -> Any:
        """``work()`` (it checks ``name``) within ``budget``; a service's refusal a problem."""
        with judged():
            return budget.run(work, what or f"the check of {self.noun} {name}", self.later(name))

    def check(
        self, budget: CheckBudget, name: str, work: Callable[[], CheckReport]
    ) -> dict[str, Any]:
        """Its connection check (`checks.CheckOut`)."""
        report: CheckReport = self.run(budget, name, work)
        return check_out(report)

    def enable(
        self, budget: CheckBudget, service: Connections, name: str, *, force: bool
    ) -> dict[str, Any] | JSONResponse:
        """Enable it once its check passes (``force``: anyway): it as shown, or the 409."""
        admission: Admission = self.run(budget, name, lambda: service.enable(name, force=force))
        if not admission.enabled:
            return refused(f"{self.noun} {name}", f"{self.base}/{name}", admission)
        return self.shown(service, name)

    def disable(self, service: Connections, name: str) -> dict[str, Any]:
        service.disable(name)
        return self.shown(service, name)
