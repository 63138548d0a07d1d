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

PILOTS = {"341503106": "石婆店镇", "341503104": "顺河镇", "341503001": "鼓楼街道"}
CHENGNAN = "341503107"  # 城南镇, not a pilot unit


def levels_table(html: str) -> dict[str, tuple[str, str, str]]:
    """The levels table: township name -> (its level now and since when, the earlier levels, the pilot badge)."""
    table = html.split('data-testid="levels"')[1].split("</table>")[0]
    rows = re.findall(r'window=\d+">([^<]+)</a>(.*?)</td>\s*<td>(.*?)</td>\s*<td class="muted">(.*?)</td>', table, re.S)
    return {
        name: (now.strip(), earlier.strip(), "试点单位" if "试点单位" in badge else "")
        for name, badge, now, earlier in rows
    }


async def test_the_pilot_units_approve_first_and_the_page_reads_it_from_the_policy(
    web: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await log_in(web, "qu_minzheng")
    levels = levels_table((await web.get("/dashboard/rollout")).text)
    assert len(levels) == 23
    for name in PILOTS.values():
        assert levels[name] == ("委托乡镇审核确认 · 2021-01-01", "", "试点单位")
    for name in ("城南镇", "独山镇", "西市街道", "单王乡", "六安高新技术产业开发区管委"):
        assert levels[name] == ("区民政局审批 · 2021-01-01", "", "")
    # What the page says comes from the policy versions, not from the places' pilot flag.
    await pool.execute("update places set is_pilot = true where code = $1", CHENGNAN)
    assert levels_table((await web.get("/dashboard/rollout")).text)["城南镇"][0] == "区民政局审批 · 2021-01-01"


async def test_switch_creates_a_version_and_the_comparison_counts(web: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    await log_in(web, "qu_minzheng")
    page = await web.get(f"/dashboard/rollout?township={CHENGNAN}")
    assert page.status_code == 200 and "城南镇" in page.text
    r = await web.post(
        "/dashboard/rollout/switch",
        data={
            "township": CHENGNAN,
            "level": "township",
            "effective_from": "2026-12-01",
            "csrftoken": csrf_token(page.text),
        },
    )
    assert r.status_code == 303
    assert unquote(r.headers["location"]) == f"/dashboard/rollout?township={CHENGNAN}&done=已生成第 2 版政策参数"
    async with pool.acquire() as conn:
        policy = await policy_repo.in_force(conn, datetime(2026, 12, 2).date())
        assert policy.version == 2 and policy.note == "城南镇（341503107）自 2026-12-01 起委托乡镇审核确认"
        assert policy.review.approval_level(CHENGNAN).value == "township"
        assert {code: policy.review.approval_level(code).value for code in PILOTS} == dict.fromkeys(PILOTS, "township")
        assert policy.review.approval_level("341503105").value == "district"
        assert (await policy_repo.get(conn, 1)).review.approval_level(CHENGNAN).value == "district"  # kept
    levels = levels_table((await web.get("/dashboard/rollout")).text)
    assert levels["城南镇"] == ("委托乡镇审核确认 · 2026-12-01", "2021-01-01: 区民政局审批", "")
    assert levels["独山镇"] == ("区民政局审批 · 2021-01-01", "", "")

    async def switch(level: str, effective_from: str) -> str:
        r = await web.post(
            "/dashboard/rollout/switch",
            data={
                "township": CHENGNAN,
                "level": level,
                "effective_from": effective_from,
                "csrftoken": csrf_token(page.text),
            },
        )
        assert r.status_code == 303
        return unquote(r.headers["location"])

    assert await switch("township", "2026-11-01") == (  # not on or before the latest version's date
        f"/dashboard/rollout?township={CHENGNAN}&error=生效日期须晚于现行最新版本（2026-12-01）"
    )
    assert await switch("township", "2027-01-01") == (  # already delegated: no version that changes nothing
        f"/dashboard/rollout?township={CHENGNAN}&error=城南镇在第 2 版中已委托乡镇审核确认，无需生成新版本"
    )
    assert await pool.fetchval("select max(version) from policy_versions") == 2

    switched = datetime(2026, 12, 1, tzinfo=UTC)
    for i, (offset, decided_after, overdue) in enumerate([(-20, 15, False), (-10, 40, True), (5, 10, False)]):
        accepted = switched + timedelta(days=offset)
        await pool.execute(
            "insert into cases (case_id, workflow_id, assistance_type, township_code, applicant_name, "
            "applicant_id_masked, channel, policy_version, stage, accepted_at, decided_at, overdue) values "
            "($1, 'review-' || $1, 'dibao', $5, '某', 'x', 'counter', 1, 'refused', $2, $3, $4)",
            f"R{i}",
            accepted,
            accepted + timedelta(days=decided_after),
            overdue,
            CHENGNAN,
        )
    page = await web.get(f"/dashboard/rollout?township={CHENGNAN}&window=60")
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
            "township": CHENGNAN,
            "level": "township",
            "effective_from": "2027-01-01",
            "csrftoken": csrf_token(page.text),
        },
    )
    assert r.status_code == 403
    await log_in(web, "shipo_jingban")
    assert (await web.get("/dashboard/rollout")).status_code == 403
