"""Accounts: landlords and tenants sign up themselves, with a code sent to their phone (an
account belongs to whoever holds its phone); admins provision police, responder and admin
accounts with the place they serve, disable and re-enable accounts and move them to another
scope (their sessions end); the first admin comes from the environment. Passwords are hashed
by app/passwords.py. A provisioned account confirms its phone at its first log-in
(app/services/log_ins.py).
"""

from __future__ import annotations

import contextlib
from typing import Any

from bson import ObjectId

from app.clock import now
from app.deps import Deps
from app.errors import Code, Collector, NotFoundError, UserInputError
from app.passwords import Passwords
from app.services import audit, phone_codes, rate_limits, sessions
from app.settings import Settings
from app.store import Doc, Page, Store
from app.validation import check_phone, clean_text, normalize_phone
from app.viewer import Role, Scope, Viewer

MIN_PASSWORD = 10
MAX_PASSWORD = 128
MAX_REASON = 200
SELF_SERVICE_ROLES = {Role.LANDLORD, Role.TENANT}
PROVISIONED_ROLES = {Role.POLICE, Role.RESPONDER, Role.ADMIN}
STATUSES = (sessions.ACTIVE, sessions.DISABLED)
ACCOUNT_ORDER = [("_id", 1)]


def check_password(errors: Collector, password: str, *, field: str = "password") -> None:
    if len(password) < MIN_PASSWORD:
        errors.add([field], Code.WEAK_PASSWORD, f"At least {MIN_PASSWORD} characters.")
    elif len(password) > MAX_PASSWORD:
        errors.add([field], Code.TOO_LONG, f"At most {MAX_PASSWORD} characters.")


def _clean_scope(errors: Collector, scope: Scope | None) -> dict[str, str] | None:
    if scope is None:
        return None
    cleaned = {
        k: clean_text(errors, ["scope", k], v, max_len=64)
        for k, v in (("town", scope.town), ("community", scope.community), ("grid", scope.grid))
        if v is not None
    }
    if "grid" in cleaned and "community" not in cleaned:
        errors.add(["scope", "community"], Code.REQUIRED, "A grid needs its community.")
    if "community" in cleaned and "town" not in cleaned:
        errors.add(["scope", "town"], Code.REQUIRED, "A community needs its town.")
    return cleaned or None


async def _insert_account(
    store: Store,
    passwords: Passwords,
    *,
    role: Role,
    name: str,
    phone: str,
    password: str,
    scope: dict[str, str] | None = None,
    phone_verified: bool = False,
) -> Doc:
    at = now()
    doc: Doc = {
        "_id": ObjectId(),
        "role": role.value,
        "name": name,
        "phone": phone,
        "password_hash": await passwords.hash(password),
        "scope": scope,
        "status": sessions.ACTIVE,
        "phone_verified_at": at if phone_verified else None,
        "created_at": at,
    }
    taken = UserInputError(
        "An account with this phone already exists.", code=Code.PHONE_TAKEN, field=["phone"]
    )
    return await store.insert_unique("accounts", doc, taken)


def _validate_account(errors: Collector, name: str, phone: str, password: str) -> tuple[str, str]:
    clean_name = clean_text(errors, ["name"], name, max_len=64)
    clean_phone = check_phone(errors, ["phone"], phone)
    check_password(errors, password)
    return clean_name, clean_phone


async def sign_up(
    deps: Deps,
    *,
    role: Role,
    name: str,
    phone: str,
    password: str,
    phone_code: str | None,
    client: str,
) -> sessions.Session:
    """LANDLORD or TENANT, with the SIGN_UP code sent to the phone. Only the holder of the
    phone learns (PHONE_TAKEN) that it has an account already."""
    errors = Collector()
    if role not in SELF_SERVICE_ROLES:
        errors.add(["role"], Code.INVALID_ROLE, "Sign-up is for landlords and tenants only.")
    clean_name, clean_phone = _validate_account(errors, name, phone, password)
    if not phone_code or not phone_code.strip():
        errors.add(["phoneCode"], Code.REQUIRED, "Enter the code sent to the phone.")
    errors.raise_if_any()
    await rate_limits.auth_attempt(deps.store, deps.settings, phone=clean_phone, client=client)
    await phone_codes.consume(deps, phone=clean_phone, purpose=phone_codes.SIGN_UP, code=phone_code)
    account = await _insert_account(
        deps.store,
        deps.passwords,
        role=role,
        name=clean_name,
        phone=clean_phone,
        password=password,
        phone_verified=True,
    )
    return await sessions.open_session(deps, account)


async def create_account(
    deps: Deps,
    viewer: Viewer,
    *,
    role: Role,
    name: str,
    phone: str,
    password: str,
    scope: Scope | None,
) -> Doc:
    admin_id = viewer.require(Role.ADMIN)
    errors = Collector()
    if role not in PROVISIONED_ROLES:
        errors.add(["role"], Code.INVALID_ROLE, "Landlords and tenants sign up themselves.")
    clean_name, clean_phone = _validate_account(errors, name, phone, password)
    clean_scope = _clean_scope(errors, scope)
    if role is Role.ADMIN and clean_scope:
        errors.add(["scope"], Code.INVALID_ARGUMENT, "Admins serve the whole city.")
    errors.raise_if_any()
    account = await _insert_account(
        deps.store,
        deps.passwords,
        role=role,
        name=clean_name,
        phone=clean_phone,
        password=password,
        scope=clean_scope,
    )
    await audit.record(
        deps.store,
        admin_id,
        "account.create",
        target=("Account", account["_id"]),
        details={"role": role.value, "scope": clean_scope},
    )
    return account


async def create_admin(
    store: Store, passwords: Passwords, *, name: str, phone: str, password: str
) -> Doc:
    """An operator's ADMIN (`anju create-admin`), checked as an admin's own are; audited
    with no acting account (the command line acted)."""
    errors = Collector()
    clean_name, clean_phone = _validate_account(errors, name, phone, password)
    errors.raise_if_any()
    account = await _insert_account(
        store, passwords, role=Role.ADMIN, name=clean_name, phone=clean_phone, password=password
    )
    await audit.record(
        store,
        None,
        "account.create",
        target=("Account", account["_id"]),
        details={"role": Role.ADMIN.value, "by": "command line"},
    )
    return account


async def ensure_admin(store: Store, settings: Settings, passwords: Passwords) -> None:
    """Creates the first ADMIN from ANJU_ADMIN_PHONE/PASSWORD when there is none."""
    if not settings.admin_phone or not settings.admin_password:
        return
    if await store.accounts.find_one({"role": Role.ADMIN.value}, {"_id": 1}):
        return
    phone = normalize_phone(settings.admin_phone)
    if phone is None:
        raise UserInputError("ANJU_ADMIN_PHONE is not a mainland mobile number.")
    with contextlib.suppress(UserInputError):  # another worker created it first
        await _insert_account(
            store,
            passwords,
            role=Role.ADMIN,
            name="Administrator",
            phone=phone,
            password=settings.admin_password,
        )


# --- what admins do -------------------------------------------------------------------------


async def accounts(
    deps: Deps,
    viewer: Viewer,
    *,
    role: Role | None,
    phone: str | None,
    status: str | None,
    first: int | None,
    after: str | None,
) -> Page:
    """ADMIN: accounts by role, phone and status."""
    viewer.require(Role.ADMIN)
    where: dict[str, Any] = {}
    if role is not None:
        where["role"] = role.value
    if status is not None:
        where["status"] = status
    if phone:
        clean = normalize_phone(phone)
        if clean is None:
            raise UserInputError(
                "Enter a mainland mobile number.", code=Code.INVALID_PHONE, field=["phone"]
            )
        where["phone"] = clean
    return await deps.store.page(
        "accounts", where, ACCOUNT_ORDER, first=first, after=after, with_total=True
    )


def _reason(reason: str) -> str:
    errors = Collector()
    clean = clean_text(errors, ["reason"], reason, max_len=MAX_REASON)
    errors.raise_if_any()
    return clean


async def _other_account(deps: Deps, viewer: Viewer, account_id: ObjectId) -> tuple[ObjectId, Doc]:
    admin_id = viewer.require(Role.ADMIN)
    account = await deps.store.accounts.find_one({"_id": account_id})
    if account is None:
        raise NotFoundError("Account", field=["accountId"])
    if account_id == admin_id:
        raise UserInputError(
            "Another admin changes your own account.",
            code=Code.CANNOT_CHANGE_OWN_ACCOUNT,
            field=["accountId"],
        )
    return admin_id, account


async def set_account_status(
    deps: Deps, viewer: Viewer, account_id: ObjectId, *, status: str, reason: str
) -> Doc:
    """ADMIN: DISABLED ends every session of the account (its tokens stop working within
    the access check's cache); ACTIVE lets it log in again."""
    clean_reason = _reason(reason)
    if status not in STATUSES:
        raise UserInputError("Unknown status.", code=Code.INVALID_ARGUMENT, field=["status"])
    admin_id, account = await _other_account(deps, viewer, account_id)
    store = deps.store
    await store.accounts.update_one({"_id": account_id}, {"$set": {"status": status}})
    ended = 0
    if status == sessions.DISABLED:
        ended = await sessions.end_sessions(store, account_id, "account disabled")
    await audit.record(
        store,
        admin_id,
        "account.setStatus",
        target=("Account", account_id),
        reason=clean_reason,
        details={
            "from": account.get("status", sessions.ACTIVE),
            "to": status,
            "sessionsEnded": ended,
        },
    )
    return {**account, "status": status}


async def update_account_scope(
    deps: Deps, viewer: Viewer, account_id: ObjectId, *, scope: Scope, reason: str
) -> Doc:
    """ADMIN: moves a POLICE or RESPONDER account to another scope (an ADMIN's is the whole
    city); its sessions end, so its next token carries the new scope."""
    clean_reason = _reason(reason)
    errors = Collector()
    clean_scope = _clean_scope(errors, scope)
    errors.raise_if_any()
    admin_id, account = await _other_account(deps, viewer, account_id)
    if account["role"] not in (Role.POLICE.value, Role.RESPONDER.value, Role.ADMIN.value):
        raise UserInputError(
            "Landlords and tenants serve no scope.", code=Code.INVALID_ROLE, field=["accountId"]
        )
    if account["role"] == Role.ADMIN.value and clean_scope:
        raise UserInputError(
            "Admins serve the whole city.", code=Code.INVALID_ARGUMENT, field=["scope"]
        )
    store = deps.store
    await store.accounts.update_one({"_id": account_id}, {"$set": {"scope": clean_scope}})
    ended = await sessions.end_sessions(store, account_id, "scope changed")
    await audit.record(
        store,
        admin_id,
        "account.updateScope",
        target=("Account", account_id),
        reason=clean_reason,
        details={"from": account.get("scope"), "to": clean_scope, "sessionsEnded": ended},
    )
    return {**account, "scope": clean_scope}
