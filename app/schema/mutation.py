"""The one place where a refused mutation becomes its payload's `userErrors`.

Every mutation whose payload has `userErrors` gets `UserErrors` (attached in
app/schema/__init__.py): a UserInputError raised anywhere below the resolver (decoding an id,
a service's rule) answers `Payload(userErrors=[...])` with the payload's object null. Any
other error stays a GraphQL error (UNAUTHENTICATED, FORBIDDEN, masked failures).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from strawberry.extensions import FieldExtension
from strawberry.types.field import StrawberryField

from app.errors import UserInputError, ValidationErrors
from app.schema.common import UserError


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


def has_user_errors(field: StrawberryField) -> bool:
    definition = getattr(field.type, "__strawberry_definition__", None)
    return definition is not None and any(f.python_name == "user_errors" for f in definition.fields)


class UserErrors(FieldExtension):
    def apply(self, field: StrawberryField) -> None:
        self.payload: Any = field.type

    def resolve(self, next_: Callable[..., Any], source: Any, info: Any, **kwargs: Any) -> Any:
        try:
            return next_(source, info, **kwargs)
        except UserInputError as error:
            return self.payload(user_errors=user_errors(error))

    async def resolve_async(
        self, next_: Callable[..., Awaitable[Any]], source: Any, info: Any, **kwargs: Any
    ) -> Any:
        try:
            return await next_(source, info, **kwargs)
        except UserInputError as error:
            return self.payload(user_errors=user_errors(error))
