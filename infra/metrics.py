"""Prometheus metrics: the Temporal SDK's own metrics in the worker, request metrics in the web app.

Worker: `JIUZHU_WORKER_METRICS=HOST:PORT` (or just `PORT`, bound on all interfaces) makes the SDK's
Rust core serve `/metrics` there (task latencies, poll counts, sticky cache, activity failures...);
unset, nothing is served. It must be set before the worker's client connects: the SDK runtime that
carries the exporter is process-wide.

Web app: request count and latency by method, route template (`/api/cases/{case_id}`, never the
path itself, so no ID or name ever lands in a label) and status code, served at `/metrics` by
`webapp/ops.py` together with the process collectors of `prometheus_client`.
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from infra.config import Settings

WORKER_METRICS_ENV = "JIUZHU_WORKER_METRICS"


def worker_metrics_address(value: str | None = None) -> str | None:
    """`9464` -> `0.0.0.0:9464`; `127.0.0.1:9464` as given; unset or empty -> None (off)."""
    value = (value if value is not None else Settings().worker_metrics or "").strip()
    if not value:
        return None
    if value.isdigit():
        return f"0.0.0.0:{value}"
    host, sep, port = value.rpartition(":")
    if not sep or not host or not port.isdigit():
        raise ValueError(f"{WORKER_METRICS_ENV} must be PORT or HOST:PORT, not {value!r}")
    return value


def install_worker_metrics(address: str | None = None) -> str | None:
    """Make the SDK's default runtime export Prometheus metrics at `address` (default: from the env).

    Returns the address served, or None when metrics are off. Call once, before any client connects.
    """
    address = address or worker_metrics_address()
    if address is None:
        return None
    runtime = Runtime(telemetry=TelemetryConfig(metrics=PrometheusConfig(bind_address=address)))
    Runtime.set_default(runtime, error_if_already_set=True)
    return address


# ---- web app -------------------------------------------------------------------------------------

HTTP_REQUESTS = Counter(
    "jiuzhu_http_requests",
    "HTTP requests answered, by method, route template and status code",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "jiuzhu_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0),
)
HTTP_IN_FLIGHT = Gauge("jiuzhu_http_requests_in_flight", "HTTP requests being answered")
READY = Gauge("jiuzhu_ready", "1 when the last readiness check found the part up", ["part"])
