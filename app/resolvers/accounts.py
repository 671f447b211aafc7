"""me, accounts; signUp, requestPhoneCode, logIn, logInWithCode, refreshSession, logOut,
logOutEverywhere, changePassword, resetPassword; createAccount, setAccountStatus,
updateAccountScope."""

from __future__ import annotations

from typing import Annotated

import strawberry

from app.context import Info
from app.errors import UserInputError
from app.ids import decode_id
from app.schema.accounts import (
    Account,
    AccountPayload,
    AccountStatus,
    AuthPayload,
    ChangePasswordInput,
    CreateAccountInput,
    LogInInput,
    LogInWithCodeInput,
    LogOutEverywhereInput,
    LogOutInput,
    LogOutPayload,
    RefreshSessionInput,
    RequestPhoneCodeInput,
    RequestPhoneCodePayload,
    ResetPasswordInput,
    SetAccountStatusInput,
    SignUpInput,
    StatsScope,
    UpdateAccountScopeInput,
)
from app.schema.common import MutationInput
from app.schema.connection import After, Connection, First
from app.schema.mutation import user_errors
from app.schema.permissions import SignedIn, allow
from app.services import accounts, credentials, log_ins, phone_codes, sessions
from app.viewer import Role, Scope

ADMIN = [allow(Role.ADMIN)]


def _auth_payload(session: sessions.Session) -> AuthPayload:
    return AuthPayload(
        access_token=session.access_token,
        refresh_token=session.refresh_token,
        expires_in=session.expires_in,
        account=Account.from_doc(session.account),
    )


def _scope(given: StatsScope | None) -> Scope | None:
    if given is None:
        return None
    return Scope(town=given.town, community=given.community, grid=given.grid)


@strawberry.type
class AccountQueries:
    @strawberry.field(description="The signed-in account; null when anonymous.")
    async def me(self, info: Info) -> Account | None:
        viewer = info.context.viewer
        if viewer.account_id is None:
            return None
        doc = await info.context.loaders.account_by_id.load(viewer.account_id)
        return Account.from_doc(doc) if doc else None

    @strawberry.field(
        description="ADMIN: accounts, oldest first, by role, phone and status; pages of 20 by "
        "default.",
        permission_classes=ADMIN,
    )
    async def accounts(
        self,
        info: Info,
        role: Annotated[Role | None, strawberry.argument(description="Only this role.")] = None,
        phone: Annotated[
            str | None,
            strawberry.argument(description="Only the account of this phone (INVALID_PHONE)."),
        ] = None,
        status: Annotated[
            AccountStatus | None, strawberry.argument(description="Only this status.")
        ] = None,
        first: First = 20,
        after: After = None,
    ) -> Connection[Account]:
        page = await accounts.accounts(
            info.context.deps,
            info.context.viewer,
            role=role,
            phone=phone,
            status=status.value if status else None,
            first=first,
            after=after,
        )
        return Connection.of(page, Account.from_doc)


@strawberry.type
class AccountMutations:
    @strawberry.mutation(
        description="Anyone: a LANDLORD or TENANT account, with a code that "
        "requestPhoneCode(purpose: SIGN_UP) sent to the phone; answers a session. Codes: "
        "INVALID_ROLE, INVALID_PHONE, PHONE_TAKEN, WEAK_PASSWORD, TOO_LONG, REQUIRED (no "
        "phoneCode), INVALID_PHONE_CODE, RATE_LIMITED (too many attempts from this phone or "
        "address)."
    )
    async def sign_up(self, info: Info, input: MutationInput[SignUpInput]) -> AuthPayload:
        session = await accounts.sign_up(
            info.context.deps,
            role=input.role,
            name=input.name,
            phone=input.phone,
            password=input.password,
            phone_code=input.phone_code,
            client=info.context.client,
        )
        return _auth_payload(session)

    @strawberry.mutation(
        description="Anyone: sends a six-digit code by SMS, valid 5 minutes, for signing up, "
        "logging in or resetting the password; answered alike whether or not the phone has an "
        "account. One code a minute per phone (ANJU_PHONE_CODE_COOLDOWN_S) and "
        "ANJU_PHONE_CODES_PER_HOUR (5) an hour: RATE_LIMITED, with retryAfterSeconds. Codes: "
        "INVALID_PHONE, RATE_LIMITED."
    )
    async def request_phone_code(
        self, info: Info, input: MutationInput[RequestPhoneCodeInput]
    ) -> RequestPhoneCodePayload:
        try:
            wait = await phone_codes.request_code(
                info.context.deps,
                phone=input.phone,
                purpose=input.purpose.value,
                client=info.context.client,
            )
        except UserInputError as refused:
            return RequestPhoneCodePayload(
                retry_after_seconds=getattr(refused, "retry_after", 0),
                user_errors=user_errors(refused),
            )
        return RequestPhoneCodePayload(sent=True, retry_after_seconds=wait)

    @strawberry.mutation(
        description="Anyone: a session for a phone and password. Codes: INVALID_CREDENTIALS, "
        "TOO_MANY_ATTEMPTS (locked out: log in with a code), PHONE_VERIFICATION_REQUIRED (an "
        "account an admin made: log in with a code the first time), ACCOUNT_DISABLED, "
        "RATE_LIMITED."
    )
    async def log_in(self, info: Info, input: MutationInput[LogInInput]) -> AuthPayload:
        session = await log_ins.log_in(
            info.context.deps,
            phone=input.phone,
            password=input.password,
            client=info.context.client,
        )
        return _auth_payload(session)

    @strawberry.mutation(
        description="Anyone: a session for a code sent by requestPhoneCode(purpose: LOG_IN), "
        "also while the password is locked out; the first log-in of an account an admin made "
        "(its phone then confirmed). Codes: INVALID_PHONE_CODE, PASSWORD_REQUIRED, "
        "INVALID_CREDENTIALS, ACCOUNT_DISABLED, RATE_LIMITED."
    )
    async def log_in_with_code(
        self, info: Info, input: MutationInput[LogInWithCodeInput]
    ) -> AuthPayload:
        session = await log_ins.log_in_with_code(
            info.context.deps,
            phone=input.phone,
            code=input.phone_code,
            password=input.password,
            client=info.context.client,
        )
        return _auth_payload(session)

    @strawberry.mutation(
        description="Anyone holding a refresh token: exchanges it for a new pair; the old "
        "refresh token stops working (one used twice ends its session: it was stolen). Codes: "
        "INVALID_REFRESH_TOKEN (also for a disabled account's)."
    )
    async def refresh_session(
        self, info: Info, input: MutationInput[RefreshSessionInput]
    ) -> AuthPayload:
        session = await sessions.refresh_session(
            info.context.deps, refresh_token=input.refresh_token
        )
        return _auth_payload(session)

    @strawberry.mutation(
        description="Anyone holding a refresh token: ends its session (access tokens of it "
        "stop working within 60 s). Codes: INVALID_REFRESH_TOKEN."
    )
    async def log_out(self, info: Info, input: MutationInput[LogOutInput]) -> LogOutPayload:
        await sessions.log_out(info.context.deps, refresh_token=input.refresh_token)
        return LogOutPayload(ok=True)

    @strawberry.mutation(
        description="Any signed-in account: ends every session of the caller's account but "
        "the one named. Codes: INVALID_REFRESH_TOKEN (not one of the caller's).",
        permission_classes=[SignedIn],
    )
    async def log_out_everywhere(
        self, info: Info, input: MutationInput[LogOutEverywhereInput]
    ) -> LogOutPayload:
        await sessions.log_out_everywhere(
            info.context.deps, info.context.viewer, except_refresh_token=input.except_refresh_token
        )
        return LogOutPayload(ok=True)

    @strawberry.mutation(
        description="Any signed-in account: a new password; ends every other session and "
        "answers a fresh pair for this one. Codes: INVALID_CREDENTIALS (current password), "
        "WEAK_PASSWORD, TOO_LONG, TOO_MANY_ATTEMPTS.",
        permission_classes=[SignedIn],
    )
    async def change_password(
        self, info: Info, input: MutationInput[ChangePasswordInput]
    ) -> AuthPayload:
        session = await credentials.change_password(
            info.context.deps,
            info.context.viewer,
            current_password=input.current_password,
            new_password=input.new_password,
            client=info.context.client,
        )
        return _auth_payload(session)

    @strawberry.mutation(
        description="Anyone: a new password with a code sent by requestPhoneCode(purpose: "
        "RESET_PASSWORD); ends every session and answers a new one. Codes: INVALID_PHONE, "
        "INVALID_PHONE_CODE, WEAK_PASSWORD, TOO_LONG, RATE_LIMITED."
    )
    async def reset_password(
        self, info: Info, input: MutationInput[ResetPasswordInput]
    ) -> AuthPayload:
        session = await credentials.reset_password(
            info.context.deps,
            phone=input.phone,
            code=input.phone_code,
            new_password=input.new_password,
            client=info.context.client,
        )
        return _auth_payload(session)

    @strawberry.mutation(
        description="ADMIN: provisions a POLICE, RESPONDER or ADMIN account (audited). Codes: "
        "INVALID_ROLE, INVALID_PHONE, PHONE_TAKEN, WEAK_PASSWORD, TOO_LONG, REQUIRED (a scope's "
        "missing level), INVALID_ARGUMENT (a scope for an ADMIN).",
        permission_classes=ADMIN,
    )
    async def create_account(
        self, info: Info, input: MutationInput[CreateAccountInput]
    ) -> AccountPayload:
        doc = await accounts.create_account(
            info.context.deps,
            info.context.viewer,
            role=input.role,
            name=input.name,
            phone=input.phone,
            password=input.password,
            scope=_scope(input.scope),
        )
        return AccountPayload(account=Account.from_doc(doc))

    @strawberry.mutation(
        description="ADMIN: turns another account off or on (audited). DISABLED ends every "
        "session of the account; its tokens stop working within 60 s. Codes: NOT_FOUND, "
        "CANNOT_CHANGE_OWN_ACCOUNT, REQUIRED (reason), TOO_LONG.",
        permission_classes=ADMIN,
    )
    async def set_account_status(
        self, info: Info, input: MutationInput[SetAccountStatusInput]
    ) -> AccountPayload:
        doc = await accounts.set_account_status(
            info.context.deps,
            info.context.viewer,
            decode_id(input.account_id, "Account", ["accountId"]),
            status=input.status.value,
            reason=input.reason,
        )
        return AccountPayload(account=Account.from_doc(doc))

    @strawberry.mutation(
        description="ADMIN: moves a POLICE or RESPONDER account to another scope (audited); "
        "its sessions end, and its next log-in carries the new scope. Codes: NOT_FOUND, "
        "INVALID_ROLE, INVALID_ARGUMENT, CANNOT_CHANGE_OWN_ACCOUNT, REQUIRED, TOO_LONG.",
        permission_classes=ADMIN,
    )
    async def update_account_scope(
        self, info: Info, input: MutationInput[UpdateAccountScopeInput]
    ) -> AccountPayload:
        scope = _scope(input.scope)
        assert scope is not None
        doc = await accounts.update_account_scope(
            info.context.deps,
            info.context.viewer,
            decode_id(input.account_id, "Account", ["accountId"]),
            scope=scope,
            reason=input.reason,
        )
        return AccountPayload(account=Account.from_doc(doc))
