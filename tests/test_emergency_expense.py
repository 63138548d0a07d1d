"""Issue 15, point 7: 支出型临时救助 through the HTTP API with a real worker. Applied for at the township with the
household's declared expense and income; the township pays up to its cap, the district beyond it; never more than
the household's own share of the expense; the person's caps and ledger are shared with 急难型 events."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import asyncpg
import httpx
import pytest

from rules.caps import per_capita_after_expense
from tests.support.clients import login
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.emergency import DISTRICT, TOWNSHIP, VILLAGE, fund
from tests.support.factories import resident_id

pytestmark = pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))  # a Tuesday

PERSON = resident_id(date(1962, 9, 9), seq=313)
# 18000 of hospital bills in 12 months, 12000 reimbursed by medical insurance: 6000 paid by the household itself.
EXPENSE = {"kind": "medical", "expense": "18000", "covered": "12000", "income_12m": "24000", "note": "住院费用清单"}


def body(event_id: str, **more: Any) -> dict[str, Any]:
    household = {
        "name": "吴九",
        "id_number": PERSON,
        "township_code": TOWNSHIP,
        "village_code": VILLAGE,
        "address": "示范村一 吴家圩 9 号",
        "members": 3,
    }
    base = {"event_id": event_id, "kind": "illness", "description": "尿毒症长期透析", "household": household}
    return base | {"path": "expense", "expense": EXPENSE} | more


async def post(web: httpx.AsyncClient, user: str, url: str, json: dict[str, Any]) -> httpx.Response:
    return await web.post(url, json=json, headers=await login(web, user))


def test_the_household_income_after_its_share_of_the_expense() -> None:
    # (24000 - 6000) / 12 months / 3 people
    assert per_capita_after_expense(Decimal("24000"), Decimal("6000"), 3) == Decimal("500.00")
    assert per_capita_after_expense(Decimal("3000"), Decimal("6000"), 2) == Decimal("-125.00")


@pytest.mark.web(temporal="review_env")
async def test_township_then_district_within_the_household_share(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await fund(pool, VILLAGE, "5000")
    await fund(pool, TOWNSHIP, "5000")
    await fund(pool, DISTRICT, "50000")
    r = await post(web, "shipo_cun1", "/api/emergencies", body("EXP-1"))
    assert (r.status_code, r.json()) == (
        403,
        {
            "code": "wrong_role",
            "message": "「登记支出型临时救助（向乡镇、街道申请）」须由乡镇审批人、乡镇经办人办理，您是村（社区）干部",
        },
    )
    r = await post(web, "shipo_jingban", "/api/emergencies", body("EXP-1", expense=None))
    assert (r.status_code, r.json()["code"]) == (422, "invalid")
    bad = EXPENSE | {"covered": "18000"}
    r = await post(web, "shipo_jingban", "/api/emergencies", body("EXP-1", expense=bad))
    assert r.status_code == 422 and "没有自付的刚性支出" in r.json()["message"]

    r = await post(web, "shipo_jingban", "/api/emergencies", body("EXP-1"))
    assert r.status_code == 201, r.text
    event, s = r.json()["event"], r.json()["state"]
    assert (event["path"], event["tier"], s["path"], s["expense"]["covered"]) == (
        "expense",
        "township",
        "expense",
        "12000.00",
    )
    assert s["log"][0]["summary"] == (
        "登记支出型临时救助（医疗费用）：吴九，近 12 个月医疗费用 18000.00 元，已报销或已获救助 12000.00 元，"
        "自付 6000.00 元；家庭近 12 个月收入 24000.00 元；尿毒症长期透析"
    )
    act = "/api/emergencies/EXP-1/actions/"
    r = await post(web, "shipo_cun1", act + "approve", {"tier": "village", "amount": "500"})
    assert (r.status_code, r.json()["code"]) == (409, "wrong_tier")  # the village society is not in this path
    r = await post(web, "shipo_jingban", act + "escalate", {"reason": "费用较大"})
    assert (r.status_code, r.json()["code"]) == (409, "cannot_escalate")
    assert "乡镇临时救助还可发放 2000.00 元" in r.json()["message"]
    r = await post(web, "shipo_shenpi", act + "approve", {"tier": "township", "amount": "2000.01"})
    assert (r.status_code, r.json()["code"]) == (409, "cap_exceeded")
    r = await post(web, "shipo_shenpi", act + "approve", {"tier": "township", "amount": "2000"})
    assert (r.status_code, r.json()["total"], r.json()["payment_key"]) == (200, "2000.00", "EXP-1-pay-001")
    r = await post(web, "shipo_shenpi", act + "escalate", {"reason": "自付费用仍较大"})
    assert (r.status_code, r.json()["tier"]) == (200, "district")
    r = await post(web, "qu_minzheng", act + "approve", {"tier": "district", "amount": "4000.01"})
    assert (r.status_code, r.json()) == (
        409,
        {
            "code": "cap_exceeded",
            "message": "支出型临时救助累计不得超过家庭自付的刚性支出 6000.00 元"
            "（已发放 2000.00 元，还可发放 4000.00 元）",
        },
    )
    r = await post(web, "qu_minzheng", act + "approve", {"tier": "district", "amount": "4000"})
    assert (r.status_code, r.json()["total"]) == (200, "6000.00")

    # The person's one open event: an urgent registration meanwhile is refused with the expense event named.
    urgent = body("EXP-URG", path="urgent", expense=None, kind="fire", description="房屋失火")
    r = await post(web, "shipo_cun1", "/api/emergencies", urgent)
    assert (r.status_code, r.json()["code"]) == (409, "open_event_exists")
    assert "支出型临时救助事件" in r.json()["message"]
    # the ledgers: the township's and the district's funds paid, as for any event
    rows = await pool.fetch("select tier, amount_fen, fund_id from aid_payments where event_id = 'EXP-1' order by id")
    assert [(r["tier"], r["amount_fen"]) for r in rows] == [("township", 200000), ("district", 400000)]
    assert (await web.get(f"/api/funds/{TOWNSHIP}", headers=await login(web, "shipo_shenpi"))).json()[
        "balance"
    ] == "3000.00"

    # Closed, the next (urgent) event shows the expense aid, and the village waits for the township's approval.
    assert (
        await post(web, "shipo_jingban", act + "documents", {"items": ["住院费用清单", "医保结算单"]})
    ).status_code == 200
    assert (await post(web, "shipo_jingban", act + "close", {"summary": "救助到位"})).status_code == 200
    r = await post(web, "shipo_cun1", "/api/emergencies", urgent)
    assert r.status_code == 201, r.text
    prior = r.json()["state"]["prior"]
    assert (prior["township"], prior["district"], prior["total"]) == ("2000.00", "4000.00", "6000.00")
    assert [(e["event_id"], e["path"], e["total"]) for e in prior["events"]] == [("EXP-1", "expense", "6000.00")]
    assert r.json()["state"]["repeat_pending"] is True


@pytest.mark.web(temporal="review_env")
async def test_per_person_caps_are_shared_by_both_paths(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    from tests.test_emergency_person import caps_per_person

    await caps_per_person(pool)
    await fund(pool, VILLAGE, "5000")
    await fund(pool, TOWNSHIP, "5000")
    urgent = body("SH-1", path="urgent", expense=None, kind="fire", description="房屋失火")
    assert (await post(web, "shipo_cun1", "/api/emergencies", urgent)).status_code == 201
    act = "/api/emergencies/SH-1/actions/"
    assert (await post(web, "shipo_cun1", act + "approve", {"tier": "village", "amount": "1000"})).status_code == 200
    assert (await post(web, "shipo_cun1", act + "escalate", {"reason": "损失较大"})).status_code == 200
    assert (await post(web, "shipo_shenpi", act + "approve", {"tier": "township", "amount": "1200"})).status_code == 200
    assert (await post(web, "shipo_jingban", act + "documents", {"items": ["火灾证明"]})).status_code == 200
    assert (await post(web, "shipo_jingban", act + "close", {"summary": "救助到位"})).status_code == 200

    assert (await post(web, "shipo_jingban", "/api/emergencies", body("SH-2"))).status_code == 201
    act = "/api/emergencies/SH-2/actions/"
    # per person: the township has 800 left of its 2000 for the person this year (3000 together with the village)
    r = await post(web, "shipo_shenpi", act + "approve", {"tier": "township", "amount": "800.01"})
    assert (r.status_code, r.json()["code"]) == (409, "cap_exceeded")
    assert "本人周期内累计封顶，已发放 1200.00 元，还可发放 800.00 元" in r.json()["message"]
    r = await post(web, "shipo_shenpi", act + "approve", {"tier": "township", "amount": "800"})
    assert (r.status_code, r.json()["total"]) == (200, "800.00")
    r = await post(web, "shipo_shenpi", act + "escalate", {"reason": "自付费用仍较大"})
    assert (r.status_code, r.json()["tier"]) == (200, "district")


@pytest.mark.web(temporal="review_env")
async def test_the_pages_register_an_expense_event_and_answer_a_second_with_the_open_one(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    from tests.support.clients import csrf_token, log_in

    await log_in(web, "shipo_jingban")
    form = await web.get("/emergencies/new")
    assert form.status_code == 200 and 'name="expense_kind"' in form.text
    data = {
        "csrftoken": csrf_token(form.text),
        "kind": "illness",
        "description": "尿毒症长期透析",
        "name": "吴九",
        "id_number": PERSON,
        "village_code": VILLAGE,
        "address": "示范村一 吴家圩 9 号",
        "members": "3",
        "path": "expense",
        "expense_kind": "medical",
        "expense": "18000",
        "covered": "12000",
        "income_12m": "24000",
        "relative_name_0": "钱八",
        "relative_relation_0": "配偶",
        "relative_workplace_0": "区医保局",
    }
    r = await web.post("/emergencies/new", data=data)
    assert r.status_code == 303, r.text
    event_id = r.headers["location"].removeprefix("/emergencies/").removesuffix("?done=registered")
    page = await web.get(r.headers["location"])
    assert page.status_code == 200
    assert "支出型临时救助" in page.text and 'data-testid="per-capita">500.00<' in page.text
    assert "已备案：钱八（配偶）" in page.text  # a full-width colon in Chinese text

    form = await web.get("/emergencies/new")
    r = await web.post("/emergencies/new", data=data | {"csrftoken": csrf_token(form.text)})
    assert (r.status_code, r.headers["location"]) == (303, f"/emergencies/{event_id}?existing=1")
    page = await web.get(r.headers["location"])
    assert "该居民已有未办结的急难事件，本次登记即该事件" in page.text
    assert await pool.fetchval("select count(*) from emergencies") == 1
