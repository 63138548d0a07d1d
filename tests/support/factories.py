"""Test data: valid resident IDs, demo actors and a real-looking application."""

from __future__ import annotations

import itertools
from datetime import date
from decimal import Decimal

from schemas.identity import complete_resident_id
from schemas.people import Household, Income, Member, Relation
from schemas.relatives import DeclaredRelative
from schemas.review import Application, AssistanceType, Channel
from schemas.staff import Actor, Role, StaffRef
from tests.support.calendar import law_days

_seq = itertools.count(11)


def resident_id(birth: date, area: str = "341503", seq: int | None = None) -> str:
    """A valid ID number (GB 11643: the check character by `schemas.identity`, the one place that computes it)."""
    return complete_resident_id(f"{area}{birth:%Y%m%d}{(seq if seq is not None else next(_seq)) % 1000:03d}")


# The demo users of the tests: (full name, role, jurisdiction) by user name.
PEOPLE = {
    "shipo_jingban": ("石婆店镇经办人 李娟", Role.TOWNSHIP_CASEWORKER, "341503106"),
    "shipo_diaocha": ("石婆店镇经办人 王强", Role.TOWNSHIP_CASEWORKER, "341503106"),
    "shipo_shenpi": ("石婆店镇审批人 张华", Role.TOWNSHIP_APPROVER, "341503106"),
    "shipo_cun1": ("石婆店镇示范村一 村干部 刘芳", Role.VILLAGE_CADRE, "341503106201"),
    "shunhe_jingban": ("顺河镇经办人 赵磊", Role.TOWNSHIP_CASEWORKER, "341503104"),
    "shunhe_diaocha": ("顺河镇经办人 孙燕", Role.TOWNSHIP_CASEWORKER, "341503104"),
    "qu_minzheng": ("区民政局 陈立", Role.DISTRICT_OFFICER, "341503"),
    "qu_jiandu": ("区监督员 周敏", Role.DISTRICT_SUPERVISOR, "341503"),
}


def actor(username: str) -> Actor:
    name, role, place = PEOPLE[username]
    return Actor(username=username, full_name=name, role=role, place_code=place)


def staff_ref(username: str) -> StaffRef:
    """A demo user as the web app resolves them for a workflow (a home visit's investigators)."""
    return StaffRef.model_validate(actor(username).model_dump(exclude={"bureau"}))


def application(
    app_id: str,
    *,
    kind: AssistanceType = AssistanceType.DIBAO,
    incomes: tuple[str, ...] = ("600.00",),
    members: int = 3,
    declared: tuple[str, ...] = (),
) -> Application:
    people = [Member(name="王大山", id_number=resident_id(date(1968, 3, 2)), relation=Relation.SELF)]
    people += [
        Member(name=f"王小{i}", id_number=resident_id(date(2008 + i, 5, 1)), relation=Relation.CHILD)
        for i in range(1, members)
    ]
    return Application(
        application_id=app_id,
        assistance_type=kind,
        channel=Channel.COUNTER,
        household=Household(
            township_code="341503106",
            village_code="341503106201",
            address="石婆店镇示范村一 王家庄 12 号",
            hukou_type="rural",
            phone="13805641234",
            members=people,
            incomes=[Income(source="agriculture", monthly_amount=Decimal(x)) for x in incomes],
        ),
        declared_relatives=[DeclaredRelative(staff_name=n, relation="兄弟姐妹") for n in declared],
        attachments=["身份证", "户口簿", "家庭经济状况核对授权书"],
    )


def intake_form(csrf: str, name: str, id_number: str) -> dict:
    """The intake page's form (`/cases/new`) for a dibao application of one person at 石婆店镇示范村一."""
    return {
        "csrftoken": csrf,
        "draft_id": "341503106-20261124-a1b2c3",
        "assistance_type": "dibao",
        "channel": "counter",
        "village_code": "341503106201",
        "address": "示范村一 王家庄 12 号",
        "hukou_type": "rural",
        "members-0-name": name,
        "members-0-id_number": id_number,
        "members-0-relation": "self",
        "members-0-able_to_work": "yes",
        "attachments": ["户口簿", "居民身份证"],
    }


# A holiday notice for a year that has none built in (the calendar import's tests)
NOTICE_2030 = {
    "year": 2030,
    "source": "国务院办公厅关于2030年部分节假日安排的通知（测试）",
    # 元旦 with a bridge, and the other statutory weekdays of 2030 (a notice that leaves one out is refused)
    "holidays": [{"date": "2030-01-01", "name": "元旦"}, "2030-01-02", *law_days(2030, "2030-01-01")],
    "workdays": [{"date": "2030-01-05", "name": "元旦调休"}],
}
