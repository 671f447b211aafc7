"""Keyset pagination over an indexed sort key; never skip/offset.

A cursor is the sort-key values of a row, base64url-encoded JSON with type tags, so it
survives inserts before or after it: the next page starts strictly after that key. The last
sort field is always `_id`, which makes every key unique.

Histories (notifications, access events, the audit log) also page backwards, as the Relay
connection spec has it: `last` rows strictly before the `before` cursor, read by the same
index in the reverse order and returned in the list's order. A page goes one way: forward
(first, after) or backward (last, before), never both (INVALID_ARGUMENT). Which pages lie
beyond the one returned is told cheaply, without another query: forward, `has_previous` is
whether `after` was given (the page the cursor came from precedes this one); backward,
`has_next` is whether `before` was given.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypedDict

from bson import ObjectId
from bson.errors import InvalidId
from pymongo.asynchronous.collection import AsyncCollection

from app.errors import Code, UserInputError

MAX_FIRST = 100
# counts stop here unless the store is told otherwise (ANJU_COUNT_CAP)
COUNT_CAP = 10_000

SortSpec = Sequence[tuple[str, int]]


class Window(TypedDict):
    """Which page a client asked for, as a connection's arguments name it."""

    first: int | None
    after: str | None
    last: int | None
    before: str | None


@dataclass
class Page:
    """One page of documents in `sort` order; a connection's edges and cursors come from it."""

    items: list[dict[str, Any]]
    has_next: bool
    sort: SortSpec
    total_count: int | None = None
    # more than total_count match: counting stopped at the cap
    total_capped: bool = False
    # rows come before this page: forward, a cursor was given; backward, more were read
    has_previous: bool = False

    def cursor(self, doc: Mapping[str, Any]) -> str:
        return encode_cursor([_get(doc, name) for name, _ in self.sort])


def check_first(first: int | None, default: int = 20, name: str = "first") -> int:
    if first is None:
        return default
    if not 0 <= first <= MAX_FIRST:
        raise UserInputError(
            f"`{name}` must be between 0 and {MAX_FIRST}.", code=Code.INVALID_ARGUMENT
        )
    return first


def check_direction(
    first: int | None, after: str | None, last: int | None, before: str | None
) -> bool:
    """Whether a page goes backward (last, before); refuses one that asks for both ways."""
    backward = last is not None or before is not None
    if backward and (first is not None or after is not None):
        raise UserInputError(
            "Page forward (first, after) or backward (last, before), not both.",
            code=Code.INVALID_ARGUMENT,
        )
    return backward


def _get(doc: Mapping[str, Any], dotted: str) -> Any:
    value: Any = doc
    for part in dotted.split("."):
        value = value.get(part) if isinstance(value, Mapping) else None
    return value


def _tag(value: Any) -> Any:
    if isinstance(value, ObjectId):
        return {"o": str(value)}
    if isinstance(value, dt.datetime):
        return {"t": value.astimezone(dt.UTC).isoformat()}
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    raise TypeError(f"cannot put {type(value).__name__} in a cursor")


def _untag(value: Any) -> Any:
    if isinstance(value, dict):
        if set(value) == {"o"} and isinstance(value["o"], str):
            try:
                return ObjectId(value["o"])
            except InvalidId as exc:
                raise ValueError("bad object id") from exc
        if set(value) == {"t"} and isinstance(value["t"], str):
            return dt.datetime.fromisoformat(value["t"])
        raise ValueError("unknown tag")
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    raise ValueError("bad cursor value")


def encode_cursor(values: Sequence[Any]) -> str:
    raw = json.dumps([_tag(v) for v in values], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str, length: int, field: str = "after") -> list[Any]:
    try:
        if len(cursor) > 512:
            raise ValueError("too long")
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        values = json.loads(raw)
        if not isinstance(values, list) or len(values) != length:
            raise ValueError("wrong shape")
        return [_untag(v) for v in values]
    except (binascii.Error, ValueError, TypeError, UnicodeDecodeError) as exc:
        raise UserInputError("Invalid cursor.", code=Code.INVALID_CURSOR, field=[field]) from exc


def after_filter(sort: SortSpec, values: Sequence[Any]) -> dict[str, Any]:
    """The documents strictly after `values` in the order `sort`: a bound on the sort's
    first field (which an index in the sort's order turns into where to start reading),
    refined by the tie-breaking `$or`."""
    clauses: list[dict[str, Any]] = []
    for i, (name, direction) in enumerate(sort):
        clause: dict[str, Any] = {sort[j][0]: values[j] for j in range(i)}
        clause[name] = {"$gt" if direction > 0 else "$lt": values[i]}
        clauses.append(clause)
    if len(sort) == 1:
        return clauses[0]
    lead, direction = sort[0]
    return {lead: {"$gte" if direction > 0 else "$lte": values[0]}, "$or": clauses}


async def paginate(
    collection: AsyncCollection[dict[str, Any]],
    query: Mapping[str, Any],
    sort: SortSpec,
    *,
    first: int | None,
    after: str | None,
    last: int | None = None,
    before: str | None = None,
    default_first: int = 20,
    with_total: bool = False,
    projection: Mapping[str, Any] | None = None,
    count_cap: int = COUNT_CAP,
) -> Page:
    """One page of `query` in `sort` order (which must end with `_id`), forward from `after`
    or backward from `before`; with its total, counted up to `count_cap` (past it the page
    says `total_capped`)."""
    if not sort or sort[-1][0] != "_id":
        raise ValueError("the sort must end with _id")
    backward = check_direction(first, after, last, before)
    limit = (
        check_first(last, default_first, "last") if backward else check_first(first, default_first)
    )
    cursor_at, field = (before, "before") if backward else (after, "after")
    # backward: the rows just before the cursor are the first ones in the reversed order
    order: SortSpec = [(name, -direction) for name, direction in sort] if backward else sort
    full: dict[str, Any] = dict(query)
    if cursor_at:
        values = decode_cursor(cursor_at, len(sort), field)
        full = (
            {"$and": [dict(query), after_filter(order, values)]}
            if query
            else after_filter(order, values)
        )
    items: list[dict[str, Any]] = []
    if limit:
        cursor = collection.find(full, projection, sort=list(order), limit=limit + 1)
        items = await cursor.to_list(None)
    more = len(items) > limit
    items = items[:limit]
    total: int | None = None
    capped = False
    if with_total and not cursor_at and limit and not more:
        # the first page holds every match: its length is the total, no count needed
        total, capped = min(len(items), count_cap), len(items) > count_cap
    elif with_total:
        total, capped = await count_up_to(collection, query, count_cap)
    if backward:
        items.reverse()
        return Page(
            items=items,
            has_next=before is not None,
            has_previous=more,
            sort=sort,
            total_count=total,
            total_capped=capped,
        )
    return Page(
        items=items,
        has_next=more,
        has_previous=after is not None,
        sort=sort,
        total_count=total,
        total_capped=capped,
    )


async def count_up_to(
    collection: AsyncCollection[dict[str, Any]], query: Mapping[str, Any], cap: int
) -> tuple[int, bool]:
    """How many documents match, counting no further than `cap`: (the count, whether more
    match). The database stops at cap + 1 instead of counting a city."""
    found = await collection.count_documents(dict(query), limit=cap + 1)
    return min(found, cap), found > cap


def page_of_sorted(
    items: Sequence[dict[str, Any]],
    sort: SortSpec,
    *,
    first: int | None,
    after: str | None,
    default_first: int = 20,
) -> Page:
    """One page of documents already loaded whole and sorted in `sort` order (a DataLoader
    reads them for every parent of a request at once), by the same cursor as `paginate`."""
    limit = check_first(first, default_first)
    start = 0
    if after:
        key = _comparable(decode_cursor(after, len(sort)), sort)
        try:
            start = next(
                (
                    i
                    for i, doc in enumerate(items)
                    if _comparable([_get(doc, n) for n, _ in sort], sort) > key
                ),
                len(items),
            )
        except TypeError as exc:  # a cursor of another sort's types
            raise UserInputError(
                "Invalid cursor.", code=Code.INVALID_CURSOR, field=["after"]
            ) from exc
    window = list(items[start : start + limit])
    return Page(
        items=window,
        has_next=start + limit < len(items),
        has_previous=start > 0,
        sort=sort,
        total_count=len(items),
    )


def sort_docs(docs: list[dict[str, Any]], sort: SortSpec) -> None:
    """Sorts documents in place in `sort` order, as the database would (null first)."""

    def key(doc: dict[str, Any]) -> tuple[Any, ...]:
        values = [(0, 0) if (v := _get(doc, n)) is None else (1, v) for n, _ in sort]
        return _comparable(values, sort)

    docs.sort(key=key)


def _comparable(values: Sequence[Any], sort: SortSpec) -> tuple[Any, ...]:
    """A sort key that orders ascending whatever each field's direction (descending fields
    are compared reversed)."""
    return tuple(_Desc(v) if d < 0 else v for v, (_, d) in zip(values, sort, strict=True))


class _Desc:
    __slots__ = ("value",)

    def __init__(self, value: Any) -> None:
        self.value = value

    def __lt__(self, other: _Desc) -> bool:
        return bool(other.value < self.value)

    def __gt__(self, other: _Desc) -> bool:
        return bool(other.value > self.value)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, _Desc) and bool(other.value == self.value)

    __hash__ = None  # type: ignore[assignment]
