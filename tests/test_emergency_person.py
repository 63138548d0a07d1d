"""Issue 15, point 2: caps per person and period, not per event. One open event per person; a later event shows
what the person received in the last 12 months; per event (the default) a repeat within the period waits for
the township's approval before the village pays; per person (policy `caps_per`) the earlier aid counts against
the caps."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import asyncpg
import pytest

from db import policy_repo
from rules.emergency_actions import EmergencyAction
from schemas.emergency import CloseEvent, Escalation, RepeatApproval
from schemas.policy import Policy
from tests.support.actions import update_of
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.emergency import TOWNSHIP, VILLAGE, act, close_paid, fund, pay, start_emergency, state
from tests.support.factories import actor, resident_id
from tests.support.workflows import refused

pytestmark = pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))  # a Tuesday
PERSON = resident_id(date(1975, 6, 1), seq=501)


async def caps_per_person(pool: asyncpg.Pool) -> None:
    """Policy version 2, in force from 2026-01-01: the caps hold per person over 12 months."""
    async with pool.acquire() as conn:
        current = await policy_repo.get(conn, 1)
        emergency = current.emergency.model_dump() | {"caps_per": "person_period"}
        changed = current.model_dump() | {"version": 2, "effective_from": "2026-01-01", "emergency": emergency}
        await policy_repo.add(conn, Policy.model_validate(changed), "test")


def escalation(who: str) -> Escalation:
    return Escalation(actor=actor(who), reason="治疗费用较大")


async def test_one_open_event_and_a_repeat_waits_for_the_township(
    review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await fund(pool, VILLAGE, "5000")
    first = await start_emergency(review_env, "P-1", id_number=PERSON)
    await pay(first, "shipo_cun1", "village", "1000")

    # Registered again while P-1 is open: nothing is registered, the workflow names the open event and ends.
    again = await start_emergency(review_env, "P-2", id_number=PERSON)
    dup = await state(again)  # (not its result: waiting for it lets the server skip to P-1's next timer)
    assert (dup.duplicate_of, dup.status, dup.log, dup.total) == ("P-1", "closed", [], Decimal("0"))
    rows = await pool.fetch("select event_id from emergencies where applicant_id_number = $1", PERSON)
    assert [r["event_id"] for r in rows] == ["P-1"]

    await close_paid(first)
    later = await start_emergency(review_env, "P-3", id_number=PERSON)
    s = await state(later)
    assert s.prior is not None
    assert (s.prior.since, s.prior.village, s.prior.township, s.prior.district) == (
        date(2025, 11, 24),
        Decimal("1000.00"),
        Decimal("0.00"),
        Decimal("0.00"),
    )
    assert [(e.event_id, e.status, e.total) for e in s.prior.events] == [("P-1", "closed", Decimal("1000.00"))]
    assert s.repeat_pending is True
    prior_note = next(e for e in s.log if e["kind"] == "prior_aid")
    assert prior_note["summary"] == (
        "本户（申请人及登记的家庭成员） 2025-11-24 以来已获救助 1000.00 元"
        "（村级 1000.00 元、乡镇 0.00 元、区级 0.00 元；事件 P-1（1000.00 元））"
        "；本次为再次救助，须经乡镇（街道）审批同意后方可由村级发放"
    )

    err = await refused(pay(later, "shipo_cun1", "village", "500"))
    assert (err.type, err.message) == (
        "repeat_needs_township",
        "该户在统计周期内已获救助 1000.00 元，本次为再次救助，须经乡镇（街道）审批同意后方可由村级发放",
    )
    repeat = RepeatApproval(actor=actor("shipo_jingban"), note="同意")
    assert (await refused(act(later, update_of(EmergencyAction.APPROVE_REPEAT), repeat))).type == "wrong_role"
    repeat = RepeatApproval(actor=actor("shipo_shenpi"), note="再次受灾，同意救助")
    ack = await act(later, update_of(EmergencyAction.APPROVE_REPEAT), repeat)
    assert ack.log_key.endswith("-repeat_approved")
    assert (await refused(act(later, update_of(EmergencyAction.APPROVE_REPEAT), repeat))).type == "not_needed"
    # per event (the default): the village's full 1000 again, for this event
    ack = await pay(later, "shipo_cun1", "village", "1000")
    assert (ack.total, ack.payment_key) == (Decimal("1000.00"), "P-3-pay-001")
    assert (await refused(pay(later, "shipo_cun1", "village", "0.01"))).type == "cap_exceeded"
    await later.terminate("test over")


async def test_caps_per_person_count_what_the_period_paid(review_env: SkippingEnvironment, pool: asyncpg.Pool) -> None:
    await caps_per_person(pool)
    await fund(pool, VILLAGE, "5000")
    await fund(pool, TOWNSHIP, "5000")
    first = await start_emergency(review_env, "PP-1", id_number=PERSON)
    await pay(first, "shipo_cun1", "village", "1000")
    await act(first, update_of(EmergencyAction.ESCALATE), escalation("shipo_cun1"))
    await pay(first, "shipo_shenpi", "township", "1500")
    await close_paid(first)

    second = await start_emergency(review_env, "PP-2", id_number=PERSON)
    s = await state(second)
    assert s.prior is not None and (s.prior.village, s.prior.township) == (Decimal("1000.00"), Decimal("1500.00"))
    assert s.repeat_pending is False  # per person, the caps themselves carry the earlier aid
    err = await refused(pay(second, "shipo_cun1", "village", "0.01"))
    assert (err.type, err.message) == (
        "cap_exceeded",
        "村（社区）救急难互助社本人周期内累计封顶，已发放 1000.00 元，还可发放 0.00 元，申请 0.01 元超出；"
        "超出部分请申报乡镇（街道）临时救助",
    )
    ack = await act(
        second, update_of(EmergencyAction.ESCALATE), escalation("shipo_cun1")
    )  # the person's village cap is used
    assert (ack.tier, ack.total) == ("township", Decimal("0"))
    err = await refused(pay(second, "shipo_shenpi", "township", "500.01"))
    assert err.type == "cap_exceeded" and "还可发放 500.00 元" in err.message
    ack = await pay(second, "shipo_shenpi", "township", "500")
    assert ack.total == Decimal("500.00")
    ack = await act(
        second, update_of(EmergencyAction.ESCALATE), escalation("shipo_shenpi")
    )  # 1000 + 2000 in the period
    assert ack.tier == "district"
    escalated = [e["payload"]["grounds"] for e in (await state(second)).log if e["kind"] == "escalated"]
    assert escalated == ["cap_reached", "cap_reached"]
    await second.terminate("test over")


async def test_aid_older_than_the_period_no_longer_counts(review_env: SkippingEnvironment, pool: asyncpg.Pool) -> None:
    await fund(pool, VILLAGE, "5000")
    first = await start_emergency(review_env, "OLD-1", id_number=PERSON)
    await pay(first, "shipo_cun1", "village", "800")  # approved 2026-11-24
    await close_paid(first)

    await review_env.sleep(timedelta(days=365))  # 2027-11-24: the period starts on 2026-11-24, the aid counts
    second = await start_emergency(review_env, "OLD-2", id_number=PERSON)
    s = await state(second)
    assert s.prior is not None and (s.prior.since, s.prior.total) == (date(2026, 11, 24), Decimal("800.00"))
    assert s.repeat_pending is True
    await act(second, update_of(EmergencyAction.CLOSE), CloseEvent(actor=actor("shipo_jingban"), summary="亲属已接济"))

    await review_env.sleep(timedelta(days=1))  # 2027-11-25: 2026-11-24 is outside the period
    third = await start_emergency(review_env, "OLD-3", id_number=PERSON)
    s = await state(third)
    assert s.prior is not None and s.prior.since == date(2026, 11, 25)
    assert [(e.event_id, e.total) for e in s.prior.events] == [("OLD-2", Decimal("0.00"))]  # registered in it
    assert (s.prior.total, s.repeat_pending) == (Decimal("0.00"), False)
    ack = await pay(third, "shipo_cun1", "village", "1000")
    assert ack.total == Decimal("1000.00")
    await third.terminate("test over")
