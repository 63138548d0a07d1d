"""Figure 2: API and page latency at 100,000 cases, against a bare SELECT of the same rows.

The rows are bulk-inserted (not through workflows): cases with SQL `generate_series` over four years
across every township, their event logs (2-9 events each, as the workflow writes them, through
`cases_repo.append_events`),
verification requests and, for overdue cases, escalations. A share of them is open (2.5% by default:
about twice what a county of 10,000 applications a year has open at any time).

Requests go through httpx's ASGITransport to the app in this process (no socket, no uvicorn): the
figures are the app's own time, PostgreSQL included. The baseline of each endpoint is a bare asyncpg
SELECT, by primary key, of exactly the rows the endpoint returned (for a case page: the case row and
its event log), on the same pool, interleaved with the endpoint's requests.

Seeded rows have no workflow. The case pages are timed three ways: with no Temporal client (the
database part only); with the client, where the workflow query and the history read answer
"not found" (one round trip each to the dev server); and, after the intake burst, for a case with a
live workflow (the query answered by the worker, the history read from the server).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import asyncpg
import httpx

from bench.common import pct
from db import cases_repo, users_repo
from schemas.review import CaseEvent
from tests.support.review import ENROLLED, IN_NOTICE, REFUSED, TO_HEARING

SECRET = "bench-secret-" + "x" * 32
SURNAMES = list("王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗")
GIVEN = ["大山", "秀英", "建国", "桂兰", "志强", "丽", "德明", "小红", "玉兰", "国庆", "海燕", "春生"]

SEED_CASES = """
with t as (select array_agg(code order by code) as codes from places where level = 'township'),
rows as (
    select g, ((g::bigint * 2654435761) % 4294967296) as h from generate_series(1, $1::int) g
),
shaped as (
    select g, h,
           (h % 10000) < $2::int as open,
           t.codes[1 + ((h / 7) % cardinality(t.codes))::int] as township
    from rows, t
),
dated as (
    select s.*,
           now() - make_interval(days => (case when open then h % 35 else 40 + h % 1460 end)::int,
                                 hours => (h % 9)::int) as accepted_at,
           case when open then (array['investigation', 'investigation', 'investigation', 'hearing', 'decision',
                                       'public_notice'])[1 + ((h / 11) % 6)::int]
                when (h / 13) % 10 < 7 then 'enrolled' else 'refused' end as stage
    from shaped s
)
insert into cases (case_id, workflow_id, assistance_type, township_code, village_code, applicant_name,
                   applicant_id_masked, channel, policy_version, stage, status, handled_by, accepted_at, deadline,
                   overdue, relatives_match, decided_at, closed_at, category, monthly_amount_fen, updated_at)
select 'S' || lpad(g::text, 7, '0'),
       'review-S' || lpad(g::text, 7, '0'),
       case when h % 7 = 0 then 'tekun' else 'dibao' end,
       township,
       case when h % 3 = 0 then (select p.code from places p where p.parent_code = township order by p.code
                                 limit 1 offset (h % 2)) end,
       ($3::text[])[1 + (h % 20)::int] || ($4::text[])[1 + ((h / 20) % 12)::int],
       '341503********' || lpad((h % 10000)::text, 4, '0'),
       case when h % 5 = 0 then 'portal' else 'counter' end,
       1,
       stage,
       case stage when 'enrolled' then 'enrolled' when 'refused' then 'refused' else 'open' end,
       'township',
       accepted_at,
       (accepted_at at time zone 'Asia/Shanghai')::date + 28,
       case when open then (accepted_at at time zone 'Asia/Shanghai')::date + 28 < current_date else h % 20 = 0 end,
       h % 50 = 0,
       case when not open or stage = 'public_notice' then accepted_at + make_interval(days => (14 + h % 20)::int) end,
       case when not open then accepted_at + make_interval(days => (22 + h % 20)::int) end,
       case when stage = 'enrolled' then (array['A', 'B', 'C'])[1 + (h % 3)::int] end,
       case when stage = 'enrolled' then 30000 + (h % 100000) end,
       accepted_at + make_interval(days => 20)
from dated
"""

# The event log as the workflow leaves it: how far down these lists a case got depends on its stage. The
# events go through `cases_repo.append_events`, like every writer of the log, which keeps the case rows'
# progress columns.
SEED_STEPS = {
    "enrolled": ENROLLED,
    "refused": REFUSED,
    "public_notice": IN_NOTICE,
    "decision": [*TO_HEARING, "hearing"],
    "hearing": TO_HEARING,
}
_INVESTIGATION = [k for k in TO_HEARING if k != "verification_result"]  # its visits, the centre not answered yet
_SEEDED = "select case_id, stage, accepted_at, (hashtext(case_id) & 3) % 3 as more from cases where case_id like 'S%'"


def seed_events(c: asyncpg.Record) -> list[CaseEvent]:
    kinds = SEED_STEPS.get(c["stage"]) or _INVESTIGATION[: 2 + c["more"]]
    return [
        CaseEvent(
            case_id=c["case_id"],
            event_key=f"{n:04d}-{kind}",
            kind=kind,
            stage=c["stage"],
            actor="shipo_jingban" if n == 1 else None,
            actor_role="township_caseworker" if n == 1 else None,
            payload={"summary": f"{kind} (seeded)"},
            occurred_at=(at := c["accepted_at"] + timedelta(days=(n - 1) * 2, minutes=n)),
            recorded_at=at,
        )
        for n, kind in enumerate(kinds, 1)
    ]


SEED_REST = """
insert into verification_requests (case_id, township_code, requested_at, adapter, status, answered_by, answered_at)
select case_id, township_code, accepted_at, 'seed',
       case when waiting then 'requested' else 'answered' end,
       case when waiting then null else 'qu_minzheng' end,
       case when waiting then null else accepted_at + interval '5 days' end
from (select *, stage = 'investigation' and hashtext(case_id) % 2 = 0 as waiting from cases where case_id like 'S%') c;
insert into escalations (case_id, escalation_key, kind, deadline, created_at)
select case_id, case_id || '-overdue', 'overdue', deadline, (deadline + 1)::timestamptz from cases
where case_id like 'S%' and overdue;
"""


async def seed(pool: asyncpg.Pool, n: int, open_share: float) -> dict:
    t0 = time.monotonic()
    async with pool.acquire() as conn:
        await conn.execute(SEED_CASES, n, int(open_share * 10000), SURNAMES, GIVEN)
        t_cases = time.monotonic()
        seeded = await conn.fetch(_SEEDED)
        for i in range(0, len(seeded), 5000):
            await cases_repo.append_events(conn, [e for c in seeded[i : i + 5000] for e in seed_events(c)])
        t_events = time.monotonic()
        await conn.execute(SEED_REST)
        # The steady state of a database in use: vacuumed (visibility map, hint bits) and checkpointed, so
        # that autovacuum and the checkpointer do not run through the timed requests after a bulk load.
        await conn.execute("vacuum analyze")
        await conn.execute("checkpoint")
        counts = await conn.fetchrow(
            "select (select count(*) from cases) as cases, (select count(*) from cases where status = 'open') as open, "
            "(select count(*) from case_events) as events, (select count(*) from verification_requests) as requests, "
            "(select count(*) from escalations) as escalations"
        )
    return dict(counts) | {
        "seconds": round(time.monotonic() - t0, 1),
        "cases_seconds": round(t_cases - t0, 1),
        "events_seconds": round(t_events - t_cases, 1),
    }


async def login(c: httpx.AsyncClient, username: str) -> None:
    r = await c.post("/api/auth/login", json={"username": username, "password": users_repo.DEMO_PASSWORD})
    r.raise_for_status()
    c.headers["authorization"] = f"Bearer {r.json()['token']}"  # pages accept the bearer token too


def _api_ids(r: httpx.Response) -> list[str]:
    body = r.json()
    if "items" in body:
        return [i["case_id"] for i in body["items"]]
    return [body["case"]["case_id"]]


def _page_ids(r: httpx.Response) -> list[str]:
    return list(dict.fromkeys(re.findall(r'href="/cases/([A-Za-z0-9_-]+)"', r.text)))


BARE_ROWS = "select * from cases where case_id = any($1::text[])"
BARE_CASE = "select * from cases where case_id = $1"
BARE_EVENTS = "select * from case_events where case_id = $1 order by occurred_at, id"


async def time_endpoint(
    c: httpx.AsyncClient,
    pool: asyncpg.Pool,
    path: str,
    runs: int,
    *,
    page: bool,
    single: bool = False,
    warm: int = 3,
) -> dict:
    """p50/p95 of `path` and of the bare SELECT of the rows it returned, interleaved request by request."""
    times: list[float] = []
    bare: list[float] = []
    ids: list[str] = []
    size = 0
    for i in range(runs + warm):
        t0 = time.perf_counter()
        r = await c.get(path)
        elapsed = (time.perf_counter() - t0) * 1000
        if r.status_code != 200:
            raise RuntimeError(f"{path}: {r.status_code} {r.text[:300]}")
        size = len(r.content)
        ids = _page_ids(r) if page else _api_ids(r)
        if single:
            ids = ids[:1] or [path.rsplit("/", 1)[-1]]
        t1 = time.perf_counter()
        async with pool.acquire() as conn:
            if single:
                await conn.fetchrow(BARE_CASE, ids[0])
                await conn.fetch(BARE_EVENTS, ids[0])
            else:
                await conn.fetch(BARE_ROWS, ids)
        bare_ms = (time.perf_counter() - t1) * 1000
        if i >= warm:
            times.append(elapsed)
            bare.append(bare_ms)
    return {
        "p50_ms": round(pct(times, 50), 1),
        "p95_ms": round(pct(times, 95), 1),
        "bare_p50_ms": round(pct(bare, 50), 2),
        "bare_p95_ms": round(pct(bare, 95), 2),
        "rows": len(ids),
        "bytes": size,
        "runs": runs,
    }


Endpoint = tuple[str, str, str, dict[str, Any]]  # label, user, path, options


def endpoints(today: date, case_id: str) -> list[Endpoint]:
    month_ago = today - timedelta(days=30)
    return [
        ("list: no filter, page 1", "qu_minzheng", "/api/cases", {}),
        ("list: stage + type", "qu_minzheng", "/api/cases?stage=investigation&assistance_type=dibao", {}),
        ("list: township + overdue", "qu_minzheng", "/api/cases?township=341503106&overdue=true", {}),
        ("list: name prefix", "qu_minzheng", "/api/cases?q=%E7%8E%8B", {}),  # 王
        ("list: accepted range", "qu_minzheng", f"/api/cases?accepted_from={month_ago}&accepted_to={today}", {}),
        ("list: deadline before, closed too", "qu_minzheng", f"/api/cases?deadline_before={today}", {}),
        ("list: page 200", "qu_minzheng", "/api/cases?page=200", {}),
        ("list: township caseworker, stage", "shipo_jingban", "/api/cases?stage=investigation", {}),
        ("inbox: township caseworker", "shipo_jingban", "/inbox", {"page": True}),
        ("inbox: district officer", "qu_minzheng", "/inbox", {"page": True}),
        ("case page /cases/{id} (DB only)", "qu_minzheng", f"/cases/{case_id}", {"page": True, "single": True}),
    ]


async def run_latency(
    app_factory: Callable[[bool], Any],
    pool: asyncpg.Pool,
    case_id: str,
    runs: int,
    today: date,
    *,
    live_case: str | None = None,
    only_case_pages: bool = False,
) -> dict[str, dict]:
    """Time every endpoint. `app_factory(with_temporal)` builds the app with or without the Temporal client."""
    out: dict[str, dict] = {}
    clients: dict[tuple[bool, str], httpx.AsyncClient] = {}

    async def client_for(user: str, temporal: bool) -> httpx.AsyncClient:
        key = (temporal, user)
        if key not in clients:
            c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app_factory(temporal)), base_url="http://bench")
            await login(c, user)
            clients[key] = c
        return clients[key]

    try:
        plan: list[tuple[str, str, str, dict, bool]] = []
        if not only_case_pages:
            plan += [(label, user, path, opts, False) for label, user, path, opts in endpoints(today, case_id)]
            plan += [
                ("case page /cases/{id} (+ Temporal: not found)", "qu_minzheng", f"/cases/{case_id}",
                 {"page": True, "single": True}, True),
                ("GET /api/cases/{id} (+ Temporal: not found)", "qu_minzheng", f"/api/cases/{case_id}",
                 {"single": True}, True),
            ]  # fmt: skip
        if live_case:
            plan += [
                ("case page /cases/{id} (live workflow)", "qu_minzheng", f"/cases/{live_case}",
                 {"page": True, "single": True}, True),
                ("GET /api/cases/{id} (live workflow)", "qu_minzheng", f"/api/cases/{live_case}",
                 {"single": True}, True),
            ]  # fmt: skip
        for label, user, path, opts, temporal in plan:
            c = await client_for(user, temporal)
            out[label] = {"path": path, "user": user} | await time_endpoint(
                c, pool, path, runs, page=opts.get("page", False), single=opts.get("single", False)
            )
    finally:
        for c in clients.values():
            await c.aclose()
    return out


async def explain(pool: asyncpg.Pool, sql: str, *args: Any) -> str:
    async with pool.acquire() as conn:
        return "\n".join(r[0] for r in await conn.fetch("explain (analyze, buffers) " + sql, *args))


async def inbox_with_fewer_open(app_factory: Callable[[bool], Any], pool: asyncpg.Pool, runs: int) -> dict:
    """The district officer's inbox again after closing half of the seeded open cases: about what a
    county of 10,000 applications a year has open at once. (Changes the seeded rows; run it last.)"""
    async with pool.acquire() as conn:
        await conn.execute(
            "update cases set status = 'enrolled', stage = 'enrolled' "
            "where case_id like 'S%' and status = 'open' and hashtext(case_id) % 2 = 0"
        )
        await conn.execute("vacuum analyze cases")
        still_open = await conn.fetchval("select count(*) from cases where status = 'open'")
    c = httpx.AsyncClient(transport=httpx.ASGITransport(app=app_factory(False)), base_url="http://bench")
    try:
        await login(c, "qu_minzheng")
        r = await time_endpoint(c, pool, "/inbox", runs, page=True)
    finally:
        await c.aclose()
    return {"path": "/inbox", "user": "qu_minzheng", "open_cases": still_open} | r
