"""The management-station kiosk (issue 12): a touch-screen page at /kiosk?community=...
that cycles through a community's published listings, with their photos.

No build step: kiosk.html, the service worker and the assets under static/ are served as they
are in the repository. The page loads nothing from outside Anju but photos (from S3 when they
are stored there) and talks only to /graphql (the anonymous `listings` query); a strict
Content-Security-Policy holds it to that: 'self' only (and the photo storage's origin for
images), no inline script or style, Trusted Types for the one script URL it hands the browser.
"""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from app.settings import Settings

HERE = Path(__file__).resolve().parent.parent / "kiosk"
STATIC_DIR = HERE / "static"


def photo_origins(settings: Settings) -> list[str]:
    """Where the kiosk loads photos from besides Anju itself: the S3 endpoint (its bucket's
    host in virtual-host style), when photos are stored there."""
    if settings.storage != "s3" or not settings.s3_endpoint:
        return []
    endpoint = urlsplit(settings.s3_endpoint)
    host = endpoint.netloc
    if settings.s3_virtual_host_style and settings.s3_bucket:
        host = f"{settings.s3_bucket}.{host}"
    return [f"{endpoint.scheme}://{host}"]


def content_security_policy(settings: Settings) -> str:
    # photos: shown (img-src) and kept for offline use (connect-src: the page fetches them
    # into its cache)
    photos = " ".join(["'self'", *photo_origins(settings)])
    return "; ".join(
        [
            "default-src 'none'",
            "script-src 'self'",
            "style-src 'self'",
            f"img-src {photos}",
            f"connect-src {photos}",
            "worker-src 'self'",
            "manifest-src 'self'",
            "base-uri 'none'",
            "form-action 'none'",
            "frame-ancestors 'none'",
            "require-trusted-types-for 'script'",
            "trusted-types anju-kiosk",
        ]
    )


def kiosk_headers(settings: Settings) -> dict[str, str]:
    """Added to every kiosk response (the app's middleware adds nosniff, no-referrer, DENY
    framing and the rest). no-cache: a kiosk revalidates its files (ETag) and so picks up a
    new version at its next reload; the service worker keeps a copy for reloads while the
    network is down."""
    return {
        "content-security-policy": content_security_policy(settings),
        "cache-control": "no-cache",
        "cross-origin-resource-policy": "same-origin",
    }


class _WithHeaders:
    """Adds the kiosk's headers to the responses of an inner ASGI app (the static files)."""

    def __init__(self, app: ASGIApp, headers: dict[str, str]) -> None:
        self.app = app
        self.headers = headers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [
                    (name, value)
                    for name, value in message.get("headers", [])
                    if name.lower().decode() not in self.headers
                ]
                headers.extend((k.encode(), v.encode()) for k, v in self.headers.items())
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def kiosk_routes(settings: Settings) -> list[BaseRoute]:
    """/kiosk (the page), /kiosk/sw.js (its service worker), /kiosk/assets/... (CSS, JS)."""
    headers = kiosk_headers(settings)

    async def kiosk_page(request: Request) -> Response:
        return FileResponse(
            HERE / "kiosk.html", media_type="text/html; charset=utf-8", headers=headers
        )

    async def service_worker(request: Request) -> Response:
        # Served beside the page so that its scope can be /kiosk (the page and its assets).
        return FileResponse(
            HERE / "sw.js",
            media_type="text/javascript; charset=utf-8",
            headers={**headers, "service-worker-allowed": "/kiosk"},
        )

    return [
        Route("/kiosk", kiosk_page, methods=["GET"]),
        Route("/kiosk/sw.js", service_worker, methods=["GET"]),
        Mount("/kiosk/assets", app=_WithHeaders(StaticFiles(directory=STATIC_DIR), headers)),
    ]
