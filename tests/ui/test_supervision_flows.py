"""District supervision pages on a real worker (Temporal's time-skipping server): a related person
refused and logged, a month drawn and a re-check recorded, an ongoing review stopped with reasons, a
fund declaration confirmed, corrected and superseded with its exports, the Temporal history rendered,
and the PDFs checked for their Chinese text (pdftotext) and looked at (pdftoppm, in test-artifacts)."""

from __future__ import annotations

import asyncio
import csv
import io
import re
import subprocess
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import asyncpg
import httpx
import pytest
from openpyxl import load_workbook
from temporalio.testing import WorkflowEnvironment

from db.users_repo import DEMO_PASSWORD
from infra.config import TASK_QUEUE
from schemas.review import CaseOutcome, ReviewNames, ReviewStart, workflow_id_for
from schemas.supervision import OngoingStart, OngoingState, SupervisionNames, ongoing_workflow_id
from tests.support.browser import ARTIFACTS
from tests.support.clients import SHIPO, SHUNHE, csrf_token, log_in
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.factories import actor, application
from tests.support.review import until_stage
from tests.support.supervision import BARRED, OCTOBER, add_event, seed_case
from webapp.app import create_app
from webapp.supervision.declarations import IMMUTABLE

RECUSED = "您与申请人家庭存在近亲属关系，依规应当回避，不能办理本案"


@pytest.fixture
async def web(review_env: WorkflowEnvironment, pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(pool=pool, client=review_env.client, secret_key="test-secret-" + "x" * 32)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://jiuzhu.test") as c:
        yield c


@pytest.fixture
async def dev_web(dev_env: WorkflowEnvironment, pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    """The app on the dev server with a real worker: the draw starts re-check workflows that must take
    updates at once, which the time-skipping server does not reliably do for workflows started by another."""
    from workers.main import build_worker

    app = create_app(pool=pool, client=dev_env.client, secret_key="test-secret-" + "x" * 32)
    async with (
        build_worker(dev_env.client, pool),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://jiuzhu.test") as c,
    ):
        yield c


def pdf_text(body: bytes, name: str, tmp_path: Path) -> str:
    """The PDF's text, and its first page as a PNG in test-artifacts to look at."""
    pdf = tmp_path / f"{name}.pdf"
    pdf.write_bytes(body)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    subprocess.run(
        ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", "-singlefile", pdf, ARTIFACTS / name], check=True
    )
    return subprocess.run(["pdftotext", "-layout", pdf, "-"], check=True, capture_output=True, text=True).stdout


async def test_a_related_person_is_refused_logged_and_shown_with_the_temporal_history(
    web: httpx.AsyncClient, review_env: WorkflowEnvironment, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    app = application("REL-9", declared=("刘芳",))
    uid = await pool.fetchval("select id from users where username = 'shipo_diaocha'")
    await pool.execute(
        "insert into staff_relatives (user_id, relative_name, relative_id_number, relation) "
        "values ($1, $2, $3, '表兄')",
        uid,
        app.household.applicant.name,
        app.household.applicant.id_number,
    )
    h = await review_env.client.start_workflow(
        ReviewNames.WORKFLOW,
        ReviewStart(application=app, accepted_by=actor("shipo_jingban")),
        id=workflow_id_for("REL-9"),
        task_queue=TASK_QUEUE,
        result_type=CaseOutcome,
    )
    accepted_on = (await until_stage(h, "investigation")).clock.accepted_on

    async def bearer(username: str) -> dict[str, str]:
        r = await web.post("/api/auth/login", json={"username": username, "password": DEMO_PASSWORD})
        return {"Authorization": f"Bearer {r.json()['token']}"}

    visit = {
        "visited_on": str(accepted_on),
        "investigators": ["shipo_diaocha", "shipo_jingban"],
        "family_signatures": ["王大山"],
        "findings": "家中无劳动力，收入以务农为主",
    }
    r = await web.post("/api/cases/REL-9/actions/home_visit", json=visit, headers=await bearer("shipo_diaocha"))
    assert r.status_code == 403 and r.json()["code"] == "recused"
    row = await pool.fetchrow("select username, action, code, message from refused_actions where case_id = 'REL-9'")
    assert (row["username"], row["action"], row["code"]) == ("shipo_diaocha", "home_visit", "recused")
    assert row["message"] == r.json()["message"] == RECUSED
    r = await web.post(  # not recused, only wrong: nothing logged
        "/api/cases/REL-9/actions/hearing",
        json={
            "held_on": str(accepted_on),
            "kind": "democratic_review",
            "participants": ["甲", "乙", "丙"],
            "opinion": "agree",
            "summary": "同意",
        },
        headers=await bearer("shipo_jingban"),
    )
    assert (r.status_code, r.json()["code"]) == (409, "wrong_stage"), r.text
    assert await pool.fetchval("select count(*) from refused_actions") == 1
    verification = {"verified_monthly_income": "600.00", "assets_within_limits": True, "findings": "核对无异常"}
    r = await web.post(
        "/api/cases/REL-9/actions/verification_result", json=verification, headers=await bearer("qu_minzheng")
    )
    assert r.status_code == 200, r.text

    await log_in(web, "qu_jiandu")
    conflicts = (await web.get("/supervision/conflicts")).text
    matched = re.search(r'data-case="REL-9"(.*?)</tr>', conflicts.split('data-testid="matched"')[1], re.S).group(1)
    assert "石婆店镇经办人 王强" in matched and "尚未完成" in matched
    assert "依规应当回避" in conflicts.split('data-testid="attempts"')[1]

    page = (await web.get("/cases/REL-9/history")).text
    flow = page.split('data-testid="temporal-events"')[1].split("</table>")[0]
    assert "工作流启动" in flow and "ReviewWorkflow" in flow and "安排活动" in flow
    assert "check_declared_relatives" in flow
    assert "受理办理请求" in flow and "verification_result" in flow and "区民政局 陈立" in flow
    assert "工作流任务完成" not in flow and "工作流任务完成" in (await web.get("/cases/REL-9/history?tasks=true")).text
    by_officer = (await web.get("/cases/REL-9/history?actor=qu_minzheng")).text
    flow = by_officer.split('data-testid="temporal-events"')[1].split("</table>")[0]
    assert "verification_result" in flow and "check_declared_relatives" not in flow
    db = by_officer.split('data-testid="db-events"')[1].split("</table>")[0]
    assert "核对结果" in db and "受理" not in db
    assert "依规应当回避" in page.split('data-testid="db-refused"')[1]

    supervisor_pdf = await web.get("/cases/REL-9/casefile.pdf")
    assert supervisor_pdf.status_code == 200 and supervisor_pdf.headers["content-type"] == "application/pdf"
    text = pdf_text(supervisor_pdf.content, "supervision-casefile", tmp_path)
    for words in (
        "社会救助案卷",
        "REL-9",
        "家庭成员",
        "办理经过",
        "回避人员",
        "石婆店镇经办人 王强",
        "试图办理被拒绝",
        "工作流事件历史",
        "check_declared_relatives",
        "身份证号码已按查看权限脱敏",
    ):
        assert words in text, words
    assert app.household.applicant.id_number not in text
    await log_in(web, "qu_minzheng")
    officer_text = pdf_text(
        (await web.get("/cases/REL-9/casefile.pdf")).content, "supervision-casefile-officer", tmp_path
    )
    assert app.household.applicant.id_number in officer_text
    await h.terminate("test over")


async def test_a_district_officer_draws_a_month_and_records_a_recheck(
    dev_web: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    web = dev_web
    for i in range(6):
        await seed_case(pool, f"M-{i}", SHIPO if i < 4 else SHUNHE, OCTOBER, relatives=i == 1)
    await log_in(web, "qu_minzheng")
    page = (await web.get("/supervision/sampling")).text
    assert 'data-testid="no-draw"' in page
    r = await web.post("/supervision/sampling/draw", data={"month": "2026-10", "csrftoken": csrf_token(page)})
    assert r.status_code == 303 and r.headers["location"] == "/supervision/sampling?month=2026-10&done=drawn"
    page = (await web.get(r.headers["location"])).text
    assert "已抽取样本" in page and "jiuzhu-sampling-2026-10" in page
    rechecks = page.split('data-testid="rechecks"')[1].split("</table>")[0]
    assert 'data-case="M-1"' in rechecks and "近亲属备案命中（必抽）" in rechecks
    assert await pool.fetchval("select count(*) from rechecks") == rechecks.count("data-case=")

    form = (await web.get("/supervision/rechecks/2026-10-M-1")).text
    bad = await web.post(
        "/supervision/rechecks/2026-10-M-1", data={"result": "irregular", "findings": "", "csrftoken": csrf_token(form)}
    )
    assert bad.status_code == 422 and "复核情况为必填项" in bad.text
    r = await web.post(
        "/supervision/rechecks/2026-10-M-1",
        data={
            "result": "irregular",
            "findings": "经办人与申请人系亲属，未回避",
            "home_visit": "true",
            "csrftoken": csrf_token(form),
        },
    )
    assert r.status_code == 303, r.text[-1500:]
    done = (await web.get(r.headers["location"])).text
    assert "复核结论已录入" in done and "发现问题" in done and 'data-testid="finding-form"' not in done
    assert await pool.fetchval("select status from rechecks where recheck_id = '2026-10-M-1'") == "irregular"
    again = await web.post(
        "/supervision/rechecks/2026-10-M-1",
        data={"result": "upheld", "findings": "再次录入", "csrftoken": csrf_token(form)},
    )
    assert again.status_code == 409 and await pool.fetchval("select count(*) from case_corrections") == 1
    page = (await web.get("/supervision/sampling?month=2026-10")).text
    shipo = re.search(r'<tr data-township="341503106"[^>]*>(.*?)</tr>', page, re.S).group(1)
    assert re.findall(r'su-num">(\d+)<', shipo)[3:] == ["1", "1"]
    assert "M-1" in page.split('data-testid="corrections"')[1]


@pytest.mark.start_at(beijing(2026, 11, 24, 8, 0))
async def test_an_ongoing_review_is_stopped_with_written_reasons(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    """The review is due today, 2026-11-24: the workflow reminds the township at 08:30 and takes the finding
    from then, not before."""
    await seed_case(pool, "ONG-9", SHIPO, OCTOBER, amount_fen=60000)
    await add_event(pool, "ONG-9", "relatives_matched", payload={"barred": BARRED})
    due, remind_at = date(2026, 11, 24), beijing(2026, 11, 24, 8, 30)
    await pool.execute(
        "update recipients set review_cadence_months = 12, next_review_on = $1 where case_id = 'ONG-9'", due
    )
    start = OngoingStart(
        case_id="ONG-9",
        township_code=SHIPO,
        applicant_name="测试户",
        cadence_months=12,
        due_on=due,
        monthly_amount=Decimal("600"),
    )
    handle = await review_env.client.start_workflow(
        SupervisionNames.ONGOING, start, id=ongoing_workflow_id("ONG-9"), task_queue=TASK_QUEUE
    )

    async def status() -> str:
        return (await handle.query(SupervisionNames.STATE, result_type=OngoingState)).status

    assert await status() == "waiting"
    await log_in(web, "shipo_jingban")
    page = (await web.get("/supervision/reviews")).text
    due_card = page.split('data-testid="due"')[1].split('data-testid="register"')[0]
    assert 'data-case="ONG-9"' in due_card and "复核流程于到期日 8:30 提醒乡镇（街道）" in due_card
    assert 'data-testid="review-form"' not in due_card
    form = {"outcome": "stop", "findings": "入户核查家庭收入情况", "reasons": "家庭人均收入已超过保障标准"}
    r = await web.post("/supervision/reviews/ONG-9/propose", data=form | {"csrftoken": csrf_token(page)})
    assert r.status_code == 422 and "本次复核 2026-11-24 到期，尚未到期" in r.text

    await review_env.skip_to(remind_at - timedelta(minutes=1))
    assert await status() == "waiting"
    await review_env.skip_to(remind_at + timedelta(minutes=1))
    for _ in range(100):
        if await status() == "due":
            break
        await asyncio.sleep(0.05)
    assert await status() == "due"
    page = (await web.get("/supervision/reviews")).text
    due_card = page.split('data-testid="due"')[1].split('data-testid="register"')[0]
    assert 'data-case="ONG-9"' in due_card and 'data-testid="review-form"' in due_card and "第 1 次复核" in due_card
    assert 'action="/supervision/reviews/ONG-9/propose"' in due_card and 'data-testid="decide-form"' not in due_card
    form = {"outcome": "stop", "findings": "入户核查家庭收入情况", "reasons": "", "csrftoken": csrf_token(page)}
    r = await web.post("/supervision/reviews/ONG-9/propose", data=form)
    assert r.status_code == 422 and "调整或停发须书面写明理由" in r.text and "入户核查家庭收入情况" in r.text

    await log_in(web, "shipo_diaocha")  # barred on this household by the relatives match
    form["csrftoken"] = csrf_token((await web.get("/account")).text)  # the CSRF token is bound to the session
    r = await web.post("/supervision/reviews/ONG-9/propose", data=form | {"reasons": "家庭人均收入已超过保障标准"})
    assert r.status_code == 422 and "依规应当回避" in r.text
    rows = await pool.fetch("select username, action, code from refused_actions where case_id = 'ONG-9'")
    assert [tuple(row) for row in rows] == [("shipo_diaocha", "ongoing_propose", "recused")]

    await log_in(web, "shipo_jingban")
    form["csrftoken"] = csrf_token((await web.get("/account")).text)
    r = await web.post("/supervision/reviews/ONG-9/propose", data=form | {"reasons": "家庭人均收入已超过保障标准"})
    assert r.status_code == 303, r.text
    page = (await web.get(r.headers["location"])).text
    assert "ONG-9 的复核意见已提交，等待审批人决定。" in page
    due_card = page.split('data-testid="due"')[1].split('data-testid="register"')[0]
    assert "石婆店镇经办人 李娟 提出复核意见：停发" in due_card and 'data-testid="decide-form"' not in due_card
    assert "须由提出人以外的人员审批" in due_card  # the proposer is offered no decision
    assert await pool.fetchval("select status from recipients where case_id = 'ONG-9'") == "active"

    await log_in(web, "shipo_shenpi")  # the township's approver decides
    page = (await web.get("/supervision/reviews")).text
    due_card = page.split('data-testid="due"')[1].split('data-testid="register"')[0]
    assert 'action="/supervision/reviews/ONG-9/decide"' in due_card and "乡镇（街道）审批" in due_card
    r = await web.post("/supervision/reviews/ONG-9/decide", data={"agree": "yes", "csrftoken": csrf_token(page)})
    assert r.status_code == 303, r.text
    page = (await web.get(r.headers["location"])).text
    assert "ONG-9 的复核意见已审批。" in page
    stopped = page.split('data-testid="stopped"')[1].split("</table>")[0]
    assert "家庭人均收入已超过保障标准" in stopped and "石婆店镇经办人 李娟" in stopped
    recent = page.split('data-testid="recent"')[1]
    assert "停发" in recent and "审批：石婆店镇审批人 张华" in recent
    rec = await pool.fetchrow("select status, stop_reasons from recipients where case_id = 'ONG-9'")
    assert rec["status"] == "stopped" and rec["stop_reasons"] == "家庭人均收入已超过保障标准"


async def test_fund_declaration_confirmed_corrected_superseded_and_exported(
    web: httpx.AsyncClient, pool: asyncpg.Pool, tmp_path: Path
) -> None:
    september = datetime(2026, 9, 10, 2, 0, tzinfo=UTC)
    for i, (town, fen, people) in enumerate([(SHIPO, 60000, 2), (SHIPO, 45000, 3), (SHUNHE, 90000, 1)]):
        await seed_case(pool, f"D{i}", town, september, amount_fen=fen, people=people)
    await log_in(web, "qu_minzheng")
    page = (await web.get("/supervision/declarations")).text
    r = await web.post("/supervision/declarations/draft", data={"month": "2026-11", "csrftoken": csrf_token(page)})
    assert r.status_code == 303 and r.headers["location"] == "/supervision/declarations/2026-11/1?done=drafted"
    view = (await web.get(r.headers["location"])).text
    assert "草稿" in view and 'data-testid="confirm-form"' in view
    totals = view.split('data-testid="totals"')[1].split("</tr>")[0]
    assert re.findall(r'su-num">([\d,.]+)<', totals) == ["3", "6", "1,950.00"]
    assert await pool.fetchval("select created_by from fund_declarations") == "qu_minzheng"
    stored = await pool.fetchrow("select data, totals from fund_declarations where month = '2026-11' and version = 1")

    rows = list(
        csv.reader(
            io.StringIO((await web.get("/supervision/declarations/2026-11/1/export.csv")).content.decode("utf-8-sig"))
        )
    )
    assert rows[0] == ["乡镇（街道）代码", "乡镇（街道）", "救助类别", "户数", "人数", "金额（元）"]
    assert rows[1:-1] == [
        [
            d["township_code"],
            d["township_name"],
            "最低生活保障",
            str(d["households"]),
            str(d["people"]),
            f"{d['amount_fen'] / 100:.2f}",
        ]
        for d in stored["data"]
    ]
    assert rows[-1] == ["合计", "", "", "3", "6", "1950.00"]
    raw = (await web.get("/supervision/declarations/2026-11/1/export.csv")).content
    assert raw.startswith(b"\xef\xbb\xbf")
    xlsx = await web.get("/supervision/declarations/2026-11/1/export.xlsx")
    sheet = load_workbook(io.BytesIO(xlsx.content))["资金申报"]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[1:-1] == [
        [
            d["township_code"],
            d["township_name"],
            "最低生活保障",
            d["households"],
            d["people"],
            Decimal(d["amount_fen"]) / 100,
        ]
        for d in stored["data"]
    ]
    assert values[-1] == ["合计", None, None, 3, 6, Decimal("1950")]
    text = pdf_text(
        (await web.get("/supervision/declarations/2026-11/1/export.pdf")).content, "supervision-declaration", tmp_path
    )
    for words in (
        "裕安区2026年11月社会救助资金申报表",
        "第 1 版",
        "草稿",
        "石婆店镇",
        "顺河镇",
        "最低生活保障",
        "1,950.00",
        "合计",
        "小计",
    ):
        assert words in text, words

    r = await web.post("/supervision/declarations/2026-11/1/confirm", data={"csrftoken": csrf_token(page)})
    assert r.status_code == 303
    view = (await web.get(r.headers["location"])).text
    assert "已确认。该版本不可再更改" in view and 'data-testid="confirm-form"' not in view
    with pytest.raises(asyncpg.RaiseError, match="confirmed and cannot be changed"):
        await pool.execute("update fund_declarations set totals = '{}' where month = '2026-11'")

    await seed_case(pool, "D9", SHUNHE, september, amount_fen=30000, people=1)  # found after confirming
    r = await web.post("/supervision/declarations/draft", data={"month": "2026-11", "csrftoken": csrf_token(page)})
    assert r.headers["location"] == "/supervision/declarations/2026-11/2?done=drafted"
    r = await web.post(
        "/supervision/declarations/2026-11/2/confirm", data={"note": "补报顺河镇1户", "csrftoken": csrf_token(page)}
    )
    assert r.status_code == 303
    statuses = dict(await pool.fetch("select version, status from fund_declarations where month = '2026-11'"))
    assert statuses == {1: "superseded", 2: "confirmed"}
    assert await pool.fetchval("select totals from fund_declarations where version = 1") == stored["totals"]
    old = await web.post("/supervision/declarations/2026-11/1/confirm", data={"csrftoken": csrf_token(page)})
    assert old.status_code == 409 and IMMUTABLE in old.text and "已被更正版本取代" in old.text
    listing = (await web.get("/supervision/declarations")).text
    assert listing.count('data-month="2026-11"') == 2 and "2,250.00" in listing

    await log_in(web, "qu_jiandu")
    r = await web.post("/supervision/declarations/2026-11/2/confirm", data={"csrftoken": csrf_token(page)})
    assert r.status_code == 403
    assert (await web.get("/supervision/declarations/2026-11/2/export.xlsx")).status_code == 200
