"""Parts of the API every domain uses: the scalars, Node and UserError (connections are in
connection.py, the mutation helper in mutation.py)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, TypeVar

import strawberry
from strawberry.types.scalar import ScalarDefinition

T = TypeVar("T")


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


@strawberry.interface(
    description="An object with a global ID: node(id:) answers it to whoever may see it."
)
class Node:
    id: strawberry.ID = strawberry.field(
        description="Opaque global ID: the same object keeps it for good; node(id:) takes it."
    )


@strawberry.type(
    description="Why a mutation was refused: invalid input or a business rule. The payload's "
    "object is then null."
)
class UserError:
    field: list[str] | None = strawberry.field(
        description='Path to the input field at fault, e.g. ["input", "idNumber"]; null when '
        "the refusal is about the request as a whole."
    )
    message: str = strawberry.field(
        description="What is wrong, in words to show the user (English); may change, unlike "
        "the code."
    )
    code: str = strawberry.field(
        description="Stable code to switch on, e.g. ROOM_OCCUPIED (the reference's error "
        "codes list them all)."
    )


USER_ERRORS = (
    "Why the mutation was refused, one entry per problem, each with a stable code; empty when "
    "it succeeded."
)
# every mutation takes one `input`; its fields are described on its input type
MutationInput = Annotated[
    T, strawberry.argument(description="Everything the mutation takes, in one object.")
]
