"""Pilot roll-out: switching a township's approval level from a date makes a policy version, and its
cases before and after the switch are compared side by side."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

import asyncpg
import httpx

from db import policy_repo
from tests.support.clients import csrf_token, log_in


async def test_switch_creates_a_version_and_the_comparison_counts(web: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    await log_in(web, "qu_minzheng")
    page = await web.get("/dashboard/rollout?township=341503105")
    assert page.status_code == 200 and "独山镇" in page.text
    r = await web.post(
        "/dashboard/rollout/switch",
        data={
            "township": "341503105",
            "level": "district",
            "effective_from": "2026-12-01",
            "csrftoken": csrf_token(page.text),
        },
    )
    assert r.status_code == 303
    assert unquote(r.headers["location"]) == "/dashboard/rollout?township=341503105&done=已生成第 2 版政策参数"
    async with pool.acquire() as conn:
        policy = await policy_repo.in_force(conn, datetime(2026, 12, 2).date())
        assert policy.version == 2 and policy.review.approval_level("341503105").value == "district"
        assert policy.review.approval_level("341503106").value == "township"
    r = await web.post(
        "/dashboard/rollout/switch",
        data={
            "township": "341503105",
            "level": "township",
            "effective_from": "2026-11-01",
            "csrftoken": csrf_token(page.text),
        },
    )
    assert r.status_code == 303  # not on or before the latest version's date
    assert unquote(r.headers["location"]) == (
        "/dashboard/rollout?township=341503105&error=生效日期须晚于现行最新版本（2026-12-01）"
    )

    switched = datetime(2026, 12, 1, tzinfo=UTC)
    for i, (offset, decided_after, overdue) in enumerate([(-20, 15, False), (-10, 40, True), (5, 10, False)]):
        accepted = switched + timedelta(days=offset)
        await pool.execute(
            "insert into cases (case_id, workflow_id, assistance_type, township_code, applicant_name, "
            "applicant_id_masked, channel, policy_version, stage, accepted_at, decided_at, overdue) values "
            "($1, 'review-' || $1, 'dibao', '341503105', '某', 'x', 'counter', 1, 'refused', $2, $3, $4)",
            f"R{i}",
            accepted,
            accepted + timedelta(days=decided_after),
            overdue,
        )
    page = await web.get("/dashboard/rollout?township=341503105&window=60")
    table = re.sub(r"\s+", " ", page.text.split('data-testid="comparison"')[1].split("</table>")[0])
    assert "<th>受理申请</th><td>2</td><td>1</td>" in table
    assert "<th>超期比例（%）</th><td>50.0</td><td>0.0</td>" in table


async def test_supervisors_read_but_do_not_switch(web: httpx.AsyncClient) -> None:
    await log_in(web, "qu_jiandu")
    page = await web.get("/dashboard/rollout")
    assert page.status_code == 200 and "生成新版政策参数" not in page.text
    r = await web.post(
        "/dashboard/rollout/switch",
        data={
            "township": "341503105",
            "level": "district",
            "effective_from": "2027-01-01",
            "csrftoken": csrf_token(page.text),
        },
    )
    assert r.status_code == 403
    await log_in(web, "shipo_jingban")
    assert (await web.get("/dashboard/rollout")).status_code == 403
