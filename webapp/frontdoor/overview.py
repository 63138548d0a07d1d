"""The district's view of the front door: who has not answered (bureaus with open referrals, units with open
complaints, township desks with requests waiting)."""

from __future__ import annotations

import asyncpg

from infra.clock import today
from schemas.staff import Actor, Bureau
from webapp import authz
from webapp.frontdoor.models import BureauLoad, Overview, TownshipLoad, UnitLoad
from webapp.frontdoor.rows import COMPLAINT_SQL, REFERRAL_SQL, complaint_summary, referral_summary


async def overview(db: asyncpg.Pool, actor: Actor) -> Overview:
    authz.require(actor, "frontdoor.overview")
    referrals = [referral_summary(r) for r in await db.fetch(REFERRAL_SQL + "where f.status <> 'answered'")]
    by_bureau: dict[Bureau, BureauLoad] = {}
    for r in referrals:
        load = by_bureau.setdefault(
            r.bureau,
            BureauLoad(
                bureau=r.bureau,
                open=0,
                not_accepted=0,
                accept_overdue=0,
                result_overdue=0,
                escalated=0,
                oldest_delivered_at=None,
            ),
        )
        load.open += 1
        load.not_accepted += r.status == "delivered"
        load.accept_overdue += r.accept_overdue
        load.result_overdue += r.result_overdue
        load.escalated += r.escalated
        load.oldest_delivered_at = min(filter(None, (load.oldest_delivered_at, r.delivered_at)))
    complaints = [complaint_summary(c) for c in await db.fetch(COMPLAINT_SQL + "where c.status <> 'concluded'")]
    by_unit: dict[str, UnitLoad] = {}
    for c in complaints:
        unit = by_unit.setdefault(
            c.unit_code,
            UnitLoad(unit_code=c.unit_code, unit_name=c.unit_name, open=0, not_accepted=0, overdue=0, escalated=0),
        )
        unit.open += 1
        unit.not_accepted += c.status == "registered"
        unit.overdue += c.overdue
        unit.escalated += c.escalated
    waiting = await db.fetch(
        "select r.township_code, t.name as township_name, count(*) as waiting, "
        "count(*) filter (where r.answer_due < $1) as overdue from frontdoor_requests r "
        "join places t on t.code = r.township_code where r.status <> 'closed' "
        "group by r.township_code, t.name order by r.township_code",
        today(),
    )
    return Overview(
        referrals=sorted(by_bureau.values(), key=lambda b: (-(b.accept_overdue + b.result_overdue), -b.open)),
        complaints=sorted(by_unit.values(), key=lambda u: (-u.overdue, -u.open)),
        requests=[TownshipLoad(**dict(w)) for w in waiting],
    )
