"""The device gateway client (../shared/DEVICES.md): one pooled httpx client per process,
a bearer token, short timeouts, and retries only where the call is idempotent.

    GatewayError                 the gateway could not do it
     ├── GatewayUnavailable      unreachable, timed out, or a 5xx: state unknown or unchanged
     │    └── GatewayTimeout     no answer in time (a door command may or may not have run)
     ├── DeviceOffline           409: the gateway knows the device, which does not answer
     ├── DeviceUnknown           404: no such device
     ├── ClaimRefused            a claim the platform refused: unknown device, wrong code, or
     │                           claimed by another owner (403, 404, 409: one answer for all)
     └── GatewayBadAnswer        an answer that breaks the protocol
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from dataclasses import dataclass
from typing import Any

import httpx

from app.logs import add_request_id
from app.settings import Settings

log = logging.getLogger("anju.gateway")

MAX_SNAPSHOT_BYTES = 5 * 1024 * 1024
DEVICE_KINDS = frozenset({"door", "camera", "smoke_detector"})


class GatewayError(Exception):
    pass


class GatewayUnavailable(GatewayError):
    pass


class GatewayTimeout(GatewayUnavailable):
    pass


class DeviceOffline(GatewayError):
    pass


class DeviceUnknown(GatewayError):
    pass


class ClaimRefused(GatewayError):
    pass


class GatewayBadAnswer(GatewayError):
    pass


@dataclass(frozen=True)
class DeviceInfo:
    device_id: str
    kind: str  # "door", "camera", "smoke_detector"
    online: bool


def _iso(t: dt.datetime) -> str:
    return t.astimezone(dt.UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


class GatewayClient:
    def __init__(self, settings: Settings, transport: httpx.AsyncBaseTransport | None = None):
        timeout = settings.gateway_timeout_s
        self._http = httpx.AsyncClient(
            base_url=settings.gateway_url,
            headers={"authorization": f"Bearer {settings.gateway_token}"},
            timeout=httpx.Timeout(timeout, connect=min(timeout, 2.0)),
            limits=httpx.Limits(max_connections=100, max_keepalive_connections=20),
            transport=transport,
            event_hooks={"request": [add_request_id]},
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _send(
        self, method: str, path: str, *, json: Any = None, retries: int = 0
    ) -> httpx.Response:
        """Sends one call; retries connection failures and 5xx only when `retries` > 0,
        which callers set only for idempotent calls."""
        attempt = 0
        while True:
            try:
                response = await self._http.request(method, path, json=json)
            except httpx.TimeoutException as exc:
                if attempt < retries:
                    attempt += 1
                    continue
                raise GatewayTimeout(f"{method} {path}: no answer in time") from exc
            except httpx.TransportError as exc:
                if attempt < retries:
                    attempt += 1
                    await asyncio.sleep(0.1 * attempt)
                    continue
                raise GatewayUnavailable(f"{method} {path}: {exc!r}") from exc
            if response.status_code >= 500 and attempt < retries:
                attempt += 1
                await asyncio.sleep(0.1 * attempt)
                continue
            if response.status_code >= 500:
                raise GatewayUnavailable(f"{method} {path}: HTTP {response.status_code}")
            if response.status_code == 409:
                raise DeviceOffline(path)
            if response.status_code == 401:
                raise GatewayUnavailable(f"{method} {path}: the gateway refused our token")
            return response

    async def get_device(self, device_id: str) -> DeviceInfo:
        response = await self._send("GET", f"/v1/devices/{_segment(device_id)}", retries=2)
        if response.status_code == 404:
            raise DeviceUnknown(device_id)
        if response.status_code != 200:
            raise GatewayBadAnswer(f"device lookup answered {response.status_code}")
        return _device_info(_json_object(response, "device lookup"), "device lookup")

    async def open_door(self, device_id: str, command_id: str) -> None:
        """Opens a door. The gateway de-duplicates by commandId, so a retry is safe."""
        response = await self._send(
            "POST",
            f"/v1/doors/{_segment(device_id)}/open",
            json={"commandId": command_id},
            retries=1,
        )
        if response.status_code == 404:
            raise DeviceUnknown(device_id)
        status = _json_object(response, "open").get("status")
        if response.status_code != 200 or status != "opened":
            raise GatewayBadAnswer(f"open answered {response.status_code} {status!r}")

    async def put_card(
        self, device_id: str, card_number: str, valid_from: dt.datetime, valid_until: dt.datetime
    ) -> None:
        response = await self._send(
            "PUT",
            f"/v1/doors/{_segment(device_id)}/cards/{_segment(card_number)}",
            json={"validFrom": _iso(valid_from), "validUntil": _iso(valid_until)},
            retries=2,
        )
        if response.status_code == 404:
            raise DeviceUnknown(device_id)
        if response.status_code != 204:
            raise GatewayBadAnswer(f"card put answered {response.status_code}")

    async def delete_card(self, device_id: str, card_number: str) -> None:
        response = await self._send(
            "DELETE",
            f"/v1/doors/{_segment(device_id)}/cards/{_segment(card_number)}",
            retries=2,
        )
        if response.status_code not in {204, 404}:  # 404: it had no such card, i.e. revoked
            raise GatewayBadAnswer(f"card delete answered {response.status_code}")

    async def claim_device(self, device_id: str, claim_code: str, owner: str) -> DeviceInfo:
        """Binds a device to `owner` with the code on its label (DEVICES.md, "Device claims").
        Claiming again as the same owner answers the same, so a retry is safe. Every refusal
        (unknown device, wrong code, another owner's) is one ClaimRefused: the caller must not
        learn which."""
        path = f"/v1/devices/{_segment(device_id)}/claims"
        try:
            response = await self._send(
                "POST", path, json={"claimCode": claim_code, "owner": owner}, retries=2
            )
        except DeviceOffline as exc:  # a claim's 409 means "claimed by another owner"
            raise ClaimRefused(device_id) from exc
        if response.status_code in {403, 404}:
            raise ClaimRefused(device_id)
        if response.status_code != 200:
            raise GatewayBadAnswer(f"claim answered {response.status_code}")
        return _device_info(_json_object(response, "claim"), "claim")

    async def release_device(self, device_id: str, owner: str) -> None:
        """Releases `owner`'s claim. 404 (not claimed by that owner, or unknown) means the
        same to us: the device is not ours at the platform any more."""
        response = await self._send(
            "DELETE", f"/v1/devices/{_segment(device_id)}/claims", json={"owner": owner}, retries=2
        )
        if response.status_code not in {204, 404}:
            raise GatewayBadAnswer(f"claim release answered {response.status_code}")

    async def put_code(
        self,
        device_id: str,
        code_id: str,
        code: str,
        valid_from: dt.datetime,
        valid_until: dt.datetime,
    ) -> None:
        """Puts a visitor's PIN code on a door's keypad for its window (repeating it replaces
        code and window)."""
        response = await self._send(
            "PUT",
            f"/v1/doors/{_segment(device_id)}/codes/{_segment(code_id)}",
            json={"code": code, "validFrom": _iso(valid_from), "validUntil": _iso(valid_until)},
            retries=2,
        )
        if response.status_code == 404:
            raise DeviceUnknown(device_id)
        if response.status_code != 204:
            raise GatewayBadAnswer(f"code put answered {response.status_code}")

    async def delete_code(self, device_id: str, code_id: str) -> None:
        response = await self._send(
            "DELETE", f"/v1/doors/{_segment(device_id)}/codes/{_segment(code_id)}", retries=2
        )
        if response.status_code not in {204, 404}:  # 404: it had no such code, i.e. revoked
            raise GatewayBadAnswer(f"code delete answered {response.status_code}")

    async def snapshot(self, device_id: str) -> tuple[bytes, str]:
        """A camera still as (JPEG bytes, content type); size and type are checked."""
        path = f"/v1/cameras/{_segment(device_id)}/snapshot"
        try:
            async with self._http.stream("GET", path) as response:
                if response.status_code == 409:
                    raise DeviceOffline(device_id)
                if response.status_code == 404:
                    raise DeviceUnknown(device_id)
                if response.status_code >= 500:
                    raise GatewayUnavailable(f"snapshot answered {response.status_code}")
                content_type = response.headers.get("content-type", "").split(";")[0].strip()
                if response.status_code != 200 or content_type != "image/jpeg":
                    raise GatewayBadAnswer(f"snapshot: {response.status_code} {content_type}")
                declared = response.headers.get("content-length")
                if declared and declared.isdigit() and int(declared) > MAX_SNAPSHOT_BYTES:
                    raise GatewayBadAnswer("snapshot too large")
                chunks: list[bytes] = []
                size = 0
                async for chunk in response.aiter_bytes():
                    size += len(chunk)
                    if size > MAX_SNAPSHOT_BYTES:
                        raise GatewayBadAnswer("snapshot too large")
                    chunks.append(chunk)
        except httpx.TimeoutException as exc:
            raise GatewayTimeout("snapshot: no answer in time") from exc
        except httpx.TransportError as exc:
            raise GatewayUnavailable(f"snapshot: {exc!r}") from exc
        data = b"".join(chunks)
        if not data.startswith(b"\xff\xd8\xff"):
            raise GatewayBadAnswer("snapshot is not a JPEG")
        return data, content_type


def _device_info(body: dict[str, Any], what: str) -> DeviceInfo:
    found, kind, online = body.get("deviceId"), body.get("kind"), body.get("online")
    # every field as the protocol says, or the answer is broken (not a device of kind 42)
    if not isinstance(found, str) or kind not in DEVICE_KINDS or not isinstance(online, bool):
        raise GatewayBadAnswer(f"{what}: malformed body")
    return DeviceInfo(found, kind, online)


def _json_object(response: httpx.Response, what: str) -> dict[str, Any]:
    """The body as a JSON object; anything else (not JSON, a list, a string) is a broken
    answer, never an exception that escapes as an internal error."""
    try:
        body = response.json()
    except ValueError as exc:
        raise GatewayBadAnswer(f"{what}: malformed body") from exc
    if not isinstance(body, dict):
        raise GatewayBadAnswer(f"{what}: the body is not a JSON object")
    return body


def _segment(value: str) -> str:
    """A path segment; device ids and card numbers are validated before they get here,
    this only makes sure nothing can walk the gateway's paths."""
    from urllib.parse import quote

    return quote(value, safe="")
