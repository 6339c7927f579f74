"""Paging for list paths: ``limit`` (1–500, default 100) and ``after`` (the key of the last
row of the previous page); when more rows follow, a ``Link: <…>; rel="next"`` header
(RFC 8288) with the next page's URL. Every list path of the API pages this way."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, TypeVar

from fastapi import Depends, Query, Request, Response

T = TypeVar("T")

MAX_LIMIT = 500
KEY_DIGITS = 12
"""A row id's key is its id in this many digits (`id_key`): keys sort as the ids do."""


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int
    after: str | None


async def page_request(
    limit: Annotated[int, Query(ge=1, le=MAX_LIMIT, description="rows per page")] = 100,
    after: Annotated[
        str | None, Query(max_length=1000, description="the key of the last row seen")
    ] = None,
) -> PageRequest:
    return PageRequest(limit, after)


Paging = Annotated[PageRequest, Depends(page_request)]


def page(
    rows: Sequence[T],
    key: Callable[[T], str],
    wanted: PageRequest,
    request: Request,
    response: Response,
) -> list[T]:
    """The page of ``rows`` (ordered by ``key``) after ``wanted.after``; sets the ``Link``
    header when a next page exists."""
    start = 0
    if wanted.after is not None:
        start = next((i for i, row in enumerate(rows) if key(row) > wanted.after), len(rows))
    chosen = list(rows[start : start + wanted.limit])
    if start + wanted.limit < len(rows) and chosen:
        link_next(request, response, wanted, key(chosen[-1]))
    return chosen


def id_key(row_id: int) -> str:
    """The paging key of a row with this id (``000000000042``)."""
    return f"{row_id:0{KEY_DIGITS}d}"


def first_id_after(after: str | None, width: int = KEY_DIGITS) -> int | None:
    """The smallest id whose key (`id_key`, ``width`` digits) sorts after ``after`` as
    text, so a page read from the database from that id on is the page `page` would cut
    from every row; 0 without ``after``; None when no key sorts after it."""
    if after is None:
        return 0
    digits = 0  # the length of the run of ASCII digits ``after`` starts with
    while digits < len(after) and "0" <= after[digits] <= "9":
        digits += 1
    if digits == len(after) < width:
        return int(after.ljust(width, "0"))  # a key that starts with all of it is longer
    for i in range(min(len(after) - 1, width - 1, digits), -1, -1):
        # the key that agrees with ``after`` on its first i characters, then is larger
        above = after[i]
        if above < "9":
            next_digit = "0" if above < "0" else chr(ord(above) + 1)
            return int(after[:i] + next_digit + "0" * (width - i - 1))
    return None


def link_next(request: Request, response: Response, wanted: PageRequest, last: str) -> None:
    """The ``Link`` header to the page after the row whose key is ``last``."""
    url = request.url.include_query_params(limit=wanted.limit, after=last)
    response.headers["Link"] = f'<{url}>; rel="next"'
