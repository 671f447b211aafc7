"""OpenTelemetry traces, optional: when ANJU_OTLP_ENDPOINT names a collector (OTLP over HTTP,
e.g. `http://otel-collector:4318`), every request is a server span with the database commands
(PyMongo) and outbound calls (httpx: gateway, payments, SMS) as its children, exported in
batches; the outbound calls carry a W3C `traceparent` header. Without the setting nothing is
imported and nothing is added: no cost.

The maintained instrumentations do the work (`pip install 'anju[tracing]'`); Anju adds its
request id, operation, role and outcome to the server span (`annotate`, from app/observe.py).
Database statements are not captured, and every string attribute passes `logs.redact` before
it leaves the process, as log lines do: a span never carries a phone, an ID number or a token.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from starlette.middleware import Middleware

from app.logs import redact
from app.settings import Settings, SettingsError

_provider: Any = None
# probes and scrapes are not worth a trace
EXCLUDED_URLS = "healthz,readyz,metrics,graphiql/assets"


def setup(settings: Settings) -> None:
    """Starts tracing for this process if a collector is named (once per process)."""
    global _provider
    if not settings.otlp_endpoint or _provider is not None:
        return
    try:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.instrumentation.httpx import HTTPXClientInstrumentor
        from opentelemetry.instrumentation.pymongo import PymongoInstrumentor
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError as exc:
        raise SettingsError(
            "ANJU_OTLP_ENDPOINT is set but the tracing libraries are not installed: "
            "pip install 'anju[tracing]'"
        ) from exc
    resource = Resource.create({"service.name": "anju", "deployment.environment": settings.env})
    provider = TracerProvider(resource=resource)
    endpoint = settings.otlp_endpoint.rstrip("/") + "/v1/traces"
    provider.add_span_processor(BatchSpanProcessor(_redacting(OTLPSpanExporter(endpoint=endpoint))))
    trace.set_tracer_provider(provider)
    PymongoInstrumentor().instrument(capture_statement=False)
    HTTPXClientInstrumentor().instrument()
    _provider = provider


def middleware() -> list[Middleware]:
    """The server-span middleware, outermost, where tracing is on."""
    if _provider is None:
        return []
    from opentelemetry.instrumentation.asgi import OpenTelemetryMiddleware

    return [
        Middleware(
            OpenTelemetryMiddleware,
            excluded_urls=EXCLUDED_URLS,
            exclude_spans=["receive", "send"],
        )
    ]


def annotate(attributes: dict[str, str | int | float]) -> None:
    """Adds Anju's own attributes (`anju.*`) to the current request's span."""
    if _provider is None:
        return
    from opentelemetry import trace

    span = trace.get_current_span()
    if span.is_recording():
        span.set_attributes({f"anju.{name}": value for name, value in attributes.items()})


def shutdown() -> None:
    """Exports what is still buffered (the lifespan's end)."""
    if _provider is not None:
        _provider.force_flush(5000)


def _redacting(exporter: Any) -> Any:
    from opentelemetry.sdk.trace import ReadableSpan
    from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

    class Redacting(SpanExporter):
        """Masks personal data in every string attribute before the spans leave."""

        def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
            result: SpanExportResult = exporter.export([_clean(span) for span in spans])
            return result

        def shutdown(self) -> None:
            exporter.shutdown()

        def force_flush(self, timeout_millis: int = 30000) -> bool:
            return bool(exporter.force_flush(timeout_millis))

    def _clean(span: ReadableSpan) -> ReadableSpan:
        attributes = {
            key: redact(value) if isinstance(value, str) else value
            for key, value in (span.attributes or {}).items()
        }
        return ReadableSpan(
            name=redact(span.name),
            context=span.context,
            parent=span.parent,
            resource=span.resource,
            attributes=attributes,
            events=span.events,
            links=span.links,
            kind=span.kind,
            status=span.status,
            start_time=span.start_time,
            end_time=span.end_time,
            instrumentation_scope=span.instrumentation_scope,
        )

    return Redacting()
