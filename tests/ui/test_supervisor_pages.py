"""Supervisor pages without a browser: case search and its exports, dashboard figures, overdue list.

Cases are written straight into the `cases`, `case_events` and `escalations` tables (the rows the
workflow keeps), so each test knows exactly what the pages must show.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import UTC, date, datetime, timedelta
from urllib.parse import quote

import asyncpg
import httpx
import pytest
from openpyxl import load_workbook

from rules.calendar import WorkCalendar
from schemas.identity import mask_id
from tests.support.clients import SHIPO, SHIPO_VILLAGE, SHUNHE, csrf_token, log_in
from tests.support.clock import beijing
from tests.support.factories import resident_id
from tests.support.supervision import add_case, at
from webapp.supervision.common import WorkdayCounter

GULOU = "341503001"


def case_ids(html: str) -> list[str]:
    """Case numbers in the order the list shows them."""
    body = html.split('data-testid="case-list"', 1)[-1] if 'data-testid="case-list"' in html else ""
    return re.findall(r'<td><a href="/cases/([^"/]+)">', body)


# ---- case search --------------------------------------------------------------------------------------


async def test_jurisdiction_decides_which_cases_are_listed(web: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    await add_case(pool, "SHIPO-1", village=SHIPO_VILLAGE)
    await add_case(pool, "SHIPO-2")
    await add_case(pool, "SHUNHE-1", township=SHUNHE)
    await log_in(web, "shipo_jingban")
    r = await web.get("/cases")
    assert r.status_code == 200 and sorted(case_ids(r.text)) == ["SHIPO-1", "SHIPO-2"]
    # another township's code in the URL changes nothing: jurisdiction is always applied
    assert case_ids((await web.get(f"/cases?township={SHUNHE}")).text) == []
    assert f'<option value="{SHUNHE}"' not in r.text
    await log_in(web, "shipo_cun1")
    assert case_ids((await web.get("/cases")).text) == ["SHIPO-1"]
    await log_in(web, "qu_jiandu")
    assert sorted(case_ids((await web.get("/cases")).text)) == ["SHIPO-1", "SHIPO-2", "SHUNHE-1"]
    await log_in(web, "yiliao_bu")
    r = await web.get("/cases")
    assert r.status_code == 403 and "部门工作人员无权查看" in r.text and "区医保局" in r.text  # menu kept
    assert (await web.get("/cases/export.csv")).status_code == 403


async def test_filters(web: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    zhang = resident_id(date(1980, 5, 6), seq=123)
    await add_case(pool, "A-DIBAO", name="张三丰", id_number=zhang, accepted=at(date(2026, 10, 9)))
    await add_case(pool, "A-TEKUN", name="张无忌", kind="tekun", stage="hearing", accepted=at(date(2026, 10, 10)))
    await add_case(pool, "A-LATE", name="李四", overdue=True, accepted=at(date(2026, 9, 1)))
    await add_case(pool, "A-SHUNHE", name="赵六", township=SHUNHE, stage="enrolled", status="enrolled")
    await log_in(web, "qu_jiandu")

    async def ids(query: str) -> list[str]:
        r = await web.get("/cases?" + query)
        assert r.status_code == 200, r.text
        return sorted(case_ids(r.text))

    assert await ids(f"township={SHUNHE}") == ["A-SHUNHE"]
    assert await ids("type=tekun") == ["A-TEKUN"]
    assert await ids("stage=hearing") == ["A-TEKUN"]
    assert await ids("overdue=true") == ["A-LATE"]
    assert await ids("overdue=false&stage=") == ["A-DIBAO", "A-SHUNHE", "A-TEKUN"]
    # Beijing days, both ends included: 10-09 10:00 and 10-10 10:00 Beijing time
    assert await ids("accepted_from=2026-10-09&accepted_to=2026-10-09") == ["A-DIBAO"]
    assert await ids("accepted_from=2026-10-09&accepted_to=2026-10-10") == ["A-DIBAO", "A-TEKUN"]
    assert await ids("q=张") == ["A-DIBAO", "A-TEKUN"]
    assert await ids("q=张三") == ["A-DIBAO"]
    assert await ids("q=三丰") == []  # a prefix, not a substring
    assert await ids(f"q={zhang[-4:].lower()}") == ["A-DIBAO"]  # the last characters of the ID
    assert await ids(f"q={zhang}") == ["A-DIBAO"]  # a full ID is masked and compared with the stored mask
    assert await ids(f"q={mask_id(zhang)}") == ["A-DIBAO"]
    # the form posts, so a whole ID number never stands in an address: the list comes back under its mask, and
    # neither its links nor its exports carry the number
    form = await web.get("/cases")
    r = await web.post("/cases", data={"q": zhang.lower(), "type": "dibao", "csrftoken": csrf_token(form.text)})
    masked = quote(mask_id(zhang), safe="")
    assert (r.status_code, r.headers["location"]) == (303, f"/cases?type=dibao&q={masked}")
    listed = await web.get(r.headers["location"])
    assert sorted(case_ids(listed.text)) == ["A-DIBAO"]
    assert zhang not in listed.text and zhang.lower() not in listed.text
    assert f"/cases/export.csv?type=dibao&amp;q={masked}" in listed.text
    r = await web.post("/cases", data={"stage": "nonsense", "csrftoken": csrf_token(form.text)})
    assert r.status_code == 422
    # empty fields from the form mean "any"
    assert len(await ids("township=&type=&stage=&overdue=&accepted_from=&accepted_to=&q=")) == 4
    # the form keeps what was chosen
    page = (await web.get("/cases?type=tekun&overdue=true")).text
    assert '<option value="tekun" selected>' in page and '<option value="true" selected>' in page
    # nonsense in the URL is a 422 page, not a crash
    assert (await web.get("/cases?stage=nonsense")).status_code == 422


async def test_paging_is_by_deadline_fifty_a_page(web: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    start = date(2026, 12, 1)
    for i in range(120):
        await add_case(pool, f"P{i:03d}", deadline=start + timedelta(days=(i * 37) % 120))
    expected = [f"P{i:03d}" for i in sorted(range(120), key=lambda i: (i * 37) % 120)]
    await log_in(web, "qu_jiandu")
    first = await web.get("/cases")
    assert case_ids(first.text) == expected[:50]
    assert "共 120 件" in first.text and "第 1 / 3 页" in first.text
    assert 'href="/cases?page=2"' in first.text and 'href="/cases?page=3"' in first.text
    assert "下一页" in first.text and "全部乡镇（街道）" in first.text
    last = await web.get("/cases?page=3")
    assert case_ids(last.text) == expected[100:]
    assert case_ids((await web.get("/cases?page=99")).text) == expected[100:]  # past the end: the last page
    filtered = await web.get("/cases?type=dibao&page=2")
    assert 'href="/cases?type=dibao&amp;page=3"' in filtered.text and 'href="/cases?type=dibao"' in filtered.text


async def test_english_pages(web: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    await add_case(pool, "EN-1", kind="tekun", stage="public_notice", overdue=True)
    await pool.execute(
        "insert into escalations (case_id, escalation_key, kind, deadline, created_at) "
        "values ('EN-1', 'EN-1-overdue', 'overdue', '2026-11-30', '2026-12-01T00:00+08')"
    )
    await log_in(web, "qu_jiandu")
    web.cookies.set("jiuzhu_lang", "en")
    r = await web.get("/cases")
    assert "Case search" in r.text and "Public notice" in r.text and "extreme poverty" in r.text
    assert "1 case" in r.text and "All townships" in r.text and "公示" not in r.text
    r = await web.get("/dashboard")
    assert "Cases by stage and township" in r.text and "Democratic review" in r.text and "Still open" in r.text
    assert '"Promised limit (20 working days)"' in r.text
    r = await web.get("/overdue")
    assert "Past the deadline" in r.text and "not yet" in r.text and "超过承诺办结时限" not in r.text


# ---- exports ------------------------------------------------------------------------------------------


# 00:30 Beijing on 11-24 (16:30 UTC on 11-23): the file is named after the Beijing time it was made.
@pytest.mark.start_at(datetime(2026, 11, 23, 16, 30, tzinfo=UTC))
async def test_csv_export_has_chinese_headers_a_bom_and_masked_ids(web: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    full = await add_case(pool, "CSV-1", name="=HYPERLINK(1)", overdue=True, stage="decision")
    await add_case(pool, "CSV-2", name="李四", kind="tekun")
    await add_case(pool, "CSV-3", township=SHUNHE)
    await log_in(web, "shipo_shenpi")
    r = await web.get("/cases/export.csv?type=dibao")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    assert r.headers["content-disposition"] == (
        "attachment; filename=\"cases-20261124-0030.csv\"; filename*=UTF-8''" + quote("案件列表-20261124-0030.csv")
    )
    assert r.content.startswith(b"\xef\xbb\xbf")
    rows = list(csv.reader(io.StringIO(r.content.decode("utf-8-sig"))))
    assert rows[0][:4] == ["案件编号", "申请人", "身份证号（脱敏）", "救助类型"]
    assert [row[0] for row in rows[1:]] == ["CSV-1"]  # type filter and jurisdiction (no 顺河镇 case)
    row = dict(zip(rows[0], rows[1], strict=True))
    assert row["身份证号（脱敏）"] == mask_id(full) and full not in r.text
    assert row["申请人"] == "'=HYPERLINK(1)"  # never a formula
    assert row["救助类型"] == "最低生活保障" and row["环节"] == "审核确认" and row["是否超期"] == "是"
    assert row["乡镇（街道）"] == "石婆店镇" and row["受理时间"] == "2026-11-02 10:00:00"


async def test_xlsx_export(web: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    full = await add_case(pool, "X-1", name="=1+1", deadline=date(2026, 12, 1))
    await add_case(pool, "X-2", township=SHUNHE, deadline=date(2026, 11, 30))
    await pool.execute("update cases set monthly_amount_fen = 36650, category = 'A' where case_id = 'X-1'")
    await log_in(web, "qu_jiandu")
    r = await web.get("/cases/export.xlsx")
    assert r.status_code == 200 and r.headers["content-type"].endswith("spreadsheetml.sheet")
    sheet = load_workbook(io.BytesIO(r.content)).active
    rows = [[c.value for c in row] for row in sheet.iter_rows()]
    headers = rows[0]
    assert headers[0] == "案件编号" and "月救助金额（元）" in headers
    assert [row[0] for row in rows[1:]] == ["X-2", "X-1"]  # nearest deadline first
    x1 = dict(zip(headers, rows[2], strict=True))
    assert x1["申请人"] == "'=1+1" and sheet.cell(3, 2).data_type == "s"  # text, not a formula (webapp/exports.py)
    assert x1["身份证号（脱敏）"] == mask_id(full)
    assert x1["办结时限"] == datetime(2026, 12, 1) and x1["受理时间"] == datetime(2026, 11, 2, 10, 0)
    assert x1["月救助金额（元）"] == 366.5 and x1["类别"] == "A"


# ---- dashboard ----------------------------------------------------------------------------------------


def cell(html: str, row_attr: str, col_attr: str) -> str:
    row = re.search(rf"<tr {row_attr}>(.*?)</tr>", html, re.S)
    assert row, row_attr
    value = re.search(rf"<td {col_attr}[^>]*>([^<]*)</td>", row.group(1))
    assert value, (row_attr, col_attr)
    return value.group(1).strip()


# Thursday 2026-12-17. The cases were accepted on Monday 2026-11-02, six weeks back, and all decided since.
@pytest.mark.start_at(beijing(2026, 12, 17, 10, 0))
async def test_dashboard_figures(web: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    monday = date(2026, 12, 14)  # this week
    accepted = date(2026, 11, 2)
    # 石婆店镇: decided after 5, 10 and 25 working days (the last one over the 20-day limit); one open
    for n, decided in enumerate((date(2026, 11, 9), date(2026, 11, 16), date(2026, 12, 7))):
        await add_case(
            pool,
            f"S{n}",
            stage="enrolled",
            status="enrolled",
            accepted=at(accepted),
            decided=at(decided, 15),
        )
    await add_case(pool, "S-OPEN", stage="hearing", accepted=at(monday))
    # 顺河镇: one open overdue case (due 11-30, the 20th working day), escalated at 00:00 after it and not taken
    # over; one refused after 8 working days
    await add_case(pool, "H-LATE", township=SHUNHE, overdue=True, accepted=at(accepted), deadline=date(2026, 11, 30))
    await pool.execute(
        "insert into escalations (case_id, escalation_key, kind, deadline, created_at) "
        "values ('H-LATE', 'H-LATE-overdue', 'overdue', $1, $2)",
        date(2026, 11, 30),
        beijing(2026, 12, 1),
    )
    await add_case(
        pool,
        "H-NO",
        township=SHUNHE,
        stage="refused",
        status="open",  # as a race in the workflow's persist() can leave it: the stage counts
        accepted=at(accepted),
        decided=at(date(2026, 11, 12)),
    )

    await log_in(web, "shipo_jingban")
    r = await web.get("/dashboard")
    assert r.status_code == 403 and "总览仅供" in r.text
    await log_in(web, "qu_jiandu")
    r = await web.get("/dashboard")
    assert r.status_code == 200
    html = r.text
    kpis = dict(re.findall(r'data-kpi="(\w+)">(\d+)<', html))
    assert kpis == {
        "total": "6",
        "open": "2",
        "overdue": "1",
        "escalated_waiting": "1",
        "taken_over": "0",
        "enrolled": "3",
        "refused": "1",
    }
    assert cell(html, f'data-township="{SHIPO}"', 'data-stage="enrolled"') == "3"
    assert cell(html, f'data-township="{SHIPO}"', 'data-stage="hearing"') == "1"
    assert cell(html, f'data-township="{SHIPO}"', 'data-stage="total"') == "4"
    assert cell(html, f'data-township="{SHUNHE}"', 'data-stage="overdue"') == "1"
    assert f'data-township="{GULOU}"' not in html  # townships without cases are left out
    # working days from acceptance to decision
    times = html.split('data-testid="times-table"')[1]
    assert cell(times, f'data-township="{SHIPO}"', 'data-col="decided"') == "3"
    assert cell(times, f'data-township="{SHIPO}"', 'data-col="mean"') == "13.3"
    assert cell(times, f'data-township="{SHIPO}"', 'data-col="median"') == "10"
    assert cell(times, f'data-township="{SHIPO}"', 'data-col="max"') == "25"
    assert cell(times, f'data-township="{SHIPO}"', 'data-col="over_limit"') == "1"
    assert cell(times, f'data-township="{SHUNHE}"', 'data-col="mean"') == "8.0"
    # weekly trend, the 26 weeks up to this one: five accepted six weeks ago, one this week
    weekly = html.split('data-testid="weekly-table"')[1]
    weeks = re.findall(r'<tr data-week="([\d-]+)"', weekly)
    assert len(weeks) == 26 and weeks[0] == "2026-12-14" and weeks[-1] == "2026-06-22"  # newest first
    assert cell(weekly, 'data-week="2026-11-02"', 'data-col="accepted"') == "5"
    assert cell(weekly, 'data-week="2026-11-09"', 'data-col="decided"') == "2"  # 11-09 and 11-12
    assert cell(weekly, 'data-week="2026-12-14"', 'data-col="accepted"') == "1"
    # the charts' data is in the page, as JSON
    data = re.search(r'<script type="application/json" id="dashboard-data">(.*?)</script>', html, re.S).group(1)
    assert '"石婆店镇"' in data or "\\u77f3" in data
    assert html.count("<canvas data-chart=") == 3 and "/static/vendor/chartjs/chart.umd.min.js" in html


async def test_dashboard_roles(web: httpx.AsyncClient) -> None:
    for user, status in (("qu_minzheng", 200), ("admin", 200), ("shipo_shenpi", 403), ("shipo_cun1", 403)):
        await log_in(web, user)
        assert (await web.get("/dashboard")).status_code == status, user
    await log_in(web, "qu_jiandu")
    assert "暂无案件" in (await web.get("/dashboard")).text


# ---- overdue list -------------------------------------------------------------------------------------


# Friday 2026-10-09, the second working day after the National Day holiday (10-01..07).
AFTER_NATIONAL_DAY = beijing(2026, 10, 9, 10, 0)


async def seed_overdue(pool: asyncpg.Pool) -> None:
    """Two cases due Tuesday 09-29, before the holiday; one whose data check was due Tuesday 10-06, in it."""
    deadline, accepted = date(2026, 9, 29), at(date(2026, 9, 1))
    await add_case(pool, "LATE-1", overdue=True, deadline=deadline, stage="hearing", accepted=accepted)
    await add_case(
        pool, "LATE-2", township=SHUNHE, overdue=True, deadline=deadline, handled_by="district", accepted=accepted
    )
    await add_case(pool, "CHECK-LATE", deadline=date(2026, 10, 19), accepted=at(date(2026, 9, 21)))
    await add_case(pool, "ON-TIME", accepted=accepted, deadline=date(2026, 10, 12))
    await add_case(
        pool, "DONE-LATE", overdue=True, stage="enrolled", status="enrolled", deadline=deadline, accepted=accepted
    )
    rows = [
        ("LATE-1", "overdue", deadline, None, None),
        ("LATE-2", "overdue", deadline, "qu_minzheng", beijing(2026, 9, 30, 9, 15)),
        ("CHECK-LATE", "verification_overdue", date(2026, 10, 6), None, None),
    ]
    for case_id, kind, due, by, when in rows:
        await pool.execute(
            "insert into escalations (case_id, escalation_key, kind, deadline, created_at, taken_over_by, "
            "taken_over_at) values ($1, $2, $3, $4, $5, $6, $7)",
            case_id,
            f"{case_id}-{kind}",
            kind,
            due,
            at(due + timedelta(days=1), 0),
            by,
            when,
        )


def overdue_row(html: str, case_id: str) -> str:
    found = re.search(rf'<tr [^>]*data-case="{case_id}">(.*?)</tr>', html, re.S)
    assert found, case_id
    return found.group(1)


@pytest.mark.start_at(AFTER_NATIONAL_DAY)
async def test_overdue_list(web: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    await seed_overdue(pool)
    await log_in(web, "qu_jiandu")
    r = await web.get("/overdue")
    assert r.status_code == 200
    assert "（2026-10-09）" in r.text  # today, as the page counts
    listed = re.findall(r'data-case="([^"]+)"', r.text)
    assert listed == ["LATE-1", "LATE-2", "CHECK-LATE"]  # open only, earliest deadline first
    row = overdue_row(r.text, "LATE-1")
    # working days after 09-29 up to today: 09-30, 10-08 and 10-09; the holiday does not count
    assert re.search(r'data-col="days-overdue"><span class="badge bad">3</span>', row)
    assert "超过承诺办结时限" in row and "尚未接管" in row
    assert "超过承诺办结时限 · 时限 2026-09-29 · 超期 3 个工作日" in row and "上报于 2026-09-30 00:00" in row
    late_2 = overdue_row(r.text, "LATE-2")
    assert "区民政局 陈立" in late_2 and "2026-09-30 09:15" in late_2
    check = overdue_row(r.text, "CHECK-LATE")
    # the data check's own lateness: 10-07 is a holiday, 10-08 and 10-09 are not
    assert "核对结果逾期 · 时限 2026-10-06 · 超期 2 个工作日" in check and "上报于 2026-10-07 00:00" in check
    assert 'data-col="days-overdue">—' in check  # the case itself is due 10-19
    assert "/take-over" not in r.text  # the supervisor reads, does not act
    only_shunhe = await web.get(f"/overdue?township={SHUNHE}")
    assert re.findall(r'data-case="([^"]+)"', only_shunhe.text) == ["LATE-2"]

    await log_in(web, "qu_minzheng")
    r = await web.get("/overdue")
    assert 'action="/overdue/LATE-1/take-over"' in r.text
    assert 'action="/overdue/LATE-2/take-over"' not in r.text  # already with the district

    for user in ("shipo_shenpi", "admin"):
        await log_in(web, user)
        assert (await web.get("/overdue")).status_code == 403


@pytest.mark.start_at(AFTER_NATIONAL_DAY)
async def test_take_over_refusals_are_shown(web: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    await seed_overdue(pool)
    await log_in(web, "qu_minzheng")
    page = await web.get("/overdue")
    short = await web.post("/overdue/LATE-1/take-over", data={"reason": "x", "csrftoken": csrf_token(page.text)})
    assert short.status_code == 422 and "接管理由过短，至少 2 个字" in short.text and 'data-case="LATE-1"' in short.text
    # no Temporal client in this app: the API's own refusal reaches the page
    r = await web.post("/overdue/LATE-1/take-over", data={"reason": "超期未办结", "csrftoken": csrf_token(page.text)})
    assert r.status_code == 503 and "工作流服务暂不可用" in r.text and "LATE-1 未能接管" in r.text
    await log_in(web, "qu_jiandu")
    page = await web.get("/overdue")
    r = await web.post("/overdue/LATE-1/take-over", data={"reason": "监督抽查", "csrftoken": csrf_token(page.text)})
    assert r.status_code == 403 and "监督员只能查看案件，不能办理" in r.text
    assert (await web.post("/overdue/LATE-1/take-over", data={"reason": "监督抽查"})).status_code == 403  # no CSRF


def test_workday_counter_agrees_with_the_calendar() -> None:
    """The dashboard's fast count equals WorkCalendar.working_days_between, across National Day 2026."""
    cal = WorkCalendar()
    first, last = date(2026, 9, 1), date(2026, 11, 30)
    counter = WorkdayCounter(cal, first, last)
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    for a in days[::3]:
        for b in days[::2]:
            assert counter.between(a, b) == cal.working_days_between(a, b), (a, b)
    assert counter.between(date(2026, 9, 18), date(2026, 10, 22)) == 20  # the domain brief's example
