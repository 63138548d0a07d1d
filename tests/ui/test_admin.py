"""The administrator's pages without a browser: users, the relatives register, places, the calendar,
policy versions, and who may open them."""

from __future__ import annotations

import asyncio
import html
import json
import re
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime

import asyncpg
import httpx
import pytest
from temporalio.testing import WorkflowEnvironment

from db.users_repo import DEMO_PASSWORD
from tests.support.calendar import with_law_days
from tests.support.clock import BEIJING
from tests.support.factories import NOTICE_2030, resident_id
from tests.support.review import start
from webapp.app import create_app

SECRET = "test-secret-" + "x" * 32


def _client(app) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://jiuzhu.test")


# 00:30 on 2027-01-01 in Beijing, still 2026 in UTC: this year is 2027, which has no holiday notice yet.
NEW_YEAR = datetime(2026, 12, 31, 16, 30, tzinfo=UTC)


@pytest.fixture
async def web(pool: asyncpg.Pool, beijing_clock: datetime) -> AsyncIterator[httpx.AsyncClient]:
    """The app without Temporal, its clock at the test's `start_at`."""
    async with _client(create_app(pool=pool, client=None, secret_key=SECRET)) as c:
        yield c


def token(html: str) -> str:
    return re.search(r'name="csrftoken" value="([^"]+)"', html).group(1)


async def log_in(c: httpx.AsyncClient, username: str, password: str = DEMO_PASSWORD) -> httpx.Response:
    page = await c.get("/login")
    return await c.post("/login", data={"username": username, "password": password, "csrftoken": token(page.text)})


async def post(c: httpx.AsyncClient, url: str, data: dict | None = None, **kw) -> httpx.Response:
    """POST with the CSRF token of the current session (taken from any page's form)."""
    page = await c.get("/account")
    return await c.post(url, data={"csrftoken": token(page.text)} | (data or {}), **kw)


@pytest.fixture
async def admin(web: httpx.AsyncClient) -> httpx.AsyncClient:
    assert (await log_in(web, "admin")).status_code == 303
    return web


# --- access ----------------------------------------------------------------------------------


@pytest.mark.parametrize("path", ["/admin", "/admin/users", "/admin/relatives", "/admin/calendar", "/admin/policy/1"])
async def test_only_administrators_get_in(web: httpx.AsyncClient, path: str) -> None:
    r = await web.get(path)
    assert r.status_code == 303 and r.headers["location"].startswith("/login?next=")
    await log_in(web, "qu_jiandu")
    r = await web.get(path)
    assert r.status_code == 403 and "无权访问" in r.text and "只有系统管理员" in r.text and "<html" in r.text


async def test_non_admin_cannot_post_either(web: httpx.AsyncClient) -> None:
    await log_in(web, "shipo_jingban")
    r = await post(web, "/admin/places/341503106/edit", {"name": "改名", "is_pilot": "true"})
    assert r.status_code == 403


@pytest.mark.start_at(NEW_YEAR)
async def test_overview_links_every_section(admin: httpx.AsyncClient) -> None:
    r = await admin.get("/admin")
    assert r.status_code == 200
    for href in ("/admin/users", "/admin/relatives", "/admin/places", "/admin/calendar", "/admin/policy"):
        assert f'href="{href}"' in r.text
    assert "第 1 版，2021-01-01 起施行" in r.text
    assert "尚无放假通知的年度：2027, 2028。" in r.text  # this year and next, in Beijing


# --- users -----------------------------------------------------------------------------------


async def test_create_user_then_log_in_as_them(admin: httpx.AsyncClient) -> None:
    form = await admin.get("/admin/users/new")
    assert form.status_code == 200 and 'value="township_caseworker" selected' in form.text
    r = await post(
        admin,
        "/admin/users",
        {
            "username": "shunhe_new",
            "full_name": "顺河镇经办人 新人",
            "role": "township_caseworker",
            "place_code": "341503104",
        },
    )
    assert r.status_code == 200 and "已创建用户 shunhe_new" in r.text
    code = re.search(r'data-testid="one-time-code"><code>([A-Z0-9-]{19})</code>', r.text).group(1)
    listed = await admin.get("/admin/users?q=shunhe_new")
    assert "顺河镇经办人 新人" in listed.text and "顺河镇" in listed.text

    await post(admin, "/logout")
    assert (await log_in(admin, "shunhe_new", code)).headers["location"] == "/account/new-password"


async def test_role_and_place_must_match(admin: httpx.AsyncClient) -> None:
    typed = {
        "username": "cun_x",
        "full_name": "某村干部",
        "role": "village_cadre",
        "place_code": "341503106",
        "password": "first-pass-1",
        "confirm": "first-pass-1",
    }
    r = await post(admin, "/admin/users", typed)
    assert r.status_code == 422
    assert "村（社区）干部的辖区应为村级（village），341503106 是乡镇级（township）" in r.text
    assert 'value="cun_x"' in r.text and 'value="某村干部"' in r.text
    assert 'value="village_cadre" selected' in r.text
    assert 'value="341503106201"' in r.text and 'value="341503106"' not in r.text  # villages offered now

    r = await post(admin, "/admin/users", typed | {"role": "bureau_staff", "place_code": "341503"})
    assert r.status_code == 422 and "部门工作人员必须指定部门" in r.text and 'name="bureau"' in r.text


async def test_place_choices_follow_the_role(admin: httpx.AsyncClient) -> None:
    villages = await admin.get("/admin/users/place-field", params={"role": "village_cadre"})
    assert '<optgroup label="石婆店镇">' in villages.text and 'value="341503106201"' in villages.text
    district = await admin.get("/admin/users/place-field", params={"role": "bureau_staff"})
    assert 'value="341503" selected' in district.text and "区医保局" in district.text


async def test_edit_deactivate_and_reset_password(admin: httpx.AsyncClient) -> None:
    page = await admin.get("/admin/users/shipo_diaocha/edit")
    assert page.status_code == 200 and 'name="active" value="true" checked' in page.text
    r = await post(
        admin,
        "/admin/users/shipo_diaocha/edit",
        {"full_name": "石婆店镇审批人 王强", "role": "township_approver", "place_code": "341503106"},
    )
    assert r.status_code == 303
    page = await admin.get("/admin/users/shipo_diaocha/edit")
    assert "已保存对 shipo_diaocha 的修改" in page.text and 'value="township_approver" selected' in page.text
    assert 'name="active" value="true" checked' not in page.text

    r = await post(admin, "/admin/users/shipo_diaocha/password", {})
    assert r.status_code == 200
    code = re.search(r'data-testid="one-time-code"><code>([A-Z0-9-]{19})</code>', r.text).group(1)
    await post(admin, "/logout")
    assert (await log_in(admin, "shipo_diaocha", code)).status_code == 401  # deactivated


async def test_own_id_number_is_set_in_the_form_and_masked_in_the_list(admin: httpx.AsyncClient) -> None:
    own = resident_id(date(1979, 4, 5), seq=131)
    typed = {
        "full_name": "石婆店镇经办人 王强",
        "role": "township_caseworker",
        "place_code": "341503106",
        "active": "true",
        "id_number": own[:17] + ("0" if own[17] != "0" else "1"),
    }
    r = await post(admin, "/admin/users/shipo_diaocha/edit", typed)
    assert r.status_code == 422 and "身份证号码校验位错误" in r.text and f'value="{typed["id_number"]}"' in r.text
    r = await post(admin, "/admin/users/shipo_diaocha/edit", typed | {"id_number": own.lower()})
    assert r.status_code == 303
    page = await admin.get("/admin/users/shipo_diaocha/edit")
    assert f'name="id_number" value="{own}"' in page.text  # the administrator sees it whole in the form
    listed = await admin.get("/admin/users?q=shipo_diaocha")
    assert f"{own[:6]}********{own[-4:]}" in listed.text and own not in listed.text
    r = await post(
        admin,
        "/admin/users",
        {
            "username": "shunhe_twin",
            "full_name": "顺河镇经办人 同号",
            "role": "township_caseworker",
            "place_code": "341503104",
            "id_number": own,
            "password": "first-pass-1",
            "confirm": "first-pass-1",
        },
    )
    assert r.status_code == 422 and "该身份证号码已登记在另一用户名下" in r.text


async def test_the_last_administrator_cannot_be_deactivated(admin: httpx.AsyncClient) -> None:
    r = await post(
        admin,
        "/admin/users/admin/edit",
        {"full_name": "系统管理员", "role": "admin", "place_code": "341503"},
    )
    assert r.status_code == 422 and "至少要保留一名启用的系统管理员" in r.text


# --- relatives register ----------------------------------------------------------------------


async def test_relative_with_bad_id_is_refused_and_the_form_kept(admin: httpx.AsyncClient, pool) -> None:
    staff = await admin.get("/admin/relatives")
    assert 'href="/admin/relatives/shipo_diaocha"' in staff.text
    bad = {"name": "王大明", "id_number": "110105194912310021", "relation": "兄弟姐妹"}
    r = await post(admin, "/admin/relatives/shipo_diaocha", bad)
    assert r.status_code == 422 and "身份证号码校验位错误：应为X，实际为1" in r.text
    assert 'value="王大明"' in r.text and 'value="兄弟姐妹" selected' in r.text
    assert await pool.fetchval("select count(*) from staff_relatives") == 0

    r = await post(admin, "/admin/relatives/shipo_diaocha", bad | {"id_number": "11010519491231002x"})
    assert r.status_code == 303
    page = await admin.get("/admin/relatives/shipo_diaocha")
    assert "已将 王大明 登记备案" in page.text and "110105********002X" in page.text
    assert "11010519491231002X" not in page.text
    stored = await pool.fetchval("select relative_id_number from staff_relatives")
    assert stored == "11010519491231002X"  # normalised, as the review's relatives check matches it

    again = await post(admin, "/admin/relatives/shipo_diaocha", bad | {"id_number": "11010519491231002X"})
    assert again.status_code == 422 and "已在本人的备案中" in again.text

    rid = await pool.fetchval("select id from staff_relatives")
    before = await pool.fetchval("select now()")  # the withdrawal is stamped by the database's clock
    r = await post(admin, f"/admin/relatives/shipo_diaocha/{rid}/delete")
    assert r.status_code == 303
    after = await pool.fetchval("select now()")
    kept = await pool.fetchrow("select removed_by, removed_at from staff_relatives where id = $1", rid)
    assert kept["removed_by"] == "admin" and before <= kept["removed_at"] <= after  # withdrawn, not deleted
    page = await admin.get("/admin/relatives/shipo_diaocha")
    assert "已撤销该备案" in page.text and "110105********002X" in page.text
    shown = kept["removed_at"].astimezone(BEIJING).strftime("%Y-%m-%d %H:%M")
    assert re.search(rf'<tr class="inactive">(?:(?!</tr>).)*已撤销：{shown}，操作人 admin', page.text, re.S)
    assert f"/admin/relatives/shipo_diaocha/{rid}/delete" not in page.text
    assert (await post(admin, f"/admin/relatives/shipo_diaocha/{rid}/delete")).status_code == 404  # already

    r = await post(admin, "/admin/relatives/shipo_diaocha", bad | {"id_number": "11010519491231002X"})
    assert r.status_code == 303  # declared again after the withdrawal
    assert await pool.fetchval("select count(*) from staff_relatives where removed_at is null") == 1
    assert await pool.fetchval("select count(*) from staff_relatives") == 2


async def test_staff_keep_their_own_register(web: httpx.AsyncClient, pool) -> None:
    other = await pool.fetchval("select id from users where username = 'shipo_shenpi'")
    foreign = await pool.fetchval(
        "insert into staff_relatives (user_id, relative_name, relative_id_number, relation) "
        "values ($1, '某人', '440524188001010014', '父母') returning id",
        other,
    )
    await log_in(web, "shipo_jingban")
    page = await web.get("/account/relatives")
    assert page.status_code == 200 and "我的近亲属备案" in page.text and "某人" not in page.text
    r = await post(web, "/account/relatives", {"name": "李母", "id_number": "440524188001010014", "relation": "父母"})
    assert r.status_code == 303 and r.headers["location"] == "/account/relatives"
    page = await web.get("/account/relatives")
    assert "李母" in page.text and "440524********0014" in page.text
    assert (await post(web, f"/account/relatives/{foreign}/delete")).status_code == 404  # not theirs
    assert await pool.fetchval("select count(*) from staff_relatives where removed_at is null") == 2
    own = await pool.fetchval("select id from staff_relatives where relative_name = '李母'")
    assert (await post(web, f"/account/relatives/{own}/delete")).status_code == 303
    assert await pool.fetchval("select removed_by from staff_relatives where id = $1", own) == "shipo_jingban"
    page = await web.get("/account/relatives")
    assert "已撤销：" in page.text and "操作人 shipo_jingban" in page.text and "尚无备案" in page.text
    r = await post(web, "/account/relatives", {"name": "", "id_number": "4405", "relation": "表亲"})
    assert r.status_code == 422 and "亲属姓名不能为空" in r.text


# --- places ----------------------------------------------------------------------------------


async def test_add_a_village_under_a_township(admin: httpx.AsyncClient, pool) -> None:
    tree = await admin.get("/admin/places")
    assert "种子数据：乡镇名称依据公开资料整理" in tree.text
    assert tree.text.index("顺河镇") < tree.text.index("顺河镇示范村一") < tree.text.index("独山镇")
    form = await admin.get("/admin/places/341503104/villages/new")
    assert 'value="341503104"' in form.text

    typed = {"village_code": "341503104203", "name": "顺河镇新村", "kind": "村", "is_pilot": "true"}
    r = await post(admin, "/admin/places/341503104/villages", typed)
    assert r.status_code == 303
    row = await pool.fetchrow("select level, parent_code, is_pilot, source from places where code = '341503104203'")
    assert tuple(row) == ("village", "341503104", True, "admin")
    assert "已添加 顺河镇新村（341503104203）" in (await admin.get("/admin/places")).text

    cases = [
        ({"village_code": "341503106203"}, "区划代码应以所属乡镇（顺河镇）的代码 341503104 开头"),
        ({"village_code": "34150310420"}, "区划代码应为 12 位数字"),
        ({"village_code": "341503104201"}, "区划代码已存在：341503104201（顺河镇示范村一）"),
        ({"village_code": "341503104204", "name": " "}, "名称不能为空"),
    ]
    for change, message in cases:
        r = await post(admin, "/admin/places/341503104/villages", typed | change)
        assert r.status_code == 422 and message in r.text, message
        assert f'value="{(typed | change)["village_code"]}"' in r.text
    r = await post(admin, "/admin/places/341503104201/villages", typed | {"village_code": "341503104201001"})
    assert r.status_code == 422 and "只能添加在乡镇（街道）之下" in r.text


async def test_rename_and_pilot_flag(admin: httpx.AsyncClient, pool) -> None:
    r = await post(admin, "/admin/places/341503105/edit", {"name": "独山镇", "is_pilot": "true"})
    assert r.status_code == 303 and r.headers["location"] == "/admin/places#p-341503105"
    assert await pool.fetchval("select is_pilot from places where code = '341503105'")
    r = await post(admin, "/admin/places/341503105/edit", {"name": ""})
    assert r.status_code == 422 and "名称不能为空" in r.text


# --- calendar --------------------------------------------------------------------------------


def notice_form(name: str, content: str) -> dict[str, str]:
    """What the page posts once the browser has read the chosen file."""
    return {"filename": name, "content": content}


def compute_result(html: str) -> str:
    return re.search(r'data-testid="compute-result">(.*?)</p>', html, re.S).group(1)


def year_rows(html: str) -> list[tuple[str, str]]:
    """The holiday data table: (year, status) per row, newest first."""
    table = html.split('<table class="years">')[1].split("</table>")[0]
    rows = re.findall(r"<tr[^>]*>\s*<td>(\d{4})</td>\s*<td>(.*?)</td>", table, re.S)
    return [(year, re.sub(r"<[^>]+>|\s+", "", status)) for year, status in rows]


@pytest.mark.start_at(NEW_YEAR)
async def test_calendar_page_counts_from_today_in_beijing(admin: httpx.AsyncClient) -> None:
    page = (await admin.get("/admin/calendar")).text
    rows = year_rows(page)
    assert rows[:3] == [
        ("2028", "暂定：仅按法定节日"),
        ("2027", "暂定：仅按法定节日"),
        ("2026", "内置"),
    ]  # through next year
    assert rows[-1] == ("2004", "内置") and len(rows) == 25
    assert 'name="start" value="2027-01-01"' in page and 'name="n" value="20"' in page  # counted from today


async def test_import_a_notice_then_count_with_it(admin: httpx.AsyncClient) -> None:
    params = {"start": "2029-12-31", "n": "3"}
    before = compute_result((await admin.get("/admin/calendar", params=params)).text)
    assert "<strong>2030-01-04</strong>" in before and "暂定" in before  # 2030-01-01 off by the law alone

    r = await post(admin, "/admin/calendar/import", notice_form("notice-2030.json", json.dumps(NOTICE_2030)))
    assert r.status_code == 303
    page = await admin.get("/admin/calendar")
    assert "已导入 2030 年：节假日 12 天，调休上班 1 天" in page.text
    assert "未能通知在办案件" in page.text  # no Temporal client in this app
    assert NOTICE_2030["source"] in page.text

    result = compute_result((await admin.get("/admin/calendar", params=params)).text)
    assert "<strong>2030-01-05</strong>（星期六）" in result and "暂定" not in result  # the make-up Saturday


async def test_a_notice_with_a_december_day_of_the_year_before(admin: httpx.AsyncClient, pool) -> None:
    """The 2012 notice's make-up Saturday 2011-12-31 is imported through the page and counted."""
    csv = "date,kind,name\n2011-12-31,workday,元旦调休\n2012-01-01,holiday,元旦\n2012-01-02,holiday,\n"
    form = notice_form("notice-2012.csv", csv) | {"source": "国办发明电〔2011〕39号"}
    r = await post(admin, "/admin/calendar/import", form)
    assert r.status_code == 303
    assert await pool.fetchval("select kind from calendar_days where day = '2011-12-31'") == "workday"
    result = compute_result((await admin.get("/admin/calendar", params={"start": "2011-12-29", "n": "2"})).text)
    assert "<strong>2011-12-31</strong>（星期六）" in result


async def test_a_bad_notice_is_listed_and_nothing_written(admin: httpx.AsyncClient, pool) -> None:
    bad = {"year": 2030, "holidays": ["2031-01-01"], "workdays": ["2030-01-07"]}
    r = await post(admin, "/admin/calendar/import", notice_form("bad.json", json.dumps(bad)))
    assert r.status_code == 422 and "通知未导入" in r.text
    assert "来源（通知名称或文号）：为必填项" in r.text  # the field named in Chinese (webapp/field_labels.py)
    r = await post(admin, "/admin/calendar/import", notice_form("bad.json", json.dumps(bad | {"source": "s"})))
    assert "2031-01-01 不在 2030 年" in r.text and "2030-01-07 是工作日而非周末" in r.text
    r = await post(admin, "/admin/calendar/import", notice_form("bad.csv", "day,kind\n"))
    assert r.status_code == 422 and "bad.csv: 表头应为" in r.text
    r = await post(admin, "/admin/calendar/import", notice_form("notice.txt", "x"))
    assert r.status_code == 422 and "只支持 .json 或 .csv 文件" in r.text
    r = await post(admin, "/admin/calendar/import", notice_form("", "date,kind,name\n2030-01-01,holiday,元旦\n"))
    assert r.status_code == 422 and "粘贴 CSV 内容时请填写来源" in r.text and "2030-01-01,holiday,元旦" in r.text
    assert await pool.fetchval("select count(*) from calendar_days") == 0
    assert await pool.fetchval("select count(*) from calendar_years") == 0


LEFT_OUT_2027 = (
    "通知遗漏了法定节假日：2027-02-05（春节）、2027-02-08（春节）、2027-04-05（清明节）、2027-06-09（端午节）、"
    "2027-09-15（中秋节）、2027-10-01（国庆节）；请核对国务院办公厅通知后重新导入"
)


@pytest.mark.parametrize("step", ["preview", "import"])
async def test_a_notice_that_leaves_out_statutory_holidays_is_refused(admin: httpx.AsyncClient, pool, step) -> None:
    """Once 2027 is imported the law's own holidays no longer apply to it: a notice listing 元旦 alone would make
    春节, 清明, 端午, 中秋 and 国庆 working days. Refused, on preview as on import, naming the days."""
    params = {"start": "2027-02-04", "n": "1"}
    assert "<strong>2027-02-11</strong>" in compute_result((await admin.get("/admin/calendar", params=params)).text)
    notice = {"year": 2027, "source": "x", "holidays": ["2027-01-01"]}
    form = notice_form("notice-2027.json", json.dumps(notice)) | {"step": step}
    r = await post(admin, "/admin/calendar/import", form)
    assert r.status_code == 422 and "通知未导入" in r.text
    assert f"<li>{LEFT_OUT_2027}</li>" in r.text and 'data-testid="preview"' not in r.text
    # a Saturday of the law's (劳动节 2027-05-01) as a make-up working day is left out too
    notice = {"year": 2027, "source": "x", "holidays": with_law_days(2027, "2027-01-01"), "workdays": ["2027-05-01"]}
    r = await post(admin, "/admin/calendar/import", notice_form("n.json", json.dumps(notice)) | {"step": step})
    assert r.status_code == 422
    assert "<li>通知遗漏了法定节假日：2027-05-01（劳动节）；请核对国务院办公厅通知后重新导入</li>" in r.text
    assert await pool.fetchval("select count(*) from calendar_days") == 0
    assert await pool.fetchval("select count(*) from calendar_years") == 0
    result = compute_result((await admin.get("/admin/calendar", params=params)).text)
    assert "<strong>2027-02-11</strong>" in result and "暂定" in result  # 春节 (and its make-up days) still off


def lost_days(html: str) -> list[str]:
    block = re.search(r'data-testid="rest-days-lost">(.*?)</div>', html, re.S)
    return re.findall(r"<li>(.*?)</li>", block.group(1)) if block else []


async def test_the_preview_lists_the_days_off_that_would_become_working_days(admin: httpx.AsyncClient, pool) -> None:
    assert (
        await post(admin, "/admin/calendar/import", notice_form("n.json", json.dumps(NOTICE_2030)))
    ).status_code == 303
    corrected = NOTICE_2030 | {"holidays": NOTICE_2030["holidays"][:1] + NOTICE_2030["holidays"][2:]}  # no 01-02
    r = await post(admin, "/admin/calendar/import", notice_form("n.json", json.dumps(corrected)) | {"step": "preview"})
    assert r.status_code == 200 and 'data-testid="preview"' in r.text
    assert "导入后，现行日历中的以下 1 天休息日将变为工作日，请核对：" in r.text
    assert lost_days(r.text) == ["2030-01-02（星期三）"]
    r = await post(
        admin, "/admin/calendar/import", notice_form("n.json", json.dumps(NOTICE_2030)) | {"step": "preview"}
    )
    assert lost_days(r.text) == [] and "休息日将变为工作日" not in r.text
    assert await pool.fetchval("select count(*) from calendar_days where day = '2030-01-02'") == 1  # preview only


async def test_a_pasted_notice_is_imported(admin: httpx.AsyncClient, pool) -> None:
    csv = "date,kind,name\n" + "".join(f"{d},holiday,\n" for d in with_law_days(2030, "2030-01-01"))
    r = await post(admin, "/admin/calendar/import", notice_form("", csv) | {"source": "国办发明电〔2029〕1号"})
    assert r.status_code == 303
    assert await pool.fetchval("select source from calendar_years where year = 2030") == "国办发明电〔2029〕1号"


async def test_compute_form_refuses_bad_input(admin: httpx.AsyncClient) -> None:
    r = await admin.get("/admin/calendar", params={"start": "2026-13-01", "n": "5"})
    assert "开始日期格式不正确" in r.text
    r = await admin.get("/admin/calendar", params={"start": "2026-09-18", "n": "0"})
    assert "工作日数应为 1 到 1000 之间的整数" in r.text
    r = await admin.get("/admin/calendar", params={"start": "2026-09-18", "n": "20"})
    assert "<strong>2026-10-22</strong>（星期四）" in r.text
    r = await admin.get("/admin/calendar", params={"start": "2026-09-18", "n": "²"})  # a digit int() cannot read
    assert (r.status_code, "工作日数应为 1 到 1000 之间的整数" in r.text) == (200, True)
    r = await admin.get("/admin/calendar", params={"start": "9999-12-20", "n": "20"})
    assert (r.status_code, "开始日期太晚，期限超出了日历的范围" in r.text) == (200, True)


async def test_a_number_out_of_the_databases_range_is_the_requests_fault(admin: httpx.AsyncClient) -> None:
    r = await admin.get("/admin/policy/99999999999")  # past PostgreSQL's integer
    assert r.status_code == 422 and "输入的数值、编号或日期超出允许的范围，请检查后重试" in r.text


async def test_import_tells_open_cases(review_env: WorkflowEnvironment, pool: asyncpg.Pool) -> None:
    await start(review_env, "CAL-1")
    for _ in range(100):
        if await pool.fetchval("select count(*) from cases where status = 'open'"):
            break
        await asyncio.sleep(0.1)
    async with _client(create_app(pool=pool, client=review_env.client, secret_key=SECRET)) as c:
        await log_in(c, "admin")
        r = await post(c, "/admin/calendar/import", notice_form("notice-2030.json", json.dumps(NOTICE_2030)))
        assert r.status_code == 303
        assert "已通知 1 个在办案件重算办结时限" in (await c.get("/admin/calendar")).text
        await post(c, "/admin/calendar/announce")
        assert "已通知 1 个在办案件重算办结时限" in (await c.get("/admin/calendar")).text


# --- policy versions -------------------------------------------------------------------------


def policy_form(page: str) -> dict[str, str]:
    """The new-version form's fields as the browser would post them."""
    fields = dict(re.findall(r'<input id="p-[^"]+" name="([^"]+)" value="([^"]*)"', page))
    fields |= dict(re.findall(r'<textarea id="p-[^"]+" name="([^"]+)"[^>]*>(.*?)</textarea>', page, re.S))
    for name, options in re.findall(r'<select id="p-[^"]+" name="([^"]+)"[^>]*>(.*?)</select>', page, re.S):
        fields[name] = re.search(r'<option value="([^"]*)" selected>', options).group(1)
    return {k: html.unescape(v) for k, v in fields.items()}


def shown_value(page: str, path: str) -> str:
    cell = re.search(rf'<dd data-field="{re.escape(path)}">(.*?)</dd>', page, re.S).group(1)
    return " ".join(re.sub(r"<[^>]+>", " ", cell).split())


def delegation(page: str) -> tuple[str, int]:
    """A version's page: the townships it delegates the approval to, and how many the district approves for."""
    township = re.search(r'data-testid="approval-township">([^<]*)<', page).group(1)
    district = re.search(r'data-testid="approval-district">([^<]*)<', page).group(1)
    return township, len(district.split("、"))


@pytest.mark.start_at(NEW_YEAR)
async def test_policy_list_view_and_add(admin: httpx.AsyncClient, pool) -> None:
    page = await admin.get("/admin/policy")
    assert re.search(r'<tr class="current">\s*<td>1</td>', page.text) and "施行中" in page.text
    view = await admin.get("/admin/policy/1")
    assert shown_value(view.text, "review.promised_working_days") == "20 个工作日"
    assert delegation(view.text) == ("鼓楼街道、顺河镇、石婆店镇", 20)  # the pilot units first

    form = policy_form((await admin.get("/admin/policy/new")).text)
    assert form["version"] == "2" and form["review.promised_working_days"] == "20"
    assert form["effective_from"] == "2027-01-02"  # from tomorrow at the earliest
    form |= {"effective_from": "2030-01-01", "note": "2030 起承诺时限 15 个工作日"}
    form["review.promised_working_days"] = "15"
    levels = json.loads(form["review.approval_level_by_township"]) | {"341503107": "township"}
    form["review.approval_level_by_township"] = json.dumps(levels)
    r = await post(admin, "/admin/policy", form)
    assert r.status_code == 303 and r.headers["location"] == "/admin/policy/2"
    view = await admin.get("/admin/policy/2")
    assert "已保存第 2 版，2030-01-01 起施行" in view.text and "待施行" in view.text
    assert delegation(view.text) == ("鼓楼街道、顺河镇、石婆店镇、城南镇", 19)
    stored = await pool.fetchrow("select body, created_by from policy_versions where version = 2")
    assert stored["body"]["review"]["promised_working_days"] == 15 and stored["created_by"] == "admin"


@pytest.mark.start_at(NEW_YEAR)
async def test_a_version_takes_effect_after_today_and_the_latest_versions_day(admin: httpx.AsyncClient, pool) -> None:
    """Which version applied on a day is never rewritten afterwards: a new version's day is after today (Beijing:
    2027-01-01 at the test's instant, 16:30 UTC on New Year's Eve) and after the latest version's day."""
    form = policy_form((await admin.get("/admin/policy/new")).text) | {"note": "测试"}
    for day, message in (
        ("2026-12-15", "生效日期须晚于今天（2027-01-01）：已经开始的日子仍按当时施行的版本办理"),
        ("2027-01-01", "生效日期须晚于今天（2027-01-01）：已经开始的日子仍按当时施行的版本办理"),
    ):
        r = await post(admin, "/admin/policy", form | {"effective_from": day})
        assert r.status_code == 422 and message in r.text, day
    r = await post(admin, "/admin/policy", form | {"effective_from": "2030-01-01"})
    assert r.status_code == 303
    later = policy_form((await admin.get("/admin/policy/new")).text) | {"note": "测试", "effective_from": "2029-06-01"}
    r = await post(admin, "/admin/policy", later)
    assert r.status_code == 422 and "生效日期须晚于现行最新版本（2030-01-01）" in r.text
    assert [tuple(v) for v in await pool.fetch("select version, effective_from from policy_versions order by 1")] == [
        (1, date(2021, 1, 1)),
        (2, date(2030, 1, 1)),
    ]


@pytest.mark.start_at(NEW_YEAR)
async def test_the_policy_form_shows_and_saves_whether_serious_illness_counts(admin: httpx.AsyncClient, pool) -> None:
    """民发〔2021〕43号 leaves serious illness to the provinces: the switch is on the form (特困认定) in Chinese, on by
    default as every stored version reads, and a new version saves it off."""
    path = "tekun.serious_illness_counts"
    new = (await admin.get("/admin/policy/new")).text
    assert f'<label for="p-{path}">患重病视为无劳动能力</label>' in new
    select = re.search(rf'<select id="p-{re.escape(path)}" name="{re.escape(path)}">(.*?)</select>', new, re.S)
    assert (
        " ".join(select.group(1).split())
        == '<option value="true" selected>是</option><option value="false">否</option>'
    )
    assert shown_value((await admin.get("/admin/policy/1")).text, path) == "是"
    form = policy_form(new) | {"effective_from": "2030-01-01", "note": "2030 起重病不再视为无劳动能力"}
    assert form[path] == "true"
    preview = await post(admin, "/admin/policy", form | {path: "false", "step": "preview"})
    row = re.search(rf'<tr data-field="{re.escape(path)}">(.*?)</tr>', preview.text, re.S).group(1)
    cells = [" ".join(c.split()) for c in re.findall(r"<td>(.*?)</td>", row)]
    assert cells == ["特困认定", "患重病视为无劳动能力", "是", "<strong>否</strong>"]
    r = await post(admin, "/admin/policy", form | {path: "false"})
    assert r.status_code == 303 and r.headers["location"] == "/admin/policy/2"
    assert shown_value((await admin.get("/admin/policy/2")).text, path) == "否"
    body = await pool.fetchval("select body from policy_versions where version = 2")
    assert body["tekun"]["serious_illness_counts"] is False
    refused = {"version": 3, "effective_from": "2031-01-01", "note": "测试", "tekun": {path.split(".")[1]: "也许"}}
    r = await post(admin, "/admin/policy", {"body": json.dumps(refused, ensure_ascii=False)})
    assert r.status_code == 422 and "<li>患重病视为无劳动能力：应为是/否</li>" in r.text
    assert await pool.fetchval("select count(*) from policy_versions") == 2


@pytest.mark.parametrize(
    "change, message",
    [
        ({"review": {"notice_unit": "weeks"}}, "公示期计算方式：取值无效"),
        ({"standards": {"tekun_rural": "700.00"}}, "农村特困供养标准低于农村低保标准的 1.3 倍"),
        (
            {"review": {"statutory_extended_working_days": 10}},
            "<li>审核审批：法定延长办结时限（10 个工作日）不得短于法定办结时限（30 个工作日）</li>",
        ),
        ({"surprise": 1}, "surprise：不允许的字段"),
        ({"version": 1, "effective_from": "2031-01-01"}, "第 1 版已存在"),
        ({"version": 5, "effective_from": "2021-01-01"}, "生效日期须晚于今天（"),
    ],
)
async def test_invalid_policy_is_refused_with_chinese_messages(
    admin: httpx.AsyncClient, pool, change: dict, message: str
) -> None:
    body = {"version": 2, "effective_from": "2030-01-01", "note": "测试"} | change
    r = await post(admin, "/admin/policy", {"body": json.dumps(body, ensure_ascii=False)})
    assert r.status_code == 422 and "未保存" in r.text and message in r.text
    assert '"note": "测试"' in html.unescape(r.text)  # the pasted text is kept
    assert await pool.fetchval("select count(*) from policy_versions") == 1


async def test_a_policy_whose_extension_shortens_the_limit_is_refused_on_the_form(
    admin: httpx.AsyncClient, pool
) -> None:
    form = policy_form((await admin.get("/admin/policy/new")).text) | {"effective_from": "2030-01-01"}
    form |= {"review.promised_working_days": "31", "review.statutory_extended_working_days": "25"}
    r = await post(admin, "/admin/policy", form)
    message = (
        "承诺办结时限（31 个工作日）不得长于法定办结时限（30 个工作日）；"
        "法定延长办结时限（25 个工作日）不得短于法定办结时限（30 个工作日）"
    )
    assert r.status_code == 422 and f'<p class="error" role="alert" data-error-for="review">{message}</p>' in r.text
    assert f"<li>审核审批：{message}</li>" in r.text
    assert await pool.fetchval("select count(*) from policy_versions") == 1


async def test_a_standard_of_zero_is_refused(admin: httpx.AsyncClient, pool) -> None:
    body = {"version": 2, "effective_from": "2030-01-01", "note": "测试", "standards": {"dibao_urban": "0.00"}}
    r = await post(admin, "/admin/policy", {"body": json.dumps(body, ensure_ascii=False)})
    assert r.status_code == 422 and "未保存" in r.text and "<li>城市低保标准：应大于 0</li>" in r.text
    form = policy_form((await admin.get("/admin/policy/new")).text) | {"effective_from": "2030-01-01"}
    r = await post(admin, "/admin/policy", form | {"tekun.care_none": "0", "tekun.care_partial": "0", CONFIRM: "true"})
    assert r.status_code == 422
    assert "<li>半护理照料护理标准：应大于 0</li>" in r.text and "<li>全护理照料护理标准：应大于 0</li>" in r.text
    assert await pool.fetchval("select count(*) from policy_versions") == 1


LARGE_TEKUN = (
    "城市特困供养基本生活标准由 1184.00 元调整为 11840.00 元，变动超过 50%；"
    "请核对金额，确需调整的，请勾选“确认大幅调整标准”后重新提交"
)
CONFIRM = "confirm_large_change"


@pytest.mark.start_at(NEW_YEAR)
async def test_a_standard_moved_by_more_than_half_needs_confirming(admin: httpx.AsyncClient, pool) -> None:
    """A zero too many (1184 -> 11840) is refused on preview and store unless the box is ticked."""
    page = (await admin.get("/admin/policy/new")).text
    assert '<input type="checkbox" name="confirm_large_change" value="true"' in page
    assert "确认大幅调整标准（较现行版本变动超过 50%）" in page
    form = policy_form(page) | {"effective_from": "2030-01-01", "standards.tekun_urban": "11840"}
    for step in ("preview", "store"):
        r = await post(admin, "/admin/policy", form | {"step": step})
        assert r.status_code == 422 and f"<li>{LARGE_TEKUN}</li>" in r.text
    assert await pool.fetchval("select count(*) from policy_versions") == 1
    ok = form | {"standards.tekun_urban": "1776.00"}  # +50% exactly is within bounds
    assert (await post(admin, "/admin/policy", ok | {"step": "preview"})).status_code == 200
    r = await post(admin, "/admin/policy", form | {CONFIRM: "true"})
    assert r.status_code == 303 and r.headers["location"] == "/admin/policy/2"
    body = await pool.fetchval("select body from policy_versions where version = 2")
    assert body["standards"]["tekun_urban"] == "11840.00"


async def test_policy_json_syntax_error_names_the_place(admin: httpx.AsyncClient) -> None:
    r = await post(admin, "/admin/policy", {"body": '{\n  "version": 2,\n  "note": "x",\n}'})
    assert r.status_code == 422 and "JSON 格式错误：第 4 行第 1 列附近" in r.text


# --- language --------------------------------------------------------------------------------


async def test_admin_pages_in_english(admin: httpx.AsyncClient) -> None:
    await post(admin, "/lang", {"locale": "en"}, headers={"referer": "http://jiuzhu.test/admin/users"})
    page = await admin.get("/admin/users?q=yiliao")
    assert "Users and roles" in page.text and "Bureau staff · District Medical Insurance Bureau" in page.text
    relatives = await admin.get("/admin/relatives/shipo_jingban")
    assert "Grandparent" in relatives.text and "Near relatives of" in relatives.text
    policy = await admin.get("/admin/policy/new")
    assert "<legend>Review and approval</legend>" in policy.text and ">Promised time limit</label>" in policy.text
    assert '<option value="calendar_days" selected>calendar days</option>' in policy.text
