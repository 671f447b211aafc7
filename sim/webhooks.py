"""Signed webhooks to Anju: one pooled client, an event log, replays and hand-made requests.

Every delivery is logged with Anju's answer so that tests can see what reached Anju. A
delivery never raises: a webhook that Anju could not take is a logged fact, not a crash.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import logging
import time
import uuid
from collections.abc import Coroutine
from dataclasses import dataclass
from typing import Any, Literal

import httpx

from sim.state import iso, utcnow

log = logging.getLogger("sim.webhooks")

Target = Literal["gateway", "payments"]
SignatureMode = Literal["valid", "bad", "missing"]
TARGETS: tuple[Target, ...] = ("gateway", "payments")
SIGNATURE_MODES: tuple[SignatureMode, ...] = ("valid", "bad", "missing")
TIMEOUT = httpx.Timeout(5.0, connect=2.0)


def sign(secret: str, timestamp: int, body: bytes) -> str:
    """`sha256=<hex>` of HMAC-SHA256(`<timestamp>.<raw body>`), as DEVICES.md defines it."""
    mac = hmac.new(secret.encode(), str(timestamp).encode() + b"." + body, hashlib.sha256)
    return f"sha256={mac.hexdigest()}"


def new_event_id() -> str:
    return uuid.uuid4().hex


def gateway_event(event_type: str, device_id: str, data: dict[str, Any]) -> dict[str, Any]:
    return {
        "eventId": new_event_id(),
        "type": event_type,
        "deviceId": device_id,
        "at": iso(utcnow()),
        "data": data,
    }


def payment_event(charge_id: str, status: str) -> dict[str, Any]:
    return {"eventId": new_event_id(), "chargeId": charge_id, "status": status, "at": iso(utcnow())}


def agreement_event(event_type: str, agreement_id: str) -> dict[str, Any]:
    """`agreement.active` or `agreement.cancelled`; charge events keep their version 1 shape
    (no `type`, which DEVICES.md lets mean "charge")."""
    return {
        "eventId": new_event_id(),
        "type": event_type,
        "agreementId": agreement_id,
        "at": iso(utcnow()),
    }


@dataclass(frozen=True)
class Delivery:
    status: int | None  # Anju's HTTP status, None when it could not be reached
    body: str | None
    error: str | None


@dataclass(frozen=True)
class _Sent:
    target: Target
    url: str
    raw: bytes


class Webhooks:
    """Sends to Anju's /webhooks/gateway and /webhooks/payments (or a notifyUrl given with a
    charge or an agreement)."""

    def __init__(self, anju_url: str, secrets: dict[Target, str]) -> None:
        self.anju_url = anju_url.rstrip("/")
        self._secrets = secrets
        self._client: httpx.AsyncClient | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self.log: list[dict[str, Any]] = []
        self._sent: dict[str, _Sent] = {}

    async def start(self) -> None:
        self._client = httpx.AsyncClient(timeout=TIMEOUT)

    async def aclose(self) -> None:
        """Lets in-flight background deliveries finish briefly, then closes the client."""
        if self._tasks:
            _, pending = await asyncio.wait(set(self._tasks), timeout=2.0)
            for task in pending:
                task.cancel()
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    def reset(self) -> None:
        self.log.clear()
        self._sent.clear()

    def url_for(self, target: Target) -> str:
        return f"{self.anju_url}/webhooks/{target}"

    async def emit(self, target: Target, body: dict[str, Any], url: str | None = None) -> Delivery:
        """Sends one event, signed, and remembers its exact body for replays."""
        raw = json.dumps(body, separators=(",", ":")).encode()
        sent = _Sent(target, url or self.url_for(target), raw)
        event_id = str(body.get("eventId"))
        self._sent[event_id] = sent
        return await self._post(sent, "event", event_id)

    def emit_later(self, target: Target, body: dict[str, Any], url: str | None = None) -> None:
        """Fire and forget: the caller answers at once, the event follows."""
        self._spawn(self.emit(target, body, url))

    async def replay(self, event_id: str) -> Delivery | None:
        """The same body again, with a fresh timestamp and signature; None if never sent."""
        sent = self._sent.get(event_id)
        if sent is None:
            return None
        return await self._post(sent, "replay", event_id)

    async def send_raw(
        self, target: Target, raw: bytes, signature: SignatureMode, offset_s: int
    ) -> Delivery:
        """Any body, signed well, badly or not at all, with a shifted timestamp."""
        sent = _Sent(target, self.url_for(target), raw)
        return await self._post(sent, "manual", None, signature=signature, offset_s=offset_s)

    def _spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        async def run() -> None:
            try:
                await coro
            except Exception:
                log.exception("background webhook failed")

        task = asyncio.get_running_loop().create_task(run())
        self._tasks.add(task)  # a reference, or the loop may collect the task mid-flight
        task.add_done_callback(self._tasks.discard)

    async def _post(
        self,
        sent: _Sent,
        kind: str,
        event_id: str | None,
        *,
        signature: SignatureMode = "valid",
        offset_s: int = 0,
    ) -> Delivery:
        timestamp = int(time.time()) + offset_s
        headers = {"content-type": "application/json"}
        if signature != "missing":
            secret = self._secrets[sent.target]
            if signature == "bad":
                secret = "not-" + secret
            headers["x-anju-timestamp"] = str(timestamp)
            headers["x-anju-signature"] = sign(secret, timestamp, sent.raw)
        entry: dict[str, Any] = {
            "eventId": event_id,
            "kind": kind,
            "target": sent.target,
            "url": sent.url,
            "body": _decoded(sent.raw),
            "sentAt": iso(utcnow()),
            "anjuStatus": None,
            "error": None,
        }
        self.log.append(entry)
        try:
            if self._client is None:
                raise RuntimeError("the webhook client is not started (lifespan not run)")
            response = await self._client.post(sent.url, content=sent.raw, headers=headers)
        except (httpx.HTTPError, httpx.InvalidURL, RuntimeError) as exc:
            entry["error"] = repr(exc)
            log.warning("webhook %s to %s failed: %r", event_id, sent.url, exc)
            return Delivery(None, None, repr(exc))
        entry["anjuStatus"] = response.status_code
        if response.status_code >= 300:
            log.warning("webhook %s to %s: HTTP %s", event_id, sent.url, response.status_code)
        return Delivery(response.status_code, response.text, None)


def _decoded(raw: bytes) -> Any:
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode(errors="replace")
