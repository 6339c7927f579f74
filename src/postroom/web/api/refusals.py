"""What a service's `UserError` means for HTTP, where the handler knows it: a setting that
cannot work is 422, a name taken or a thing whose state refuses the request (an outbox
message already sent, a channel that stored mail) is 409. `NotFoundError` stays a 404.

The generic mapping (`web/problems.py`) cannot tell these apart from the text alone when
the text quotes what a client sent; a handler that calls one service method can.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from postroom.errors import NotFoundError, UserError
from postroom.web.api.wording import for_the_api
from postroom.web.problems import ProblemError

_TAKEN = "exists already"
"""How storage words a unique name that is taken (`ChannelRepository.add`, …)."""


@contextmanager
def judged(*, state: bool = False) -> Iterator[None]:
    """Turn a service's `UserError` into a 422 problem (``state``: a 409, the thing's
    state refuses it) in the API's field names; a taken name is a 409 either way."""
    try:
        yield
    except NotFoundError:
        raise
    except UserError as exc:
        text = str(exc)
        status = 409 if state or text.endswith(_TAKEN) else 422
        raise ProblemError(status, for_the_api(text)) from None
