"""Issue 16, point 3: a create-or-attach by a client-given id (an emergency event, a case) attaches only within the
caller's jurisdiction; outside it the caller learns that the number is in use, or that the person has an open event,
and nothing else: 409 with a code and a generic message, the same whether the other township's record has its row
yet or not (no name, township, date, description or payment in the answer)."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest
from temporalio.client import WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from schemas.emergency import EmergencyHousehold, EmergencyKind, EmergencyStart, emergency_workflow_id
from schemas.review import workflow_id_for
from schemas.staff import Actor, Role
from tests.security.conftest import SHIPO, SHIPO_VILLAGE, SHUNHE, SHUNHE_VILLAGE, World
from tests.support.clock import beijing
from tests.support.factories import application, resident_id

pytestmark = pytest.mark.start_at(beijing(2026, 12, 4, 9, 0))

EVENT_TAKEN = {"code": "event_id_taken", "message": "该事件编号已被使用，请换一个编号或留空由系统生成"}
OPEN_ELSEWHERE = {
    "code": "open_event_exists",
    "message": "该居民已有未办结的急难事件，办结后方可再次登记；如需继续救助，请联系区民政局",
}
CASE_TAKEN = {"code": "application_id_taken", "message": "该申请编号已被使用，请换一个编号或留空由系统生成"}
# Nothing of 石婆店镇's records may be in an answer to 顺河镇.
TELLS = ("石婆店", "示范村", "赵六", "王大山", "急难户", "申请人", "2026-12", "房屋失火", SHIPO)


def _household(seq: int, town: str = SHIPO, village: str = SHIPO_VILLAGE, id_number: str | None = None) -> dict:
    return {
        "name": "赵六" if town == SHIPO else "钱七",
        "id_number": id_number or resident_id(date(1975, 6, 1), seq=seq),
        "township_code": town,
        "village_code": village,
        "address": "赵家湾 3 号",
        "members": 4,
    }


def _event(event_id: str | None, household: dict) -> dict[str, Any]:
    body = {"kind": "fire", "description": "夜间房屋失火，财物烧毁", "household": household}
    return body | ({"event_id": event_id} if event_id else {})


async def _post(w: World, user: str, url: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
    r = await w.http.post(url, json=body, headers=w.headers[user])
    w.http.cookies.clear()
    return r.status_code, r.json()


def _tells(answer: dict[str, Any]) -> list[str]:
    return [t for t in TELLS if t in str(answer)]


@pytest.mark.timeout(240)
async def test_an_event_id_attaches_in_the_township_and_is_just_taken_elsewhere(world: World, review_env) -> None:
    s = world.seeds
    # the same township: a repeat attaches, 200 with the event as it stands
    status, first = await _post(world, "shipo_cun1", "/api/emergencies", _event("JJN-ATT-0001", _household(701)))
    assert status == 201, first
    status, again = await _post(world, "shipo_jingban", "/api/emergencies", _event("JJN-ATT-0001", _household(701)))
    assert (status, again["event"]["event_id"], again["event"]["applicant_name"], again["payments"]) == (
        200,
        "JJN-ATT-0001",
        "赵六",
        [],
    )
    mine = _household(702, SHUNHE, SHUNHE_VILLAGE)
    # another township's event: with its row (the seed, no workflow), with its workflow, and started a moment ago,
    # before its first activity wrote its row (here: on a queue no worker serves); each the same answer
    pending = EmergencyStart(
        event_id="JJN-ATT-PENDING",
        kind=EmergencyKind.FIRE,
        description="夜间房屋失火",
        household=EmergencyHousehold.model_validate(_household(703)),
        registered_by=Actor(
            username="shipo_cun1", full_name="村干部", role=Role.VILLAGE_CADRE, place_code=SHIPO_VILLAGE
        ),
        channel="village",
    )
    handle = await review_env.client.start_workflow(
        "EmergencyWorkflow", pending, id=emergency_workflow_id("JJN-ATT-PENDING"), task_queue="nobody-polls-this"
    )
    try:
        for event_id in (s.event, "JJN-ATT-0001", "JJN-ATT-PENDING"):
            for user in ("shunhe_cun1", "shunhe_jingban"):
                status, answer = await _post(world, user, "/api/emergencies", _event(event_id, mine))
                assert (status, answer) == (409, EVENT_TAKEN), (event_id, user)
                assert not _tells(answer)
        assert (await handle.describe()).status == WorkflowExecutionStatus.RUNNING  # untouched
    finally:
        await handle.terminate()
    assert await world.pool.fetchval("select count(*) from emergencies where township_code = $1", SHUNHE) == 1
    # the control: a fresh number of 顺河镇's own registers
    status, created = await _post(world, "shunhe_cun1", "/api/emergencies", _event("JJN-ATT-0002", mine))
    assert (status, created["event"]["event_id"]) == (201, "JJN-ATT-0002")


@pytest.mark.timeout(240)
async def test_an_open_event_in_another_township_is_refused_without_a_word_of_it(world: World) -> None:
    s = world.seeds
    await world.pool.execute(
        "update emergencies set applicant_id_number = $1 where event_id = $2", s.person_id, s.event
    )
    moved = _household(0, SHUNHE, SHUNHE_VILLAGE, id_number=s.person_id)  # the person now lives in 顺河镇
    for body in (_event("JJN-ATT-0003", moved), _event(None, moved)):
        status, answer = await _post(world, "shunhe_cun1", "/api/emergencies", body)
        assert (status, answer) == (409, OPEN_ELSEWHERE)
        assert not _tells(answer) and s.event not in str(answer)
    assert await world.pool.fetchval("select count(*) from emergencies") == 2  # the two seeds
    # in its own township the registration answers the open event (200)
    status, answer = await _post(
        world, "shipo_cun1", "/api/emergencies", _event(None, _household(0, id_number=s.person_id))
    )
    assert (status, answer["event"]["event_id"], answer["event"]["applicant_name"]) == (200, s.event, "石婆店急难户")


@pytest.mark.timeout(240)
async def test_a_case_id_attaches_in_the_township_and_is_just_taken_elsewhere(world: World, review_env) -> None:
    s = world.seeds
    own = application("SEC-ATT-CASE-1").model_dump(mode="json")
    status, first = await _post(world, "shipo_jingban", "/api/cases", own)
    assert (status, first["created"]) in ((201, True), (202, True)), first
    status, again = await _post(world, "shipo_jingban", "/api/cases", own)
    assert (status, again["created"], again["case_id"]) == (200, False, "SEC-ATT-CASE-1")
    for case_id in ("SEC-ATT-CASE-1", s.case):  # a running case; a recorded case whose workflow is gone
        body = application(case_id).model_dump(mode="json")
        body["household"] |= {"township_code": SHUNHE, "village_code": SHUNHE_VILLAGE, "address": "顺河镇 1 号"}
        status, answer = await _post(world, "shunhe_jingban", "/api/cases", body)
        assert (status, answer) == (409, CASE_TAKEN), case_id
        assert not _tells(answer)
    # refused before the start: no workflow was started under the recorded case's number
    with pytest.raises(RPCError) as gone:
        await review_env.client.get_workflow_handle(workflow_id_for(s.case)).describe()
    assert gone.value.status == RPCStatusCode.NOT_FOUND
    assert await world.pool.fetchval("select township_code from cases where case_id = $1", s.case) == SHIPO
