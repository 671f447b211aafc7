"""The one place where refused input becomes a payload's `userErrors`."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Protocol, TypeVar

from app.errors import UserInputError
from app.schema.common import UserError, user_errors


class _Payload(Protocol):
    user_errors: list[UserError]


P = TypeVar("P", bound=_Payload)


async def attempt(payload: type[P], work: Callable[[], Awaitable[P]]) -> P:
    """Runs a mutation's work; a UserInputError becomes `userErrors` with the object null."""
    try:
        return await work()
    except UserInputError as error:
        return payload(user_errors=user_errors(error))  # type: ignore[call-arg]
