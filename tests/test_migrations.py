"""Alembic migrations up and down on a real (embedded) PostgreSQL, and the constraints they set."""

from __future__ import annotations

import asyncpg
import pytest

from db.migrate import downgrade, upgrade
from db.pool import connect
from tests.conftest import with_database


async def test_upgrade_from_empty_then_down_and_up_again(pg_server: str) -> None:
    admin = await asyncpg.connect(pg_server)
    await admin.execute("create database mig_test")
    url = with_database(pg_server, "mig_test")
    try:
        upgrade(url)
        conn = await asyncpg.connect(url)
        tables = {r["tablename"] for r in await conn.fetch("select tablename from pg_tables where schemaname='public'")}
        assert {
            "places",
            "users",
            "staff_relatives",
            "households",
            "household_members",
            "cases",
            "case_events",
            "recipients",
            "notifications",
            "calendar_days",
            "calendar_years",
            "policy_versions",
        } <= tables
        pilots = {r["name"] for r in await conn.fetch("select name from places where is_pilot and level='township'")}
        assert pilots == {"石婆店镇", "顺河镇", "鼓楼街道"}
        assert await conn.fetchval("select code from places where level='district'") == "341503"
        await conn.close()
        downgrade(url, "base")
        conn = await asyncpg.connect(url)
        assert (
            await conn.fetchval("select count(*) from pg_tables where schemaname='public' and tablename='cases'") == 0
        )
        await conn.close()
        upgrade(url)
        upgrade(url)  # idempotent
    finally:
        await admin.execute("drop database mig_test with (force)")
        await admin.close()


async def test_event_log_is_unique_per_case_and_key(db_url: str) -> None:
    conn = await connect(db_url)
    try:
        await conn.execute(
            "insert into cases (case_id, workflow_id, assistance_type, township_code, applicant_name, "
            "applicant_id_masked, channel, policy_version, stage, accepted_at) values "
            "('C1', 'review-C1', 'dibao', '341503106', '张三', '110105********002X', 'counter', 1, 'accepted', now())"
        )
        insert = (
            "insert into case_events (case_id, event_key, kind, occurred_at) values ('C1', 'k1', 'accepted', now())"
        )
        await conn.execute(insert)
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(insert)
    finally:
        await conn.close()
