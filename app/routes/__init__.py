"""Every HTTP route that is not GraphQL: health, metrics, the webhooks, snapshots, photo
uploads and files (the disk storage's), the kiosk, the API reference (not in production),
the benchmark's baseline, and (tests only) the clock."""

from __future__ import annotations

from starlette.routing import BaseRoute, Route

from app.routes.docs import docs_routes
from app.routes.files import receive_upload, serve_file
from app.routes.health import healthz, jwks, readyz
from app.routes.kiosk import kiosk_routes
from app.routes.metrics import serve_metrics
from app.routes.snapshots import serve_snapshot
from app.routes.webhooks import gateway_webhook, payments_webhook
from app.settings import Settings


def http_routes(settings: Settings) -> list[BaseRoute]:
    routes: list[BaseRoute] = [
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/.well-known/jwks.json", jwks),
        Route("/webhooks/gateway", gateway_webhook, methods=["POST"]),
        Route("/webhooks/payments", payments_webhook, methods=["POST"]),
        Route("/snapshots/{snapshot_id}", serve_snapshot, methods=["GET"]),
        Route("/uploads/{key:path}", receive_upload, methods=["PUT"]),
        Route("/files/{key:path}", serve_file, methods=["GET"]),
        *kiosk_routes(settings),
        *docs_routes(settings),
    ]
    if settings.metrics_enabled:
        routes.append(Route("/metrics", serve_metrics))
    if settings.bench_routes:  # never in production (app/settings.py)
        from app.routes.bench import bare_listings

        routes.append(Route("/bench/listings", bare_listings))
    if settings.env == "test":  # only the test suite moves the clock and sweeps at will
        from app.routes.testing import move_clock, sent_query_shapes, sweep_now

        routes.append(Route("/test/clock", move_clock, methods=["POST"]))
        routes.append(Route("/test/retention-sweep", sweep_now, methods=["POST"]))
        routes.append(Route("/test/query-shapes", sent_query_shapes, methods=["GET", "DELETE"]))
    return routes
