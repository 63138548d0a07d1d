"""`GET /api/cases/{id}` says whom the case waits on (`waiting`, rules/waiting.py), since when and by when in
working days, as the case page does: a real case on the time-skipping server with the real worker, the clock at
stated Beijing instants."""

from __future__ import annotations

import re
from datetime import date, datetime

import httpx
import pytest

from infra.clock import BEIJING
from schemas.review import MissingMaterials
from tests.support.clients import login
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.factories import actor
from tests.support.review import act, home_visit, interview, start, until_stage
from webapp.i18n import COOKIE

pytestmark = pytest.mark.web(temporal="review_env")

# Friday 2026-12-04, 09:00: accepted, the data check requested (its limit: 10 working days, Friday 12-18).
ACCEPTED_AT = beijing(2026, 12, 4, 9, 0)


def since_day(line: dict) -> date:
    return datetime.fromisoformat(line["since"]).astimezone(BEIJING).date()


@pytest.mark.start_at(ACCEPTED_AT)
async def test_the_case_waits_for_the_districts_check_after_the_field_work(
    web: httpx.AsyncClient, review_env: SkippingEnvironment
) -> None:
    handle = await start(review_env, "SP-WAIT-API")
    await until_stage(handle, "investigation")
    await act(handle, "home_visit", home_visit(date(2026, 12, 4)))
    await act(handle, "neighbour_interview", interview(date(2026, 12, 4)))
    await review_env.skip_to(beijing(2026, 12, 9, 10, 0))  # Wednesday: 3 working days later

    r = await web.get("/api/cases/SP-WAIT-API", headers=await login(web, "shipo_jingban"))
    assert r.status_code == 200, r.text
    [line] = r.json()["waiting"]
    assert since_day(line) == date(2026, 12, 4)
    assert {k: v for k, v in line.items() if k != "since"} == {
        "kind": "staff",
        "who": "区民政局",
        "what": "录入家庭经济状况核对结果",
        "people": ["区民政局 陈立"],
        "waited_working_days": 3,
        "due": "2026-12-18",
        "working_days_left": 7,
    }
    # The case page says so in Chinese, and in English when the reader chose it: whom and what through the catalogs.
    waiting = r'<span data-testid="wait-text">(.*?)</span>'
    assert re.findall(waiting, (await web.get("/cases/SP-WAIT-API")).text) == [
        "等待区民政局录入家庭经济状况核对结果（已等待 3 个工作日，应于 12-18 前办理，还剩 7 个工作日）"
    ]
    web.cookies.set(COOKIE, "en")
    assert re.findall(waiting, (await web.get("/cases/SP-WAIT-API")).text) == [
        "Waiting for the district civil affairs bureau: Household economic check result"
        " (waiting 3 working days, due by 12-18, 7 working days left)"
    ]


@pytest.mark.start_at(ACCEPTED_AT)
async def test_a_paused_case_waits_on_the_applicant_with_its_clock_stopped(
    web: httpx.AsyncClient, review_env: SkippingEnvironment
) -> None:
    handle = await start(review_env, "SP-WAIT-PAUSE")
    await until_stage(handle, "investigation")
    await review_env.skip_to(beijing(2026, 12, 7, 9, 0))  # Monday
    await act(handle, "missing_materials", MissingMaterials(actor=actor("shipo_jingban"), items=["户口簿"]))
    await review_env.skip_to(beijing(2026, 12, 8, 15, 0))  # Tuesday: a working day later

    r = await web.get("/api/cases/SP-WAIT-PAUSE", headers=await login(web, "shipo_jingban"))
    assert r.status_code == 200, r.text
    applicant, check = r.json()["waiting"]
    assert since_day(applicant) == date(2026, 12, 7)
    assert {k: v for k, v in applicant.items() if k != "since"} == {
        "kind": "applicant",
        "who": "申请人",
        "what": "补正材料",
        "people": [],
        "waited_working_days": 1,
        "due": None,
        "working_days_left": None,
    }
    # The district's data check goes on while the clock waits for the applicant.
    assert (check["who"], check["due"], check["waited_working_days"], check["working_days_left"]) == (
        "区民政局",
        "2026-12-18",
        2,
        8,
    )
    # The case page says the same, and lists the notice of missing materials among the recorded findings.
    page = (await web.get("/cases/SP-WAIT-PAUSE")).text
    waiting = re.findall(r'<span data-testid="wait-text">(.*?)</span>', page)
    assert waiting == [
        "等待申请人补正材料（已等待 1 个工作日，办理时限暂停计时）",
        "等待区民政局录入家庭经济状况核对结果（已等待 2 个工作日，应于 12-18 前办理，还剩 8 个工作日）",
    ]
    notice = re.search(r'<article class="cw-finding" data-kind="missing_materials">(.*?)</article>', page, re.S)[1]
    assert re.sub(r"<[^>]+>|\s", "", notice).endswith("需补正的材料户口簿")
