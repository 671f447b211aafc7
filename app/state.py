"""What the lifespan owns and hands to every request: settings, the database, the keys and
the outbound HTTP clients. Made once per process, closed at shutdown."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pymongo import AsyncMongoClient
from pymongo.asynchronous.database import AsyncDatabase

from app.db import Doc
from app.gateway import GatewayClient
from app.payments import PaymentsClient
from app.services.live import LiveFeed
from app.settings import Settings
from app.tokens import KeySet


@dataclass
class AppState:
    settings: Settings
    client: AsyncMongoClient[Doc]
    keys: KeySet
    gateway: GatewayClient
    live: LiveFeed
    payments: PaymentsClient
    # background workers (card jobs, reminders, ...) started by the lifespan
    tasks: list[Any] = field(default_factory=list)
    ready: bool = False
    # what the database offers the listing search (services.listings.detect_capabilities)
    geo_native: bool = False
    point_lookups: bool = False

    @property
    def db(self) -> AsyncDatabase[Doc]:
        return self.client[self.settings.mongodb_db]
