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


@dataclass(frozen=True, slots=True)
class PageRequest:
    limit: int
    after: str | None


def page_request(
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
        url = request.url.include_query_params(limit=wanted.limit, after=key(chosen[-1]))
        response.headers["Link"] = f'<{url}>; rel="next"'
    return chosen
