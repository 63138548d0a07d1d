"""The real web app in this process (httpx over ASGI, no socket) and what tests do with it: log in through the
API (bearer token and session cookie) or through the log-in form, read a form's CSRF token; and the rows tests
insert straight into the tables the workflows keep (a case), so that a test knows exactly what the app must
show without running a workflow.

Most tests take the `web` fixture (tests/conftest.py), which is built from these; a test that needs several
apps or visitors at once builds its own with `app_client` or `asgi_client`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime

import asyncpg
import httpx
from temporalio.client import Client

from db.users_repo import DEMO_PASSWORD
from webapp.app import create_app

SECRET = "test-secret-" + "x" * 32
BASE_URL = "http://jiuzhu.test"
SHIPO, SHUNHE = "341503106", "341503104"
SHIPO_VILLAGE = "341503106201"


def asgi_client(app, client_ip: str = "127.0.0.1") -> httpx.AsyncClient:
    """A visitor of `app` from `client_ip` (with its own cookies)."""
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app, client=(client_ip, 50000)), base_url=BASE_URL)


def app_client(pool: asyncpg.Pool | None, temporal: Client | None = None, *, secret: str = SECRET) -> httpx.AsyncClient:
    """A visitor of a new app on `pool`, with `temporal` as its Temporal client (none: the app answers 503 where
    it needs one)."""
    return asgi_client(create_app(pool, temporal, secret_key=secret))


async def login(
    c: httpx.AsyncClient, username: str, password: str = DEMO_PASSWORD, *, session: bool = True
) -> dict[str, str]:
    """Log in through the API and return bearer headers for the user; the client keeps the session cookie
    unless `session` is false (then only the headers authenticate)."""
    r = await c.post("/api/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, (username, r.text)
    if not session:
        c.cookies.clear()
    return {"Authorization": f"Bearer {r.json()['token']}"}


def csrf_token(html: str) -> str:
    """The CSRF token of a page's form."""
    return re.search(r'name="csrftoken" value="([^"]+)"', html).group(1)


async def log_in(c: httpx.AsyncClient, username: str, password: str = DEMO_PASSWORD) -> httpx.Response:
    """Log in through the form, as a browser does (303 on success)."""
    page = await c.get("/login")
    return await c.post("/login", data={"username": username, "password": password, "csrftoken": csrf_token(page.text)})


async def insert_case(
    pool: asyncpg.Pool,
    case_id: str,
    township: str = SHIPO,
    *,
    village: str | None = None,
    name: str = "王大山",
    id_masked: str = "341503********0014",
    stage: str = "investigation",
    status: str = "open",
    kind: str = "dibao",
    deadline: date | None = None,
    overdue: bool = False,
    accepted_at: datetime = datetime(2026, 9, 18, 2, 0, tzinfo=UTC),
    decided_at: datetime | None = None,
    handled_by: str = "township",
    relatives_match: bool = False,
) -> None:
    """A case row as the workflow writes it."""
    await pool.execute(
        "insert into cases (case_id, workflow_id, assistance_type, township_code, village_code, applicant_name, "
        "applicant_id_masked, channel, policy_version, stage, status, accepted_at, deadline, overdue, decided_at, "
        "handled_by, relatives_match) values ($1, 'review-' || $1, $2, $3, $4, $5, $6, 'counter', 1, $7, $8, $9, "
        "$10, $11, $12, $13, $14)",
        case_id,
        kind,
        township,
        village,
        name,
        id_masked,
        stage,
        status,
        accepted_at,
        deadline,
        overdue,
        decided_at,
        handled_by,
        relatives_match,
    )
