"""The recipients register under ongoing review: review cycles by category, findings applied once."""

from __future__ import annotations

from datetime import date

import asyncpg

from db import cases_repo, policy_repo
from rules.months import add_months
from schemas.money import from_fen, to_fen
from schemas.review import CaseEvent, Enrolment
from schemas.supervision import OngoingApplied, RecipientToReview


async def assign_review_cycles(conn: asyncpg.Connection, today: date) -> list[RecipientToReview]:
    """Active recipients without a review cycle get one: yearly for stable categories and tekun, else
    every six months (policy), the first due that long after the first payment month."""
    async with conn.transaction():
        policy = (await policy_repo.in_force(conn, today)).ongoing_review
        rows = await conn.fetch(
            "select r.case_id, r.township_code, r.category, r.assistance_type, r.first_payment_month, "
            "r.monthly_amount_fen, c.applicant_name from recipients r join cases c on c.case_id = r.case_id "
            "where r.status = 'active' and r.next_review_on is null for update of r"
        )
        out = []
        for r in rows:
            stable = r["assistance_type"] == "tekun" or r["category"] in policy.stable_categories
            months = policy.stable_months if stable else policy.irregular_months
            due = add_months(r["first_payment_month"], months)
            await conn.execute(
                "update recipients set review_cadence_months = $2, next_review_on = $3 where case_id = $1",
                r["case_id"],
                months,
                due,
            )
            out.append(
                RecipientToReview(
                    case_id=r["case_id"],
                    township_code=r["township_code"],
                    applicant_name=r["applicant_name"],
                    cadence_months=months,
                    due_on=due,
                    monthly_amount=from_fen(r["monthly_amount_fen"]),
                )
            )
    return out


async def apply_review(conn: asyncpg.Connection, a: OngoingApplied) -> None:
    """Record the finding and change the register accordingly; a second call with the same key does nothing."""
    f = a.finding
    new_fen = to_fen(f.new_amount) if f.new_amount is not None else to_fen(a.old_amount)
    async with conn.transaction():
        inserted = await conn.fetchval(
            "insert into ongoing_reviews (review_key, case_id, due_on, outcome, old_amount_fen, new_amount_fen, "
            "reasons, findings, reviewed_by, reviewed_at) values ($1,$2,$3,$4,$5,$6,$7,$8,$9,now()) "
            "on conflict (review_key) do nothing returning id",
            a.review_key,
            a.case_id,
            a.due_on,
            f.outcome,
            to_fen(a.old_amount),
            None if f.outcome == "stop" else new_fen,
            f.reasons,
            f.findings,
            f.actor.username,
        )
        if inserted is None:
            return
        if f.outcome == "stop":
            await conn.execute(
                "update recipients set status = 'stopped', stopped_at = now(), stop_reasons = $2, "
                "next_review_on = null where case_id = $1",
                a.case_id,
                f.reasons,
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
        await cases_repo.append_events(
            conn,
            [
                CaseEvent(
                    case_id=a.case_id,
                    event_key=f"ongoing-{a.review_key}",
                    kind=f"ongoing_review_{f.outcome}",
                    actor=f.actor.username,
                    actor_role=f.actor.role.value,
                    payload={"summary": f"动态管理复核（{a.due_on}）：{words}。{f.reasons or f.findings}"},
                )
            ],
        )


async def enrol(conn: asyncpg.Connection, e: Enrolment) -> None:
    """Enter a decided case's household in the register, once, with the case's category and amount."""
    async with conn.transaction():
        await conn.execute(
            "insert into recipients (case_id, household_id, assistance_type, township_code, category, "
            "monthly_amount_fen, people, first_payment_month, decided_at) "
            "select case_id, household_id, $2, $3, $4, $5, $6, $7, $8 from cases where case_id = $1 "
            "on conflict (case_id) do nothing",
            e.case_id,
            e.assistance_type.value,
            e.township_code,
            e.category,
            to_fen(e.monthly_amount),
            e.people,
            e.first_payment_month,
            e.decided_at,
        )
        await conn.execute(
            "update cases set category = $2, monthly_amount_fen = $3 where case_id = $1",
            e.case_id,
            e.category,
            to_fen(e.monthly_amount),
        )
