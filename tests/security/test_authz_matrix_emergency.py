"""Issue 16, point 11, emergency aid: the places × roles matrix on real workflows (tests/support/authz.py says how
a route's answers are stated). The funds of 石婆店镇示范村一 and 石婆店镇 get their money, events of the village are
registered through the API, paid by the village, escalated and paid by the township; every caller of every place
is tried on each route, the refusals first.

Creation with an existing id: an event number of 石婆店镇示范村一 sent by a second village of the same township, by
another township or by a second district, each with a household of its own, gets 409 `event_id_taken` and the
same words whether the event has its row or was started a moment ago; in the event's own township it attaches
(200, the event as it stands)."""

from __future__ import annotations

import asyncio
import itertools
from datetime import date
from typing import Any

import pytest

from schemas.emergency import EmergencyHousehold, EmergencyKind, EmergencyStart, emergency_workflow_id
from tests.security.conftest import World
from tests.support.authz import (
    D2_TOWN,
    D2_VILLAGE,
    DISTRICT,
    T1,
    T2,
    T2_VILLAGE,
    TOWNSHIP,
    V1,
    V2,
    VILLAGE,
    Matrix,
    Route,
    holders,
    shown_to,
)
from tests.support.clock import beijing
from tests.support.factories import actor, resident_id
from webapp.authz import who

pytestmark = pytest.mark.start_at(beijing(2026, 12, 4, 9, 0))

REGISTRARS = ("shipo_cun1", "shipo_jingban", "shipo_shenpi")
LIVE, PENDING = "JJN-AZ-shipo_cun1", "JJN-AZ-PENDING"
EVENTS = {user: f"JJN-AZ-{user}" for user in REGISTRARS}
READERS = (*VILLAGE, *TOWNSHIP, *DISTRICT)
EVENT_TAKEN = {"code": "event_id_taken", "message": "该事件编号已被使用，请换一个编号或留空由系统生成"}
WRONG_ROLE = (403, "wrong_role")
ELSEWHERE = ("shipo_cun2", "shunhe_cun1", "shunhe_jingban", "shunhe_shenpi", "jinan_jingban", "jinan_cun1")
_people = itertools.count(401)


def _household(user: str) -> dict[str, Any]:
    """A person of their own (one open event per person) in the caller's own village, or 石婆店镇示范村一."""
    town, village = {
        "shipo_cun2": (T1, V2),
        "shunhe_cun1": (T2, T2_VILLAGE),
        "shunhe_jingban": (T2, T2_VILLAGE),
        "shunhe_shenpi": (T2, T2_VILLAGE),
        "jinan_jingban": (D2_TOWN, D2_VILLAGE),
        "jinan_cun1": (D2_TOWN, D2_VILLAGE),
    }.get(user, (T1, V1))
    return {
        "name": "赵六",
        "id_number": resident_id(date(1975, 6, 1), seq=next(_people)),
        "township_code": town,
        "village_code": village,
        "address": "赵家湾 3 号",
        "members": 4,
    }


def _event(event_id: str | None, *, own_place: bool):
    def body(user: str) -> dict[str, Any]:
        household = _household(user) if own_place else _household("shipo_cun1")
        return {
            "kind": "fire",
            "description": "夜间房屋失火，财物烧毁",
            "household": household,
            "event_id": event_id or EVENTS.get(user, f"JJN-AZ-{user}"),
        }

    return body


@pytest.mark.timeout(300)
async def test_emergency_aid_by_place(world: World, matrix: Matrix, review_env) -> None:
    w = world
    problems: list[str] = []

    async def paid() -> list[tuple[str, str, int]]:
        rows = await w.pool.fetch(
            "select event_id, tier, amount_fen from aid_payments where event_id like 'JJN-AZ-%' order by id"
        )
        return [tuple(r) for r in rows]

    async def nothing_paid() -> None:
        assert await paid() == [], await paid()

    # The funds: the village's books are its cadre's (and the administrator's), the township's its approver's.
    for place, bookers in ((V1, ("shipo_cun1", "admin")), (T1, ("shipo_shenpi", "admin"))):
        problems += await matrix.check(
            Route(
                "POST",
                f"/api/funds/{place}/income",
                who("fund.read"),
                ok=bookers,
                status=201,
                json={"amount": "1500.00", "source": "government"},
                # a village cadre has no say over the township's fund, nor sees it
                answers=dict.fromkeys((u for u in READERS if u not in bookers), WRONG_ROLE)
                | ({"shipo_cun1": (403, "out_of_jurisdiction")} if place == T1 else {}),
            )
        )
    # Registering: the village's cadre and the township's staff, for the village's people only.
    problems += await matrix.check(
        Route(
            "POST",
            "/api/emergencies",
            who("emergency.register"),
            ok=REGISTRARS,
            status=201,
            json=_event(None, own_place=False),
        )
    )
    for _ in range(100):
        if await w.pool.fetchval("select count(*) from emergencies where event_id like 'JJN-AZ-%'") == 3:
            break
        await asyncio.sleep(0.1)

    # Creation with an existing id: the live event, and one started a moment ago that has no row yet.
    start = EmergencyStart(
        event_id=PENDING,
        kind=EmergencyKind.FIRE,
        description="夜间房屋失火",
        household=EmergencyHousehold.model_validate(_household("shipo_cun1")),
        registered_by=actor("shipo_cun1"),
        channel="village",
    )
    pending = await review_env.client.start_workflow(
        "EmergencyWorkflow", start, id=emergency_workflow_id(PENDING), task_queue="nobody-polls-this"
    )
    try:
        for event_id in (LIVE, PENDING):
            problems += await matrix.check(
                Route(
                    "POST",
                    "/api/emergencies",
                    who("emergency.register"),
                    ok=REGISTRARS if event_id == LIVE else (),
                    json=_event(event_id, own_place=True),
                    answers=dict.fromkeys(ELSEWHERE, (409, EVENT_TAKEN)),
                    # in its township, the attach waits for the row the pending event (no worker) never writes
                    skip=REGISTRARS if event_id == PENDING else (),
                    effect=shown_to(REGISTRARS, '"event_id":"' + LIVE),
                )
            )
    finally:
        await pending.terminate()
    assert await w.pool.fetchval("select count(*) from emergencies where event_id like 'JJN-AZ-%'") == 3

    # The registration form does the same (a page: 403 for every refusal, the new event's page when done).
    problems += await matrix.check(
        Route(
            "POST",
            "/emergencies/new",
            who("emergency.register"),
            ok=REGISTRARS,
            status=303,
            form=lambda user: (
                {"kind": "fire", "description": "夜间房屋失火"}
                | {k: str(v) for k, v in _household("shipo_cun1").items() if k != "township_code"}
            ),
        )
    )
    assert (
        await w.pool.fetchval(
            "select count(*) from emergencies where registered_by = any($1::text[])", list(REGISTRARS)
        )
        == 6
    )

    # Reading: the event, its page, the lists, the funds' ledgers.
    read = who("emergency.read")
    for url in (f"/api/emergencies/{LIVE}", f"/emergencies/{LIVE}"):
        problems += await matrix.check(Route("GET", url, read, ok=READERS, effect=shown_to(READERS, LIVE)))
    for url in ("/api/emergencies", "/emergencies"):
        problems += await matrix.check(
            Route("GET", url, read, ok=holders(who("emergency.read")), effect=shown_to(READERS, LIVE))
        )
    problems += await matrix.check(Route("GET", f"/api/funds/{V1}", who("fund.read"), ok=(*READERS, "admin")))

    # Paying: the village tier is the village cadre's; escalated, the township's approver pays.
    act = who("emergency.act")
    problems += await matrix.check(
        Route(
            "POST",
            f"/api/emergencies/{LIVE}/actions/approve",
            act,
            ok=("shipo_cun1",),
            json={"tier": "village", "amount": "1000.00"},
            answers=dict.fromkeys(("shipo_jingban", "shipo_shenpi", "qu_minzheng"), WRONG_ROLE),
            unchanged=nothing_paid,
        )
    )
    # The other events get the village's 1000 too: the township's turn comes once the village's cap is used.
    for user in ("shipo_jingban", "shipo_shenpi"):
        route = Route(
            "POST",
            f"/api/emergencies/{EVENTS[user]}/actions/approve",
            act,
            json={"tier": "village", "amount": "1000.00"},
        )
        assert (await matrix.call("shipo_cun1", route)).status_code == 200
    problems += await matrix.check(
        Route(
            "POST",
            lambda user: f"/api/emergencies/{EVENTS.get(user, LIVE)}/actions/escalate",
            act,
            ok=REGISTRARS,
            json={"reason": "超出村级封顶，申报乡镇"},
            answers={"qu_minzheng": WRONG_ROLE},
        )
    )
    problems += await matrix.check(
        Route(
            "POST",
            f"/api/emergencies/{LIVE}/actions/approve",
            act,
            ok=("shipo_shenpi",),
            json={"tier": "township", "amount": "800.00"},
            answers=dict.fromkeys(("shipo_cun1", "shipo_jingban", "qu_minzheng"), WRONG_ROLE),
        )
    )
    assert not problems, f"{len(problems)} mismatches:\n" + "\n".join(problems)
    assert matrix.tried == 221  # every caller on every route above: none left out
    village = [(EVENTS[u], "village", 100000) for u in ("shipo_cun1", "shipo_jingban", "shipo_shenpi")]
    assert await paid() == [*village, (LIVE, "township", 80000)]
    tiers = await w.pool.fetch("select event_id, tier from emergencies where event_id like 'JJN-AZ-%' order by 1")
    assert [tuple(r) for r in tiers] == [(EVENTS[u], "township") for u in sorted(REGISTRARS)]
