"""Accounts and sessions: types and inputs."""

from __future__ import annotations

import enum
from typing import Any

import strawberry

from app.ids import encode_id
from app.schema.common import USER_ERRORS, Node, UserError
from app.schema.node import register_node
from app.store import Doc
from app.viewer import Role
from app.viewer import Scope as ViewerScope

# The domain enum, exposed as is (strawberry.enum registers the class itself).
strawberry.enum(
    Role,
    name="Role",
    description="What an account is for; it decides what the account may see and do (the "
    "reference's role table). It comes from the access token.",
)
# Role lives in app/viewer.py (no GraphQL there): its values are described here.
_ROLE_VALUES = {
    "LANDLORD": "Lets rooms: owns properties, rooms, devices, listings and leases, and sees "
    "only their own (signUp).",
    "TENANT": "Rents a room: sees the leases they accepted, pays their invoices, opens their "
    "doors (signUp).",
    "POLICE": "Reads the real-name register, properties, alarms, visitor passes and entry logs "
    "within its scope (register, pass and entry-log reads need a reason and are audited); "
    "read-only (createAccount by an ADMIN).",
    "RESPONDER": "Handles smoke alarms within its scope and sees its fire-safety and electrical "
    "repair requests and statistics (createAccount by an ADMIN).",
    "ADMIN": "Provisions and disables accounts, reads the audit log (createAccount by an ADMIN).",
}
for _value in Role.__strawberry_definition__.values:  # type: ignore[attr-defined]
    _value.description = _ROLE_VALUES[_value.name]


@strawberry.enum(description="Whether an account may sign in.")
class AccountStatus(enum.Enum):
    _value_: str

    ACTIVE = strawberry.enum_value("ACTIVE", description="It may sign in and act.")
    DISABLED = strawberry.enum_value(
        "DISABLED",
        description="Turned off by an ADMIN (setAccountStatus): no log-in, its sessions ended.",
    )


@strawberry.type(
    description="The output twin of StatsScope: the place a POLICE, RESPONDER or ADMIN "
    "account serves."
)
class Scope:
    town: str | None = strawberry.field(description="The town or street (镇街); null: the city.")
    community: str | None = strawberry.field(
        description="The village or community (村居) in the town; null: the whole town."
    )
    grid: str | None = strawberry.field(
        description="The grid (网格) in the community; null: the whole community."
    )


@strawberry.type(
    description="A person who signs in. node(id:) answers one to itself and to ADMIN; others "
    "read accounts only where an object names them (a lease's tenant, a property's landlord)."
)
class Account(Node):
    role: Role = strawberry.field(description="What the account is for (fixed at creation).")
    name: str = strawberry.field(description="The person's name, as they gave it (at most 64).")
    phone: str = strawberry.field(
        description="Mainland mobile number, 11 digits: the account's log-in and where its "
        "codes go."
    )
    status: AccountStatus = strawberry.field(description="Whether it may sign in.")
    scope: Scope | None = strawberry.field(
        description="The part of the city a POLICE, RESPONDER or ADMIN account serves; null "
        "for landlords and tenants."
    )

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


@strawberry.input(description="A new LANDLORD or TENANT account, with the code sent to its phone.")
class SignUpInput:
    role: Role = strawberry.field(
        description="LANDLORD or TENANT only (INVALID_ROLE): other roles are provisioned by "
        "an ADMIN."
    )
    name: str = strawberry.field(description="The person's name, 1-64 characters.")
    phone: str = strawberry.field(
        description="Mainland mobile number (INVALID_PHONE otherwise; PHONE_TAKEN when it has "
        "an account)."
    )
    password: str = strawberry.field(description="10-128 characters (WEAK_PASSWORD, TOO_LONG).")
    phone_code: str | None = strawberry.field(
        default=None,
        description="The code that requestPhoneCode(purpose: SIGN_UP) sent. Required by the "
        "server.",
    )


@strawberry.enum(description="What a code sent by SMS is for: it works for that only.")
class PhoneCodePurpose(enum.Enum):
    _value_: str

    SIGN_UP = strawberry.enum_value("SIGN_UP", description="For signUp's phoneCode.")
    LOG_IN = strawberry.enum_value("LOG_IN", description="For logInWithCode's phoneCode.")
    RESET_PASSWORD = strawberry.enum_value(
        "RESET_PASSWORD", description="For resetPassword's phoneCode."
    )


@strawberry.input(description="A phone to send a code to, and what the code is for.")
class RequestPhoneCodeInput:
    phone: str = strawberry.field(description="Mainland mobile number (INVALID_PHONE).")
    purpose: PhoneCodePurpose = strawberry.field(description="What the code will be for.")


@strawberry.type(description="Whether a code was sent, and when another may be asked for.")
class RequestPhoneCodePayload:
    sent: bool = strawberry.field(
        default=False,
        description="True for every well-formed phone, whether or not it has an account.",
    )
    retry_after_seconds: int = strawberry.field(
        default=0, description="Seconds before another code may be requested for this phone."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)


@strawberry.input(description="A log-in by a code sent to the phone.")
class LogInWithCodeInput:
    phone: str = strawberry.field(description="The account's phone.")
    phone_code: str = strawberry.field(
        description="A code sent by requestPhoneCode(purpose: LOG_IN); works while the password "
        "is locked out."
    )
    password: str | None = strawberry.field(
        default=None,
        description="Needed once, for an account whose phone is not confirmed yet (one an "
        "admin created): the code proves the phone, the password the account.",
    )


@strawberry.input(description="A new password for the owner of a phone.")
class ResetPasswordInput:
    phone: str = strawberry.field(description="The account's phone (INVALID_PHONE).")
    phone_code: str = strawberry.field(
        description="The code requestPhoneCode(purpose: RESET_PASSWORD) sent "
        "(INVALID_PHONE_CODE when wrong, used or expired)."
    )
    new_password: str = strawberry.field(description="10-128 characters (WEAK_PASSWORD, TOO_LONG).")


@strawberry.input(description="The signed-in account's new password.")
class ChangePasswordInput:
    current_password: str = strawberry.field(
        description="The password now (INVALID_CREDENTIALS when wrong)."
    )
    new_password: str = strawberry.field(description="10-128 characters (WEAK_PASSWORD, TOO_LONG).")


@strawberry.input(description="Which of the caller's sessions to keep.")
class LogOutEverywhereInput:
    except_refresh_token: str | None = strawberry.field(
        default=None,
        description="Keep the session of this refresh token (the caller's own), end every other.",
    )


_REASON = "Why, 1-200 characters: recorded in the audit log."


@strawberry.input(description="ADMIN: turns another account on or off.")
class SetAccountStatusInput:
    account_id: strawberry.ID = strawberry.field(
        description="Another account (CANNOT_CHANGE_OWN_ACCOUNT for the caller's own)."
    )
    status: AccountStatus = strawberry.field(description="The status it takes.")
    reason: str = strawberry.field(description=_REASON)


@strawberry.input(description="A log-in by phone and password.")
class LogInInput:
    phone: str = strawberry.field(description="The account's phone.")
    password: str = strawberry.field(
        description="Its password. A wrong pair is INVALID_CREDENTIALS, whichever was wrong; "
        "repeated failures lock the password out for ANJU_LOGIN_LOCKOUT_S (15 minutes by "
        "default: TOO_MANY_ATTEMPTS), when logInWithCode still works."
    )


@strawberry.input(description="The refresh token to exchange.")
class RefreshSessionInput:
    refresh_token: str = strawberry.field(
        description="The latest refresh token of the session (INVALID_REFRESH_TOKEN when "
        "unknown, used, expired or its session ended)."
    )


@strawberry.input(description="The session to end.")
class LogOutInput:
    refresh_token: str = strawberry.field(
        description="The session's refresh token (INVALID_REFRESH_TOKEN when unknown)."
    )


@strawberry.input(
    description="A part of the city: a town, a community of it, or a grid of that; all null "
    "(or the input absent) means the whole city. A community needs its town and a grid its "
    "community (REQUIRED)."
)
class StatsScope:
    town: str | None = strawberry.field(default=None, description="The town or street (镇街).")
    community: str | None = strawberry.field(
        default=None, description="The village or community (村居) in that town."
    )
    grid: str | None = strawberry.field(
        default=None, description="The grid (网格) in that community."
    )


def scope_of(given: StatsScope | None) -> ViewerScope | None:
    """The place a StatsScope argument names, for the services."""
    if given is None:
        return None
    return ViewerScope(town=given.town, community=given.community, grid=given.grid)


@strawberry.input(description="ADMIN: the part of the city a staff account serves.")
class UpdateAccountScopeInput:
    account_id: strawberry.ID = strawberry.field(
        description="A POLICE or RESPONDER account (INVALID_ROLE for landlords and tenants; "
        "CANNOT_CHANGE_OWN_ACCOUNT for the caller's own)."
    )
    scope: StatsScope = strawberry.field(
        description="The new scope (an ADMIN serves the whole city: INVALID_ARGUMENT)."
    )
    reason: str = strawberry.field(description=_REASON)


@strawberry.input(description="ADMIN: a staff account to provision.")
class CreateAccountInput:
    role: Role = strawberry.field(
        description="ADMIN: provisions POLICE, RESPONDER and ADMIN accounts, with the scope "
        "they serve. LANDLORD and TENANT sign up themselves (INVALID_ROLE)."
    )
    name: str = strawberry.field(description="The person's name, 1-64 characters.")
    phone: str = strawberry.field(
        description="Mainland mobile number (INVALID_PHONE; PHONE_TAKEN when it has an "
        "account). The person confirms it at their first log-in (logInWithCode)."
    )
    password: str = strawberry.field(
        description="A first password, 10-128 characters (WEAK_PASSWORD, TOO_LONG)."
    )
    scope: StatsScope | None = strawberry.field(
        default=None,
        description="The part of the city a POLICE or RESPONDER account serves (absent: "
        "the city); an ADMIN has none (INVALID_ARGUMENT).",
    )


@strawberry.type(
    description="A session: the tokens to call the API with. Send the access token as "
    "`Authorization: Bearer <accessToken>`; before it expires, exchange the refresh token "
    "(refreshSession). All null when refused."
)
class AuthPayload:
    access_token: str | None = strawberry.field(
        default=None,
        description="Short-lived signed token (ANJU_ACCESS_TOKEN_TTL_S, 15 minutes by "
        "default) carrying the account, its role and scope.",
    )
    refresh_token: str | None = strawberry.field(
        default=None,
        description="Secret, single-use token for refreshSession (valid "
        "ANJU_REFRESH_TOKEN_TTL_S, 30 days by default); keep it in the device's secure "
        "storage.",
    )
    expires_in: int | None = strawberry.field(
        default=None, description="Seconds until the access token expires."
    )
    account: Account | None = strawberry.field(default=None, description="The signed-in account.")
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)


@strawberry.type(description="Whether the sessions ended.")
class LogOutPayload:
    ok: bool = strawberry.field(
        default=False, description="True once the sessions named are ended."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)


@strawberry.type(description="The account as the mutation left it.")
class AccountPayload:
    account: Account | None = strawberry.field(
        default=None, description="The account; null when refused (userErrors)."
    )
    user_errors: list[UserError] = strawberry.field(default_factory=list, description=USER_ERRORS)
