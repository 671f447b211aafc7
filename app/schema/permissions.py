"""Role checks as Strawberry permissions: `permission_classes=[allow(Role.LANDLORD)]`.

Ownership is checked in the services, where no resolver can forget it. These only answer
"may this role call this at all": UNAUTHENTICATED when anonymous, FORBIDDEN for a wrong role.
"""

from __future__ import annotations

from typing import Any, ClassVar

from strawberry.permission import BasePermission

from app.viewer import Role


class _AllowRoles(BasePermission):
    roles: ClassVar[tuple[Role, ...]] = ()
    message = "Your role may not do this."

    def has_permission(self, source: Any, info: Any, **kwargs: Any) -> bool:
        info.context.viewer.require(*self.roles)  # raises the coded error
        return True


def allow(*roles: Role) -> type[BasePermission]:
    """A permission class admitting signed-in callers with one of `roles` (any, if none)."""
    name = "Allow" + "".join(r.value.title() for r in roles) if roles else "AllowSignedIn"
    return type(name, (_AllowRoles,), {"roles": tuple(roles)})


SignedIn = allow()
