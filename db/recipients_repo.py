"""The recipients register under ongoing review: review cycles by category, findings applied once; and the
register, its reviews and stopped households as the web app reads them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

import asyncpg

from db import cases_repo, policy_repo
from db.pool import Db
from db.typed import every
from db.where import Where
from rules.access import district_of
from rules.clock import beijing_date
from rules.months import add_months
from rules.payroll import arrears_months
from schemas.money import from_fen, to_fen
from schemas.review import CaseEvent, NotificationIn
from schemas.review_records import Enrolment, EscalationIn
from schemas.supervision import OngoingApplied, RecipientToReview


async def assign_review_cycles(conn: asyncpg.Connection, today: date) -> list[RecipientToReview]:
    """The reviews to start (`reviews_to_start`), marked started at once: what the daily workflow did before
    patch `daily-mark-reviews-after-start` (a first answer lost after the commit lost those reviews; kept for
    the runs then in flight)."""
    async with conn.transaction():
        out = await reviews_to_start(conn, today, lock=True)
        await mark_reviews_started(conn, out)
    return out


async def reviews_to_start(conn: asyncpg.Connection, today: date, *, lock: bool = False) -> list[RecipientToReview]:
    """The ongoing reviews whose workflows the morning starts, changing nothing (asked again, the same answer
    until `mark_reviews_started`): active recipients without a review cycle, each given one (yearly for stable
    categories and tekun, else every six months, by the policy in force `today`), the first due that long after
    the first payment month; then the imported ones whose scheduled review comes near."""
    policy = (await policy_repo.in_force(conn, today)).ongoing_review
    rows = await conn.fetch(
        "select r.case_id, r.township_code, r.category, r.assistance_type, r.first_payment_month, "
        "r.monthly_amount_fen, c.applicant_name from recipients r join cases c on c.case_id = r.case_id "
        "where r.status = 'active' and r.next_review_on is null order by r.case_id"
        + (" for update of r" if lock else "")
    )
    out = []
    for r in rows:
        months = policy.cadence_months(r["assistance_type"], r["category"])
        out.append(_to_review(r, months, add_months(r["first_payment_month"], months)))
    return out + await _scheduled_reviews(conn, today, lock=lock)


async def mark_reviews_started(conn: asyncpg.Connection, reviews: list[RecipientToReview]) -> None:
    """Their workflows are started: a new recipient keeps the review cycle it was given, an imported one's
    scheduled review is no longer pending. Again: nothing changes."""
    await conn.execute(
        "update recipients r set "
        "review_cadence_months = case when r.next_review_on is null then x.months else r.review_cadence_months end, "
        "next_review_on = coalesce(r.next_review_on, x.due), review_pending = false "
        "from unnest($1::text[], $2::int[], $3::date[]) x(case_id, months, due) where r.case_id = x.case_id",
        [r.case_id for r in reviews],
        [r.cadence_months for r in reviews],
        [r.due_on for r in reviews],
    )


def _to_review(r: asyncpg.Record, months: int, due: date) -> RecipientToReview:
    return RecipientToReview(
        case_id=r["case_id"],
        township_code=r["township_code"],
        applicant_name=r["applicant_name"],
        cadence_months=months,
        due_on=due,
        monthly_amount=from_fen(r["monthly_amount_fen"]),
    )


# Imported recipients (db/roster_repo.py) come with their next review already scheduled, spread over the months;
# their ongoing-review workflows are started when the date comes within this many days, at most this many a
# morning (the daily workflow's history stays small however large the roster).
SCHEDULED_LEAD_DAYS = 45
SCHEDULED_PER_DAY = 2000


async def _scheduled_reviews(conn: asyncpg.Connection, today: date, *, lock: bool) -> list[RecipientToReview]:
    rows = await conn.fetch(
        "select r.case_id, r.township_code, r.monthly_amount_fen, r.review_cadence_months, r.next_review_on, "
        "c.applicant_name from recipients r join cases c on c.case_id = r.case_id "
        "where r.review_pending and r.status = 'active' and r.next_review_on <= $1 "
        "order by r.next_review_on, r.case_id limit $2" + (" for update of r" if lock else ""),
        today + timedelta(days=SCHEDULED_LEAD_DAYS),
        SCHEDULED_PER_DAY,
    )
    return [_to_review(r, r["review_cadence_months"], r["next_review_on"]) for r in rows]


async def apply_review(conn: asyncpg.Connection, a: OngoingApplied) -> None:
    """Record the finding and change the register accordingly, as of the decision (`decided_at`: the payroll's
    months follow it, not a retried write after midnight); a second call with the same key does nothing."""
    f = a.finding
    # Only an `adjust` changes the amount (rules.ongoing_actions.content_refusal refuses any other with one).
    changed = f.outcome == "adjust" and f.new_amount is not None
    new_fen = to_fen(f.new_amount) if changed else to_fen(a.old_amount)
    async with conn.transaction():
        d = a.decision
        inserted = await conn.fetchval(
            "insert into ongoing_reviews (review_key, case_id, due_on, outcome, old_amount_fen, new_amount_fen, "
            "reasons, findings, reviewed_by, reviewed_at, decided_by, decided_level, decision_opinion) "
            "values ($1,$2,$3,$4,$5,$6,$7,$8,$9,coalesce($13, now()),$10,$11,$12) on conflict (review_key) do nothing "
            "returning id",
            a.review_key,
            a.case_id,
            a.due_on,
            f.outcome,
            to_fen(a.old_amount),
            None if f.outcome == "stop" else new_fen,
            f.reasons,
            f.findings,
            f.actor.username,
            d and d.actor.username,
            a.level,
            d and d.opinion,
            a.decided_at,
        )
        if inserted is None:
            return
        if f.outcome == "stop":
            await conn.execute(
                "update recipients set status = 'stopped', stopped_at = coalesce($3, now()), stop_reasons = $2, "
                "next_review_on = null where case_id = $1",
                a.case_id,
                f.reasons,
                a.decided_at,
            )
        else:
            cadence = await conn.fetchval("select review_cadence_months from recipients where case_id = $1", a.case_id)
            await conn.execute(
                "update recipients set monthly_amount_fen = $2, next_review_on = $3 where case_id = $1",
                a.case_id,
                new_fen,
                add_months(a.due_on, cadence or 12),
            )
        words = {"continue": "继续保障", "adjust": f"调整为每月 {from_fen(new_fen)} 元", "stop": "停发"}[f.outcome]
        by = f.actor if d is None else d.actor
        level = {"township": "乡镇（街道）", "district": "区民政局"}.get(a.level or "", "")
        decided = f"经{level}审批人{d.actor.full_name}决定，" if d else ""
        await cases_repo.append_events(
            conn,
            [
                CaseEvent(
                    case_id=a.case_id,
                    event_key=f"ongoing-{a.review_key}",
                    kind=f"ongoing_review_{f.outcome}",
                    actor=by.username,
                    actor_role=by.role.value,
                    payload={
                        "summary": f"动态管理复核（{a.due_on}）：{decided}{words}。{f.reasons or f.findings}",
                        "proposed_by": f.actor.username,
                        "decided_level": a.level,
                    },
                )
            ],
        )


@dataclass(frozen=True)
class ReviewedHousehold:
    """What an ongoing review needs to know of a recipient household: its kind of assistance, township, size and
    registration (urban or rural: which standard applies; None for a household not on record)."""

    assistance_type: str
    township_code: str
    people: int
    hukou_type: str | None


async def reviewed_household(db: Db, case_id: str) -> ReviewedHousehold:
    row = await db.fetchrow(
        "select r.assistance_type, r.township_code, r.people, h.hukou_type from recipients r "
        "left join households h on h.id = r.household_id where r.case_id = $1",
        case_id,
    )
    if row is None:
        raise LookupError(f"{case_id} is not in the recipients register")
    return ReviewedHousehold(**row)


_ENROL = (
    "insert into recipients (case_id, household_id, assistance_type, township_code, category, monthly_amount_fen, "
    "people, first_payment_month, decided_at, arrears_months, status, stopped_at, stop_reasons) "
    "select case_id, household_id, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12 from cases where case_id = $1 "
    "on conflict (case_id) do nothing"
)
ONE_ACTIVE = "recipient_people_one_active"  # migration 0035: a person active once per kind of assistance


async def enrol(conn: asyncpg.Connection, e: Enrolment) -> str | None:
    """Enter a decided case's household in the register, once, with the case's category and amount, and the
    months of arrears its first payment brings under the case's policy version (rules/payroll.py).

    A member who receives this help already in another household (`recipient_people`: a case accepted before
    acceptance checked it, or enrolled at the same moment) keeps the household out of the payroll: it is entered
    stopped as of its decision (no month is due), its log says why and the district is told (escalation
    `duplicate_recipient`), to settle which household the person belongs to. Never paid twice. Returns why it was
    held, if it was (also when the entry was made by an earlier attempt)."""
    async with conn.transaction():
        case = await conn.fetchrow(
            "select accepted_at, deadline, policy_version from cases where case_id = $1", e.case_id
        )
        rule = (await policy_repo.get(conn, case["policy_version"])).payroll.arrears
        arrears = arrears_months(
            rule, beijing_date(case["accepted_at"]), beijing_date(e.decided_at), case["deadline"], e.first_payment_month
        )
        row = (e.case_id, e.assistance_type.value, e.township_code, e.category, to_fen(e.monthly_amount), e.people)
        row += (e.first_payment_month, e.decided_at, arrears)
        try:
            async with conn.transaction():
                await conn.execute(_ENROL, *row, "active", None, None)
        except asyncpg.UniqueViolationError as exc:
            if exc.constraint_name != ONE_ACTIVE:
                raise
            await _enrol_held(conn, e, row)
        await conn.execute(
            "update cases set category = $2, monthly_amount_fen = $3 where case_id = $1",
            e.case_id,
            e.category,
            to_fen(e.monthly_amount),
        )
        entered = await conn.fetchrow("select status, stop_reasons from recipients where case_id = $1", e.case_id)
    return entered["stop_reasons"] if entered["status"] == "stopped" else None


async def _enrol_held(conn: asyncpg.Connection, e: Enrolment, row: tuple) -> None:
    others = await conn.fetch(
        "select distinct p.case_id from cases c join household_members m on m.household_id = c.household_id "
        "join recipient_people p on p.id_number = m.id_number and p.assistance_type = $2 and p.stopped_at is null "
        "where c.case_id = $1 and p.case_id <> $1 order by p.case_id",
        e.case_id,
        e.assistance_type.value,
    )
    named = "、".join(r["case_id"] for r in others)
    why = (
        f"家庭成员已是在册救助对象（案件 {named}），同一人不能重复享受{e.assistance_type.label}，"
        "本户暂不发放，请区民政局核实"
    )
    await conn.execute(_ENROL, *row, "stopped", e.decided_at, why)
    key = f"duplicate-recipient-{e.case_id}"
    await cases_repo.add_escalation(
        conn,
        EscalationIn(
            case_id=e.case_id,
            escalation_key=key,
            kind="duplicate_recipient",
            deadline=e.first_payment_month,
            at=e.decided_at,
        ),
    )
    await cases_repo.queue_notification(
        conn,
        NotificationIn(
            idempotency_key=key,
            case_id=e.case_id,
            audience=f"role:district_officer@{district_of(e.township_code)}",
            kind="duplicate-recipient",
            subject="重复在册，暂不发放",
            body=f"案件 {e.case_id}：{why}",
        ),
    )
    event = CaseEvent(
        case_id=e.case_id, event_key=key, kind="duplicate_recipient", actor=None, actor_role=None,
        payload={"summary": f"纳入保障时发现：{why}"}, occurred_at=e.decided_at,
    )  # fmt: skip
    await cases_repo.append_events(conn, [event])


# ---- what the web app reads ------------------------------------------------------------------------------


@dataclass(frozen=True)
class RecipientOfCase:
    """A household's entry in the register, as the one household view lists it."""

    case_id: str
    assistance_type: str
    township_code: str
    category: str | None
    monthly_amount_fen: int
    people: int
    first_payment_month: date
    status: str
    decided_at: datetime
    last_review_on: date | None  # as the imported roster had it
    next_review_on: date | None


async def recipients_of_cases(db: Db, case_ids: list[str]) -> list[RecipientOfCase]:
    """The register's entries of these cases, the latest decided first."""
    return await every(
        db,
        RecipientOfCase,
        "select case_id, assistance_type, township_code, category, monthly_amount_fen, people, "
        "first_payment_month, status, decided_at, last_review_on, next_review_on from recipients "
        "where case_id = any($1::text[]) "
        "order by decided_at desc",
        case_ids,
    )


async def is_under_review(db: Db, case_id: str) -> bool:
    """Whether the case's household has a review cycle (so an ongoing-review workflow)."""
    return await db.fetchval(
        "select exists(select 1 from recipients where case_id = $1 and review_cadence_months is not null)", case_id
    )


async def is_within(db: Db, case_id: str, place: str) -> bool:
    """Whether the case's household is in the register, in a township within `place`."""
    return await db.fetchval(
        "select exists(select 1 from recipients where case_id = $1 and starts_with(township_code, $2))",
        case_id,
        place,
    )


@dataclass(frozen=True)
class Recipient:
    """An entry of the register with its township's and applicant's names (the ongoing reviews page)."""

    case_id: str
    township_code: str
    township_name: str
    applicant_name: str
    assistance_type: str
    category: str | None
    monthly_amount_fen: int
    people: int
    status: str  # active, stopped
    review_cadence_months: int | None
    next_review_on: date | None
    first_payment_month: date
    stopped_at: datetime | None
    stop_reasons: str | None


_RECIPIENT = """
select r.case_id, r.township_code, t.name as township_name, c.applicant_name, r.assistance_type, r.category,
       r.monthly_amount_fen, r.people, r.status, r.review_cadence_months, r.next_review_on, r.first_payment_month,
       r.stopped_at, r.stop_reasons
from recipients r join cases c on c.case_id = r.case_id join places t on t.code = r.township_code
"""


async def due_for_review(db: Db, within: str, on: date) -> list[Recipient]:
    """Active entries within `within` whose review date has come by `on`, the earliest due first."""
    return await every(
        db,
        Recipient,
        _RECIPIENT + "where r.status = 'active' and r.next_review_on <= $2 and starts_with(r.township_code, $1) "
        "order by r.next_review_on, r.case_id",
        within,
        on,
    )


async def page_of_register(
    db: Db, within: str, status: str | None, township: str | None, *, page: int, page_size: int
) -> tuple[list[Recipient], int, int]:
    """One page of the entries within `within` (with this status and of this township, where given), by
    township and next review; the total; and the page shown (a page past the last is the last)."""
    w = Where().add("starts_with(r.township_code, {})", within)
    if status:
        w.add("r.status = {}", status)
    if township:
        w.add("r.township_code = {}", township)
    total = await db.fetchval(f"select count(*) from recipients r{w.sql()}", *w.params)
    page = min(page, max(1, -(-total // page_size)))
    rows = await db.fetch(
        f"{_RECIPIENT}{w.sql()} order by r.township_code, r.next_review_on nulls last, r.case_id "
        f"limit {page_size} offset {(page - 1) * page_size}",
        *w.params,
    )
    return [Recipient(**r) for r in rows], total, page


@dataclass(frozen=True)
class StoppedRecipient:
    case_id: str
    township_name: str
    applicant_name: str
    stopped_at: datetime | None
    stop_reasons: str | None
    findings: str | None  # of the review that stopped it
    reviewed_by: str | None  # by name where known


async def stopped_within(db: Db, within: str) -> list[StoppedRecipient]:
    """Entries stopped within `within`, the latest stopped first, with the review that stopped them."""
    return await every(
        db,
        StoppedRecipient,
        "select r.case_id, t.name as township_name, c.applicant_name, r.stopped_at, r.stop_reasons, o.findings, "
        "coalesce(u.full_name, o.reviewed_by) as reviewed_by "
        "from recipients r join cases c on c.case_id = r.case_id join places t on t.code = r.township_code "
        "left join ongoing_reviews o on o.case_id = r.case_id and o.outcome = 'stop' "
        "left join users u on u.username = o.reviewed_by "
        "where r.status = 'stopped' and starts_with(r.township_code, $1) order by r.stopped_at desc nulls last",
        within,
    )


@dataclass(frozen=True)
class ReviewDone:
    case_id: str
    applicant_name: str
    due_on: date
    outcome: str | None  # continue, adjust, stop
    old_amount_fen: int | None
    new_amount_fen: int | None
    reasons: str | None
    findings: str | None
    reviewed_by: str | None  # who proposed it, by name where known
    reviewed_at: datetime
    decided_by: str | None  # who decided it, by name where known (none before propose/decide)
    decided_level: str | None  # township, district


async def recent_reviews(db: Db, within: str, limit: int = 50) -> list[ReviewDone]:
    """The latest `limit` reviews recorded for cases within `within`, newest first."""
    return await every(
        db,
        ReviewDone,
        "select o.case_id, c.applicant_name, o.due_on, o.outcome, o.old_amount_fen, o.new_amount_fen, o.reasons, "
        "o.findings, coalesce(u.full_name, o.reviewed_by) as reviewed_by, o.reviewed_at, "
        "coalesce(d.full_name, o.decided_by) as decided_by, o.decided_level "
        "from ongoing_reviews o join cases c on c.case_id = o.case_id left join users u on u.username = o.reviewed_by "
        "left join users d on d.username = o.decided_by "
        "where starts_with(c.township_code, $1) and o.reviewed_at is not null order by o.reviewed_at desc limit $2",
        within,
        limit,
    )


async def review_decided(db: Db, case_id: str, by: str) -> bool:
    """Whether a review of the case `by` decided was written in the last minute (a lost update's answer applied)."""
    return await db.fetchval(
        "select exists(select 1 from ongoing_reviews o join case_events e on e.case_id = o.case_id "
        "and e.event_key = 'ongoing-' || o.review_key where o.case_id = $1 and o.decided_by = $2 "
        "and e.recorded_at > now() - interval '1 minute')",
        case_id,
        by,
    )


# The steps of an ongoing review in the case's log (workflows/ongoing.py): the latest says whether a proposal waits.
_ONGOING_STEPS = [
    "ongoing_proposed",
    "ongoing_referred",
    "ongoing_returned",
    "ongoing_review_continue",
    "ongoing_review_adjust",
    "ongoing_review_stop",
]
_WAITING = {"ongoing_proposed", "ongoing_referred"}


async def reviews_waiting(
    db: Db, within: str, near: date, overdue_due_by: date
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """For the daily digest, within `within`: the reviews overdue (due by `overdue_due_by`) that wait on the
    caseworker's proposal, whether their workflow runs or not; and every proposal that waits on a decision
    (`referred` to the district or not, `overdue` or not). As JSON values."""
    rows = await db.fetch(
        "select r.case_id, c.applicant_name, r.next_review_on as due_on, s.kind, s.occurred_at "
        "from recipients r join cases c on c.case_id = r.case_id left join lateral (select e.kind, e.occurred_at "
        "from case_events e where e.case_id = r.case_id and e.kind = any($3::text[]) "
        "order by e.occurred_at desc, e.id desc limit 1) s on true "
        "where r.status = 'active' and r.next_review_on <= $2 and starts_with(r.township_code, $1) "
        "order by r.next_review_on, r.case_id",
        within,
        near,
        _ONGOING_STEPS,
    )

    def item(r: asyncpg.Record) -> dict[str, Any]:
        return {"case_id": r["case_id"], "applicant_name": r["applicant_name"], "due_on": str(r["due_on"])}

    overdue = [item(r) for r in rows if r["kind"] not in _WAITING and r["due_on"] <= overdue_due_by]
    proposals = [
        item(r)
        | {
            "proposed_on": str(beijing_date(r["occurred_at"])),
            "referred": r["kind"] == "ongoing_referred",
            "overdue": r["due_on"] <= overdue_due_by,
        }
        for r in rows
        if r["kind"] in _WAITING
    ]
    return overdue, proposals
