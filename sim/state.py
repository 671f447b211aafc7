"""What the simulator remembers between calls: devices, claims, cards, door codes, door
commands, charges, agreements, text messages and modes. Plain data with no I/O, so the HTTP
layers stay thin and a reset is one assignment."""

from __future__ import annotations

import datetime as dt
import uuid
from dataclasses import dataclass, field

KIND_BY_PREFIX = {"door-": "door", "cam-": "camera", "smoke-": "smoke_detector"}
PAYMENT_MODES = frozenset({"succeed", "fail", "hold"})
SMS_MODES = frozenset({"deliver", "fail", "throttle"})
CHARGE_METHODS = frozenset({"WECHAT_PAY", "ALIPAY"})


def kind_of(device_id: str) -> str | None:
    """Every id with a known prefix exists (the gateway "knows every deviceId")."""
    for prefix, kind in KIND_BY_PREFIX.items():
        if device_id.startswith(prefix) and len(device_id) > len(prefix):
            return kind
    return None


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def iso(t: dt.datetime) -> str:
    """ISO-8601 UTC with a Z, the protocol's only time format."""
    return t.astimezone(dt.UTC).isoformat().replace("+00:00", "Z")


def parse_iso(raw: object) -> dt.datetime | None:
    """A timezone-aware ISO-8601 time as UTC, or None: a naive time is ambiguous, so refused."""
    if not isinstance(raw, str):
        return None
    try:
        parsed = dt.datetime.fromisoformat(raw)
    except ValueError:
        return None
    if parsed.tzinfo is None:
        return None
    return parsed.astimezone(dt.UTC)


@dataclass
class Device:
    online: bool = True
    latency_s: float = 0.0
    failing: bool = False


@dataclass(frozen=True)
class Card:
    valid_from: dt.datetime
    valid_until: dt.datetime

    def valid_at(self, now: dt.datetime) -> bool:
        return self.valid_from <= now < self.valid_until


@dataclass(frozen=True)
class DoorCode(Card):
    code: str  # six digits, typed on the door's keypad


@dataclass
class Charge:
    charge_id: str
    idempotency_key: str
    amount_fen: int
    method: str
    description: str
    notify_url: str | None
    status: str  # "pending", "succeeded", "failed"
    agreement_id: str | None = None  # charged through this autopay agreement

    def public(self) -> dict[str, object]:
        return {
            "chargeId": self.charge_id,
            "idempotencyKey": self.idempotency_key,
            "amountFen": self.amount_fen,
            "method": self.method,
            "description": self.description,
            "status": self.status,
            "notifyUrl": self.notify_url,
            "agreementId": self.agreement_id,
        }


@dataclass
class Agreement:
    """An autopay agreement: pending until the payer signs it in their wallet app."""

    agreement_id: str
    idempotency_key: str
    method: str
    payer_phone: str
    description: str
    notify_url: str | None
    status: str = "pending"  # "pending", "active", "cancelled"

    def public(self) -> dict[str, object]:
        return {
            "agreementId": self.agreement_id,
            "idempotencyKey": self.idempotency_key,
            "method": self.method,
            "payerPhone": self.payer_phone,
            "description": self.description,
            "notifyUrl": self.notify_url,
            "status": self.status,
        }


@dataclass(frozen=True)
class TextMessage:
    """An SMS the provider accepted, as `GET /sim/sms` shows it."""

    message_id: str
    to: str
    template: str
    params: dict[str, object]
    at: dt.datetime

    def public(self) -> dict[str, object]:
        return {
            "messageId": self.message_id,
            "to": self.to,
            "template": self.template,
            "params": self.params,
            "at": iso(self.at),
        }


@dataclass
class SimState:
    devices: dict[str, Device] = field(default_factory=dict)
    cards: dict[str, dict[str, Card]] = field(default_factory=dict)
    codes: dict[str, dict[str, DoorCode]] = field(default_factory=dict)  # by door, by codeId
    opens: dict[str, list[str]] = field(default_factory=dict)
    camera_modes: dict[str, str] = field(default_factory=dict)
    claims: dict[str, str] = field(default_factory=dict)  # deviceId -> owner (sim.claims)
    charges: dict[str, Charge] = field(default_factory=dict)
    charge_by_key: dict[str, str] = field(default_factory=dict)
    agreements: dict[str, Agreement] = field(default_factory=dict)
    agreement_by_key: dict[str, str] = field(default_factory=dict)
    payment_mode: str = "succeed"
    messages: list[TextMessage] = field(default_factory=list)  # oldest first
    message_by_key: dict[str, TextMessage] = field(default_factory=dict)
    sms_mode: str = "deliver"
    sms_retry_after_s: int = 1  # what a throttled call is told to wait
    gateway_online: bool = True
    payments_up: bool = True
    gateway_garbage: str | None = None  # a kind from sim.garbage: every /v1 gateway call
    payments_garbage: str | None = None  # a kind: every charge is taken, its answer garbled
    payments_latency_s: float = 0.0  # a charge is taken at once and answered this much later
    calls: list[dict[str, object]] = field(default_factory=list)  # protocol calls received

    def device(self, device_id: str) -> Device:
        """A device's state, created on first mention (online, no latency)."""
        return self.devices.setdefault(device_id, Device())

    def door_cards(self, device_id: str) -> dict[str, Card]:
        return self.cards.setdefault(device_id, {})

    def door_codes(self, device_id: str) -> dict[str, DoorCode]:
        return self.codes.setdefault(device_id, {})

    def record_open(self, device_id: str, command_id: str) -> bool:
        """True if this command opens the door now, False if it already did."""
        opens = self.opens.setdefault(device_id, [])
        if command_id in opens:
            return False
        opens.append(command_id)
        return True

    def new_charge(
        self,
        key: str,
        amount_fen: int,
        method: str,
        description: str,
        notify_url: str | None,
        agreement_id: str | None = None,
    ) -> tuple[Charge, bool]:
        """The charge for an idempotency key, and whether it was created by this call."""
        existing = self.charge_by_key.get(key)
        if existing is not None:
            return self.charges[existing], False
        status = {"succeed": "succeeded", "fail": "failed"}.get(self.payment_mode, "pending")
        charge = Charge(
            f"ch_{uuid.uuid4().hex}",
            key,
            amount_fen,
            method,
            description,
            notify_url,
            status,
            agreement_id,
        )
        self.charges[charge.charge_id] = charge
        self.charge_by_key[key] = charge.charge_id
        return charge, True

    def send_message(
        self, key: str, to: str, template: str, params: dict[str, object]
    ) -> TextMessage:
        """Sends a message once per idempotency key: a repeated key gets the first one."""
        existing = self.message_by_key.get(key)
        if existing is not None:
            return existing
        message = TextMessage(f"sms_{uuid.uuid4().hex}", to, template, params, utcnow())
        self.messages.append(message)
        self.message_by_key[key] = message
        return message

    def new_agreement(
        self, key: str, method: str, payer_phone: str, description: str, notify_url: str | None
    ) -> tuple[Agreement, bool]:
        """The agreement for an idempotency key, and whether it was created by this call."""
        existing = self.agreement_by_key.get(key)
        if existing is not None:
            return self.agreements[existing], False
        agreement = Agreement(
            f"ag_{uuid.uuid4().hex}", key, method, payer_phone, description, notify_url
        )
        self.agreements[agreement.agreement_id] = agreement
        self.agreement_by_key[key] = agreement.agreement_id
        return agreement, True
