"""Accounts and sessions: types and inputs."""

from __future__ import annotations

from typing import Any

import strawberry

from app.ids import encode_id
from app.schema.common import Node, UserError
from app.schema.node import register_node
from app.store import Doc
from app.viewer import Role

# The domain enum, exposed as is (strawberry.enum registers the class itself).
strawberry.enum(Role, name="Role")


@strawberry.type
class Account(Node):
    role: Role
    name: str
    phone: str

    @classmethod
    def from_doc(cls, doc: Doc) -> Account:
        return cls(
            id=strawberry.ID(encode_id("Account", doc["_id"])),
            role=Role(doc["role"]),
            name=doc["name"],
            phone=doc["phone"],
        )


@register_node("Account")
async def _account_node(info: Any, oid: Any) -> Account | None:
    # An account is visible to itself and to admins; others learn of accounts only
    # through the objects that name them (a lease's tenant, a property's landlord).
    viewer = info.context.viewer
    if viewer.account_id != oid and viewer.role is not Role.ADMIN:
        return None
    doc = await info.context.loaders.account_by_id.load(oid)
    return Account.from_doc(doc) if doc else None


@strawberry.input
class SignUpInput:
    role: Role = strawberry.field(description="LANDLORD or TENANT only.")
    name: str
    phone: str
    password: str


@strawberry.input
class LogInInput:
    phone: str
    password: str


@strawberry.input
class RefreshSessionInput:
    refresh_token: str


@strawberry.input
class LogOutInput:
    refresh_token: str


@strawberry.input
class StatsScope:
    town: str | None = None
    community: str | None = None
    grid: str | None = None


@strawberry.input
class CreateAccountInput:
    role: Role = strawberry.field(
        description="ADMIN: provisions POLICE, RESPONDER and ADMIN accounts, with the scope "
        "they serve."
    )
    name: str
    phone: str
    password: str
    scope: StatsScope | None = None


@strawberry.type
class AuthPayload:
    access_token: str | None = None
    refresh_token: str | None = None
    expires_in: int | None = strawberry.field(
        default=None, description="Seconds until the access token expires."
    )
    account: Account | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class LogOutPayload:
    ok: bool = False
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.type
class AccountPayload:
    account: Account | None = None
    user_errors: list[UserError] = strawberry.field(default_factory=list)
