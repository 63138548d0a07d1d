"""OpenTelemetry tracing, off unless `JIUZHU_OTEL=1`.

On: spans for every client call (start, update, query, signal) and, through the same interceptor on
the worker, for workflow and activity execution, linked across processes by Temporal headers. They
are exported over OTLP/HTTP to the collector named by the standard variables
(`OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, else `OTEL_EXPORTER_OTLP_ENDPOINT`, else
`http://localhost:4318`), with `OTEL_SERVICE_NAME` (default: the process's role) as service name.
`JIUZHU_OTEL_EXPORTER=console` prints spans instead (for a look on one machine).

Span names and attributes carry workflow types and ids (`review-<application number>`), never a
person's name, ID number or phone. FastAPI's own HTTP spans (it traces by itself once a provider is
installed) would carry the query string, where list filters hold names and ID numbers: `RedactQuery`
cuts it from every span before export.
"""

from __future__ import annotations

from typing import Any

from temporalio.client import Client

from infra.config import Settings

_provider: Any = None
QUERY_ATTRIBUTES = ("url.query", "url.full", "http.target", "http.url")  # new and old semantic conventions


def redact_query_processor() -> Any:
    """A span processor that drops query strings from span attributes when the span starts."""
    from opentelemetry.sdk.trace import SpanProcessor

    class RedactQuery(SpanProcessor):
        def on_start(self, span: Any, parent_context: Any = None) -> None:
            for key in QUERY_ATTRIBUTES:
                value = (span.attributes or {}).get(key)
                if isinstance(value, str) and (key == "url.query" or "?" in value):
                    span.set_attribute(key, "" if key == "url.query" else value.split("?", 1)[0])

    return RedactQuery()


def enabled() -> bool:
    return Settings().otel


def setup_tracing(service: str, exporter: Any = None) -> Any:
    """Install a global tracer provider exporting to OTLP (or to `exporter`); returns the provider.

    Idempotent within a process: the first call wins, as OpenTelemetry allows one global provider.
    """
    global _provider
    if _provider is not None:
        return _provider
    from opentelemetry import trace
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SimpleSpanProcessor

    settings = Settings()
    name = settings.otel_service_name or service
    provider = TracerProvider(resource=Resource.create({"service.name": name, "service.namespace": "jiuzhu"}))
    provider.add_span_processor(redact_query_processor())  # first: before any exporter sees the span
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    elif settings.otel_exporter == "console":
        provider.add_span_processor(SimpleSpanProcessor(ConsoleSpanExporter()))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))  # endpoint from OTEL_* env
    trace.set_tracer_provider(provider)
    _provider = provider
    return provider


def shutdown_tracing() -> None:
    """Flush and stop the exporter (call on process exit so the last spans are sent)."""
    global _provider
    if _provider is not None:
        _provider.shutdown()
        _provider = None


def with_tracing(client: Client) -> Client:
    """The same connection with Temporal's TracingInterceptor added; a worker built on it traces too."""
    from temporalio.contrib.opentelemetry import TracingInterceptor

    config = client.config()
    if any(isinstance(i, TracingInterceptor) for i in config["interceptors"]):
        return client
    config["interceptors"] = [*config["interceptors"], TracingInterceptor()]
    return Client(**config)


def traced_if_enabled(client: Client, service: str) -> Client:
    """`with_tracing` after `setup_tracing` when `JIUZHU_OTEL=1`, else the client unchanged."""
    if not enabled():
        return client
    setup_tracing(service)
    return with_tracing(client)
