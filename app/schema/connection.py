"""One generic Relay connection for every list that can grow: `Connection[Property]` is
`PropertyConnection` in the schema, `Edge[Property]` is `PropertyEdge`. Histories that are
not counted (access events, notifications, the audit log) use `UncountedConnection`, which is
named the same way. Both are built from one `Page` of documents (app/store/paging.py).

Their arguments are described once, here: every list takes `First` and `After`; the
histories (notifications, access events, the audit log) also page backward, with `Last` and
`Before` (and `HistoryFirst`, `HistoryAfter`, which say so), as the Relay connection spec
has it; the other lists say that they page forward only."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, Generic, TypeVar

import strawberry

from app.store import MAX_FIRST, Doc, Page

T = TypeVar("T")

_RANGE = f"0 to {MAX_FIRST} (INVALID_ARGUMENT otherwise)"
First = Annotated[
    int | None,
    strawberry.argument(
        description=f"At most this many items, from the start of the list or just after "
        f"`after`: {_RANGE}."
    ),
]
After = Annotated[
    str | None,
    strawberry.argument(
        description="Start just after this cursor (pageInfo.endCursor, or an edge's cursor); "
        "INVALID_CURSOR for one this list did not give. This list pages forward only: it "
        "offers no last/before."
    ),
]
HistoryFirst = Annotated[
    int | None,
    strawberry.argument(
        description="Paging forward, toward older items: at most this many, from the newest "
        f"or just after `after`: {_RANGE}. When neither first nor last is given, a page of "
        "the default size the field's description states. Not with last/before "
        "(INVALID_ARGUMENT)."
    ),
]
HistoryAfter = Annotated[
    str | None,
    strawberry.argument(
        description="Paging forward: start just after this cursor (pageInfo.endCursor), with "
        "older items. INVALID_CURSOR for one this list did not give."
    ),
]
Last = Annotated[
    int | None,
    strawberry.argument(
        description="Paging backward, toward newer items: at most this many, the ones just "
        f"before `before` (without `before`: the oldest): {_RANGE}. They come in the list's "
        "order, newest first. Not with first/after (INVALID_ARGUMENT)."
    ),
]
Before = Annotated[
    str | None,
    strawberry.argument(
        description="Paging backward: end just before this cursor (pageInfo.startCursor), with "
        "newer items. INVALID_CURSOR for one this list did not give."
    ),
]


@strawberry.type(
    description="Where a page of a connection stands in its list, and the cursors to go on "
    "from it, as the Relay connection spec has them."
)
class PageInfo:
    has_next_page: bool = strawberry.field(
        description="True when more items follow this page: ask for the next one with "
        "`after: endCursor`. Paging backward (last/before), true when `before` was given."
    )
    has_previous_page: bool = strawberry.field(
        description="True when items come before this page. Paging forward, true when "
        "`after` was given (the page that cursor came from precedes this one). Paging "
        "backward (the histories: notifications, accessEvents, auditLog), true when more "
        "precede it: ask for them with `before: startCursor`."
    )
    start_cursor: str | None = strawberry.field(
        description="The cursor of the page's first edge; null when the page is empty."
    )
    end_cursor: str | None = strawberry.field(
        description="The cursor of the page's last edge; null when the page is empty."
    )


@strawberry.type(description="One item of a connection, with its place in the list.")
class Edge(Generic[T]):
    node: T = strawberry.field(description="The item.")
    cursor: str = strawberry.field(
        description="Opaque: the item's place in this list's order. Pass it as `after` (or, "
        "where offered, `before`) to go on from here; it stays valid while the item does."
    )


def _edges(page: Page, node: Callable[[Doc], T]) -> tuple[list[Edge[T]], PageInfo]:
    edges = [Edge(node=node(doc), cursor=page.cursor(doc)) for doc in page.items]
    return edges, PageInfo(
        has_next_page=page.has_next,
        has_previous_page=page.has_previous,
        start_cursor=edges[0].cursor if edges else None,
        end_cursor=edges[-1].cursor if edges else None,
    )


_EDGES = "The page's items, in the list's order, each with its cursor."
_PAGE_INFO = "Whether more items lie beyond this page, and the cursors to reach them."


@strawberry.type(
    description="One page of a list that can grow, as a Relay connection (edges and "
    "pageInfo), with how many the whole list holds."
)
class Connection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description=_EDGES)
    page_info: PageInfo = strawberry.field(description=_PAGE_INFO)
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
        nothing = PageInfo(
            has_next_page=False, has_previous_page=False, start_cursor=None, end_cursor=None
        )
        return cls(edges=[], page_info=nothing, total_count=0)


@strawberry.type(
    name="Connection",
    description="One page of a history, as a Relay connection (edges and pageInfo); not "
    "counted, as a history can be long.",
)
class UncountedConnection(Generic[T]):
    edges: list[Edge[T]] = strawberry.field(description=_EDGES)
    page_info: PageInfo = strawberry.field(description=_PAGE_INFO)

    @classmethod
    def of(cls, page: Page, node: Callable[[Doc], T]) -> UncountedConnection[T]:
        edges, info = _edges(page, node)
        return cls(edges=edges, page_info=info)
