"""公示 made real (issue 17, point 5): the printable notice of a case in public notice, and the portal's public list
per township, which shows the case during its notice period only. A real worker on the time-skipping server;
the case is decided at a stated instant, so every date below follows from it."""

from __future__ import annotations

import asyncio

import asyncpg
import httpx
import pytest

from db import notices_repo
from rules.stages import Action
from schemas.review import Decision
from tests.support.clients import SHIPO, app_client, login
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.factories import actor
from tests.support.review import act, investigate, start, until_stage

START = beijing(2026, 11, 24, 9, 30)  # a Tuesday: decided that morning, the notice posted the same day
# 7 calendar days counted from the next day (Civil Code art. 201): 11-25 to 12-01, ending at 00:00 on 12-02
PERIOD_ZH = "公示期：2026年11月25日至2026年12月1日。"


async def in_notice(review_env: SkippingEnvironment, pool: asyncpg.Pool, case_id: str) -> None:
    h = await start(review_env, case_id)
    await investigate(h)
    await act(h, Action.DECISION, Decision(actor=actor("shipo_shenpi"), approve=True, category="B"))
    await until_stage(h, "public_notice")
    for _ in range(200):  # the event's write follows the stage
        if await pool.fetchval("select notice_ends_at from cases where case_id = $1", case_id):
            break
        await asyncio.sleep(0.05)
    # the server may have skipped on its own while the test awaited the workflow: the notice started at its time,
    # so this process (the in-process portal's clock) is brought to it, or the notice would not have begun yet here
    await review_env.follow()


@pytest.mark.start_at(START)
@pytest.mark.web(temporal="review_env")
async def test_printable_notice_and_the_public_list(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await in_notice(review_env, pool, "PN-1")
    applicant = await pool.fetchrow(
        "select m.id_number, h.address from household_members m join households h on h.id = m.household_id "
        "join cases c on c.household_id = h.id where c.case_id = 'PN-1' and m.is_applicant"
    )
    id_number, address = applicant["id_number"], applicant["address"]
    masked_id = f"{id_number[:6]}********{id_number[-4:]}"
    assert await pool.fetchval("select notice_ends_at from cases where case_id = 'PN-1'") == beijing(2026, 12, 2)

    await login(web, "shipo_cun1")  # the village cadre posts it
    page = await web.get("/cases/PN-1/notice")
    assert page.status_code == 200
    text = page.text
    assert "<td>示范村一</td><td>王**</td>" in text.replace("石婆店镇示范村一", "示范村一")
    assert f"<td>{masked_id}</td><td>3</td><td>B</td><td>1566.00</td>" in text
    assert PERIOD_ZH in text
    assert "民生服务热线 12349" in text and "/portal/complain" in text
    assert id_number not in text and address not in text and "王大山" not in text
    assert (
        await pool.fetchval(
            "select count(*) from access_log where kind = 'case.notice' and record = 'PN-1' and username = 'shipo_cun1'"
        )
        == 1
    )
    await login(web, "shunhe_jingban")
    assert (await web.get("/cases/PN-1/notice")).status_code == 403

    async with app_client(pool, review_env.client) as public:  # no log-in
        listed = await public.get(f"/portal/notices?township={SHIPO}")
        assert listed.status_code == 200
        assert listed.text.count('data-testid="notice-row"') == 1
        assert "王**" in listed.text and masked_id in listed.text
        assert '<dd data-testid="notice-period">2026-11-25 至 2026-12-01</dd>' in listed.text
        assert id_number not in listed.text and address not in listed.text and "王大山" not in listed.text
        assert 'href="/portal/complain"' in listed.text
        other = await public.get("/portal/notices?township=341503104")  # 顺河镇: nothing in notice
        assert 'data-testid="no-notices"' in other.text

    # at stated instants: from the decision to the close of the last day, not before, not after
    async def listed_at(*at: int) -> list[str]:
        return [n.case_id for n in await notices_repo.notices_in_force(pool, SHIPO, beijing(*at))]

    assert await listed_at(2026, 12, 1, 23, 59) == ["PN-1"]
    assert await listed_at(2026, 12, 2, 0, 0) == []
    assert await listed_at(2026, 11, 24, 9, 0) == []

    await review_env.skip_to(beijing(2026, 12, 2, 0, 30))  # the notice ran out: enrolled
    for _ in range(200):
        if await pool.fetchval("select stage from cases where case_id = 'PN-1'") == "enrolled":
            break
        await asyncio.sleep(0.05)
    async with app_client(pool, review_env.client) as public:
        after = await public.get(f"/portal/notices?township={SHIPO}")
        assert 'data-testid="no-notices"' in after.text and "王**" not in after.text
    await login(web, "shipo_cun1")
    assert (await web.get("/cases/PN-1/notice")).status_code == 409
