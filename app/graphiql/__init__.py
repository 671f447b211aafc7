"""GraphiQL served by Anju itself: no public CDN, nothing fetched by the browser from
elsewhere (a police intranet has no Internet), never in production.

The files are the ones Strawberry's own GraphiQL page names, at the versions it pins
(React, GraphiQL, the explorer plugin), each with the Subresource Integrity hash that page
carries: `pinned_assets()` reads them from the installed Strawberry, so upgrading Strawberry
upgrades them. `make graphiql` (part of `make run` and `make test`; devstack/graphiql_assets.py)
takes each from its npm package once and keeps it only if its SHA-384 is the pinned one; they
live in `app/graphiql/vendor/` (not committed). Anju serves them at `/graphiql/assets/...`,
verifies them again when it starts, and the page names them with their `integrity` hashes,
so a browser refuses any other bytes. The page's own script (graphiql.js) is ours. Without the
files, /graphql in a browser says how to get them; the API is unaffected.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import html
import re
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from starlette.requests import Request
from starlette.responses import HTMLResponse, Response
from starlette.routing import Route

HERE = Path(__file__).resolve().parent
VENDOR = HERE / "vendor"
# what Strawberry's page loads that ours does not need (its page reads a CSRF cookie)
NOT_NEEDED = frozenset({"js-cookie"})
CONTENT_SECURITY_POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
    "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
_ASSET = re.compile(
    r'(?P<attr>src|href)="https://[^/"]+/(?P<package>(?:@[^/"@]+/)?[^/"@]+)@(?P<version>[^/"]+)/'
    r'(?P<path>[^"]+)"\s+integrity="(?P<integrity>sha(?:256|384|512)-[A-Za-z0-9+/=]+)"'
)


@dataclass(frozen=True)
class Asset:
    package: str
    version: str
    path: str
    integrity: str

    @property
    def name(self) -> str:
        return f"{self.package}@{self.version}/{self.path}"

    @property
    def url(self) -> str:
        return f"/graphiql/assets/{self.name}"

    @property
    def file(self) -> Path:
        return VENDOR / self.name

    @property
    def is_style(self) -> bool:
        return self.path.endswith(".css")

    def matches(self, data: bytes) -> bool:
        algorithm, _, expected = self.integrity.partition("-")
        digest = hashlib.new(algorithm, data).digest()
        return base64.b64encode(digest).decode() == expected


@functools.cache
def pinned_assets() -> tuple[Asset, ...]:
    """The files of Strawberry's GraphiQL page, in its order, with their integrity hashes."""
    page = resources.files("strawberry").joinpath("static", "graphiql.html").read_text()
    found = (
        Asset(m["package"], m["version"], m["path"], m["integrity"]) for m in _ASSET.finditer(page)
    )
    return tuple(a for a in found if a.package not in NOT_NEEDED)


@functools.cache
def installed() -> bool:
    """Every file is there with its pinned hash (checked once per process)."""
    assets = pinned_assets()
    return bool(assets) and all(a.file.is_file() and a.matches(a.file.read_bytes()) for a in assets)


def page() -> str:
    tags = []
    for asset in pinned_assets():
        url, integrity = html.escape(asset.url), html.escape(asset.integrity)
        if asset.is_style:
            tags.append(f'<link rel="stylesheet" href="{url}" integrity="{integrity}">')
        else:
            tags.append(f'<script src="{url}" integrity="{integrity}"></script>')
    template = (HERE / "graphiql.html").read_text()
    return template.replace("<!-- assets -->", "\n    ".join(tags))


def ide_response() -> Response:
    headers = {"content-security-policy": CONTENT_SECURITY_POLICY, "cache-control": "no-store"}
    if not installed():
        missing = (HERE / "missing.html").read_text()
        return HTMLResponse(missing, status_code=503, headers=headers)
    return HTMLResponse(page(), headers=headers)


async def serve_asset(request: Request) -> Response:
    name = request.path_params["name"]
    if name == "graphiql.js":
        asset_path, media = HERE / "graphiql.js", "text/javascript"
    else:
        known = {a.name: a for a in pinned_assets()}.get(name)
        if known is None or not installed():
            return Response(status_code=404)
        asset_path = known.file
        media = "text/css" if known.is_style else "text/javascript"
    return Response(
        asset_path.read_bytes(),
        media_type=f"{media}; charset=utf-8",
        headers={"cache-control": "public, max-age=86400"},
    )


def graphiql_routes() -> list[Route]:
    return [Route("/graphiql/assets/{name:path}", serve_asset, methods=["GET"])]
