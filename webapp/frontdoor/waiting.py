"""Whom a 12349 request or a referral waits on (`rules.waiting`), since when and by when: since its latest entry in
its log (its registration or delivery at first); a request is due on its answer date, a referral's acceptance and
result on theirs."""

from __future__ import annotations

from datetime import date, datetime

import asyncpg

from db import calendar_repo
from infra.clock import today
from rules.frontdoor_actions import ReferralAction, ReferralView
from rules.waiting import Wait, referral_waits, request_waits
from webapp.frontdoor.models import LogEntry, ReferralDetail, RequestDetail
from webapp.frontdoor.requests import request_view
from webapp.waiting import WaitLine, wait_lines


def _latest(log: list[LogEntry], first: datetime) -> datetime:
    return max((e.occurred_at for e in log), default=first)


async def request_lines(db: asyncpg.Pool, detail: RequestDetail) -> list[WaitLine]:
    req = detail.request
    since = _latest(detail.log, req.created_at)
    cal = await calendar_repo.load_calendar(db)
    waits = request_waits(request_view(detail))
    return await wait_lines(db, cal, waits, today(), since=lambda w: since, due=lambda w: req.answer_due)


async def referral_lines(db: asyncpg.Pool, detail: ReferralDetail) -> list[WaitLine]:
    ref = detail.referral
    since = _latest(detail.log, ref.delivered_at)
    view = ReferralView(ref.status, ref.bureau.value, ref.township_code, ref.accept_due is not None)

    def due(w: Wait) -> date | None:
        return ref.accept_due if ReferralAction.ACCEPT.value in w.steps else ref.result_due

    cal = await calendar_repo.load_calendar(db)
    return await wait_lines(db, cal, referral_waits(view), today(), since=lambda w: since, due=due)
