"""One person on the register once per kind of assistance (audit of the roster import, H3 and L6), on a real
database (and, for acceptance, the HTTP API and intake page with a real worker on the time-skipping server):

- an application for a household with a member who receives that help already, in any household, is refused
  (409 `already_recipient`), in the same transaction as the one-open-application claim;
- the roster import refuses a person held by an open application, and under its lock checks again: two imports at
  once take a person once, an import waits for an acceptance under way and an acceptance for an import;
- the database lets a person be active once per kind (`recipient_people`), and an enrolment that meets one
  already active (a case accepted before the check) enters the household stopped, never paid twice."""

from __future__ import annotations

import asyncio
from datetime import date, datetime

import asyncpg
import httpx
import pytest

from db import applications_repo, recipients_repo, roster_repo
from db.payroll_due_repo import due
from infra import roster_import
from infra.roster_file import write_rows
from infra.roster_sample import person_id, sample
from schemas.review import AssistanceType
from schemas.review_records import Enrolment
from tests.support.clients import SHIPO, csrf_token, insert_case, login
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.factories import application, intake_form

START = beijing(2026, 11, 24, 9, 30)
TODAY = date(2026, 11, 24)
RECIPIENT = "成员身份证号：此人已是本区另一户正在享受救助的家庭成员（请与区民政局核实）"
APPLYING = "成员身份证号：此人有未办结的低保或特困申请，办结前不能导入（请与区民政局核实）"
# sample(3): H000001 (石婆店镇, tekun, person 0), H000002 (石婆店镇, dibao B: people 1-3, rows 3-5, IMP-0000002),
# H000003 (顺河镇, dibao C: people 4-5, rows 6-7, IMP-0000003).
SHIPO_MEMBER, SHUNHE_APPLICANT = person_id(2), person_id(4)


def roster(households: int = 3) -> bytes:
    headers, rows, _ = sample(households)
    return write_rows(headers, rows, "csv")


async def import_roster(conn: asyncpg.Connection, data: bytes, name: str = "r.csv") -> roster_import.Outcome:
    return await roster_import.run(conn, data, name, by="admin", today=TODAY, dry_run=False)


def errors(out: roster_import.Outcome) -> list[tuple[int, str]]:
    assert out.checked is not None
    return [(e.row, e.message) for e in out.checked.errors]


async def waiting_on_a_lock(pool: asyncpg.Pool, n: int = 1) -> None:
    """Until `n` sessions wait on a lock (an advisory lock, or a row another transaction inserted)."""
    for _ in range(400):
        if await pool.fetchval("select count(*) from pg_locks where not granted") >= n:
            return
        await asyncio.sleep(0.025)
    raise AssertionError("nobody waits")


@pytest.mark.start_at(START)
@pytest.mark.web(temporal="review_env")
async def test_an_application_for_a_member_of_a_recipient_household_is_refused(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    async with pool.acquire() as conn:
        assert (await import_roster(conn, roster())).result is not None
    caseworker = await login(web, "shipo_jingban")
    # 张秀英 (IMP-0000002, 石婆店镇's dibao) as a child of another household: refused, the case named.
    body = application("REC-1").model_dump(mode="json")
    body["household"]["members"][1]["id_number"] = SHIPO_MEMBER
    r = await web.post("/api/cases?wait=10", json=body, headers=caseworker)
    assert (r.status_code, r.json()) == (
        409,
        {
            "code": "already_recipient",
            "message": "该申请家庭中有成员已是最低生活保障在册救助对象（案件 IMP-0000002），不能重复申请；"
            "家庭情况有变化的，请在该户的动态管理复核中办理",
            "case_id": "IMP-0000002",
            "link": "/cases/IMP-0000002",
        },
    )
    # 陈秀英 receives dibao in 顺河镇: 石婆店镇 learns only that.
    elsewhere = application("REC-2").model_dump(mode="json")
    elsewhere["household"]["members"][2]["id_number"] = SHUNHE_APPLICANT
    r = await web.post("/api/cases", json=elsewhere, headers=caseworker)
    assert (r.status_code, r.json()) == (
        409,
        {
            "code": "already_recipient",
            "message": "该申请家庭中有成员已是其他乡镇（街道）的同类在册救助对象，不能重复申请；"
            "如有疑问，请联系区民政局",
        },
    )
    assert await pool.fetchval("select count(*) from open_applications") == 0  # nothing stays claimed
    assert await pool.fetchval("select count(*) from cases where channel <> 'imported'") == 0
    # The intake form says it too, with a link to the household's case.
    page = await web.get("/cases/new")
    r = await web.post("/cases/new", data=intake_form(csrf_token(page.text), "张秀英", SHIPO_MEMBER))
    assert r.status_code == 409
    assert (
        "该申请家庭中有成员已是最低生活保障在册救助对象（案件 IMP-0000002），不能重复申请；家庭情况有变化的，"
        '请在该户的动态管理复核中办理 <a href="/cases/IMP-0000002" data-testid="open-case-link">'
    ) in r.text
    # Another kind of help is another application; and once the household is stopped, its people may apply.
    tekun = application("REC-3", kind=AssistanceType.TEKUN).model_dump(mode="json")
    tekun["household"]["members"][1]["id_number"] = SHIPO_MEMBER
    r = await web.post("/api/cases", json=tekun, headers=caseworker)
    assert r.status_code == 202, r.text
    await pool.execute("update recipients set status = 'stopped', stopped_at = now() where case_id = 'IMP-0000002'")
    r = await web.post("/api/cases", json=body, headers=caseworker)
    assert r.status_code == 202, r.text


async def test_the_import_refuses_a_person_an_open_application_holds(pool: asyncpg.Pool) -> None:
    """Of either kind: a dibao household's member with an open tekun application is not imported."""
    await pool.execute(
        "insert into open_applications (case_id, id_number, assistance_type) values ('SP-OPEN-1', $1, 'tekun')",
        SHUNHE_APPLICANT,
    )
    async with pool.acquire() as conn:
        out = await import_roster(conn, roster())
    assert (errors(out), out.result) == ([(6, APPLYING)], None)
    assert await pool.fetchval("select count(*) from recipients") == 0


async def test_two_imports_at_once_take_a_person_once(pool: asyncpg.Pool) -> None:
    """Both files pass their checks while a third session holds the import's lock; the one that gets the lock
    second finds 张秀英 taken by the first (the old code imported both: 张秀英 active in two households)."""
    first = roster()
    headers, rows, _ = sample(2, first_person=1000)
    other = [r for r in rows if r[0] == "H000002"]  # another household of three, with 张秀英 for its second member
    other[1][headers.index("成员身份证号")] = SHIPO_MEMBER
    second = write_rows(headers, other, "csv")
    async with pool.acquire() as holder, holder.transaction():
        await holder.execute("select pg_advisory_xact_lock($1)", roster_repo.LOCK)

        async def run(data: bytes, name: str) -> roster_import.Outcome:
            async with pool.acquire() as conn:
                return await import_roster(conn, data, name)

        both = asyncio.gather(run(first, "a.csv"), run(second, "b.csv"))
        await waiting_on_a_lock(pool, 2)
    a, b = await both
    assert [out.result is not None for out in (a, b)].count(True) == 1
    refused = a if a.result is None else b
    assert errors(refused) == [(3 if refused is b else 4, RECIPIENT)]
    assert await pool.fetchval(
        "select count(*) from recipient_people where id_number = $1 and stopped_at is null", SHIPO_MEMBER
    ) == 1  # fmt: skip
    assert await pool.fetchval("select count(*) from open_applications") == 0  # the import's claims are gone


async def test_an_import_waits_for_an_acceptance_under_way_and_then_refuses_its_people(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as desk:
        tx = desk.transaction()
        await tx.start()
        await applications_repo.claim(desk, "SP-RACE-1", [SHUNHE_APPLICANT], "dibao")  # the start under way
        async with pool.acquire() as conn:
            importing = asyncio.create_task(import_roster(conn, roster()))
            await waiting_on_a_lock(pool)
            assert not importing.done()
            await tx.commit()
            out = await importing
    assert (errors(out), out.result) == ([(6, APPLYING)], None)


async def test_an_acceptance_waits_for_an_import_under_way_and_then_finds_the_people_enrolled(
    pool: asyncpg.Pool,
) -> None:
    async with pool.acquire() as admin:
        tx = admin.transaction()
        await tx.start()
        assert (await import_roster(admin, roster())).result is not None  # written, not yet committed
        async with pool.acquire() as desk:

            async def accept() -> None:
                async with desk.transaction():
                    await applications_repo.claim(desk, "SP-RACE-2", [SHUNHE_APPLICANT], "dibao")

            accepting = asyncio.create_task(accept())
            await waiting_on_a_lock(pool)
            assert not accepting.done()
            await tx.commit()
            with pytest.raises(applications_repo.AlreadyRecipient) as e:
                await accepting
    assert (e.value.case_id, e.value.place) == ("IMP-0000003", "341503104201")
    assert await pool.fetchval("select count(*) from open_applications") == 0


async def enrolled_with(pool: asyncpg.Pool, case_id: str, id_number: str) -> None:
    """A case of 石婆店镇 accepted before acceptance checked the register, whose household has `id_number`, enrolled
    on 2026-11-25: paid from December."""
    household = await pool.fetchval(
        "insert into households (township_code, address, hukou_type) values ($1, '测试地址', 'rural') returning id",
        SHIPO,
    )
    await pool.execute(
        "insert into household_members (household_id, name, id_number, relation, is_applicant) "
        "values ($1, '王大山', $2, 'self', true)",
        household,
        id_number,
    )
    await insert_case(pool, case_id, stage="enrolled", status="closed", accepted_at=beijing(2026, 10, 20, 9))
    await pool.execute("update cases set household_id = $2 where case_id = $1", case_id, household)
    enrolment = Enrolment(
        case_id=case_id,
        assistance_type=AssistanceType.DIBAO,
        township_code=SHIPO,
        category="B",
        monthly_amount="650.00",
        people=1,
        first_payment_month=date(2026, 12, 1),
        decided_at=beijing(2026, 11, 25, 16),
    )
    async with pool.acquire() as conn:
        await recipients_repo.enrol(conn, enrolment)
        await recipients_repo.enrol(conn, enrolment)  # the activity again: once


async def test_an_enrolment_that_meets_an_active_recipient_is_entered_stopped_and_never_paid(
    pool: asyncpg.Pool,
) -> None:
    async with pool.acquire() as conn:
        assert (await import_roster(conn, roster())).result is not None
    await enrolled_with(pool, "SP-2026-0901", SHIPO_MEMBER)
    row = await pool.fetchrow(
        "select status, stopped_at, stop_reasons, monthly_amount_fen from recipients where case_id = 'SP-2026-0901'"
    )
    why = "家庭成员已是在册救助对象（案件 IMP-0000002），同一人不能重复享受最低生活保障，本户暂不发放，请区民政局核实"
    assert dict(row) == {
        "status": "stopped",
        "stopped_at": beijing(2026, 11, 25, 16),
        "stop_reasons": why,
        "monthly_amount_fen": 65000,
    }
    escalations = await pool.fetch("select case_id, kind, deadline from escalations")
    assert [tuple(x) for x in escalations] == [("SP-2026-0901", "duplicate_recipient", date(2026, 12, 1))]
    notices = await pool.fetch("select audience, subject, body from notifications where kind = 'duplicate-recipient'")
    assert [tuple(x) for x in notices] == [
        ("role:district_officer@341503", "重复在册，暂不发放", f"案件 SP-2026-0901：{why}")
    ]
    events = await pool.fetch("select payload->>'summary' from case_events where kind = 'duplicate_recipient'")
    assert [x[0] for x in events] == [f"纳入保障时发现：{why}"]
    # December's payroll pays 石婆店镇's imported households, never the second entry of 张秀英.
    paid = await pool.fetch(
        f"select case_id from ({due('true', this_month=True)}) d where township_code = $2 order by 1",
        date(2026, 12, 1),
        SHIPO,
    )
    assert [x[0] for x in paid] == ["IMP-0000001", "IMP-0000002"]


async def test_the_database_keeps_a_person_active_once_per_kind(pool: asyncpg.Pool) -> None:
    async with pool.acquire() as conn:
        assert (await import_roster(conn, roster())).result is not None
    household = await pool.fetchval(
        "select household_id from household_members where id_number = $1", SHIPO_MEMBER
    )  # fmt: skip
    await insert_case(pool, "SP-2026-0902", stage="enrolled", status="closed")
    insert = (
        "insert into recipients (case_id, household_id, assistance_type, township_code, monthly_amount_fen, people, "
        "first_payment_month, decided_at) values ('SP-2026-0902', $1, $2, '341503106', 65000, 1, '2026-12-01', now())"
    )
    with pytest.raises(asyncpg.UniqueViolationError) as e:
        await pool.execute(insert, household, "dibao")
    assert e.value.constraint_name == "recipient_people_one_active"
    await pool.execute(insert, household, "tekun")  # another kind
    # A stop frees the household's people (the trigger follows the register, whoever writes it).
    await pool.execute("update recipients set status = 'stopped', stopped_at = $1 where case_id = 'IMP-0000002'",
                       datetime(2027, 1, 5, 2, tzinfo=START.tzinfo))  # fmt: skip
    people = await pool.fetch(
        "select case_id, assistance_type, stopped_at is null as active from recipient_people where id_number = $1 "
        "order by case_id",
        SHIPO_MEMBER,
    )
    assert [tuple(x) for x in people] == [("IMP-0000002", "dibao", False), ("SP-2026-0902", "tekun", True)]
