"""What the decision is checked against: the tekun criteria (民发〔2021〕43号) and the dibao means test with
its limits, under the time-skipping server with exact amounts."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import asyncpg
import pytest

from db import policy_repo
from rules.stages import Action
from schemas.people import Household, Member, Relation
from schemas.policy import Policy, TekunPolicy
from schemas.review import Application, AssistanceType, Channel, Decision
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.factories import actor, resident_id
from tests.support.review import (
    act,
    hearing,
    home_visit,
    interview,
    refused,
    start,
    state,
    until_stage,
    verification,
)

ACCEPTED = date(2026, 11, 24)


def tekun(app_id: str, members: list[Member]) -> Application:
    return Application(
        application_id=app_id,
        assistance_type=AssistanceType.TEKUN,
        channel=Channel.COUNTER,
        household=Household(
            township_code="341503106",
            village_code="341503106201",
            address="石婆店镇示范村一 李家湾 3 号",
            hukou_type="rural",
            members=members,
        ),
    )


async def to_decision(h, income: str = "0.00", assets_ok: bool = True) -> None:
    await until_stage(h, "investigation")
    await act(h, Action.VERIFICATION_RESULT, verification(income, assets_ok))
    await act(h, Action.HOME_VISIT, home_visit(ACCEPTED))
    await act(h, Action.NEIGHBOUR_INTERVIEW, interview(ACCEPTED))
    await act(h, Action.HEARING, hearing(ACCEPTED))
    assert (await state(h)).stage == "decision"


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
async def test_tekun_pays_the_person_who_qualifies(review_env: SkippingEnvironment) -> None:
    """A 70-year-old living with an able-bodied 50-year-old spouse, no income: 938.00 for the 70-year-old."""
    app = tekun(
        "TEKUN-70",
        [
            Member(name="李老汉", id_number=resident_id(date(1956, 5, 1)), relation=Relation.SELF),
            Member(name="张桂英", id_number=resident_id(date(1976, 3, 8)), relation=Relation.SPOUSE),
        ],
    )
    h = await start(review_env, app=app)
    await to_decision(h)
    s = await state(h)
    assert s.proposed_amount == Decimal("938.00")
    assert (s.eligibility.holds, s.eligibility.qualifying) == (True, ["李老汉"])
    assert [(c.code, c.holds) for c in s.eligibility.criteria] == [
        ("no_working_capacity", True),
        ("no_means", True),
        ("no_supporter", True),
    ]
    ack = await act(h, Action.DECISION, Decision(actor=actor("shipo_shenpi"), approve=True))
    assert ack.stage in ("decision", "public_notice")
    assert (await until_stage(h, "public_notice")).decision.approve


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
async def test_tekun_care_standard_is_added_by_self_care(review_env: SkippingEnvironment) -> None:
    app = tekun(
        "TEKUN-CARE",
        [Member(name="李老汉", id_number=resident_id(date(1950, 1, 1)), relation=Relation.SELF, self_care="partial")],
    )
    h = await start(review_env, app=app)
    await to_decision(h)
    s = await state(h)
    partial = Decimal("300.00")  # the policy's 半护理 standard (a placeholder default the district sets)
    assert s.proposed_amount == Decimal("938.00") + partial == Decimal("1238.00")


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
async def test_an_able_bodied_35_year_old_is_not_tekun(review_env: SkippingEnvironment) -> None:
    app = tekun("TEKUN-35", [Member(name="赵强", id_number=resident_id(date(1991, 6, 1)), relation=Relation.SELF)])
    h = await start(review_env, app=app)
    await to_decision(h)
    err = await refused(h, Action.DECISION, Decision(actor=actor("shipo_shenpi"), approve=True))
    assert err.type == "criteria_not_met"
    assert err.message.startswith("不符合特困人员认定条件：不符合「无劳动能力」（")
    assert "35 岁" in err.message
    # refusing it is the approver's to do
    ack = await act(
        h, Action.DECISION, Decision(actor=actor("shipo_shenpi"), approve=False, reasons="具有劳动能力，不符合特困条件")
    )
    assert ack.stage in ("decision", "refused")


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
@pytest.mark.parametrize("counts", [True, False], ids=["illness-counts", "illness-left-out"])
async def test_a_serious_illness_counts_as_no_working_capacity_only_where_the_cases_policy_says_so(
    review_env: SkippingEnvironment, pool: asyncpg.Pool, counts: bool
) -> None:
    """A 45-year-old whose only ground is a documented serious illness, under a policy version in force on the day
    of acceptance (version 2 from 2026-11-01) that counts serious illness, or leaves it out (民发〔2021〕43号 leaves
    it to the provinces): 938.00 yuan, or no working capacity and the approval refused."""
    version = Policy(
        version=2,
        effective_from=date(2026, 11, 1),
        note="重病是否视为无劳动能力",
        tekun=TekunPolicy(serious_illness_counts=counts),
    )
    async with pool.acquire() as conn:
        await policy_repo.add(conn, version, "admin")
    app = tekun(
        "TEKUN-ILL",
        [
            Member(
                name="钱七",
                id_number=resident_id(date(1981, 6, 1)),
                relation=Relation.SELF,
                serious_illness="尿毒症长期透析",
            )
        ],
    )
    h = await start(review_env, app=app)
    await to_decision(h)
    s = await state(h)
    capacity = s.eligibility.criteria[0]
    approve = Decision(actor=actor("shipo_shenpi"), approve=True)
    if counts:
        assert (capacity.code, capacity.holds, capacity.reason) == (
            "no_working_capacity",
            True,
            "申请人 钱七 患重病：尿毒症长期透析",
        )
        assert (s.eligibility.holds, s.eligibility.qualifying, s.proposed_amount) == (True, ["钱七"], Decimal("938.00"))
        await act(h, Action.DECISION, approve)
        assert (await until_stage(h, "public_notice")).decision.approve
        return
    reason = (
        "申请人 钱七 45 岁（已满 16 岁、未满 60 岁），患重病“尿毒症长期透析”，现行政策未将重病纳入无劳动能力认定范围"
    )
    assert (capacity.code, capacity.holds, capacity.reason) == ("no_working_capacity", False, reason)
    assert (s.eligibility.holds, s.eligibility.qualifying, s.proposed_amount) == (False, [], Decimal("0.00"))
    err = await refused(h, Action.DECISION, approve)
    assert (err.type, err.message) == ("criteria_not_met", f"不符合特困人员认定条件：不符合「无劳动能力」（{reason}）")


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
async def test_a_failed_asset_check_goes_to_the_district(review_env: SkippingEnvironment) -> None:
    h = await start(review_env, "ASSETS-1")
    await to_decision(h, income="600.00", assets_ok=False)
    s = await state(h)
    assert s.eligibility.needs_district and s.proposed_amount == Decimal("1566.00")
    approve = Decision(actor=actor("shipo_shenpi"), approve=True, category="B")
    err = await refused(h, Action.DECISION, approve)
    assert err.type == "incomplete" and err.message.endswith("须书面说明理由后报区民政局审核确认，或不予批准")
    reason = "车辆为残疾人代步车，价值较低"
    ack = await act(h, Action.DECISION, approve.model_copy(update={"override_reason": reason}))
    assert ack.stage == "decision"
    s = await state(h)
    assert (s.district_approval, s.decision, s.timeline[-1].kind) == (True, None, "referred_to_district")
    err = await refused(h, Action.DECISION, approve.model_copy(update={"override_reason": reason}))
    assert err.type == "wrong_role"  # the district's now
    officer = Decision(actor=actor("qu_minzheng"), approve=True, category="B", override_reason=reason)
    err = await refused(h, Action.DECISION, officer.model_copy(update={"monthly_amount": Decimal("2166.01")}))
    assert (err.type, err.message) == ("invalid", "核定金额不得超过 2166.00 元（政策规定的上限）")  # 722 × 3
    await act(h, Action.DECISION, officer)
    s = await until_stage(h, "public_notice")
    [decided] = [e for e in s.timeline if e.kind == "decision"]
    assert (decided.payload["means_test_override"], decided.payload["proposed_amount"]) == (True, "1566.00")
