"""The management-station kiosk (issue 12): a touch-screen page at /kiosk?community=...
that cycles through a community's published listings.

No build step: kiosk.html, the service worker and the assets under static/ are served as they
are in the repository. The page loads nothing from outside Anju and talks only to /graphql (the
anonymous `listings` query); a strict Content-Security-Policy holds it to that: 'self' only, no
inline script or style, Trusted Types for the one script URL it hands the browser.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

HERE = Path(__file__).resolve().parent.parent / "kiosk"
STATIC_DIR = HERE / "static"

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'none'",
        "script-src 'self'",
        "style-src 'self'",
        "img-src 'self'",
        "connect-src 'self'",
        "worker-src 'self'",
        "manifest-src 'self'",
        "base-uri 'none'",
        "form-action 'none'",
        "frame-ancestors 'none'",
        "require-trusted-types-for 'script'",
        "trusted-types anju-kiosk",
    ]
)
# Added to every kiosk response (the app's middleware adds nosniff, no-referrer, DENY framing
# and the rest). no-cache: a kiosk revalidates its files (ETag) and so picks up a new version
# at its next reload; the service worker keeps a copy for reloads while the network is down.
KIOSK_HEADERS: dict[str, str] = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "cache-control": "no-cache",
    "cross-origin-resource-policy": "same-origin",
}


class _WithHeaders:
    """Adds KIOSK_HEADERS to the responses of an inner ASGI app (the static files)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower().decode() not in KIOSK_HEADERS
                ]
                headers.extend((k.encode(), v.encode()) for k, v in KIOSK_HEADERS.items())
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


async def kiosk_page(request: Request) -> Response:
    return FileResponse(
        HERE / "kiosk.html", media_type="text/html; charset=utf-8", headers=KIOSK_HEADERS
    )


async def service_worker(request: Request) -> Response:
    # Served beside the page so that its scope can be /kiosk (the page and its assets).
    return FileResponse(
        HERE / "sw.js",
        media_type="text/javascript; charset=utf-8",
        headers={**KIOSK_HEADERS, "service-worker-allowed": "/kiosk"},
    )


def kiosk_routes() -> list[BaseRoute]:
    """/kiosk (the page), /kiosk/sw.js (its service worker), /kiosk/assets/... (CSS, JS)."""
    return [
        Route("/kiosk", kiosk_page, methods=["GET"]),
        Route("/kiosk/sw.js", service_worker, methods=["GET"]),
        Mount("/kiosk/assets", app=_WithHeaders(StaticFiles(directory=STATIC_DIR))),
    ]
