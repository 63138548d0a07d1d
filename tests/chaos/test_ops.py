"""Operations: readiness that names the part that is down (and recovers when it is back), Prometheus
metrics from the web app (route templates only, no personal data in labels) and from the worker's SDK,
and OpenTelemetry tracing wired into the worker (off by default)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from temporalio.client import Client
from temporalio.contrib.opentelemetry import TracingInterceptor
from temporalio.testing import WorkflowEnvironment

from db.users_repo import DEMO_PASSWORD
from infra.config import ROOT, TASK_QUEUE
from infra.metrics import worker_metrics_address
from infra.tracing import enabled as tracing_enabled
from infra.tracing import with_tracing
from tests.support.ports import free_port
from tests.support.system import ChaosSystem
from webapp.app import create_app
from workflows.system_check import SystemCheckWorkflow


def _api(pool, client) -> httpx.AsyncClient:
    app = create_app(pool, client, secret_key="test-secret")
    return httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://jiuzhu.test")


@pytest.fixture
async def temporal(tmp_path: Path) -> AsyncIterator[ChaosSystem]:
    """A dev server of our own, so the test can stop it and start it again on the same port and file."""
    system = ChaosSystem(tmp_path / "sys", workers=0)
    await system.start_temporal()
    yield system
    await system.stop()


async def test_readyz_up_then_each_part_down(pool: asyncpg.Pool, temporal: ChaosSystem, db_url: str) -> None:
    client = await temporal.client()
    async with _api(pool, client) as api:
        r = await api.get("/readyz")
        assert r.status_code == 200, r.text
        assert r.json() == {"status": "ready", "checks": {"database": "ok", "temporal": "ok"}}
        assert (await api.get("/healthz")).status_code == 200

        # Temporal stops: not ready, and the body says which part; liveness stays up.
        assert temporal.temporal is not None
        temporal.temporal.send_signal(signal.SIGINT)
        await asyncio.to_thread(temporal.temporal.wait, 30)
        r = await api.get("/readyz")
        assert r.status_code == 503
        body = r.json()
        assert body["status"] == "not ready" and body["checks"]["database"] == "ok"
        assert body["checks"]["temporal"].startswith("down")
        assert (await api.get("/healthz")).status_code == 200

        # Back on the same port: ready again with the same client (it reconnects by itself).
        await temporal.start_temporal()
        for _ in range(50):
            r = await api.get("/readyz")
            if r.status_code == 200:
                break
            await asyncio.sleep(0.2)
        assert r.status_code == 200, r.text

    # PostgreSQL unreachable (a pool on a socket directory where no server listens).
    head, _, _ = db_url.partition("?")
    dead = await asyncpg.create_pool(f"{head}?host={temporal.base}", min_size=0, max_size=1)
    try:
        async with _api(dead, client) as api:
            r = await api.get("/readyz")
            assert r.status_code == 503
            checks = r.json()["checks"]
            assert checks["temporal"] == "ok" and checks["database"].startswith("down")
            assert str(temporal.base) not in r.text  # the error class only, no paths or addresses
    finally:
        await dead.close()


async def test_metrics_by_route_template_without_personal_data(pool: asyncpg.Pool) -> None:
    id_number, phone, case_id = "34150319680302001X", "13805641234", f"SECRET-{uuid.uuid4().hex[:8]}"
    async with _api(pool, None) as api:
        r = await api.post("/api/auth/login", json={"username": "shipo_jingban", "password": DEMO_PASSWORD})
        assert r.status_code == 200
        token = {"Authorization": f"Bearer {r.json()['token']}"}
        assert (await api.get(f"/api/cases/{case_id}", headers=token)).status_code == 404
        await api.get(f"/api/cases?q={id_number}&phone={phone}", headers=token)
        assert (await api.get(f"/no/such/page/{phone}")).status_code == 404
        await api.get("/healthz")
        assert (await api.get("/static/css/app.css")).status_code == 200
        r = await api.get("/metrics")
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("text/plain")
    text = r.text
    assert 'jiuzhu_http_requests_total{method="GET",route="/healthz",status="200"}' in text
    assert 'jiuzhu_http_requests_total{method="GET",route="/api/cases/{case_id}",status="404"}' in text
    assert 'jiuzhu_http_requests_total{method="POST",route="/api/auth/login",status="200"}' in text
    assert 'route="<unrouted>",status="404"' in text
    assert 'jiuzhu_http_requests_total{method="GET",route="/static/{path}",status="200"}' in text
    assert 'jiuzhu_http_request_duration_seconds_bucket{le="0.05",method="GET",route="/healthz"}' in text
    assert "jiuzhu_http_requests_in_flight" in text
    for secret in (id_number, phone, case_id, "shipo_jingban"):
        assert secret not in text


async def test_metrics_token(pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIUZHU_METRICS_TOKEN", "scrape-me")
    async with _api(pool, None) as api:
        assert (await api.get("/metrics")).status_code == 401
        assert (await api.get("/metrics", headers={"Authorization": "Bearer wrong"})).status_code == 401
        assert (await api.get("/metrics", headers={"Authorization": "Bearer scrape-me"})).status_code == 200


def test_worker_metrics_address() -> None:
    assert worker_metrics_address("") is None
    assert worker_metrics_address("9464") == "0.0.0.0:9464"
    assert worker_metrics_address("127.0.0.1:9464") == "127.0.0.1:9464"
    with pytest.raises(ValueError):
        worker_metrics_address("localhost")


def test_tracing_is_off_by_default_and_wraps_a_client(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("JIUZHU_OTEL", raising=False)
    assert not tracing_enabled()
    monkeypatch.setenv("JIUZHU_OTEL", "1")
    assert tracing_enabled()


async def test_with_tracing_adds_the_interceptor_once(dev_env: WorkflowEnvironment) -> None:
    traced = with_tracing(dev_env.client)
    assert [type(i) for i in traced.config()["interceptors"]].count(TracingInterceptor) == 1
    assert with_tracing(traced) is traced
    assert traced.namespace == dev_env.client.namespace


def _start_worker(env: dict[str, str], log: Path) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-m", "workers.main"], env=env, cwd=ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT
    )


async def test_worker_serves_sdk_metrics_and_exports_spans(
    dev_env: WorkflowEnvironment, db_url: str, tmp_path: Path
) -> None:
    """A real worker process with JIUZHU_WORKER_METRICS and JIUZHU_OTEL=1 (console exporter): the SDK's
    Prometheus endpoint answers, and a workflow run through it leaves workflow and activity spans."""
    port = free_port()
    target = dev_env.client.service_client.config.target_host
    env = os.environ | {
        "DATABASE_URL": db_url,
        "TEMPORAL_ADDRESS": target,
        "JIUZHU_WORKER_METRICS": f"127.0.0.1:{port}",
        "JIUZHU_OTEL": "1",
        "JIUZHU_OTEL_EXPORTER": "console",
    }
    log = tmp_path / "worker.log"
    worker = _start_worker(env, log)
    try:
        # The caller traces too (a provider of its own, not the process-wide one), so the worker's spans
        # join the caller's trace through the Temporal headers.
        spans = InMemorySpanExporter()
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(spans))
        config = dev_env.client.config()
        config["interceptors"] = [TracingInterceptor(tracer=provider.get_tracer("test"))]
        traced = Client(**config)
        check = await traced.execute_workflow(
            SystemCheckWorkflow.run, "ops test", id=f"check-{uuid.uuid4()}", task_queue=TASK_QUEUE
        )
        assert check.requested_by == "ops test"
        deadline = time.monotonic() + 30
        last: object = None
        async with httpx.AsyncClient() as http:
            while True:
                try:
                    r = await http.get(f"http://127.0.0.1:{port}/metrics")
                    if "temporal_" in r.text:
                        break
                    last = f"HTTP {r.status_code}, no temporal_ metric yet"
                except httpx.TransportError as exc:  # not listening yet: the worker is still starting
                    last = exc
                assert time.monotonic() < deadline, f"worker metrics endpoint never answered; last: {last!r}"
                await asyncio.sleep(0.3)
        assert r.status_code == 200
        assert "temporal_workflow_completed" in r.text or "temporal_workflow_task_execution_latency" in r.text
        assert "temporal_activity_execution_latency" in r.text
    finally:
        worker.send_signal(signal.SIGTERM)
        await asyncio.to_thread(worker.wait, 30)
    text = log.read_text(errors="replace")
    assert '"name": "RunActivity:check_database"' in text, text[-3000:]
    assert '"name": "RunWorkflow:SystemCheckWorkflow"' in text, text[-3000:]
    (start,) = [s for s in spans.get_finished_spans() if s.name == "StartWorkflow:SystemCheckWorkflow"]
    assert f'"trace_id": "0x{start.context.trace_id:032x}"' in text  # one trace from caller to activity


def test_query_strings_never_leave_in_spans() -> None:
    """FastAPI traces HTTP requests by itself once a provider exists; list filters (names, ID numbers)
    sit in the query string, which the redacting processor removes before any exporter sees it."""
    from infra.tracing import redact_query_processor

    spans = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(redact_query_processor())
    provider.add_span_processor(SimpleSpanProcessor(spans))
    tracer = provider.get_tracer("test")
    query = "q=34150319680302001X&phone=13805641234"
    with tracer.start_as_current_span(
        "GET /api/cases",
        attributes={"url.path": "/api/cases", "url.query": query, "http.target": f"/api/cases?{query}"},
    ):
        pass
    (span,) = spans.get_finished_spans()
    assert span.attributes["url.path"] == "/api/cases"
    assert span.attributes["http.target"] == "/api/cases"
    assert "34150319680302001X" not in str(dict(span.attributes))


async def test_web_app_client_traced_only_with_otel(
    pool: asyncpg.Pool, dev_env: WorkflowEnvironment, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With JIUZHU_OTEL=1 the app's lifespan puts the interceptor on its Temporal client (the provider
    set-up is stubbed here: a process-wide provider would trace every later test)."""
    import infra.tracing

    def interceptors(app) -> list:
        return [type(i) for i in app.state.client.config()["interceptors"]]

    app = create_app(pool, dev_env.client, secret_key="test-secret")
    async with app.router.lifespan_context(app):
        assert TracingInterceptor not in interceptors(app)

    monkeypatch.setenv("JIUZHU_OTEL", "1")
    monkeypatch.setattr(infra.tracing, "setup_tracing", lambda service, exporter=None: None)
    app = create_app(pool, dev_env.client, secret_key="test-secret")
    async with app.router.lifespan_context(app):
        assert TracingInterceptor in interceptors(app)
