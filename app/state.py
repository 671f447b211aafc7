"""What the lifespan owns: the settings, the database client, the keys, the outbound HTTP
clients, the background tasks, and the services' `Deps` once the database is ready."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from app.clients.gateway import GatewayClient
from app.clients.payments import PaymentsClient
from app.clients.sms import SmsClient
from app.clients.storage import Storage
from app.deps import Deps
from app.errors import UnavailableError
from app.settings import Settings
from app.store import Doc
from app.tokens import KeySet


@dataclass
class AppState:
    settings: Settings
    client: AsyncMongoClient[Doc]
    keys: KeySet
    gateway: GatewayClient
    payments: PaymentsClient
    sms: SmsClient
    # photo bytes (app/clients/storage.py): the disk backend's routes use it before the
    # database is ready too
    storage: Storage
    # set by the lifespan once the database answers and its indexes exist
    ready_deps: Deps | None = None
    tasks: list[asyncio.Task[Any]] = field(default_factory=list)

    @property
    def db(self) -> AsyncDatabase[Doc]:
        return self.client[self.settings.mongodb_db]

    @property
    def ready(self) -> bool:
        return self.ready_deps is not None

    @property
    def deps(self) -> Deps:
        if self.ready_deps is None:
            raise UnavailableError("Anju is starting; try again in a moment.")
        return self.ready_deps
