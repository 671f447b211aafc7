"""me, signUp, logIn, refreshSession, logOut, createAccount."""

from __future__ import annotations

import strawberry

from app.context import Info
from app.schema.accounts import (
    Account,
    AccountPayload,
    AuthPayload,
    CreateAccountInput,
    LogInInput,
    LogOutInput,
    LogOutPayload,
    RefreshSessionInput,
    SignUpInput,
)
from app.schema.permissions import allow
from app.services import accounts, sessions
from app.viewer import Role, Scope


def _auth_payload(session: sessions.Session) -> AuthPayload:
    return AuthPayload(
        access_token=session.access_token,
        refresh_token=session.refresh_token,
        expires_in=session.expires_in,
        account=Account.from_doc(session.account),
    )


@strawberry.type
class AccountQueries:
    @strawberry.field(description="The signed-in account; null when anonymous.")
    async def me(self, info: Info) -> Account | None:
        viewer = info.context.viewer
        if viewer.account_id is None:
            return None
        doc = await info.context.loaders.account_by_id.load(viewer.account_id)
        return Account.from_doc(doc) if doc else None


@strawberry.type
class AccountMutations:
    @strawberry.mutation
    async def sign_up(self, info: Info, input: SignUpInput) -> AuthPayload:
        session = await accounts.sign_up(
            info.context.deps,
            role=input.role,
            name=input.name,
            phone=input.phone,
            password=input.password,
        )
        return _auth_payload(session)

    @strawberry.mutation
    async def log_in(self, info: Info, input: LogInInput) -> AuthPayload:
        session = await sessions.log_in(
            info.context.deps, phone=input.phone, password=input.password
        )
        return _auth_payload(session)

    @strawberry.mutation(
        description="Exchanges a refresh token for a new pair; the old refresh token stops working."
    )
    async def refresh_session(self, info: Info, input: RefreshSessionInput) -> AuthPayload:
        session = await sessions.refresh_session(
            info.context.deps, refresh_token=input.refresh_token
        )
        return _auth_payload(session)

    @strawberry.mutation
    async def log_out(self, info: Info, input: LogOutInput) -> LogOutPayload:
        await sessions.log_out(info.context.deps, refresh_token=input.refresh_token)
        return LogOutPayload(ok=True)

    @strawberry.mutation(permission_classes=[allow(Role.ADMIN)])
    async def create_account(self, info: Info, input: CreateAccountInput) -> AccountPayload:
        ctx = info.context
        scope = (
            Scope(town=input.scope.town, community=input.scope.community, grid=input.scope.grid)
            if input.scope
            else None
        )
        doc = await accounts.create_account(
            ctx.deps,
            ctx.viewer,
            role=input.role,
            name=input.name,
            phone=input.phone,
            password=input.password,
            scope=scope,
        )
        return AccountPayload(account=Account.from_doc(doc))
