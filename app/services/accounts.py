"""Accounts: landlords and tenants sign up themselves; admins provision police, responder
and admin accounts with the place they serve; the first admin comes from the environment.
Passwords are hashed by app/passwords.py.
"""

from __future__ import annotations

import contextlib

from bson import ObjectId

from app.clock import now
from app.deps import Deps
from app.errors import Code, Collector, UserInputError
from app.passwords import Passwords
from app.services import audit, sessions
from app.settings import Settings
from app.store import Doc, Store
from app.validation import check_phone, clean_text, normalize_phone
from app.viewer import Role, Scope, Viewer

MIN_PASSWORD = 10
MAX_PASSWORD = 128
SELF_SERVICE_ROLES = {Role.LANDLORD, Role.TENANT}
PROVISIONED_ROLES = {Role.POLICE, Role.RESPONDER, Role.ADMIN}


def _check_password(errors: Collector, password: str) -> None:
    if len(password) < MIN_PASSWORD:
        errors.add(["password"], Code.WEAK_PASSWORD, f"At least {MIN_PASSWORD} characters.")
    elif len(password) > MAX_PASSWORD:
        errors.add(["password"], Code.TOO_LONG, f"At most {MAX_PASSWORD} characters.")


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
) -> Doc:
    doc: Doc = {
        "_id": ObjectId(),
        "role": role.value,
        "name": name,
        "phone": phone,
        "password_hash": await passwords.hash(password),
        "scope": scope,
        "created_at": now(),
    }
    taken = UserInputError(
        "An account with this phone already exists.", code=Code.PHONE_TAKEN, field=["phone"]
    )
    return await store.insert_unique("accounts", doc, taken)


def _validate_account(errors: Collector, name: str, phone: str, password: str) -> tuple[str, str]:
    clean_name = clean_text(errors, ["name"], name, max_len=64)
    clean_phone = check_phone(errors, ["phone"], phone)
    _check_password(errors, password)
    return clean_name, clean_phone


async def sign_up(
    deps: Deps, *, role: Role, name: str, phone: str, password: str
) -> sessions.Session:
    errors = Collector()
    if role not in SELF_SERVICE_ROLES:
        errors.add(["role"], Code.INVALID_ROLE, "Sign-up is for landlords and tenants only.")
    clean_name, clean_phone = _validate_account(errors, name, phone, password)
    errors.raise_if_any()
    account = await _insert_account(
        deps.store, deps.passwords, role=role, name=clean_name, phone=clean_phone, password=password
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
