"""Pure ASGI middleware: request ids and round-trip counting, body size limit, security
headers. Pure ASGI (not BaseHTTPMiddleware) so WebSockets and streaming pass untouched."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.logs import current_request_id, given_request_id, new_request_id
from app.store import RoundTrips, current_round_trips

SECURITY_HEADERS: list[tuple[bytes, bytes]] = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=()"),
]


EXPLAIN_HEADER = b"x-anju-capture-commands"


def client_address(scope: Scope, trusted_proxies: int) -> str:
    """The address of whoever sent the request: the socket's peer, or, behind
    `trusted_proxies` proxies that each append the address they got the request from to
    X-Forwarded-For, the entry that many from its end. Entries further left are whatever the
    client wrote, never trusted."""
    peer = scope.get("client")
    address = str(peer[0]) if peer else "-"
    if trusted_proxies <= 0:
        return address
    forwarded: list[str] = []
    for name, value in scope.get("headers", ()):
        if name.lower() == b"x-forwarded-for":
            forwarded += [part.strip() for part in value.decode("latin-1").split(",")]
    hops = [address, *reversed([f for f in forwarded if f])]
    return hops[min(trusted_proxies, len(hops) - 1)][:64]


class RequestContext:
    """Gives each request an id (X-Request-Id: its own, or the one a trusted proxy sent),
    its client's address and a round-trip counter. Where `capture_commands` is on
    (ANJU_BENCH_ROUTES, never in production), a request that sends the
    `X-Anju-Capture-Commands` header also gets the commands themselves kept, for the
    benchmark to explain; the others do not pay for it."""

    def __init__(
        self, app: ASGIApp, capture_commands: bool = False, trusted_proxies: int = 0
    ) -> None:
        self.app = app
        self.capture_commands = capture_commands
        self.trusted_proxies = trusted_proxies

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in {"http", "websocket"}:
            await self.app(scope, receive, send)
            return
        request_id = self._given_id(scope) or new_request_id()
        id_token = current_request_id.set(request_id)
        state = scope.setdefault("state", {})
        state["request_id"] = request_id
        state["client_address"] = client_address(scope, self.trusted_proxies)
        capture = self.capture_commands and any(
            name == EXPLAIN_HEADER for name, _ in scope.get("headers", ())
        )
        token = current_round_trips.set(RoundTrips(captured=[] if capture else None))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                headers.append((b"x-request-id", request_id.encode()))
                names = {name.lower() for name, _ in headers}
                headers.extend(h for h in SECURITY_HEADERS if h[0] not in names)
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_headers)
        finally:
            current_round_trips.reset(token)
            current_request_id.reset(id_token)

    def _given_id(self, scope: Scope) -> str | None:
        """The id a trusted proxy (ANJU_TRUSTED_PROXIES > 0) gave the request, so that its
        log and ours match; a client's own header is not trusted."""
        if self.trusted_proxies <= 0:
            return None
        for name, value in scope.get("headers", ()):
            if name == b"x-request-id":
                return given_request_id(value.decode("latin-1"))
        return None


class RequestTimeout:
    """Answers 504 to an HTTP request that takes longer than `seconds` (a stuck database or
    device call must not hold a worker's connection forever). WebSockets are exempt."""

    def __init__(self, app: ASGIApp, seconds: float) -> None:
        self.app = app
        self.seconds = seconds

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = False

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            # in the request's own task (wait_for would start another for each request)
            async with asyncio.timeout(self.seconds):
                await self.app(scope, receive, tracking_send)
        except TimeoutError:
            if started:
                raise
            await send_error(send, 504, "TIMEOUT", "The request took too long.")


class BodyLimit:
    """Refuses request bodies over `limit` bytes with 413, before anything parses them."""

    def __init__(self, app: ASGIApp, limit: int, exempt: Iterable[str] = ()) -> None:
        self.app = app
        self.limit = limit
        self.exempt = tuple(exempt)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(self.exempt):
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers", []):
            if name == b"content-length":
                try:
                    too_big = int(value) > self.limit
                except ValueError:
                    too_big = True
                if too_big:
                    await _refuse(send)
                    return
        received = 0
        refused = False

        async def limited_receive() -> Message:
            nonlocal received, refused
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    refused = True
                    raise _TooLarge()
            return message

        try:
            await self.app(scope, limited_receive, send)
        except _TooLarge:
            if refused:
                await _refuse(send)


class _TooLarge(Exception):
    pass


async def send_error(send: Send, status: int, code: str, message: str) -> None:
    """A GraphQL-shaped JSON error answer, for refusals made before GraphQL runs."""
    body = json.dumps({"errors": [{"message": message, "extensions": {"code": code}}]}).encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _refuse(send: Send) -> None:
    await send_error(send, 413, "PAYLOAD_TOO_LARGE", "Request body too large.")
