"""The typed context of one GraphQL request or subscription connection."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.websockets import WebSocket

from app.deps import Deps
from app.loaders import Loaders
from app.settings import Settings
from app.viewer import Viewer

if TYPE_CHECKING:
    import strawberry

    from app.state import AppState


@dataclass
class Context:
    request: Request | WebSocket
    state: AppState
    viewer: Viewer
    request_id: str
    # the database was down when the access token's session was to be checked
    unavailable: bool = False
    # Set by strawberry from a WebSocket's connection_init payload.
    connection_params: dict[str, Any] | None = None

    @property
    def settings(self) -> Settings:
        return self.state.settings

    @property
    def client(self) -> str:
        """The client's address (app/http.py), for per-address limits."""
        return str(self.request.scope.get("state", {}).get("client_address", "-"))

    @property
    def deps(self) -> Deps:
        """What services are called with (SERVICE_UNAVAILABLE while Anju starts)."""
        return self.state.deps

    @functools.cached_property
    def loaders(self) -> Loaders:
        """This request's DataLoaders (never shared between requests)."""
        return Loaders(self.deps.store)


if TYPE_CHECKING:
    Info = strawberry.Info[Context, None]
else:
    import strawberry

    Info = strawberry.Info[Context, None]
