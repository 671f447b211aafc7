"""One generic Relay connection for every list that can grow: `Connection[Property]` is
`PropertyConnection` in the schema, `Edge[Property]` is `PropertyEdge`. Histories that are
not counted (access events, notifications, the audit log) use `UncountedConnection`, which is
named the same way. Both are built from one `Page` of documents (app/store/paging.py)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Generic, TypeVar

import strawberry

from app.store import Doc, Page

T = TypeVar("T")


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class Edge(Generic[T]):
    node: T
    cursor: str


def _edges(page: Page, node: Callable[[Doc], T]) -> tuple[list[Edge[T]], PageInfo]:
    edges = [Edge(node=node(doc), cursor=page.cursor(doc)) for doc in page.items]
    end = edges[-1].cursor if edges else None
    return edges, PageInfo(has_next_page=page.has_next, end_cursor=end)


@strawberry.type
class Connection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo
    total_count: int = strawberry.field(
        description="How many match, counted up to a bound (ANJU_COUNT_CAP, 10,000 by "
        "default); past it this is the bound and totalCountCapped is true."
    )
    total_count_capped: bool = strawberry.field(
        default=False,
        description="True when more than totalCount match: counting stopped at the bound. "
        "Page on (pageInfo) or narrow the filter to see them.",
    )

    @classmethod
    def of(cls, page: Page, node: Callable[[Doc], T]) -> Connection[T]:
        edges, info = _edges(page, node)
        return cls(
            edges=edges,
            page_info=info,
            total_count=page.total_count or 0,
            total_count_capped=page.total_capped,
        )

    @classmethod
    def empty(cls) -> Connection[T]:
        return cls(
            edges=[], page_info=PageInfo(has_next_page=False, end_cursor=None), total_count=0
        )


@strawberry.type(name="Connection")
class UncountedConnection(Generic[T]):
    edges: list[Edge[T]]
    page_info: PageInfo

    @classmethod
    def of(cls, page: Page, node: Callable[[Doc], T]) -> UncountedConnection[T]:
        edges, info = _edges(page, node)
        return cls(edges=edges, page_info=info)
