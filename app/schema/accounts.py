"""Accounts and sessions: types and inputs."""

from __future__ import annotations

import enum
from typing import Any

import strawberry

from app.ids import encode_id
from app.schema.common import Node, UserError
from app.schema.node import register_node
from app.store import Doc
from app.viewer import Role
from app.viewer import Scope as ViewerScope

# The domain enum, exposed as is (strawberry.enum registers the class itself).
strawberry.enum(Role, name="Role")


@strawberry.enum
class AccountStatus(enum.Enum):
    ACTIVE = "ACTIVE"
    DISABLED = "DISABLED"


@strawberry.type(
    description="The output twin of StatsScope: the place a POLICE, RESPONDER or ADMIN "
    "account serves."
)
class Scope:
    town: str | None
    community: str | None
    grid: str | None


@strawberry.type
class Account(Node):
    role: Role
    name: str
    phone: str
    status: AccountStatus
    scope: Scope | None = strawberry.field(description="Null for landlords and tenants.")

    @classmethod
    def from_doc(cls, doc: Doc) -> Account:
        served = doc.get("scope")
        staff = doc["role"] in (Role.POLICE.value, Role.RESPONDER.value, Role.ADMIN.value)
        return cls(
            id=strawberry.ID(encode_id("Account", doc["_id"])),
            role=Role(doc["role"]),
            name=doc["name"],
            phone=doc["phone"],
            status=AccountStatus(doc.get("status", "ACTIVE")),
            scope=Scope(
                town=(served or {}).get("town"),
                community=(served or {}).get("community"),
                grid=(served or {}).get("grid"),
            )
            if staff
            else None,
        )

    @classmethod
    def invitee(cls, lease_id: Any, phone: str) -> Account:
        """The stand-in of a lease's tenant before anyone accepted it (see Lease.tenant)."""
        return cls(
            id=strawberry.ID(encode_id("Invitee", lease_id)),
            role=Role.TENANT,
            name="",
            phone=phone,
            status=AccountStatus.ACTIVE,
            scope=None,
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
    phone_code: str | None = strawberry.field(
        default=None,
        description="The code that requestPhoneCode(purpose: SIGN_UP) sent. Required by the "
        "server.",
    )


@strawberry.enum
class PhoneCodePurpose(enum.Enum):
    SIGN_UP = "SIGN_UP"
    LOG_IN = "LOG_IN"
    RESET_PASSWORD = "RESET_PASSWORD"


@strawberry.input
class RequestPhoneCodeInput:
    phone: str
    purpose: PhoneCodePurpose


@strawberry.type
class RequestPhoneCodePayload:
    sent: bool = strawberry.field(
        default=False,
        description="True for every well-formed phone, whether or not it has an account.",
    )
    retry_after_seconds: int = strawberry.field(
        default=0, description="Seconds before another code may be requested for this phone."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list)


@strawberry.input
class LogInWithCodeInput:
    phone: str
    phone_code: str = strawberry.field(
        description="A code sent by requestPhoneCode(purpose: LOG_IN); works while the password "
        "is locked out."
    )
    password: str | None = strawberry.field(
        default=None,
        description="Needed once, for an account whose phone is not confirmed yet (one an "
        "admin created): the code proves the phone, the password the account.",
    )


@strawberry.input
class ResetPasswordInput:
    phone: str
    phone_code: str
    new_password: str


@strawberry.input
class ChangePasswordInput:
    current_password: str
    new_password: str


@strawberry.input
class LogOutEverywhereInput:
    except_refresh_token: str | None = strawberry.field(
        default=None,
        description="Keep the session of this refresh token (the caller's own), end every other.",
    )


@strawberry.input
class SetAccountStatusInput:
    account_id: strawberry.ID
    status: AccountStatus
    reason: str


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


def scope_of(given: StatsScope | None) -> ViewerScope | None:
    """The place a StatsScope argument names, for the services."""
    if given is None:
        return None
    return ViewerScope(town=given.town, community=given.community, grid=given.grid)


@strawberry.input
class UpdateAccountScopeInput:
    account_id: strawberry.ID
    scope: StatsScope
    reason: str


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
