"""/docs: the API reference `make docs` builds (scripts/api_docs.py, SpectaQL) into
.build/apidocs/, served where introspection is on (development, tests), never in production:
it shows the whole schema, as introspection does.

The page is one self-contained file (its script and styles inline, nothing loaded from
elsewhere); its Content-Security-Policy allows exactly that: no requests, no frames, no forms.
"""

from __future__ import annotations

from pathlib import Path

from starlette.requests import Request
from starlette.responses import FileResponse, PlainTextResponse, Response
from starlette.routing import BaseRoute, Route

from app.settings import Settings

PAGE = Path(__file__).resolve().parents[2] / ".build" / "apidocs" / "index.html"
NOT_BUILT = "The API reference is not built yet: run `make docs`, then reload.\n"
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; "
    "img-src data:; font-src data:; base-uri 'none'; form-action 'none'; "
    "frame-ancestors 'none'"
)


async def serve_docs(request: Request) -> Response:
    if not PAGE.is_file():
        return PlainTextResponse(NOT_BUILT, status_code=404)
    return FileResponse(
        PAGE,
        media_type="text/html; charset=utf-8",
        headers={
            "cache-control": "no-cache",
            "content-security-policy": CONTENT_SECURITY_POLICY,
            "x-content-type-options": "nosniff",
        },
    )


def docs_routes(settings: Settings) -> list[BaseRoute]:
    if settings.production or not settings.introspection:
        return []
    return [Route("/docs", serve_docs, methods=["GET"])]
