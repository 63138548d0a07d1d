"""The approval form PDF from a real review (time-skipping Temporal, real worker): its Chinese text is
extracted with pdftotext, and a PNG of page 1 (pdftoppm) is kept in test-artifacts/ for people to look at."""

from __future__ import annotations

import asyncio
import subprocess
from collections.abc import AsyncIterator
from datetime import date, timedelta
from pathlib import Path

import asyncpg
import httpx
import pytest
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from infra.config import ROOT
from rules.stages import Action
from schemas.identity import mask_id
from schemas.review import Decision
from tests.support.clients import log_in
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.factories import actor
from tests.support.review import act, investigate, start
from tests.support.review import until_stage as until_workflow_stage
from webapp import pdfkit as pdf
from webapp.app import create_app

ARTIFACTS = ROOT / "test-artifacts" / "pdf"


@pytest.fixture
async def web(review_env: WorkflowEnvironment, pool: asyncpg.Pool) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(pool=pool, client=review_env.client, secret_key="test-secret-" + "x" * 32)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://jiuzhu.test") as c:
        yield c


async def until_stage(pool: asyncpg.Pool, case_id: str, stage: str) -> None:
    """The case row's stage is what to wait for: a race in the workflow's persist() can leave status 'open'."""
    for _ in range(600):
        if await pool.fetchval("select stage from cases where case_id = $1", case_id) == stage:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"{case_id} never reached {stage}")


async def save_and_read(content: bytes, name: str) -> str:
    """Keep the PDF and a PNG of its first page; return its text."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.pdf"
    await asyncio.to_thread(path.write_bytes, content)
    await asyncio.to_thread(
        subprocess.run, ["pdftoppm", "-png", "-r", "80", "-f", "1", "-l", "1", str(path), str(path.with_suffix(""))]
    )
    result = await asyncio.to_thread(subprocess.run, ["pdftotext", "-layout", str(path), "-"], capture_output=True)
    return result.stdout.decode()


# Accepted, investigated and approved on Tuesday 2026-11-24; the 7 calendar days of public notice run
# 11-24..12-01 and end at 00:00 Beijing on 12-02; the first payment is for December.
DECIDED = beijing(2026, 11, 24, 9, 30)
NOTICE_ENDS = beijing(2026, 12, 2)


async def enrolled_case(review_env: SkippingEnvironment, pool: asyncpg.Pool, case_id: str) -> WorkflowHandle:
    h = await start(review_env, case_id, incomes=("600.00", "150.00"))
    await investigate(h)
    await act(h, Action.DECISION, Decision(actor=actor("shipo_shenpi"), approve=True, category="A"))
    assert (await until_workflow_stage(h, "public_notice")).notice_ends_at == NOTICE_ENDS
    await review_env.skip_to(NOTICE_ENDS + timedelta(minutes=1))  # the notice passes without objection
    await until_stage(pool, case_id, "enrolled")
    return h


def normalise(text: str) -> str:
    return "".join(text.split())


@pytest.mark.start_at(DECIDED)
async def test_approval_form_renders_chinese_with_full_or_masked_ids(
    review_env: SkippingEnvironment, pool: asyncpg.Pool, web: httpx.AsyncClient
) -> None:
    await enrolled_case(review_env, pool, "PDF-1")
    applicant_id = await pool.fetchval(
        "select m.id_number from household_members m join cases c on c.household_id = m.household_id "
        "where c.case_id = 'PDF-1' and m.is_applicant"
    )

    await log_in(web, "shipo_shenpi")
    r = await web.get("/cases/PDF-1/approval.pdf")
    assert r.status_code == 200 and r.headers["content-type"] == "application/pdf"
    assert r.content.startswith(b"%PDF") and b"WenQuanYiMicroHei" in r.content  # the TrueType font is embedded
    text = normalise(await save_and_read(r.content, "approval-PDF-1"))
    for expected in (
        "最低生活保障审核确认表",
        "案件编号：PDF-1",
        "王大山",
        applicant_id,  # full ID for the approver
        "石婆店镇示范村一王家庄12号",
        "农业生产收入",
        "家庭月收入合计750.00元",
        "人均250.00元",
        "核对无异常",
        "HD-2026-001",
        "石婆店镇经办人李娟、石婆店镇经办人王强",  # investigators by name
        "家中无劳动力",
        "邻居李四、邻居赵五",
        "评议同意纳入低保",
        "A类",
        "审批人石婆店镇审批人张华",
        "调查日期2026-11-24",
        "公示期2026-11-24至2026-12-01",
        # (722 - 600 / 3) x 3 people: the verified income (600.00), not the declared one, counts
        "公示无异议，纳入保障，每月1566.00元，自2026年12月起发放",
        "乡镇人民政府（街道办事处）意见",
        "第1页",
    ):
        assert normalise(expected) in text, expected
    assert "脱敏" not in text

    await log_in(web, "qu_jiandu")
    text = normalise(await save_and_read((await web.get("/cases/PDF-1/approval.pdf")).content, "approval-PDF-1-masked"))
    assert mask_id(applicant_id) in text and applicant_id not in text and "已按查看权限脱敏" in text

    # staff the relatives check barred from the case see the numbers masked, as on the case page
    barred = {"barred": [{"username": "shipo_shenpi", "full_name": "石婆店镇审批人 张华", "reason": "测试：近亲属"}]}
    await pool.execute(
        "insert into case_events (case_id, event_key, kind, payload, occurred_at) "
        "values ('PDF-1', '9999-relatives_matched', 'relatives_matched', $1::jsonb, now())",
        barred,
    )
    await pool.execute("update cases set barred_users = '{shipo_shenpi}' where case_id = 'PDF-1'")  # rules.progress
    await log_in(web, "shipo_shenpi")
    text = normalise(await save_and_read((await web.get("/cases/PDF-1/approval.pdf")).content, "approval-PDF-1-barred"))
    assert mask_id(applicant_id) in text and applicant_id not in text and "已按查看权限脱敏" in text

    await log_in(web, "shunhe_jingban")
    r = await web.get("/cases/PDF-1/approval.pdf")
    assert r.status_code == 403 and "不在您的辖区内" in r.text
    await log_in(web, "yiliao_bu")
    assert (await web.get("/cases/PDF-1/approval.pdf")).status_code == 403
    await log_in(web, "qu_jiandu")
    assert (await web.get("/cases/NO-SUCH-CASE/approval.pdf")).status_code == 404


# Refused on the eve of National Day: the written notice is due 3 working days later, on Saturday 10-10 (a
# make-up working day), after 10-01..07 off and 10-08, 10-09.
@pytest.mark.start_at(beijing(2026, 9, 30, 10, 0))
async def test_refused_case_and_fallback_font(
    review_env: SkippingEnvironment, pool: asyncpg.Pool, web: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    h = await start(review_env, "PDF-2")
    await investigate(h)
    reasons = "家庭人均收入高于当地低保标准"
    await act(h, Action.DECISION, Decision(actor=actor("shipo_shenpi"), approve=False, reasons=reasons))
    await until_stage(pool, "PDF-2", "refused")
    await log_in(web, "qu_minzheng")
    text = normalise(await save_and_read((await web.get("/cases/PDF-2/approval.pdf")).content, "approval-PDF-2"))
    assert "不予批准" in text and reasons in text and "书面通知送达期限2026-10-10公示不予批准，不公示" in text
    assert "公示期" not in text and "（尚未办理）" not in text.split("八、")[0]  # every step before was done

    # Without the font file the form still renders, in the CID font PDF readers bring themselves
    # (Acrobat, or poppler with poppler-data); it is not embedded, so only its name is checked here.
    monkeypatch.setattr(pdf, "FONT_FILE", Path("/nonexistent/wqy-microhei.ttc"))
    pdf.cjk_font.cache_clear()
    try:
        r = await web.get("/cases/PDF-2/approval.pdf")
    finally:
        pdf.cjk_font.cache_clear()
    assert r.status_code == 200 and r.content.startswith(b"%PDF")
    assert b"/STSong-Light" in r.content and b"UniGB-UCS2-H" in r.content and b"WenQuanYiMicroHei" not in r.content


# Refused on Wednesday 2026-12-30: 3 working days run into 2027, whose notice is not in the calendar (01-01 off by
# the law alone: due 01-05); the notice imported makes 01-04 a holiday too, and the form prints the day counted
# again, 01-06.
@pytest.mark.start_at(beijing(2026, 12, 30, 10, 0))
async def test_the_form_prints_the_refusal_notice_day_a_calendar_change_counted_again(
    review_env: SkippingEnvironment, pool: asyncpg.Pool, web: httpx.AsyncClient
) -> None:
    from db.calendar_repo import Notice, import_notice
    from infra.calendar_news import announce_calendar_change
    from tests.support.calendar import with_law_days
    from tests.support.review import eventually_state

    h = await start(review_env, "PDF-3")
    await investigate(h)
    await act(h, Action.DECISION, Decision(actor=actor("shipo_shenpi"), approve=False, reasons="收入超过标准"))
    await until_stage(pool, "PDF-3", "refused")
    notice = Notice(
        year=2027, source="测试：假定的 2027 年放假安排", holidays=with_law_days(2027, "2027-01-01", "2027-01-04")
    )
    async with pool.acquire() as conn:
        await import_notice(conn, notice)
    assert await announce_calendar_change(review_env.client, pool) == (1, [])
    await eventually_state(h, lambda s: s.refusal_deliver_by == date(2027, 1, 6), "recounted")
    for _ in range(100):  # the timeline's entry is written after the state changes
        if await pool.fetchval("select 1 from case_events where kind = 'refusal_deliver_by_recomputed'"):
            break
        await asyncio.sleep(0.05)
    await log_in(web, "qu_minzheng")
    text = normalise(await save_and_read((await web.get("/cases/PDF-3/approval.pdf")).content, "approval-PDF-3"))
    assert "书面通知送达期限2027-01-06公示不予批准，不公示" in text
