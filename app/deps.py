"""What the services work with: the store and the world outside, made once per process by
the lifespan when the database is ready, and handed to every service call as `deps`."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from app.clients.gateway import GatewayClient
from app.clients.payments import PaymentsClient
from app.clients.storage import Storage
from app.live import LiveFeed
from app.passwords import Passwords
from app.services.rate_limits import LocalWindows
from app.settings import Settings
from app.store import Store
from app.tokens import KeySet

if TYPE_CHECKING:
    from app.services.card_outbox import CardOutbox
    from app.services.photos import Darkroom
    from app.services.sessions import AccessChecks
    from app.services.sms import SmsOutbox


@dataclass(frozen=True)
class Deps:
    settings: Settings
    store: Store
    keys: KeySet
    passwords: Passwords
    gateway: GatewayClient
    payments: PaymentsClient
    live: LiveFeed
    # the card jobs waiting for the gateway (app/services/card_outbox.py)
    outbox: CardOutbox
    # text messages waiting for the SMS provider (app/services/sms.py)
    sms: SmsOutbox
    # whether an access token's session is live (app/services/sessions.py)
    access: AccessChecks
    # where photo bytes live (app/clients/storage.py), and who decodes them (photos.py)
    storage: Storage
    darkroom: Darkroom
    # this worker's own counters for limits on hot paths (app/services/rate_limits.py)
    local_limits: LocalWindows = field(default_factory=LocalWindows)
