"""The relatives check since declared relatives carry ID numbers (近亲属备案), and who investigates a household:
namesakes are warned, not barred; a declared ID number bars its owner; a relative without an account is filed
and the district visits; investigators are caseworkers or district officers of the place, village cadres assist."""

from __future__ import annotations

from datetime import date

import asyncpg
from temporalio.client import WorkflowHandle
from temporalio.testing import WorkflowEnvironment

from infra.config import TASK_QUEUE
from rules.stages import Action
from schemas.relatives import DeclaredRelative, FiledRelative, Namesake, NamesakeResolution
from schemas.review import CaseOutcome, ReviewNames, ReviewStart, workflow_id_for
from tests.support.factories import actor, application, resident_id
from tests.support.review import (
    act,
    events,
    home_visit,
    interview,
    refused,
    state,
    until_stage,
    verification,
    visit_by,
)
from tests.support.workflows import eventually

WANG_QIANG_ID = resident_id(date(1979, 4, 5), seq=131)  # shipo_diaocha's own ID number
LI_JUAN_ID = resident_id(date(1985, 6, 7), seq=242)  # shipo_jingban's
SOMEONE_ELSE_ID = resident_id(date(1990, 1, 2), seq=351)  # nobody's


async def start_with(env: WorkflowEnvironment, app_id: str, *declared: DeclaredRelative) -> WorkflowHandle:
    app = application(app_id).model_copy(update={"declared_relatives": list(declared)})
    return await env.client.start_workflow(
        ReviewNames.WORKFLOW,
        ReviewStart(application=app, accepted_by=actor("shipo_jingban")),
        id=workflow_id_for(app_id),
        task_queue=TASK_QUEUE,
        result_type=CaseOutcome,
    )


def resolution(by: str, username: str, same_person: bool) -> NamesakeResolution:
    return NamesakeResolution(actor=actor(by), username=username, same_person=same_person, note="电话核实")


async def summaries(pool: asyncpg.Pool, case_id: str, kind: str) -> list[str]:
    rows = await pool.fetch(
        "select payload->>'summary' as s from case_events where case_id = $1 and kind = $2 order by id", case_id, kind
    )
    return [r["s"] for r in rows]


async def test_a_namesake_in_another_township_is_warned_not_barred(
    review_env: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    h = await start_with(review_env, "NAME-1", DeclaredRelative(staff_name="赵磊", relation="兄弟姐妹"))
    s = await until_stage(h, "investigation")
    assert s.barred_staff == []
    assert s.namesakes == [
        Namesake(
            declared=0,
            staff_name="赵磊",
            relation="兄弟姐妹",
            username="shunhe_jingban",
            full_name="顺河镇经办人 赵磊",
            role="township_caseworker",
            place_code="341503104",
        )
    ]
    assert s.relatives_match and s.district_visit_required
    assert await events(pool, "NAME-1") == ["accepted", "relatives_namesake", "verification_requested"]
    assert await summaries(pool, "NAME-1", "relatives_namesake") == [
        "同名提示：申请人申报的近亲属 赵磊（兄弟姐妹）与 顺河镇经办人 赵磊（shunhe_jingban）同名。"
        "未自动回避，请经办人核实是否本人"
    ]
    # the namesake is kept from the case (and its inbox) until someone settles the warning
    row = await pool.fetchrow("select relatives_match, barred_users from cases where case_id = 'NAME-1'")
    assert (row["relatives_match"], row["barred_users"]) == (True, ["shunhe_jingban"])

    # Who may settle it: a caseworker or district officer of the case's place, not the namesake, not a cadre.
    for by, username, code in [
        ("shipo_cun1", "shunhe_jingban", "wrong_role"),
        ("shipo_shenpi", "shunhe_jingban", "wrong_role"),
        ("shunhe_jingban", "shunhe_jingban", "out_of_jurisdiction"),
        ("shipo_jingban", "shipo_diaocha", "invalid"),  # no warning about him
    ]:
        err = await refused(h, ReviewNames.RESOLVE_NAMESAKE, resolution(by, username, True))
        assert err.type == code, (by, err.message)
    ack = await act(h, ReviewNames.RESOLVE_NAMESAKE, resolution("shipo_jingban", "shunhe_jingban", False))
    assert (ack.stage, ack.event_key) == ("investigation", "0004-namesake_dismissed")
    s = await state(h)
    assert [(n.username, n.resolution, n.resolved_by) for n in s.namesakes] == [
        ("shunhe_jingban", "not_same_person", "shipo_jingban")
    ]
    # no user of the name is left to be the relative: filed as staff without an account
    assert s.relatives_filed == [FiledRelative(staff_name="赵磊", relation="兄弟姐妹")]
    assert s.barred_staff == [] and s.district_visit_required
    err = await refused(h, ReviewNames.RESOLVE_NAMESAKE, resolution("qu_minzheng", "shunhe_jingban", True))
    assert (err.type, err.message) == ("invalid", "关于 shunhe_jingban 的同名提示已核实")
    assert (await events(pool, "NAME-1"))[3:] == ["namesake_dismissed", "relatives_declared"]
    assert await pool.fetchval("select barred_users from cases where case_id = 'NAME-1'") == []
    assert await summaries(pool, "NAME-1", "namesake_dismissed") == [
        "同名提示核实：顺河镇经办人 赵磊（shunhe_jingban）不是申请人申报的近亲属 赵磊（兄弟姐妹）"
    ]
    await h.terminate("test over")


async def test_a_confirmed_namesake_is_barred(review_env: WorkflowEnvironment, pool: asyncpg.Pool) -> None:
    declared = DeclaredRelative(staff_name="王强", relation="子女", workplace="石婆店镇")
    h = await start_with(review_env, "NAME-2", declared)
    s = await until_stage(h, "investigation")
    today = s.clock.accepted_on
    assert s.barred_staff == [] and [n.username for n in s.namesakes] == ["shipo_diaocha"]
    err = await refused(h, ReviewNames.RESOLVE_NAMESAKE, resolution("shipo_diaocha", "shipo_diaocha", False))
    assert err.type == "recused"  # nobody clears a warning about themselves
    # nor acts on the case before it is settled: not as the one who records a visit, nor as one of its team
    err = await refused(h, Action.HOME_VISIT, home_visit(today, by="shipo_diaocha", with_="shipo_jingban"))
    assert (err.type, err.message) == ("recused", "您与申请人申报的近亲属同名，同名提示核实之前不能办理本案")
    err = await refused(h, Action.HOME_VISIT, home_visit(today, by="shipo_jingban", with_="shipo_diaocha"))
    assert (err.type, err.message) == (
        "recused",
        "调查人员 shipo_diaocha 与申请人申报的近亲属同名，同名提示核实之前不能参与调查",
    )
    assert await pool.fetchval("select barred_users from cases where case_id = 'NAME-2'") == ["shipo_diaocha"]
    await act(h, Action.VERIFICATION_RESULT, verification())
    ack = await act(h, ReviewNames.RESOLVE_NAMESAKE, resolution("qu_minzheng", "shipo_diaocha", True))
    assert ack.event_key == "0005-relatives_matched"
    s = await state(h)
    assert s.barred_staff == ["shipo_diaocha"] and s.relatives_filed == []
    err = await refused(h, Action.HOME_VISIT, home_visit(today, by="shipo_diaocha", with_="shipo_jingban"))
    assert (err.type, err.message) == ("recused", "您与申请人家庭存在近亲属关系，依规应当回避，不能办理本案")
    [barred] = (await pool.fetchrow("select payload from case_events where event_key = '0005-relatives_matched'"))[
        "payload"
    ]["barred"]
    assert barred == {
        "username": "shipo_diaocha",
        "full_name": "石婆店镇经办人 王强",
        "reason": "申请人申报的近亲属（子女），经核实为本人",
    }
    assert await pool.fetchval("select barred_users from cases where case_id = 'NAME-2'") == ["shipo_diaocha"]
    await h.terminate("test over")


async def test_a_declared_id_number_bars_its_owner_only(review_env: WorkflowEnvironment, pool: asyncpg.Pool) -> None:
    await pool.execute("update users set id_number = $1 where username = 'shipo_diaocha'", WANG_QIANG_ID)
    await pool.execute("update users set id_number = $1 where username = 'shipo_jingban'", LI_JUAN_ID)
    h = await start_with(
        review_env,
        "ID-1",
        DeclaredRelative(staff_name="王强", relation="兄弟姐妹", id_number=WANG_QIANG_ID.lower()),
        # 李娟 by name, with a number that is not shipo_jingban's (hers is recorded): someone else, no account
        DeclaredRelative(staff_name="李娟", relation="子女", workplace="外地", id_number=SOMEONE_ELSE_ID),
    )
    s = await until_stage(h, "investigation")
    assert s.barred_staff == ["shipo_diaocha"] and s.namesakes == []
    masked = SOMEONE_ELSE_ID[:6] + "********" + SOMEONE_ELSE_ID[-4:]
    assert s.relatives_filed == [
        FiledRelative(staff_name="李娟", relation="子女", workplace="外地", id_number_masked=masked)
    ]
    assert s.district_visit_required
    # the stage moves before the data-check request is written to the event log: wait for that write
    kinds = await eventually(lambda: _written(pool, "ID-1", "verification_requested"), "the data check logged")
    assert kinds == ["accepted", "relatives_matched", "relatives_declared", "verification_requested"]
    assert await summaries(pool, "ID-1", "relatives_matched") == [
        "近亲属备案比对命中：石婆店镇经办人 王强（申请人申报的近亲属（兄弟姐妹），身份证号码一致）；"
        "相关人员回避，须由区民政局入户调查"
    ]
    logged = await pool.fetchval("select string_agg(payload::text, ' ') from case_events where case_id = 'ID-1'")
    assert SOMEONE_ELSE_ID not in logged and WANG_QIANG_ID not in logged  # no ID number in clear in the log
    today = s.clock.accepted_on
    err = await refused(h, Action.HOME_VISIT, home_visit(today, by="shipo_diaocha", with_="shipo_jingban"))
    assert err.type == "recused"
    await act(h, Action.HOME_VISIT, home_visit(today, by="shipo_jingban", with_="qu_minzheng"))  # she is not barred
    await h.terminate("test over")


async def test_a_relative_without_an_account_is_filed_and_the_district_visits(
    review_env: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    h = await start_with(
        review_env, "FILED-1", DeclaredRelative(staff_name="王村官", relation="子女", workplace="示范村一村委会")
    )
    s = await until_stage(h, "investigation")
    assert (s.barred_staff, s.namesakes) == ([], [])
    assert s.relatives_filed == [FiledRelative(staff_name="王村官", relation="子女", workplace="示范村一村委会")]
    assert s.relatives_match and s.district_visit_required and not s.district_visit_done
    assert await summaries(pool, "FILED-1", "relatives_declared") == [
        "近亲属备案：申请人申报的近亲属 王村官（子女，示范村一村委会） 在系统中没有账号，已备案；须由区民政局入户调查"
    ]
    today = s.clock.accepted_on
    await act(h, Action.VERIFICATION_RESULT, verification())
    await act(h, Action.HOME_VISIT, home_visit(today))
    ack = await act(h, Action.NEIGHBOUR_INTERVIEW, interview(today))
    assert ack.stage == "investigation"  # the township has done its part; the district's own visit is missing
    ack = await act(h, Action.HOME_VISIT, home_visit(today, by="qu_minzheng", with_="shipo_jingban"))
    assert ack.stage == "hearing"
    assert await events(pool, "FILED-1") == [
        "accepted",
        "relatives_declared",
        "verification_requested",
        "verification_result",
        "home_visit",
        "neighbour_interview",
        "home_visit",
    ]
    assert await pool.fetchval("select relatives_match from cases where case_id = 'FILED-1'") is True
    await h.terminate("test over")


async def test_investigators_are_caseworkers_or_district_officers_of_the_place(
    review_env: WorkflowEnvironment, pool: asyncpg.Pool
) -> None:
    h = await start_with(review_env, "TEAM-1")
    s = await until_stage(h, "investigation")
    today = s.clock.accepted_on
    jingban = actor("shipo_jingban")
    refusals = [
        (
            visit_by(jingban, today, ["shipo_jingban", "shipo_cun1"]),
            "incomplete",
            "入户调查至少需要 2 名调查人员，现为 1 名（村（社区）干部只能协助，不计入调查人员："
            "石婆店镇示范村一 村干部 刘芳（shipo_cun1））",
        ),
        (
            visit_by(jingban, today, ["shipo_jingban", "qu_jiandu"]),
            "invalid",
            "区监督员 周敏（qu_jiandu）是区民政局监督员，不能担任调查人员（调查人员须为乡镇经办人或区民政局工作人员）",
        ),
        (
            visit_by(jingban, today, ["shipo_jingban", "shipo_shenpi"]),
            "invalid",
            "石婆店镇审批人 张华（shipo_shenpi）是乡镇审批人，不能担任调查人员"
            "（调查人员须为乡镇经办人或区民政局工作人员）",
        ),
        (
            visit_by(jingban, today, ["shipo_jingban", "shunhe_jingban"]),
            "invalid",
            "顺河镇经办人 赵磊（shunhe_jingban）不负责该案件所在地，不能参加本案入户调查",
        ),
        (
            visit_by(jingban, today, ["shipo_jingban", "shipo_diaocha"], ("shipo_shenpi",)),
            "invalid",
            "石婆店镇审批人 张华（shipo_shenpi）是乡镇审批人，不能列为协助人员（协助人员须为村（社区）干部）",
        ),
        (
            visit_by(jingban, today, ["shipo_jingban", "王强"]),
            "invalid",
            "调查人员须为本系统在职工作人员（填写用户名）：王强",
        ),
        (  # a payload whose users the web app did not resolve (as recorded before): nobody is known
            home_visit(today).model_copy(update={"investigator_staff": []}),
            "invalid",
            "调查人员须为本系统在职工作人员（填写用户名）：shipo_jingban、shipo_diaocha",
        ),
        (
            visit_by(actor("shipo_cun1"), today, ["shipo_jingban", "qu_minzheng"]),
            "invalid",
            "填报人须为调查人员或协助人员之一",
        ),
    ]
    for visit, code, message in refusals:
        err = await refused(h, Action.HOME_VISIT, visit)
        assert (err.type, err.message) == (code, message)
    # The cadre records the visit she assisted in, with the two caseworkers who made it.
    visit = visit_by(actor("shipo_cun1"), today, ["shipo_jingban", "shipo_diaocha"], ("shipo_cun1",))
    ack = await act(h, Action.HOME_VISIT, visit)
    assert ack.event_key == "0003-home_visit"
    payload = await pool.fetchval("select payload from case_events where event_key = '0003-home_visit'")
    assert (payload["investigators"], payload["assistants"]) == (["shipo_jingban", "shipo_diaocha"], ["shipo_cun1"])
    assert payload["summary"] == (
        f"入户调查（{today}）：调查人员 shipo_jingban、shipo_diaocha；协助人员 shipo_cun1；家庭成员签字 王大山"
    )
    assert (await state(h)).investigators == ["shipo_diaocha", "shipo_jingban"]
    await h.terminate("test over")


async def _written(pool: asyncpg.Pool, case_id: str, last: str) -> list[str] | None:
    """The case's event kinds once the one named `last` is written, else None."""
    kinds = await events(pool, case_id)
    return kinds if last in kinds else None
