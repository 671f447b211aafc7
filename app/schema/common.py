"""Parts of the API every domain uses: scalars, Node, PageInfo, UserError, payload helpers."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import TypeVar

import strawberry
from strawberry.types.scalar import ScalarDefinition

from app.db import Doc
from app.errors import AnjuError, Code, UserInputError, ValidationErrors
from app.pagination import Page, SortSpec


def _serialize_datetime(value: dt.datetime) -> str:
    if value.tzinfo is None:  # stored values are UTC; naive ones come from old code paths
        value = value.replace(tzinfo=dt.UTC)
    return value.astimezone(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _parse_datetime(value: object) -> dt.datetime:
    if not isinstance(value, str) or len(value) > 40:
        raise ValueError("DateTime must be an ISO-8601 string with a time zone")
    parsed = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if parsed.tzinfo is None:
        raise ValueError("DateTime needs a time zone, e.g. 2026-01-31T08:00:00Z")
    return parsed.astimezone(dt.UTC)


def _parse_date(value: object) -> dt.date:
    if not isinstance(value, str) or len(value) != 10:
        raise ValueError("Date must be YYYY-MM-DD")
    return dt.date.fromisoformat(value)


DATETIME = ScalarDefinition(
    name="DateTime",
    description="An instant, ISO-8601 in UTC, e.g. 2026-01-31T08:00:00.000Z.",
    specified_by_url=None,
    serialize=_serialize_datetime,
    parse_value=_parse_datetime,
    parse_literal=None,
)
DATE = ScalarDefinition(
    name="Date",
    description="A calendar date, YYYY-MM-DD.",
    specified_by_url=None,
    serialize=lambda d: d.isoformat(),
    parse_value=_parse_date,
    parse_literal=None,
)
SCALAR_MAP: dict[object, ScalarDefinition] = {dt.datetime: DATETIME, dt.date: DATE}


@strawberry.interface
class Node:
    id: strawberry.ID


@strawberry.type
class PageInfo:
    has_next_page: bool
    end_cursor: str | None


@strawberry.type
class UserError:
    field: list[str] | None = strawberry.field(
        description='Path to the input field at fault, e.g. ["input", "idNumber"].'
    )
    message: str
    code: str


E = TypeVar("E")


def page_edges(
    page: Page, sort: SortSpec, make_edge: Callable[[Doc, str], E]
) -> tuple[list[E], PageInfo]:
    """A connection's edges and page info from one page of documents."""
    items = page.items
    edges = [make_edge(doc, page.cursor(doc, sort)) for doc in items]
    end = page.cursor(items[-1], sort) if items else None
    return edges, PageInfo(has_next_page=page.has_next, end_cursor=end)


def user_errors(error: UserInputError) -> list[UserError]:
    """The `userErrors` entries of a refused mutation, paths rooted at `input`."""
    errors = error.errors if isinstance(error, ValidationErrors) else [error]
    return [
        UserError(
            field=(["input", *e.field] if e.field and e.field[0] != "input" else e.field),
            message=e.message,
            code=e.code,
        )
        for e in errors
    ]


def user_error(code: str, message: str, *field: str) -> list[UserError]:
    return [UserError(field=["input", *field] if field else None, message=message, code=code)]


__all__ = [
    "DATE",
    "DATETIME",
    "SCALAR_MAP",
    "AnjuError",
    "Code",
    "Node",
    "PageInfo",
    "UserError",
    "user_error",
    "user_errors",
]
