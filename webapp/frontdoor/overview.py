"""The district's view of the front door: who has not answered (bureaus with open referrals, units with open
complaints, township desks with requests waiting)."""

from __future__ import annotations

from dataclasses import asdict

import asyncpg

from db import frontdoor_repo
from infra.clock import today
from schemas.staff import Actor, Bureau
from webapp import authz
from webapp.frontdoor.models import BureauLoad, Overview, TownshipLoad, UnitLoad
from webapp.frontdoor.rows import complaint_summary, reader, referral_summary


async def overview(db: asyncpg.Pool, actor: Actor) -> Overview:
    authz.require(actor, "frontdoor.overview")
    open_referrals = await frontdoor_repo.referrals(db, frontdoor_repo.ReferralFilter(status="open"))
    referrals = [referral_summary(r) for r in open_referrals]
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
    # complaints about the reader are not counted (rows.reader)
    selected = frontdoor_repo.ComplaintFilter(status="open", reader=reader(actor))
    complaints = [complaint_summary(c, actor) for c in await frontdoor_repo.complaints(db, selected)]
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
    waiting = await frontdoor_repo.waiting_by_township(db, today(), reader(actor))
    return Overview(
        referrals=sorted(by_bureau.values(), key=lambda b: (-(b.accept_overdue + b.result_overdue), -b.open)),
        complaints=sorted(by_unit.values(), key=lambda u: (-u.overdue, -u.open)),
        requests=[TownshipLoad(**asdict(w)) for w in waiting],
    )
