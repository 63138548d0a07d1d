"""Alembic migrations up and down on a real (embedded) PostgreSQL, and the constraints they set."""

from __future__ import annotations

from datetime import UTC, date, datetime

import asyncpg
import pytest

from db import cases_repo, policy_repo
from db.migrate import downgrade, upgrade
from db.pool import connect
from schemas.policy import ApprovalLevel, Policy
from schemas.review import CaseEvent
from tests.support.system import new_database


async def test_upgrade_from_empty_then_down_and_up_again(pg_server: str) -> None:
    async with new_database(pg_server, "mig_test") as url:
        upgrade(url)
        conn = await asyncpg.connect(url)
        tables = {r["tablename"] for r in await conn.fetch("select tablename from pg_tables where schemaname='public'")}
        assert {
            "places",
            "users",
            "staff_relatives",
            "households",
            "household_members",
            "cases",
            "case_events",
            "recipients",
            "notifications",
            "calendar_days",
            "calendar_years",
            "policy_versions",
        } <= tables
        pilots = {r["name"] for r in await conn.fetch("select name from places where is_pilot and level='township'")}
        assert pilots == {"石婆店镇", "顺河镇", "鼓楼街道"}
        assert await conn.fetchval("select code from places where level='district'") == "341503"
        await conn.close()
        downgrade(url, "base")
        conn = await asyncpg.connect(url)
        assert (
            await conn.fetchval("select count(*) from pg_tables where schemaname='public' and tablename='cases'") == 0
        )
        await conn.close()
        upgrade(url)
        upgrade(url)  # idempotent


async def test_event_log_is_unique_per_case_and_key(db_url: str) -> None:
    conn = await connect(db_url)
    try:
        await conn.execute(
            "insert into cases (case_id, workflow_id, assistance_type, township_code, applicant_name, "
            "applicant_id_masked, channel, policy_version, stage, accepted_at) values "
            "('C1', 'review-C1', 'dibao', '341503106', '张三', '110105********002X', 'counter', 1, 'accepted', now())"
        )
        insert = (
            "insert into case_events (case_id, event_key, kind, occurred_at) values ('C1', 'k1', 'accepted', now())"
        )
        await conn.execute(insert)
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(insert)
    finally:
        await conn.close()


_CASE = (
    "insert into cases (case_id, workflow_id, assistance_type, township_code, applicant_name, applicant_id_masked, "
    "channel, policy_version, stage, accepted_at) values "
    "($1, 'review-' || $1, 'dibao', '341503106', '张三', '110105********002X', 'counter', 1, 'investigation', now())"
)
_EVENT = (
    "insert into case_events (case_id, event_key, kind, payload, occurred_at) values ($1, $2, $3, $4, $5) "
    "on conflict (case_id, event_key) do nothing"
)
_PROGRESS = (
    "select paused, district_visit_done, barred_users, home_visit_at > coalesce(reinvestigate_at, '-infinity') "
    "as visit_counts, neighbour_at from cases where case_id = $1"
)


def _at(hour: int) -> datetime:
    return datetime(2026, 11, 2, hour, tzinfo=UTC)


async def _append(conn: asyncpg.Connection, case_id: str, key: str, kind: str, payload: dict, at: datetime) -> None:
    await cases_repo.append_events(
        conn, [CaseEvent(case_id=case_id, event_key=key, kind=kind, payload=payload, occurred_at=at)]
    )


async def test_case_progress_follows_the_event_log(db_url: str) -> None:
    """Every writer of the event log keeps the inbox's columns (`rules.progress`, through
    `cases_repo.append_events`): the later of pause and resumption wins whatever the insertion order, a
    reinvestigation objection undoes earlier visits, barred staff add up, and a replayed insert changes
    nothing."""
    conn = await connect(db_url)
    try:
        await conn.execute(_CASE, "P1")
        assert dict(await conn.fetchrow(_PROGRESS, "P1")) == {
            "paused": False,
            "district_visit_done": False,
            "barred_users": [],
            "visit_counts": None,
            "neighbour_at": None,
        }
        await _append(conn, "P1", "1", "missing_materials", {}, _at(1))
        assert (await conn.fetchrow(_PROGRESS, "P1"))["paused"] is True
        await _append(conn, "P1", "3", "materials_supplied", {}, _at(3))
        await _append(conn, "P1", "2", "missing_materials", {}, _at(2))  # late arrival of an older event
        assert (await conn.fetchrow(_PROGRESS, "P1"))["paused"] is False

        await _append(conn, "P1", "4", "home_visit", {"by_district": True}, _at(4))
        await _append(conn, "P1", "5", "neighbour_interview", {}, _at(5))
        row = await conn.fetchrow(_PROGRESS, "P1")
        assert row["visit_counts"] is True and row["district_visit_done"] is True and row["neighbour_at"] == _at(5)
        await _append(conn, "P1", "6", "objection", {"route": "reinvestigate"}, _at(6))
        assert (await conn.fetchrow(_PROGRESS, "P1"))["visit_counts"] is False
        await _append(conn, "P1", "7", "home_visit", {"by_district": False}, _at(7))
        assert (await conn.fetchrow(_PROGRESS, "P1"))["visit_counts"] is True

        await _append(conn, "P1", "8", "relatives_matched", {"barred": [{"username": "b"}]}, _at(8))
        await _append(conn, "P1", "9", "relatives_matched", {"barred": [{"username": "a"}]}, _at(9))
        await _append(conn, "P1", "9", "missing_materials", {}, _at(10))  # replay: same key, not inserted
        row = await conn.fetchrow(_PROGRESS, "P1")
        assert row["barred_users"] == ["a", "b"] and row["paused"] is False
        assert await conn.fetchval("select relatives_match from cases where case_id = 'P1'") is True

        # A write scheduled before the actions got one name, retried after: stored under the new name.
        await _append(conn, "P1", "0011-materials_missing", "materials_missing", {}, _at(11))
        assert (await conn.fetchrow(_PROGRESS, "P1"))["paused"] is True
        assert (
            await conn.fetchval(
                "select event_key from case_events where kind = 'missing_materials' and occurred_at = $1", _at(11)
            )
            == "0011-missing_materials"
        )
    finally:
        await conn.close()


async def test_case_progress_is_filled_in_for_existing_cases(pg_server: str) -> None:
    """Cases recorded before migration 0011 get their progress from their event log."""
    async with new_database(pg_server, "mig_progress") as url:
        upgrade(url, "0010")
        conn = await connect(url)
        await policy_repo.ensure_default(conn)
        await conn.execute(_CASE, "OLD")
        await conn.execute(_EVENT, "OLD", "1", "materials_missing", {}, _at(1))
        await conn.execute(_EVENT, "OLD", "2", "home_visit", {"by_district": True}, _at(2))
        await conn.execute(_EVENT, "OLD", "3", "relatives_matched", {"barred": [{"username": "x"}]}, _at(3))
        await conn.close()
        upgrade(url)
        conn = await connect(url)
        row = await conn.fetchrow(_PROGRESS, "OLD")
        assert row["paused"] is True and row["district_visit_done"] is True and row["visit_counts"] is True
        assert row["barred_users"] == ["x"]
        await conn.close()


async def test_relatives_history_downgrade_drops_withdrawn_entries(pg_server: str) -> None:
    """Migration 0012 lets a withdrawn relative be declared again; going back to 0011 keeps the current
    entries and restores the one-entry-per-person constraint."""
    insert = (
        "insert into staff_relatives (user_id, relative_name, relative_id_number, relation) "
        "values ($1, '王母', '11010519491231002X', '父母') returning id"
    )
    async with new_database(pg_server, "mig_relatives") as url:
        upgrade(url)
        conn = await connect(url)
        uid = await conn.fetchval(
            "insert into users (username, full_name, role, place_code, password_hash) "
            "values ('u1', '某人', 'township_caseworker', '341503106', 'x') returning id"
        )
        first = await conn.fetchval(insert, uid)
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(insert, uid)
        await conn.execute("update staff_relatives set removed_at = now(), removed_by = 'u1' where id = $1", first)
        current = await conn.fetchval(insert, uid)
        await conn.close()
        downgrade(url, "0011")
        conn = await connect(url)
        assert [r["id"] for r in await conn.fetch("select id from staff_relatives")] == [current]
        with pytest.raises(asyncpg.UniqueViolationError):
            await conn.execute(insert, uid)
        await conn.close()
        upgrade(url)


async def test_event_kinds_take_their_action_names_and_the_trigger_goes(pg_server: str) -> None:
    """Migration 0014 renames the kinds of events recorded before (and their keys' suffix) and drops the
    progress trigger; its downgrade puts both back."""
    trigger = "select count(*) from pg_trigger where tgname = 'case_events_progress'"
    async with new_database(pg_server, "mig_actions") as url:
        upgrade(url, "0013")
        conn = await connect(url)
        await policy_repo.ensure_default(conn)
        await conn.execute(_CASE, "OLD")
        await conn.execute(_EVENT, "OLD", "0004-materials_missing", "materials_missing", {}, _at(1))
        await conn.execute(_EVENT, "OLD", "0009-taken_over", "taken_over", {}, _at(2))
        await conn.execute(_EVENT, "OLD", "0010-decision", "decision", {}, _at(3))
        await conn.close()
        upgrade(url)
        conn = await connect(url)
        kinds = "select event_key, kind from case_events where case_id = 'OLD' order by occurred_at"
        assert [tuple(r) for r in await conn.fetch(kinds)] == [
            ("0004-missing_materials", "missing_materials"),
            ("0009-take_over", "take_over"),
            ("0010-decision", "decision"),
        ]
        assert await conn.fetchval(trigger) == 0
        await conn.close()
        downgrade(url, "0013")
        conn = await connect(url)
        assert [r["kind"] for r in await conn.fetch(kinds)] == ["materials_missing", "taken_over", "decision"]
        assert await conn.fetchval(trigger) == 1
        await conn.close()


PILOTS = ("341503106", "341503104", "341503001")


def old_default(**review: object) -> Policy:
    """The built-in default before the pilot units came first: every township approves its own cases."""
    body = Policy().model_dump(mode="json")
    body["review"] |= {"default_approval_level": "township", "approval_level_by_township": {}} | review
    return Policy.model_validate(body)


async def install(url: str, *versions: Policy) -> None:
    """The database at migration 0014 with these policy versions and one case under version 1."""
    upgrade(url, "0014")
    conn = await connect(url)
    try:
        for policy in versions:
            await policy_repo.add(conn, policy, "system")
        await conn.execute(_CASE.replace("'341503106'", "'341503107'"), "OLD")
    finally:
        await conn.close()


async def test_an_untouched_old_default_gets_the_pilot_first_version_from_today(
    pg_server: str, beijing_clock: datetime
) -> None:
    """Migration 0015: a database whose only version is the old default gets version 2, effective today, that
    delegates the approval to the pilot units only; version 1 and the cases under it stay as they were."""
    async with new_database(pg_server, "mig_pilot") as url:
        await install(url, old_default())
        upgrade(url)
        conn = await connect(url)
        try:
            versions = await policy_repo.list_versions(conn)
            assert [(v.version, v.effective_from, v.note, v.created_by) for v in versions] == [
                (1, date(2021, 1, 1), "裕安区社会救助综合改革试点默认参数", "system"),
                (2, date(2026, 11, 24), "试点先行：审核确认权限先下放至石婆店镇、顺河镇、鼓楼街道", "system"),
            ]
            v1, v2 = await policy_repo.get(conn, 1), await policy_repo.get(conn, 2)
            assert v1 == old_default()
            assert v2.review.default_approval_level is ApprovalLevel.DISTRICT
            assert v2.review.approval_level_by_township == dict.fromkeys(PILOTS, ApprovalLevel.TOWNSHIP)
            assert v2.review.approval_level("341503107") is ApprovalLevel.DISTRICT
            assert v1.review.approval_level("341503107") is ApprovalLevel.TOWNSHIP  # the case's version, kept
            assert await conn.fetchval("select policy_version from cases where case_id = 'OLD'") == 1
            same = {"version": 1, "effective_from": v1.effective_from, "note": v1.note, "review": v1.review}
            assert v2.model_copy(update=same) == v1  # nothing else changed
            assert v2 == Policy(version=2, effective_from=date(2026, 11, 24), note=v2.note)  # the new default
        finally:
            await conn.close()
        downgrade(url, "0014")  # the version stays: versions are immutable
        upgrade(url)  # and no third one comes
        conn = await connect(url)
        assert await conn.fetchval("select count(*) from policy_versions") == 2
        await conn.close()


@pytest.mark.parametrize(
    "versions",
    [
        pytest.param((old_default(notice_length=5),), id="other numbers"),
        pytest.param((old_default(approval_level_by_township={"341503105": "district"}),), id="other levels"),
        pytest.param((old_default(), Policy(version=2, effective_from=date(2026, 1, 1))), id="a later version"),
    ],
)
async def test_a_changed_policy_is_left_to_its_administrator(
    pg_server: str, beijing_clock: datetime, versions: tuple[Policy, ...]
) -> None:
    async with new_database(pg_server, "mig_changed") as url:
        await install(url, *versions)
        upgrade(url)
        conn = await connect(url)
        try:
            assert [await policy_repo.get(conn, v.version) for v in versions] == list(versions)
            assert await conn.fetchval("select count(*) from policy_versions") == len(versions)
        finally:
            await conn.close()


async def test_a_fresh_database_gets_the_pilot_first_default_as_version_1(pg_server: str) -> None:
    async with new_database(pg_server, "mig_fresh") as url:
        upgrade(url)
        conn = await connect(url)
        try:
            assert await policy_repo.ensure_default(conn)
            [v1] = await policy_repo.list_versions(conn)
            policy = await policy_repo.get(conn, 1)
            assert (v1.version, v1.effective_from) == (1, date(2021, 1, 1))
            assert policy.review.approval_level_by_township == dict.fromkeys(PILOTS, ApprovalLevel.TOWNSHIP)
            assert policy.review.default_approval_level is ApprovalLevel.DISTRICT
        finally:
            await conn.close()


_IMPORTED = """
with i as (insert into roster_imports (file_sha256, filename, imported_by, households, members, imported_at)
           values ($1, 'r.csv', 'admin', 1, 1, $2) returning id)
insert into roster_households (applicant_id_number, assistance_type, case_id, import_id)
select $1, 'dibao', $1, id from i
"""


async def test_households_imported_before_get_the_first_month_jiuzhu_pays_them(pg_server: str) -> None:
    """Migration 0035: an imported household's `paid_from` by its import's Beijing day and the payroll day in force
    (the 10th): imported on 03-10 (Beijing) paid from March, on 03-11 from April; a reviewed one keeps none."""
    async with new_database(pg_server, "mig_paid_from") as url:
        upgrade(url, "0034")
        conn = await connect(url)
        await policy_repo.ensure_default(conn)
        imported = {"A": datetime(2027, 3, 10, 15, 59, tzinfo=UTC), "B": datetime(2027, 3, 10, 16, 0, tzinfo=UTC)}
        for case_id in ("A", "B", "R"):
            await conn.execute(_CASE, case_id)
            await conn.execute(
                "insert into recipients (case_id, assistance_type, township_code, monthly_amount_fen, people, "
                "first_payment_month, decided_at) values ($1, 'dibao', '341503106', 60000, 1, '2019-05-01', now())",
                case_id,
            )
        for case_id, at in imported.items():
            await conn.execute(_IMPORTED, case_id, at)
        await conn.close()
        upgrade(url)
        conn = await connect(url)
        rows = await conn.fetch("select case_id, paid_from from recipients order by case_id")
        assert [tuple(r) for r in rows] == [("A", date(2027, 3, 1)), ("B", date(2027, 4, 1)), ("R", None)]
        await conn.close()


async def test_the_active_register_fills_recipient_people_and_the_earlier_decision_keeps_a_person(
    pg_server: str,
) -> None:
    """Migration 0035: each member of an active household under its kind; a person active twice already (two
    households) is kept by the earlier decision, the later one escalated to the district; a stopped household holds
    nobody; then the triggers follow."""
    async with new_database(pg_server, "mig_people") as url:
        upgrade(url, "0034")
        conn = await connect(url)
        await policy_repo.ensure_default(conn)
        households = {}
        for case_id, people, status, decided in (
            ("LATER", ["P1", "P2"], "active", datetime(2026, 6, 1, tzinfo=UTC)),
            ("EARLIER", ["P2", "P3"], "active", datetime(2026, 5, 1, tzinfo=UTC)),
            ("STOPPED", ["P4"], "stopped", datetime(2026, 4, 1, tzinfo=UTC)),
        ):
            households[case_id] = await conn.fetchval(
                "insert into households (township_code, address, hukou_type) values ('341503106', '-', 'rural') "
                "returning id"
            )
            for p in people:
                await conn.execute(
                    "insert into household_members (household_id, name, id_number, relation) "
                    "values ($1, '-', $2, 'self')",
                    households[case_id],
                    p,
                )
            await conn.execute(_CASE, case_id)
            await conn.execute(
                "insert into recipients (case_id, household_id, assistance_type, township_code, monthly_amount_fen, "
                "people, first_payment_month, decided_at, status) values ($1, $2, 'dibao', '341503106', 60000, 1, "
                "'2026-06-01', $3, $4)",
                case_id,
                households[case_id],
                decided,
                status,
            )
        await conn.close()
        upgrade(url)
        conn = await connect(url)
        people = "select case_id, id_number from recipient_people where stopped_at is null order by id_number"
        assert [tuple(r) for r in await conn.fetch(people)] == [("LATER", "P1"), ("EARLIER", "P2"), ("EARLIER", "P3")]
        # The later household is the district's to settle: an escalation on its case, and a notice.
        flagged = await conn.fetch("select case_id, escalation_key, kind from escalations")
        assert [tuple(r) for r in flagged] == [("LATER", "duplicate-recipient-LATER", "duplicate_recipient")]
        told = await conn.fetch("select case_id, audience, body from notifications")
        assert [tuple(r) for r in told] == [
            (
                "LATER",
                "role:district_officer@341503",
                "案件 LATER：家庭成员同时是另一户的在册救助对象（同一人重复享受同类救助），请区民政局核实处理",
            )
        ]
        await conn.execute("update recipients set status = 'stopped', stopped_at = now() where case_id = 'EARLIER'")
        await conn.execute("update recipients set status = 'active', stopped_at = null where case_id = 'STOPPED'")
        assert [tuple(r) for r in await conn.fetch(people)] == [("LATER", "P1"), ("STOPPED", "P4")]


async def test_open_rows_get_their_provisional_limits_from_the_calendar(pg_server: str) -> None:
    """Migration 0038: the open requests, referrals, complaints and discovery tasks recorded before get 暂定 where a
    year their limit runs through has no holiday notice, built in (up to 2026 here) or imported (2027 here)."""
    async with new_database(pg_server, "mig_provisional") as url:
        upgrade(url, "0034")
        conn = await connect(url)
        await conn.execute("insert into calendar_years (year, source) values (2027, '测试：2027 年放假安排')")
        request = (
            "insert into frontdoor_requests (request_no, workflow_id, kind, channel, name, id_number, id_masked, "
            "phone, township_code, description, status, answer_due, created_at) values ($1, 'intake-' || $1, 'help', "
            "'portal', '周九', '11010519491231002X', '110105********002X', '13905641111', '341503106', '生活困难', $2, "
            "$3, $4)"
        )
        # into 2028, a year without a notice; within 2027, whose notice is imported; closed: left as it is
        await conn.execute(request, "R-2028", "received", date(2028, 1, 6), datetime(2027, 12, 30, 2, tzinfo=UTC))
        await conn.execute(request, "R-2027", "triaged", date(2027, 6, 8), datetime(2027, 6, 1, 2, tzinfo=UTC))
        await conn.execute(request, "R-CLOSED", "closed", date(2028, 1, 6), datetime(2027, 12, 30, 2, tzinfo=UTC))
        await conn.execute(
            "insert into referrals (referral_id, workflow_id, request_no, need, help_kind, bureau, township_code, "
            "name, id_masked, accept_due, result_due, delivered_at) values ('ZJ-1', 'referral-ZJ-1', 'R-2028', "
            "'medical_costs', '医疗救助', 'medical', '341503106', '周九', '110105********002X', $1, $2, $3)",
            date(2027, 12, 31),
            date(2028, 1, 20),
            datetime(2027, 12, 29, 16, 30, tzinfo=UTC),
        )
        await conn.execute(
            "insert into complaints (complaint_no, workflow_id, complainant, phone, township_code, content, unit_code, "
            "accept_due, conclude_due, created_at) values ('TS-1', 'complaint-TS-1', '赵六', '13905642222', "
            "'341503106', '评议不公开', '341503106', $1, $2, $3)",
            date(2027, 12, 31),
            date(2028, 2, 28),
            datetime(2027, 12, 16, 2, tzinfo=UTC),
        )
        await conn.execute(
            "insert into discovery_tasks (task_id, id_number, name, kind, signal_on, township_code, created_on, "
            "quiet_until, status, visit_due) values ('FX-1', '11010519491231002X', '周九', 'large_medical', $1, "
            "'341503106', $1, $2, 'open', $3)",
            date(2026, 12, 28),
            date(2027, 3, 28),
            date(2027, 1, 12),
        )
        await conn.close()
        upgrade(url)
        conn = await connect(url)
        requests = await conn.fetch("select request_no, answer_provisional from frontdoor_requests order by 1")
        assert [tuple(r) for r in requests] == [("R-2027", False), ("R-2028", True), ("R-CLOSED", False)]
        referral = await conn.fetchrow("select accept_provisional, result_provisional from referrals")
        assert tuple(referral) == (False, True)
        complaint = await conn.fetchrow("select accept_provisional, conclude_provisional from complaints")
        assert tuple(complaint) == (False, True)
        # from 2026 (built in) into 2027 (imported)
        assert await conn.fetchval("select visit_provisional from discovery_tasks") is False
        await conn.close()
        downgrade(url, "0034")
        upgrade(url)
