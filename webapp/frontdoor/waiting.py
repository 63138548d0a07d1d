"""Whom a 12349 request or a referral waits on (`rules.waiting`), since when and by when: since its latest entry in
its log (its registration or delivery at first); a request is due on its answer date, a referral's acceptance and
result on theirs, a complaint's acceptance and conclusion on theirs. The desk's lists, its complaints and the
bureau's inbox say so for every row from the rows and their logs (`frontdoor_repo.log_facts`), in a few queries
and without asking any workflow."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime

import asyncpg

from db import calendar_repo, frontdoor_repo, places_repo
from infra.clock import today
from rules.frontdoor_actions import (
    ComplaintAction,
    ComplaintView,
    ReferralAction,
    ReferralView,
    RequestView,
    review_needs,
)
from rules.needs import BY_CODE
from rules.recusal import names_person
from rules.waiting import Wait, complaint_waits, referral_waits, request_waits
from webapp.frontdoor.models import (
    ComplaintSummary,
    LogEntry,
    ReferralDetail,
    ReferralSummary,
    RequestDetail,
    RequestSummary,
)
from webapp.frontdoor.requests import request_view
from webapp.waiting import WaitLine, people, wait_lines


def _latest(log: list[LogEntry], first: datetime) -> datetime:
    return max((e.occurred_at for e in log), default=first)


async def request_lines(db: asyncpg.Pool, detail: RequestDetail) -> list[WaitLine]:
    req = detail.request
    since = _latest(detail.log, req.created_at)
    cal = await calendar_repo.load_calendar(db)
    waits = request_waits(request_view(detail))
    return await wait_lines(db, cal, waits, today(), since=lambda w: since, due=lambda w: req.answer_due)


def _referral_view(ref: ReferralSummary) -> ReferralView:
    return ReferralView(ref.status, ref.bureau.value, ref.township_code, ref.accept_due is not None)


def _referral_due(ref: ReferralSummary) -> Callable[[Wait], date | None]:
    return lambda w: ref.accept_due if ReferralAction.ACCEPT.value in w.steps else ref.result_due


async def referral_lines(db: asyncpg.Pool, detail: ReferralDetail) -> list[WaitLine]:
    ref = detail.referral
    since = _latest(detail.log, ref.delivered_at)
    cal = await calendar_repo.load_calendar(db)
    waits = referral_waits(_referral_view(ref))
    return await wait_lines(db, cal, waits, today(), since=lambda w: since, due=_referral_due(ref))


# ---- lists ----------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Need:
    """A need the triage named, as `rules.frontdoor_actions.review_needs` reads it."""

    code: str
    route: str
    status: str


def _listed_request_view(req: RequestSummary, facts: frontdoor_repo.LogFacts | None) -> RequestView:
    """A listed request as the rules see it, its needs and answer read from its log."""
    needs = [
        _Need(c, BY_CODE[c].route.value, "answered" if c in facts.answered_needs else "in_progress")
        for c in (facts.triaged if facts else [])
        if c in BY_CODE
    ]
    return RequestView(
        status=req.status,
        kind=req.kind.value,
        township=req.township_code,
        ready=req.answer_due is not None,
        answered=bool(facts and facts.answered),
        review_needs=review_needs(needs),
    )


@dataclass(frozen=True)
class _Row:
    """One listed row: its number, whom it waits on, since when and its due date for each wait."""

    key: str
    waits: list[Wait]
    since: datetime
    due: Callable[[Wait], date | None]


async def _lines(db: asyncpg.Pool, rows: Sequence[_Row]) -> dict[str, list[WaitLine]]:
    """Each row's wait lines, by its number: the calendar, the places' names and the people read once."""
    cal = await calendar_repo.load_calendar(db)
    names = await places_repo.names(db)
    named = await people(db, [w for r in rows for w in r.waits])
    out = {}
    for r in rows:
        out[r.key] = await wait_lines(
            db, cal, r.waits, today(), since=lambda w, at=r.since: at, due=r.due, names=names, named=named
        )
    return out


async def request_list_lines(db: asyncpg.Pool, items: Sequence[RequestSummary]) -> dict[str, list[WaitLine]]:
    """Whom each listed request waits on, by request number."""
    facts = await frontdoor_repo.log_facts(db, "request", [r.request_no for r in items])
    rows = []
    for req in items:
        f = facts.get(req.request_no)
        waits = request_waits(_listed_request_view(req, f))
        rows.append(_Row(req.request_no, waits, f.last_at if f else req.created_at, lambda w, d=req.answer_due: d))
    return await _lines(db, rows)


async def referral_list_lines(db: asyncpg.Pool, items: Sequence[ReferralSummary]) -> dict[str, list[WaitLine]]:
    """Whom each listed referral waits on, by referral id."""
    facts = await frontdoor_repo.log_facts(db, "referral", [r.referral_id for r in items])
    rows = [
        _Row(
            ref.referral_id,
            referral_waits(_referral_view(ref)),
            f.last_at if (f := facts.get(ref.referral_id)) else ref.delivered_at,
            _referral_due(ref),
        )
        for ref in items
    ]
    return await _lines(db, rows)


def _complaint_due(c: ComplaintSummary) -> Callable[[Wait], date | None]:
    return lambda w: c.accept_due if ComplaintAction.ACCEPT.value in w.steps else c.conclude_due


async def complaint_list_lines(db: asyncpg.Pool, items: Sequence[ComplaintSummary]) -> dict[str, list[WaitLine]]:
    """Whom each listed complaint waits on, by complaint number: the handling unit's desk, to accept it by its
    acceptance date and conclude it by its conclusion date."""
    facts = await frontdoor_repo.log_facts(db, "complaint", [c.complaint_no for c in items])
    rows = [
        _Row(
            c.complaint_no,
            complaint_waits(ComplaintView(c.status, c.unit_code, c.about_person)),
            f.last_at if (f := facts.get(c.complaint_no)) else c.created_at,
            _complaint_due(c),
        )
        for c in items
    ]
    lines = await _lines(db, rows)
    about = {c.complaint_no: c.about_person for c in items}
    return {  # whom a complaint names is not named as one to handle it
        no: [replace(w, people=[p for p in w.people if not names_person(about[no], "", p)]) for w in waits]
        for no, waits in lines.items()
    }
