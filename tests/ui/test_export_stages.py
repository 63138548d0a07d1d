"""The case export fills 类别 and 月救助金额 at every stage they are known (issue 17, point 7): an approved case
in 公示 has them from the approval, before the enrolment writes them to the case row; a refused one has none."""

from __future__ import annotations

import csv
import io

import asyncpg
import httpx

from tests.support.clients import log_in
from tests.support.supervision import add_case, add_event


async def test_an_approved_case_in_public_notice_has_its_category_and_amount(
    web: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await add_case(pool, "NOTICE-1", stage="public_notice")
    await add_event(
        pool, "NOTICE-1", "decision", payload={"approve": True, "category": "A", "proposed_amount": "1144.00"}
    )
    await add_case(pool, "NOTICE-2", stage="public_notice")  # the approver changed the amount
    await add_event(
        pool,
        "NOTICE-2",
        "decision",
        payload={"approve": True, "category": "B", "monthly_amount": "800.00", "proposed_amount": "911.00"},
    )
    await add_case(pool, "REFUSED-1", stage="refused")
    await add_event(pool, "REFUSED-1", "decision", payload={"approve": False, "category": None})
    await log_in(web, "qu_jiandu")
    r = await web.get("/cases/export.csv")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    got = {row[0]: (row[rows[0].index("类别")], row[rows[0].index("月救助金额（元）")]) for row in rows[1:]}
    assert got == {"NOTICE-1": ("A", "1144.00"), "NOTICE-2": ("B", "800.00"), "REFUSED-1": ("", "")}
    assert "时限暂定" in rows[0]  # the one label of a provisional deadline
