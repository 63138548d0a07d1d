"""Shared set-up of the security tests: the users of every role in two townships, rows seeded in both
townships directly with SQL (no workflow behind them), and an in-process client of the real app.

The rows are dated from the test's clock (its stated start instant), never from PostgreSQL's `now()`,
which runs at the machine's real time."""

from __future__ import annotations

import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from hypothesis.configuration import set_hypothesis_home_dir
from temporalio.client import Client

from db import demo_users_repo
from db.users_repo import DEMO_PASSWORD
from infra.clock import now
from schemas.identity import mask_id
from schemas.staff import Bureau, Role
from tests.support.authz import CALLERS, Matrix, add_second_district, bearer_headers
from tests.support.clock import on_day
from tests.support.documents import file_document, png
from tests.support.factories import resident_id
from webapp.app import create_app

# Hypothesis keeps caches (unicode tables, constants) in a home directory: not in the work tree.
set_hypothesis_home_dir(Path(tempfile.gettempdir()) / "jiuzhu-hypothesis")

SECRET = "security-tests-" + "k" * 40
SHIPO, SHUNHE = "341503106", "341503104"
SHIPO_VILLAGE, SHUNHE_VILLAGE = "341503106201", "341503104201"
WEBHOOK_SECRET = "whsec-must-never-leave-the-database-0123456789"

# Demo users cover every role in 石婆店镇 and the district; these fill the gaps the matrix needs.
EXTRA_USERS = [
    ("shunhe_cun1", "顺河镇示范村一 村干部 钱进", Role.VILLAGE_CADRE, SHUNHE_VILLAGE, None),
    ("jiaoyu_bu", "区教体局 工作人员", Role.BUREAU_STAFF, "341503", Bureau.EDUCATION),
    ("matrix_target", "被管理的用户 甲", Role.TOWNSHIP_CASEWORKER, SHUNHE, None),
]

# One user per role with its jurisdiction in 石婆店镇 (or the district), the ones whose rules the matrix states.
HOME_USERS: dict[Role, str] = {
    Role.ADMIN: "admin",
    Role.DISTRICT_SUPERVISOR: "qu_jiandu",
    Role.DISTRICT_OFFICER: "qu_minzheng",
    Role.TOWNSHIP_CASEWORKER: "shipo_jingban",
    Role.TOWNSHIP_APPROVER: "shipo_shenpi",
    Role.VILLAGE_CADRE: "shipo_cun1",
    Role.BUREAU_STAFF: "yiliao_bu",
}
# The same roles in 顺河镇: they must never reach a 石婆店镇 row. District roles have no "elsewhere".
FOREIGN_USERS: dict[Role, str] = {
    Role.TOWNSHIP_CASEWORKER: "shunhe_jingban",
    Role.TOWNSHIP_APPROVER: "shunhe_shenpi",
    Role.VILLAGE_CADRE: "shunhe_cun1",
    Role.BUREAU_STAFF: "jiaoyu_bu",  # another bureau: must not reach the medical bureau's referral
}


@dataclass(frozen=True)
class Seeds:
    """Ids of the rows seeded in 石婆店镇 (the `shipo_*`) and in 顺河镇 (the `shunhe_*`)."""

    case: str = "SEC-SHIPO-0001"
    shunhe_case: str = "SEC-SHUNHE-0001"
    event: str = "JJN-SEC-SHIPO-0001"
    shunhe_event: str = "JJN-SEC-SHUNHE-0001"
    request_no: str = "12349-20261201-SHIP01"
    shunhe_request_no: str = "12349-20261201-SHUN01"
    referral: str = "REF-SEC-SHIPO-0001"
    shunhe_referral: str = "REF-SEC-SHUNHE-0001"
    complaint: str = "TS-20261201-SHIP01"
    shunhe_complaint: str = "TS-20261201-SHUN01"
    person_id: str = resident_id(date(1961, 4, 9), seq=417)
    shunhe_person_id: str = resident_id(date(1958, 7, 21), seq=523)
    person_phone: str = "13956401234"
    shunhe_phone: str = "15856409876"
    recheck: str = "RC-SEC-SHIPO-0001"
    document: str = "D" + "5" * 20  # a photo filed on the 石婆店镇 case
    discovery_task: str = "FX-900001"
    declaration_month: str = "2026-11"
    relative_id: int = 0
    admin_relative_id: int = 0
    payroll_id: int = 0  # a draft payroll of 石婆店镇 (no workflow behind it)
    # When the rows were seeded (the test's clock); the cases were accepted 40 days before and are overdue.
    seeded_at: datetime = field(kw_only=True)

    @property
    def accepted_at(self) -> datetime:
        return self.seeded_at - timedelta(days=40)

    @property
    def deadline(self) -> date:
        return on_day(self.seeded_at) - timedelta(days=5)


async def add_extra_users(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        await demo_users_repo.add_demo_users(conn, EXTRA_USERS)


async def seed(pool: asyncpg.Pool) -> Seeds:
    """A case (overdue, with a request to the verification centre), an emergency, a front-door request with a
    referral to the medical bureau and a complaint in each of the two townships, inserted as the workflows
    would have written them (no workflow runs), dated from this process's clock (the test's instant)."""
    at = now()
    s = Seeds(seeded_at=at)
    async with pool.acquire() as conn, conn.transaction():
        for case_id, town, village in ((s.case, SHIPO, SHIPO_VILLAGE), (s.shunhe_case, SHUNHE, SHUNHE_VILLAGE)):
            await conn.execute(
                "insert into cases (case_id, workflow_id, assistance_type, township_code, village_code, "
                "applicant_name, applicant_id_masked, channel, policy_version, stage, status, accepted_at, deadline, "
                "overdue) values ($1, 'review-' || $1, 'dibao', $2, $3, $4, $5, 'counter', 1, 'investigation', 'open', "
                "$6, $7, true)",
                case_id,
                town,
                village,
                "石婆店申请人" if town == SHIPO else "顺河申请人",
                mask_id(s.person_id if town == SHIPO else s.shunhe_person_id),
                s.accepted_at,
                s.deadline,
            )
            await conn.execute(
                "insert into verification_requests (case_id, township_code, requested_at, adapter) "
                "values ($1, $2, $3, 'inbox')",
                case_id,
                town,
                s.accepted_at + timedelta(days=1),
            )
        for event_id, town, village, person in (
            (s.event, SHIPO, SHIPO_VILLAGE, s.person_id),
            (s.shunhe_event, SHUNHE, SHUNHE_VILLAGE, s.shunhe_person_id),
        ):
            await conn.execute(
                "insert into emergencies (event_id, workflow_id, kind, description, applicant_name, "
                "applicant_id_masked, township_code, village_code, channel, registered_by, registered_at, "
                "policy_version) values ($1, 'emergency-' || $1, 'fire', '房屋失火', $2, $3, $4, $5, 'village', "
                "'seed', $6, 1)",
                event_id,
                "石婆店急难户" if town == SHIPO else "顺河急难户",
                mask_id(person),
                town,
                village,
                at,
            )
        for no, ref, complaint, town, village, person, phone in (
            (s.request_no, s.referral, s.complaint, SHIPO, SHIPO_VILLAGE, s.person_id, s.person_phone),
            (
                s.shunhe_request_no,
                s.shunhe_referral,
                s.shunhe_complaint,
                SHUNHE,
                SHUNHE_VILLAGE,
                s.shunhe_person_id,
                s.shunhe_phone,
            ),
        ):
            name = "石婆店求助人" if town == SHIPO else "顺河求助人"
            await conn.execute(
                "insert into frontdoor_requests (request_no, workflow_id, kind, channel, name, id_number, id_masked, "
                "phone, township_code, village_code, address, description, needs, status, created_at) values "
                "($1, 'intake-' || $1, 'help', 'online', $2, $3, $4, $5, $6, $7, '某村某组', '看病贵，需要帮助', "
                "'{medical_costs}', 'triaged', $8)",
                no,
                name,
                person,
                mask_id(person),
                phone,
                town,
                village,
                at,
            )
            bureau = "medical" if town == SHIPO else "education"
            await conn.execute(
                "insert into referrals (referral_id, workflow_id, request_no, need, help_kind, bureau, township_code, "
                "name, id_masked, status, adapter, delivered_at) values "
                "($1, 'referral-' || $1, $2, 'medical_costs', '医疗救助', $3, $4, $5, $6, 'delivered', 'webhook', $7)",
                ref,
                no,
                bureau,
                town,
                name,
                mask_id(person),
                at,
            )
            await conn.execute(
                "insert into complaints (complaint_no, workflow_id, request_no, complainant, phone, township_code, "
                "content, unit_code, status, created_at) values "
                "($1, 'complaint-' || $1, $2, $3, $4, $5, '村里评议不公', $5, 'registered', $6)",
                complaint,
                no,
                name,
                phone,
                town,
                at,
            )
        await conn.execute(
            "insert into sampling_draws (month, seed, share, population, drawn, drawn_at) "
            "values ($1, 'seed', 0.1, 1, '[]', $2)",
            s.declaration_month,
            at,
        )
        await conn.execute(
            "insert into rechecks (recheck_id, workflow_id, month, case_id, township_code, reason) "
            "values ($1, 'recheck-' || $1, $2, $3, $4, '抽查')",
            s.recheck,
            s.declaration_month,
            s.case,
            SHIPO,
        )
        await conn.execute(  # the correction an irregular finding of that re-check opened: open
            "insert into case_corrections (case_id, recheck_id, findings, opened_at) values ($1, $2, '未入户调查', $3)",
            s.case,
            s.recheck,
            at,
        )
        await conn.execute(
            "insert into fund_declarations (month, version, data, totals, created_by, created_at) "
            "values ($1, 1, '[]', '{\"households\": 0, \"people\": 0, \"amount_fen\": 0}', 'qu_minzheng', $2)",
            s.declaration_month,
            at,
        )
        await conn.execute(
            "insert into discovery_tasks (task_id, id_number, name, kind, signal_on, township_code, created_on, "
            "quiet_until, status) values ($1, $2, '发现甲', 'large_medical', $3, $4, $3, $3::date + 90, 'open')",
            s.discovery_task,
            s.person_id,
            at.date(),
            SHIPO,
        )
        for bureau in ("medical", "education"):
            await conn.execute(
                "insert into bureau_endpoints (bureau, url, secret) values ($1, 'http://127.0.0.1:9/hook', $2)",
                bureau,
                WEBHOOK_SECRET,
            )
        relative = await conn.fetchval(
            "insert into staff_relatives (user_id, relative_name, relative_id_number, relation) "
            "select id, '亲属甲', $2, '兄弟姐妹' from users where username = $1 returning id",
            "shipo_jingban",
            resident_id(date(1970, 1, 1), seq=9),
        )
        admin_relative = await conn.fetchval(
            "insert into staff_relatives (user_id, relative_name, relative_id_number, relation) "
            "select id, '亲属乙', $2, '配偶' from users where username = $1 returning id",
            "matrix_target",
            resident_id(date(1971, 2, 2), seq=8),
        )
        payroll = await conn.fetchval(
            "insert into payrolls (township_code, month, workflow_id, lines, amount_fen) "
            "values ($1, $2, 'payroll-sec-seed', 1, 65000) returning id",
            SHIPO,
            date.fromisoformat(s.declaration_month + "-01"),
        )
    await file_document(pool, s.case, SHIPO_VILLAGE, png(), document_id=s.document)
    return Seeds(relative_id=relative, admin_relative_id=admin_relative, payroll_id=payroll, seeded_at=at)


class Recorder:
    """ASGI wrapper keeping every response body, to search them for what must never be sent."""

    def __init__(self, app) -> None:
        self.app = app
        self.bodies: list[bytes] = []

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        chunks: list[bytes] = []

        async def keep(message) -> None:
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    self.bodies.append(b"".join(chunks))
            elif message["type"] == "http.response.start":
                self.bodies.append(b"\n".join(k + b": " + v for k, v in message.get("headers", [])))
            await send(message)

        await self.app(scope, receive, keep)

    def containing(self, needle: str) -> list[str]:
        raw = needle.encode()
        return [b.decode(errors="replace")[:200] for b in self.bodies if raw in b]


def asgi_client(app, client_ip: str = "127.0.0.1") -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, client=(client_ip, 50000))
    return httpx.AsyncClient(transport=transport, base_url="http://jiuzhu.test", follow_redirects=False)


async def bearer(http: httpx.AsyncClient, username: str, password: str = DEMO_PASSWORD) -> dict[str, str]:
    r = await http.post("/api/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, (username, r.text)
    http.cookies.clear()
    return {"Authorization": f"Bearer {r.json()['token']}"}


@dataclass
class World:
    app: object
    http: httpx.AsyncClient
    pool: asyncpg.Pool
    seeds: Seeds
    headers: dict[str, dict[str, str]]
    recorder: Recorder


@pytest.fixture
async def world(pool: asyncpg.Pool, review_env) -> AsyncIterator[World]:
    """The real app on the test database and a time-skipping Temporal server with a real worker, every
    user logged in once (bearer tokens), the seed rows in place."""
    await add_extra_users(pool)
    seeds = await seed(pool)
    client: Client = review_env.client
    app = create_app(pool, client, secret_key=SECRET)
    recorder = Recorder(app)
    async with asgi_client(recorder) as http:
        users = sorted(set(HOME_USERS.values()) | set(FOREIGN_USERS.values()) | {"shipo_diaocha", "matrix_target"})
        headers = {u: await bearer(http, u) for u in users}
        yield World(app=app, http=http, pool=pool, seeds=seeds, headers=headers, recorder=recorder)


@pytest.fixture
async def matrix(world: World) -> Matrix:
    """The places × roles matrix (tests/support/authz.py) over `world`: a second district with its staff, a village
    cadre of a second village of 石婆店镇, every caller logged in."""
    await add_second_district(world.pool)
    others = [c.user for c in CALLERS if c.user not in world.headers]
    world.headers.update(await bearer_headers(world.http, others))
    return Matrix(http=world.http, headers=world.headers)
