"""District supervision pages without Temporal: who may open each page, and what each shows from rows
written straight into the supervision tables (the rows the workflows' activities keep)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import asyncpg
import httpx
import pytest

from db import relatives_repo
from schemas.identity import mask_id
from tests.support.clients import SHIPO, SHUNHE, csrf_token, log_in
from tests.support.clock import beijing
from tests.support.factories import resident_id
from tests.support.supervision import BARRED, OCTOBER, add_event, seed_case


async def seed_draw(pool: asyncpg.Pool) -> None:
    """October 2026 drawn on 11-01: one irregular re-check in 石婆店镇, one open in 顺河镇, a correction opened."""
    drawn_at, checked_at = beijing(2026, 11, 1, 6, 0), beijing(2026, 11, 12, 15, 0)
    await seed_case(pool, "S-1", SHIPO, OCTOBER, relatives=True)
    await seed_case(pool, "S-2", SHUNHE, OCTOBER)
    drawn = [
        {
            "recheck_id": "2026-10-S-1",
            "month": "2026-10",
            "case_id": "S-1",
            "township_code": SHIPO,
            "reason": "relatives_match",
        },
        {
            "recheck_id": "2026-10-S-2",
            "month": "2026-10",
            "case_id": "S-2",
            "township_code": SHUNHE,
            "reason": "random",
        },
    ]
    await pool.execute(
        "insert into sampling_draws (month, seed, share, population, drawn, drawn_at) "
        "values ('2026-10', 'jiuzhu-sampling-2026-10', 0.05, 30, $1, $2)",
        drawn,
        drawn_at,
    )
    for d in drawn:
        await pool.execute(
            "insert into rechecks (recheck_id, workflow_id, month, case_id, township_code, reason) "
            "values ($1, 'recheck-2026-10-' || $2, '2026-10', $2, $3, $4)",
            d["recheck_id"],
            d["case_id"],
            d["township_code"],
            d["reason"],
        )
    await pool.execute(
        "update rechecks set status = 'irregular', findings = '经办人与申请人系亲属，未回避', home_visit = true, "
        "checked_by = 'qu_minzheng', checked_at = $1 where recheck_id = '2026-10-S-1'",
        checked_at,
    )
    await pool.execute(
        "insert into case_corrections (case_id, recheck_id, findings, opened_at) "
        "values ('S-1', '2026-10-S-1', '经办人与申请人系亲属，未回避', $1)",
        checked_at,
    )


PAGES = [
    "/supervision/sampling",
    "/supervision/reviews",
    "/supervision/digest",
    "/supervision/conflicts",
    "/supervision/declarations",
    "/cases/H-1/history",
    "/cases/H-1/casefile.pdf",
]
ALLOWED = {
    "qu_minzheng": set(PAGES),
    "qu_jiandu": set(PAGES),
    "shipo_jingban": {"/supervision/reviews", "/supervision/digest", "/cases/H-1/history", "/cases/H-1/casefile.pdf"},
    "shipo_shenpi": {"/supervision/reviews", "/supervision/digest", "/cases/H-1/history", "/cases/H-1/casefile.pdf"},
    "shunhe_jingban": {"/supervision/reviews", "/supervision/digest"},  # H-1 is in another township
    "shipo_cun1": set(),
    "yiliao_bu": set(),
    "admin": set(),
}


@pytest.mark.parametrize("user", sorted(ALLOWED))
async def test_who_may_open_each_page(web: httpx.AsyncClient, pool: asyncpg.Pool, user: str) -> None:
    await seed_case(pool, "H-1", SHIPO, OCTOBER)
    await log_in(web, user)
    for path in PAGES:
        r = await web.get(path)
        expected = 200 if path in ALLOWED[user] else 403
        assert r.status_code == expected, (user, path, r.text[:300])
        if expected == 403:
            assert "<html" in r.text  # a Chinese error page with the menu, not a bare error
    nav = (await web.get("/account")).text
    assert ('href="/supervision/sampling"' in nav) == (user in ("qu_minzheng", "qu_jiandu"))
    assert ('href="/supervision/reviews"' in nav) == (user in ("shipo_jingban", "shipo_shenpi", "shunhe_jingban"))


# 00:30 on 12-01 in Beijing, still November in UTC: November has ended, December has begun.
@pytest.mark.start_at(datetime(2026, 11, 30, 16, 30, tzinfo=UTC))
async def test_sampling_page_shows_the_draw_and_counts_irregular_findings_per_township(
    web: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await seed_draw(pool)
    await log_in(web, "qu_jiandu")
    page = (await web.get("/supervision/sampling")).text
    assert "jiuzhu-sampling-2026-10" in page and "5.0%" in page
    assert "近亲属备案命中（必抽）" in page and "随机抽取" in page
    shipo = re.search(r'<tr data-township="341503106"[^>]*>(.*?)</tr>', page, re.S).group(1)
    assert re.findall(r'su-num">(\d+)<', shipo) == ["1", "0", "0", "1", "1"]  # drawn, open, upheld, irregular, all
    assert 'data-township="341503104">' in page  # 顺河镇: nothing irregular, not flagged
    corrections = page.split('data-testid="corrections"')[1]
    assert "S-1" in corrections and "经办人与申请人系亲属，未回避" in corrections
    assert 'data-testid="draw-form"' not in page  # supervisors read
    recheck = (await web.get("/supervision/rechecks/2026-10-S-2")).text
    assert "待复核" in recheck and 'data-testid="finding-form"' not in recheck

    await log_in(web, "qu_minzheng")
    page = (await web.get("/supervision/sampling")).text
    draw_form = page.split('data-testid="draw-form"')[1].split("</form>")[0]
    assert re.search(r'name="month"[^>]*value="2026-11"', draw_form)  # the month that has just ended
    assert 'data-testid="finding-form"' in (await web.get("/supervision/rechecks/2026-10-S-2")).text
    assert 'data-testid="finding-form"' not in (await web.get("/supervision/rechecks/2026-10-S-1")).text  # done
    r = await web.post("/supervision/sampling/draw", data={"month": "2026-12", "csrftoken": csrf_token(page)})
    assert r.status_code == 422 and "请选择已经结束的月份" in r.text
    # November may be drawn: the request goes on to the workflow service, which this app does not have.
    r = await web.post("/supervision/sampling/draw", data={"month": "2026-11", "csrftoken": csrf_token(page)})
    assert r.status_code == 503 and "工作流服务暂不可用" in r.text
    r = await web.post("/supervision/sampling/draw", data={"month": "2026-10", "csrftoken": csrf_token(page)})
    assert r.status_code == 303 and r.headers["location"] == "/supervision/sampling?month=2026-10&done=already"
    assert (await web.get("/supervision/rechecks/nope")).status_code == 404


@pytest.mark.parametrize(
    "start_at, due",
    [
        pytest.param(beijing(2027, 4, 30, 23, 30), False, id="the-evening-before"),
        # 00:30 on 05-01 in Beijing, still 04-30 in UTC
        pytest.param(datetime(2027, 4, 30, 16, 30, tzinfo=UTC), True, id="just-after-midnight-in-beijing"),
    ],
)
async def test_reviews_page_register_and_stopped_households_within_the_township(
    web: httpx.AsyncClient, pool: asyncpg.Pool, due: bool
) -> None:
    """R-1's review is due on 2027-05-01, a Beijing day."""
    await seed_case(pool, "R-1", SHIPO, OCTOBER, amount_fen=61000, people=3)
    await seed_case(pool, "R-2", SHIPO, OCTOBER)
    await seed_case(pool, "R-3", SHUNHE, OCTOBER)
    await pool.execute(
        "update recipients set review_cadence_months = 6, next_review_on = '2027-05-01' where case_id = 'R-1'"
    )
    await pool.execute(
        "update recipients set status = 'stopped', stopped_at = $1, stop_reasons = '家庭人均收入已超过保障标准' "
        "where case_id = 'R-2'",
        beijing(2027, 3, 16, 10, 0),
    )
    await log_in(web, "shipo_jingban")
    page = (await web.get("/supervision/reviews?status=")).text
    register = page.split('data-testid="register"')[1].split("</table>")[0]
    assert "R-1" in register and "610.00" in register and "每 6 个月" in register and "2027-05-01" in register
    assert "R-3" not in page  # another township
    stopped = page.split('data-testid="stopped"')[1].split("</table>")[0]
    assert "R-2" in stopped and "家庭人均收入已超过保障标准" in stopped
    due_cards = page.split('data-testid="due"')[1].split('data-testid="register"')[0]
    assert re.findall(r'<section class="card" data-case="([^"]+)"', due_cards) == (["R-1"] if due else [])
    assert ("没有到期的复核" in page) is not due
    active = (await web.get("/supervision/reviews")).text.split('data-testid="register"')[1].split("</table>")[0]
    assert "R-1" in active and "R-2" not in active
    r = await web.post("/supervision/reviews/R-3/propose", data={"outcome": "continue", "csrftoken": csrf_token(page)})
    assert r.status_code == 404  # not in the user's township

    await log_in(web, "qu_jiandu")
    page = (await web.get("/account")).text  # the CSRF token is bound to the session
    r = await web.post("/supervision/reviews/R-1/propose", data={"outcome": "continue", "csrftoken": csrf_token(page)})
    assert r.status_code == 403 and "复核由本乡镇（街道）或区民政局工作人员办理" in r.text


async def test_digest_on_the_inbox_and_its_page(web: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    body = {
        "overdue": [{"case_id": "LATE-1", "applicant_name": "超期户", "deadline": "2026-11-20"}],
        "due_soon": [],
        "referrals": [
            {"referral_id": "R-2026-1", "bureau": "medical", "status": "delivered", "result_due": "2026-12-01"}
        ],
        "complaints": [{"complaint_no": "TS-1", "status": "accepted", "conclude_due": "2027-01-10"}],
        "reviews": [{"case_id": "ONG-LATE", "applicant_name": "复核户", "due_on": "2026-10-09"}],
        "proposals": [
            {"case_id": "ONG-WAIT", "applicant_name": "待批户", "due_on": "2026-10-20", "proposed_on": "2026-10-22"}
            | {"referred": True, "overdue": False}
        ],
    }
    for day, place in (("2026-12-01", SHIPO), ("2026-12-02", SHIPO), ("2026-12-02", "341503")):
        await pool.execute(
            "insert into digests (digest_key, day, place_code, body) values ($1, $2, $3, $4)",
            f"{day}-{place}",
            date.fromisoformat(day),
            place,
            body if place == SHIPO else {**body, "overdue": [], "complaints": []},
        )
    await log_in(web, "shipo_jingban")
    inbox = (await web.get("/inbox")).text
    panel = inbox.split('data-testid="digest-panel"')[1].split("</p>")[0]
    assert "石婆店镇 2026-12-02 每日提醒" in panel
    assert re.findall(r'badge[^"]*">(\d+)<', panel) == ["1", "0", "1", "1", "1", "1"]
    assert "动态管理复核超期" in panel and "复核意见待审批" in panel
    page = (await web.get("/supervision/digest")).text
    assert "LATE-1" in page and "区医保局" in page and "待签收" in page and "TS-1" in page and "办理中" in page
    reviews = page.split('data-testid="reviews-overdue"')[1].split("</table>")[0]
    assert "ONG-LATE" in reviews and "复核户" in reviews and "2026-10-09" in reviews
    proposals = page.split('data-testid="review-proposals"')[1].split("</table>")[0]
    assert "ONG-WAIT" in proposals and "已报区民政局" in proposals and "2026-10-22" in proposals
    assert "已超期" not in proposals
    assert 'href="?day=2026-12-01"' in page
    earlier = (await web.get("/supervision/digest?day=2026-12-01")).text
    assert "石婆店镇 · 2026-12-01" in earlier

    await log_in(web, "qu_minzheng")
    page = (await web.get("/supervision/digest")).text
    assert "裕安区 · 2026-12-02" in page and "LATE-1" not in page
    await log_in(web, "shipo_cun1")
    assert 'data-testid="digest-panel"' not in (await web.get("/inbox")).text


async def test_conflicts_page_barred_staff_district_visit_and_refused_attempts(
    web: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await seed_case(pool, "C-1", SHIPO, OCTOBER, relatives=True)  # closed (enrolled) without a district visit
    await seed_case(pool, "C-2", SHIPO, OCTOBER, relatives=True)
    await seed_case(pool, "C-3", SHIPO, OCTOBER)
    for case_id in ("C-1", "C-2"):
        await add_event(pool, case_id, "relatives_matched", payload={"barred": BARRED})
    await pool.execute("update cases set status = 'open', stage = 'hearing' where case_id = 'C-2'")
    await add_event(
        pool, "C-2", "home_visit", actor="qu_minzheng", role="district_officer", payload={"by_district": True}
    )
    await pool.execute(
        "insert into refused_actions (case_id, username, action, code, message) values "
        "('C-2', 'shipo_diaocha', 'home_visit', 'recused', '您与申请人家庭存在近亲属关系，依规应当回避，不能办理本案')"
    )
    await log_in(web, "qu_jiandu")
    page = (await web.get("/supervision/conflicts")).text
    matched = page.split('data-testid="matched"')[1].split("</table>")[0]
    assert "C-3" not in matched
    c1 = re.search(r'data-case="C-1"(.*?)</tr>', matched, re.S).group(1)
    assert "su-flag" in c1 and "未入户即办结" in c1 and "石婆店镇经办人 王强" in c1 and "近亲属备案：表兄" in c1
    c2 = re.search(r'data-case="C-2"(.*?)</tr>', matched, re.S).group(1)
    assert "已完成" in c2 and "区民政局 陈立" in c2 and re.search(r'su-num">1<', c2)
    attempts = page.split('data-testid="attempts"')[1]
    assert "石婆店镇经办人 王强" in attempts and "入户调查" in attempts and "依规应当回避" in attempts


async def test_conflicts_page_shows_withdrawn_register_entries_and_cases_since(
    web: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    """A relative withdrawn from the register and then applying escapes the relatives check: the page
    shows the withdrawal, who made it, and flags the case accepted after it."""
    cousin, aunt = resident_id(date(1970, 3, 3), seq=303), resident_id(date(1960, 6, 6), seq=606)
    async with pool.acquire() as conn:
        staff = await conn.fetchval("select id from users where username = 'shipo_diaocha'")
        first = await relatives_repo.add_relative(conn, staff, name="王表兄", id_number=cousin, relation="其他近姻亲")
        second = await relatives_repo.add_relative(conn, staff, name="王姑", id_number=aunt, relation="其他近姻亲")
        await relatives_repo.add_relative(
            conn, staff, name="王弟", id_number=resident_id(date(1980, 1, 1)), relation="兄弟姐妹"
        )
        assert await relatives_repo.remove_relative(conn, staff, first, by="shipo_diaocha")
        assert await relatives_repo.remove_relative(conn, staff, second, by="admin")
        household = await conn.fetchval(
            "insert into households (township_code, address, hukou_type) values ($1, '石婆店镇', 'rural') returning id",
            SHIPO,
        )
        await conn.execute(
            "insert into household_members (household_id, name, id_number, relation, is_applicant) "
            "values ($1, '王表兄', $2, 'self', true)",
            household,
            cousin,
        )
    # The register's withdrawal is stamped by the database's clock: W-1 is accepted a minute after it.
    withdrawn_at = await pool.fetchval("select removed_at from staff_relatives where id = $1", first)
    await seed_case(pool, "W-1", SHIPO, withdrawn_at + timedelta(minutes=1))
    await pool.execute("update cases set household_id = $1 where case_id = 'W-1'", household)
    await seed_case(pool, "W-0", SHIPO, OCTOBER)  # accepted before the withdrawal: not listed
    await pool.execute("update cases set household_id = $1 where case_id = 'W-0'", household)

    await log_in(web, "qu_jiandu")
    page = (await web.get("/supervision/conflicts")).text
    withdrawn = page.split('data-testid="withdrawn"')[1].split("</table>")[0]
    rows = re.findall(r"<tr(.*?)</tr>", withdrawn.split("<tbody>")[1], re.S)
    assert len(rows) == 2  # the entry still in force is not listed
    cousin_row = next(r for r in rows if "王表兄" in r)
    assert 'class="su-flag"' in cousin_row and "W-1" in cousin_row and "W-0" not in cousin_row
    assert mask_id(cousin) in cousin_row and cousin not in cousin_row
    aunt_row = next(r for r in rows if "王姑" in r)
    admin_name = await pool.fetchval("select full_name from users where username = 'admin'")
    assert "su-flag" not in aunt_row and admin_name in aunt_row


async def test_history_page_from_the_database_filters_by_actor_and_date(
    web: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await seed_case(pool, "H-1", SHIPO, OCTOBER)
    await add_event(
        pool,
        "H-1",
        "accepted",
        actor="shipo_jingban",
        role="township_caseworker",
        payload={"summary": "受理最低生活保障申请"},
        at=datetime(2026, 9, 1, 2, tzinfo=UTC),
    )
    await add_event(
        pool,
        "H-1",
        "decision",
        actor="shipo_shenpi",
        role="township_approver",
        payload={"summary": "审核确认：批准，B每月 500.00 元"},
        at=OCTOBER,
    )
    await log_in(web, "qu_jiandu")
    page = (await web.get("/cases/H-1/history")).text
    db = page.split('data-testid="db-events"')[1].split("</table>")[0]
    assert "受理最低生活保障申请" in db and "审核确认：批准" in db and "乡镇审批人" in db
    assert 'data-testid="no-history"' in page  # no Temporal here: the database log stands alone
    assert "localhost:8233" not in page  # the Temporal Web UI is for administrators only (issue 17.4)
    by_approver = (await web.get("/cases/H-1/history?actor=shipo_shenpi")).text.split('data-testid="db-events"')[1]
    assert "审核确认：批准" in by_approver and "受理最低生活保障申请" not in by_approver
    unfiltered = (await web.get("/cases/H-1/history?actor=&from=&to=&workflow=")).text  # as the form sends it
    assert "受理最低生活保障申请" in unfiltered and "审核确认：批准" in unfiltered
    assert (await web.get("/cases/H-1/history?from=yesterday")).status_code == 422
    september = (await web.get("/cases/H-1/history?from=2026-09-01&to=2026-09-30")).text
    assert "受理最低生活保障申请" in september and "审核确认：批准" not in september
