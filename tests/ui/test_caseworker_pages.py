"""Caseworker pages without a browser or Temporal: intake validation, the case page's access and ID
masking, the inbox's rules, which action forms are offered, and that every string is translated."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from babel.messages.extract import extract_from_file

from db import cases_repo
from rules.calendar import WorkCalendar, working_days_left
from rules.stages import ACTION_LABELS, STAGE_LABELS, Action
from schemas.people import RELATION_LABELS
from schemas.policy import Policy
from schemas.review import AssistanceType, CaseEvent, CaseState, ClockState, Escalation
from schemas.staff import ROLE_LABELS, Role
from tests.support.clients import SHIPO, SHIPO_VILLAGE, SHUNHE, csrf_token, insert_case, log_in
from tests.support.clock import beijing
from tests.support.factories import actor, resident_id
from webapp.i18n import translations
from webapp.review.case_forms import available_actions
from webapp.review.common import COMMON_MATERIALS
from webapp.review.inbox import PAGE_SIZE, tasks_for

APPLICANT_ID = resident_id(date(1968, 3, 2), seq=201)
CHILD_ID = resident_id(date(2009, 5, 1), seq=202)
TEMPLATES = Path(__file__).resolve().parents[2] / "webapp" / "review" / "templates" / "caseworker"


# ---- intake ------------------------------------------------------------------------------------


@pytest.mark.start_at(datetime(2026, 11, 28, 16, 30, tzinfo=UTC))  # 00:30 on 11-29 in Beijing, 11-28 in UTC
@pytest.mark.parametrize("user, status", [("shipo_jingban", 200), ("shipo_shenpi", 200), ("shipo_cun1", 403)])
async def test_intake_form_is_for_township_staff(web: httpx.AsyncClient, user: str, status: int) -> None:
    await log_in(web, user)
    r = await web.get("/cases/new")
    assert r.status_code == status
    if status == 200:
        assert "石婆店镇示范村一" in r.text and "顺河镇示范村一" not in r.text  # own township's villages only
        assert re.search(r'name="draft_id" value="341503106-20261129-[0-9a-f]{6}"', r.text)  # the Beijing day
    else:
        assert "只有乡镇（街道）经办人或审批人可以受理申请" in r.text and "我的待办" in r.text  # menu kept


async def test_failed_intake_keeps_what_was_typed_and_says_why_in_chinese(
    web: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    await log_in(web, "shipo_jingban")
    form = await web.get("/cases/new")
    wrong = CHILD_ID[:17] + ("0" if CHILD_ID[17] != "0" else "1")
    data = {
        "csrftoken": csrf_token(form.text),
        "draft_id": "341503106-20261129-abcdef",
        "assistance_type": "dibao",
        "channel": "proxy",
        "village_code": SHIPO_VILLAGE,
        "address": "",
        "hukou_type": "rural",
        "phone": "12345",
        "members-0-name": "王大山",
        "members-0-id_number": APPLICANT_ID,
        "members-0-relation": "self",
        "members-0-able_to_work": "no",
        "members-3-name": "王小明",
        "members-3-id_number": wrong,
        "members-3-relation": "child",
        "members-3-able_to_work": "yes",
        "incomes-0-member": "3",
        "incomes-0-source": "wage",
        "incomes-0-monthly_amount": "12.345",
        "incomes-0-note": "",
        "assets-5-kind": "vehicle",
        "assets-5-description": "",
        "assets-5-value": "",  # a blank row is dropped
        "attachments": ["户口簿", "居民身份证"],
        "attachments_other": "村委会证明",
    }
    r = await web.post("/cases/new", data=data)
    assert r.status_code == 422
    html = r.text

    def error_of(field: str) -> str:
        return re.search(rf'data-error-for="{field}" role="alert">([^<]*)<', html)[1]

    assert error_of("members-3-id_number").startswith("身份证号码校验位错误：应为")
    assert error_of("address") == "为必填项"
    assert error_of("phone").startswith("电话号码格式不正确")
    assert error_of("incomes-0-monthly_amount") == "金额最多两位小数"
    assert error_of("members-0-id_number") == ""
    for kept in (f'value="{wrong}"', 'value="12.345"', 'value="王小明"', 'value="12345"', "村委会证明"):
        assert kept in html, kept
    assert '<option value="proxy" selected>' in html and '<option value="3" selected>王小明</option>' in html
    assert 'value="户口簿" checked' in html and 'value="家庭经济状况核对授权书">' in html
    assert 'name="assets-5-kind"' not in html
    assert await pool.fetchval("select count(*) from cases") == 0

    data |= {"members-3-relation": "self", "members-3-id_number": CHILD_ID, "phone": "", "address": "王家庄 12 号"}
    data["incomes-0-monthly_amount"] = "12.34"
    r = await web.post("/cases/new", data=data)
    assert r.status_code == 422 and "家庭成员中必须有且只有一名申请人（本人）" in r.text


async def test_id_check_while_typing(web: httpx.AsyncClient) -> None:
    await log_in(web, "shipo_jingban")
    form = await web.get("/cases/new")
    headers = {"x-csrftoken": csrf_token(form.text)}
    ok = await web.post("/cases/new/check-id", data={"id_number": "11010519491231002x"}, headers=headers)
    assert ok.json() == {"ok": True, "value": "11010519491231002X", "message": ""}
    bad = await web.post("/cases/new/check-id", data={"id_number": "110105194912310021"}, headers=headers)
    assert bad.json() == {"ok": False, "value": "110105194912310021", "message": "身份证号码校验位错误：应为X，实际为1"}


# ---- the case page -----------------------------------------------------------------------------


async def insert_household(pool: asyncpg.Pool, case_id: str) -> None:
    household = await pool.fetchval(
        "insert into households (township_code, village_code, address, hukou_type, phone) "
        "values ($1, $2, '王家庄 12 号', 'rural', '13805641234') returning id",
        SHIPO,
        SHIPO_VILLAGE,
    )
    await pool.execute(
        "insert into household_members (household_id, name, id_number, relation, is_applicant) values "
        "($1, '王大山', $2, 'self', true), ($1, '王小明', $3, 'child', false)",
        household,
        APPLICANT_ID,
        CHILD_ID,
    )
    await pool.execute("update cases set household_id = $2 where case_id = $1", case_id, household)


async def test_case_page_answers_403_and_404_as_pages(web: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    await insert_case(pool, "SP-1", SHIPO, village=SHIPO_VILLAGE)
    await log_in(web, "shunhe_jingban")
    r = await web.get("/cases/SP-1")
    assert r.status_code == 403 and "该案件不在您的辖区内" in r.text and "<html" in r.text and "王大山" not in r.text
    r = await web.get("/cases/NO-SUCH")
    assert r.status_code == 404 and "案件不存在" in r.text
    await log_in(web, "yiliao_bu")
    r = await web.get("/cases/SP-1")
    assert r.status_code == 403 and "部门工作人员无权查看" in r.text


@pytest.mark.parametrize(
    "user, full",
    [
        ("shipo_jingban", True),
        ("shipo_shenpi", True),
        ("qu_minzheng", True),
        ("shipo_cun1", False),
        ("qu_jiandu", False),
        ("shipo_diaocha", False),  # recused by a relatives match
    ],
)
async def test_who_sees_full_id_numbers(web: httpx.AsyncClient, pool: asyncpg.Pool, user: str, full: bool) -> None:
    await insert_case(pool, "SP-1", SHIPO, village=SHIPO_VILLAGE)
    await insert_household(pool, "SP-1")
    barred = [{"username": "shipo_diaocha", "full_name": "石婆店镇经办人 王强", "reason": "申请人申报的近亲属"}]
    await cases_repo.append_events(
        pool,
        [
            CaseEvent(
                case_id="SP-1",
                event_key="0002-relatives_matched",
                kind="relatives_matched",
                stage="accepted",
                payload={"barred": barred},
                occurred_at=datetime.fromisoformat("2026-09-18T10:01+08:00"),
            )
        ],
    )
    await log_in(web, user)
    r = await web.get("/cases/SP-1")
    assert r.status_code == 200, r.text
    assert (APPLICANT_ID in r.text) is full and (CHILD_ID in r.text) is full
    assert ("13805641234" in r.text) is full
    if not full:
        assert APPLICANT_ID[:6] + "********" + APPLICANT_ID[-4:] in r.text
    assert "石婆店镇经办人 王强（申请人申报的近亲属）" in r.text
    assert ("您在回避名单中" in r.text) is (user == "shipo_diaocha")


@pytest.mark.start_at(beijing(2026, 10, 3, 10, 0))  # during the National Day holiday (10-01..07)
async def test_case_page_timeline_counts_working_days(web: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    # Accepted Friday 2026-09-18; 2026-09-20 is a make-up working day, 2026-09-25 a holiday.
    await insert_case(
        pool, "SP-1", SHIPO, accepted_at=datetime(2026, 9, 18, 2, 0, tzinfo=UTC), deadline=date(2026, 10, 22)
    )
    await cases_repo.append_events(
        pool,
        [
            CaseEvent(
                case_id="SP-1",
                event_key="0001-accepted",
                kind="accepted",
                stage="accepted",
                actor="shipo_jingban",
                actor_role="township_caseworker",
                payload={"summary": "受理申请"},
                occurred_at=datetime.fromisoformat("2026-09-18T10:00+08:00"),
            ),
            CaseEvent(
                case_id="SP-1",
                event_key="0002-home_visit",
                kind="home_visit",
                stage="investigation",
                actor="shipo_diaocha",
                actor_role="township_caseworker",
                payload={"summary": "入户调查"},
                occurred_at=datetime.fromisoformat("2026-09-28T09:30+08:00"),
            ),
        ],
    )
    await log_in(web, "shipo_jingban")
    r = await web.get("/cases/SP-1")
    rows = re.findall(r'<tr data-kind="(\w+)">\s*<td[^>]*>([^<]+)</td>\s*<td[^>]*>(\d+)</td>', r.text)
    # 09-20 (Sun, make-up), 21, 22, 23, 24, 28 count; 09-25 (holiday), 26, 27 do not
    assert rows == [("accepted", "2026-09-18 10:00", "0"), ("home_visit", "2026-09-28 09:30", "6")]
    # from today, 10-03: 10-08, 10-09, Saturday 10-10 (make-up), 10-12..16, 10-19..22
    deadline = re.search(r'data-testid="deadline">(.*?)</dd>', r.text, re.S)[1]
    assert re.sub(r"<[^>]+>|\s+", " ", deadline).split() == ["2026-10-22", "·", "剩", "12", "个工作日"]
    assert "石婆店镇经办人 王强" in r.text


async def test_refused_form_keeps_what_was_typed(web: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    """Checks that run before the workflow is asked (body, investigators) already show in the form."""
    await insert_case(pool, "SP-1", SHIPO, village=SHIPO_VILLAGE)
    await log_in(web, "shipo_jingban")
    page = await web.get("/cases/SP-1")
    visit = {
        "csrftoken": csrf_token(page.text),
        "visited_on": "2026-13-01",
        "investigators": ["shipo_jingban", "shunhe_diaocha"],
        "family_signatures": "王大山、王小明",
        "findings": "家中无劳动力",
    }
    r = await web.post("/cases/SP-1/act/home_visit", data=visit)
    assert r.status_code == 422
    assert re.search(r'data-error-for="visited_on" role="alert">日期格式不正确', r.text)
    assert (
        'value="2026-13-01"' in r.text and "王大山、王小明</textarea>" in r.text and "家中无劳动力</textarea>" in r.text
    )
    r = await web.post("/cases/SP-1/act/home_visit", data=visit | {"visited_on": "2026-09-20"})
    assert r.status_code == 422 and "顺河镇经办人 孙燕（shunhe_diaocha）不负责该案件所在地" in r.text
    # each form shown again shows the whole case: a read, logged as the page's is
    logged = "select count(*) from access_log where kind = 'case.page' and record = 'SP-1' and username = $1"
    assert await pool.fetchval(logged, "shipo_jingban") == 3
    await log_in(web, "qu_jiandu")
    token = csrf_token((await web.get("/account")).text)  # the CSRF token is bound to the session
    r = await web.post("/cases/SP-1/act/home_visit", data=visit | {"visited_on": "2026-09-20", "csrftoken": token})
    assert r.status_code == 403 and "监督员只能查看案件，不能办理" in r.text
    assert await pool.fetchval("select count(*) from case_events") == 0


# ---- which forms are offered -------------------------------------------------------------------


def state(stage: str, **changes: Any) -> CaseState:
    clock = ClockState(
        accepted_on=date(2026, 9, 18),
        limit_working_days=20,
        deadline=date(2026, 10, 22),
        provisional=False,
        paused=changes.pop("paused", False),
        paused_since=None,
        paused_periods=[],
        paused_working_days=0,
        stopped=False,
        reminders_sent=[],
        overdue=False,
    )
    values: dict[str, Any] = dict(
        case_id="SP-1",
        workflow_id="review-SP-1",
        assistance_type=AssistanceType.DIBAO,
        township_code=SHIPO,
        village_code=SHIPO_VILLAGE,
        applicant_name="王大山",
        stage=stage,
        stage_label=STAGE_LABELS[stage],
        policy_version=1,
        clock=clock,
        handled_by="township",
        barred_staff=[],
        relatives_match=False,
        district_visit_required=False,
        district_visit_done=False,
        verification_done=False,
        home_visit_done=False,
        neighbour_interview_done=False,
        hearing_done=False,
        investigators=[],
        proposed_amount=None,
        decision=None,
        notice_ends_at=None,
        objections=0,
        escalations=[],
        timeline=[],
    )
    return CaseState(**(values | changes))


OVERDUE = [Escalation(kind="overdue", at=datetime(2026, 10, 23, tzinfo=UTC), deadline=date(2026, 10, 22))]
DISTRICT_APPROVES = Policy.model_validate({"review": {"approval_level_by_township": {SHIPO: "district"}}})


@pytest.mark.parametrize(
    "user, case, policy, expected",
    [
        (
            "shipo_jingban",
            state("investigation"),
            Policy(),
            ["home_visit", "neighbour_interview", "missing_materials", "withdraw"],
        ),
        ("shipo_cun1", state("investigation", home_visit_done=True), Policy(), ["neighbour_interview"]),
        ("qu_minzheng", state("investigation"), Policy(), ["verification_result", "extend_deadline"]),
        (
            "qu_minzheng",
            state("investigation", district_visit_required=True),
            Policy(),
            ["verification_result", "home_visit", "extend_deadline"],
        ),
        ("shipo_jingban", state("investigation", paused=True), Policy(), ["materials_supplied", "withdraw"]),
        ("qu_minzheng", state("investigation", paused=True), Policy(), ["verification_result", "extend_deadline"]),
        ("shipo_jingban", state("investigation", barred_staff=["shipo_jingban"]), Policy(), []),
        ("qu_jiandu", state("decision"), Policy(), []),
        ("shipo_shenpi", state("decision"), Policy(), ["decision", "missing_materials", "terminate"]),
        ("shipo_shenpi", state("decision"), DISTRICT_APPROVES, ["missing_materials"]),
        ("qu_minzheng", state("decision"), DISTRICT_APPROVES, ["decision", "extend_deadline", "terminate"]),
        ("qu_minzheng", state("hearing", escalations=OVERDUE), Policy(), ["take_over", "extend_deadline"]),
        (
            "qu_minzheng",
            state("hearing", escalations=OVERDUE, handled_by="district"),
            Policy(),
            ["hearing", "extend_deadline", "missing_materials", "withdraw", "terminate"],
        ),
        ("shipo_cun1", state("public_notice"), Policy(), ["objection"]),
        ("shipo_jingban", state("enrolled"), Policy(), []),
        ("shipo_jingban", state("refused"), Policy(), ["refusal_delivered"]),
    ],
)
def test_forms_offered(user: str, case: CaseState, policy: Policy, expected: list[str]) -> None:
    assert [a.value for a in available_actions(actor(user), case, policy)] == expected


# ---- the inbox ---------------------------------------------------------------------------------


def open_case(stage: str, **changes: Any) -> dict[str, Any]:
    return {
        "stage": stage,
        "place": SHIPO_VILLAGE,
        "handled_by": "township",
        "approval_level": "township",
        "verification_open": False,
        "paused": False,
        "home_visit_done": False,
        "neighbour_done": False,
        "district_visit_done": False,
        "relatives_match": False,
        "district_visit_required": False,
        "district_approval": False,
        "overdue": False,
    } | changes


@pytest.mark.parametrize(
    "role, case, tasks",
    [
        (Role.TOWNSHIP_CASEWORKER, open_case("investigation"), ["home_visit", "neighbour_interview"]),
        (Role.VILLAGE_CADRE, open_case("investigation", home_visit_done=True), ["neighbour_interview"]),
        (Role.TOWNSHIP_APPROVER, open_case("investigation"), []),
        (Role.DISTRICT_OFFICER, open_case("investigation", verification_open=True), ["verification_result"]),
        (Role.DISTRICT_OFFICER, open_case("investigation", district_visit_required=True), ["district_home_visit"]),
        (
            Role.DISTRICT_OFFICER,
            open_case("investigation", district_visit_required=True, district_visit_done=True),
            [],
        ),
        (Role.TOWNSHIP_CASEWORKER, open_case("hearing"), ["hearing"]),
        (Role.VILLAGE_CADRE, open_case("hearing"), []),
        (Role.TOWNSHIP_APPROVER, open_case("decision"), ["decision"]),
        (Role.TOWNSHIP_APPROVER, open_case("decision", approval_level="district"), []),
        (Role.DISTRICT_OFFICER, open_case("decision", approval_level="district"), ["decision"]),
        (Role.TOWNSHIP_APPROVER, open_case("decision", district_approval=True), []),  # referred to the district
        (Role.DISTRICT_OFFICER, open_case("decision", district_approval=True), ["decision"]),
        (Role.DISTRICT_OFFICER, open_case("decision", handled_by="district"), ["decision"]),
        (Role.DISTRICT_OFFICER, open_case("hearing", overdue=True), ["take_over"]),
        (Role.DISTRICT_OFFICER, open_case("hearing", overdue=True, handled_by="district"), ["hearing"]),
        (Role.VILLAGE_CADRE, open_case("public_notice"), ["objection"]),
        (Role.TOWNSHIP_APPROVER, open_case("public_notice"), []),
        (Role.TOWNSHIP_CASEWORKER, open_case("refused"), ["refusal_delivered"]),  # the notice to deliver
        (Role.TOWNSHIP_CASEWORKER, open_case("public_notice", overdue=True), ["objection"]),
        (Role.DISTRICT_OFFICER, open_case("investigation", paused=True, overdue=True), ["take_over"]),
        (Role.TOWNSHIP_CASEWORKER, open_case("decision", paused=True), ["waiting_for_applicant"]),
        (Role.TOWNSHIP_APPROVER, open_case("decision", paused=True), []),
        (
            Role.DISTRICT_OFFICER,
            open_case("investigation", paused=True, verification_open=True),
            ["verification_result"],
        ),
    ],
)
def test_inbox_rules(role: Role, case: dict[str, Any], tasks: list[str]) -> None:
    assert tasks_for(role, case) == tasks


async def inbox(web: httpx.AsyncClient, user: str, page: int = 1) -> list[str]:
    await log_in(web, user)
    r = await web.get(f"/inbox?page={page}")
    assert r.status_code == 200, r.text
    return re.findall(r'<tr class="[a-z]*" data-case="([^"]+)">', r.text)


@pytest.mark.start_at(beijing(2026, 9, 24, 10, 0))
async def test_inbox_page_per_role_and_jurisdiction(web: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    soon = date(2026, 10, 9)  # the cases were accepted on 2026-09-18
    await insert_case(pool, "SP-INV", SHIPO, village=SHIPO_VILLAGE, deadline=soon)
    await insert_case(pool, "SP-DEC", SHIPO, stage="decision", deadline=date(2026, 10, 8))
    await insert_case(pool, "SP-DONE", SHIPO, stage="enrolled", status="enrolled")
    await insert_case(pool, "SH-INV", SHUNHE, deadline=soon)
    requested = beijing(2026, 9, 18, 10, 5)
    await pool.execute(
        "insert into verification_requests (case_id, township_code, requested_at, adapter) values "
        "('SP-INV', $1, $3, 'database'), ('SH-INV', $2, $3, 'database')",
        SHIPO,
        SHUNHE,
        requested,
    )
    await cases_repo.append_events(
        pool,
        [
            CaseEvent(
                case_id="SP-INV",
                event_key="0002-relatives_matched",
                kind="relatives_matched",
                stage="investigation",
                payload={"barred": [{"username": "shipo_cun1", "full_name": "刘芳", "reason": "近亲属备案"}]},
                occurred_at=requested,
            )
        ],
    )
    assert await inbox(web, "shipo_jingban") == ["SP-INV"]
    assert await inbox(web, "shipo_shenpi") == ["SP-DEC"]
    assert await inbox(web, "shipo_cun1") == []  # recused from its only case
    assert await inbox(web, "shunhe_jingban") == ["SH-INV"]
    assert await inbox(web, "qu_minzheng") == ["SH-INV", "SP-INV"]  # verification results; same deadline: by number
    await log_in(web, "qu_jiandu")
    assert (await web.get("/inbox")).status_code == 403


@pytest.mark.start_at(beijing(2026, 9, 24, 10, 0))
async def test_inbox_pages(web: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    first = date(2026, 9, 25)
    for n in range(PAGE_SIZE + 1):
        await insert_case(pool, f"SP-{n:03d}", SHIPO, deadline=first + timedelta(days=n))
    page_one = await inbox(web, "shipo_jingban")
    assert len(page_one) == PAGE_SIZE and page_one[0] == "SP-000"
    assert await inbox(web, "shipo_jingban", page=2) == [f"SP-{PAGE_SIZE:03d}"]


# ---- translations ------------------------------------------------------------------------------


def template_msgids() -> set[str]:
    ids = set()
    for path in TEMPLATES.glob("*.html"):
        for _, message, _, _ in extract_from_file("jinja2", str(path), keywords={"_": None, "ngettext": (1, 2)}):
            message = message[0] if isinstance(message, tuple) else message
            if message and message.isascii():
                ids.add(message)
    return ids


def test_every_caseworker_string_has_chinese() -> None:
    zh = translations("zh_CN")
    ids = template_msgids()
    assert len(ids) > 150
    missing = sorted(m for m in ids if zh.gettext(m) == m)
    assert missing == []


def test_every_chinese_label_on_the_pages_has_english() -> None:
    en = translations("en")
    labels = [
        *STAGE_LABELS.values(),
        *ACTION_LABELS.values(),
        *RELATION_LABELS.values(),
        *ROLE_LABELS.values(),
        *(t.label for t in AssistanceType),
        *COMMON_MATERIALS,
    ]
    assert sorted(label for label in labels if en.gettext(label) == label) == []
    assert Action.HOME_VISIT.label in ACTION_LABELS.values()


def test_working_days_left_around_holidays() -> None:
    cal = WorkCalendar()
    assert working_days_left(cal, date(2026, 9, 18), date(2026, 10, 22)) == 20
    assert working_days_left(cal, date(2026, 10, 22), date(2026, 10, 22)) == 0
    assert working_days_left(cal, date(2026, 10, 26), date(2026, 10, 22)) == -2
    # due Wednesday 2026-09-30, looked at during the National Day holiday: overdue, not "due today"
    assert working_days_left(cal, date(2026, 10, 3), date(2026, 9, 30)) == -1


# A 72-year-old living alone, partly unable to look after himself, with a son who cannot support him.
ELDER_ID = resident_id(date(1954, 6, 1), seq=211)
SON_ID = resident_id(date(1980, 6, 1), seq=212)


@pytest.mark.start_at(beijing(2026, 12, 4, 10, 0))
@pytest.mark.web(temporal="review_env")
async def test_a_tekun_intake_records_self_care_illness_and_supporters(
    web: httpx.AsyncClient, review_env: Any, pool: asyncpg.Pool
) -> None:
    """The intake form takes what the tekun criteria need: the kind of disability, self-care, a serious
    illness, and the legal supporters outside the household with why they cannot support; the case page
    shows them, and the proposed amount is the basic standard plus the partial-care standard."""
    from tests.support.workflows import eventually

    await log_in(web, "shipo_jingban")
    form = await web.get("/cases/new")
    assert 'name="members-0-self_care"' in form.text and 'data-row-template="supporters"' in form.text
    data = {
        "csrftoken": csrf_token(form.text),
        "draft_id": "341503106-20261204-a1b2c3",
        "assistance_type": "tekun",
        "channel": "counter",
        "village_code": SHIPO_VILLAGE,
        "address": "示范村一 老街 3 号",
        "hukou_type": "rural",
        "phone": "",
        "members-0-name": "陈老汉",
        "members-0-id_number": ELDER_ID,
        "members-0-relation": "self",
        "members-0-disability_grade": "2",
        "members-0-disability_kind": "physical",
        "members-0-able_to_work": "no",
        "members-0-self_care": "partial",
        "members-0-serious_illness": "",
        "supporters-4-name": "陈大",
        "supporters-4-relation": "child",
        "supporters-4-id_number": SON_ID,
        "supporters-4-able_to_support": "no",
        "supporters-4-reason": "无",  # too short: a reason is required
        "attachments": ["户口簿", "居民身份证"],
    }
    r = await web.post("/cases/new", data=data)
    assert r.status_code == 422
    assert "义务人 陈大 无履行义务能力，须写明理由（至少4个字）" in r.text
    assert '<option value="partial" selected>' in r.text and '<option value="physical" selected>' in r.text
    assert 'name="supporters-4-name" value="陈大"' in r.text  # kept as typed
    assert await pool.fetchval("select count(*) from cases") == 0

    data["supporters-4-reason"] = "本人重度残疾，长期无收入"
    r = await web.post("/cases/new", data=data)
    assert r.status_code == 303 and r.headers["location"] == "/cases/341503106-20261204-a1b2c3?done=accepted"

    async def shown() -> str | None:
        page = (await web.get(r.headers["location"])).text
        return page if "每月 1238.00 元" in page else None

    page = await eventually(shown, "proposed amount 938.00 + 300.00 partial care")
    supporters = re.search(r'data-testid="supporters">(.*?)</table>', page, re.S)[1]
    assert "陈大" in supporters and "子女" in supporters and "本人重度残疾，长期无收入" in supporters
    members = re.search(r'data-testid="members">(.*?)</table>', page, re.S)[1]
    assert "2级 · 肢体" in members and "半护理（部分丧失生活自理能力）" in members
