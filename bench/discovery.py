"""Discovery matching (主动发现, issue 19): a bureau list of N signals matched against N one-person households
(90% of them active recipients), beside a bare SQL join of the same list to the same households as the baseline.

Each run receives the list in a transaction that is rolled back afterwards (so the next run is not a repeat within
90 days, and the tables stay as seeded): `match` is `discovery_repo.match_list` (the list's rows written once,
classified; tasks under their exclusion constraint, review prompts, counts); the baseline joins the staged list's
ID numbers to household_members and the active recipients and counts, the least any matching must read. The list
is staged once per run with COPY into a temporary table (`store`, not in the ratio)."""

from __future__ import annotations

import statistics
import time
from datetime import date

import asyncpg

from db import discovery_repo
from schemas.discovery import SignalKind
from schemas.policy import DiscoveryPolicy
from tests.support.clock import beijing
from tests.support.discovery import seed_households, signals

TOWNSHIPS = ("341503106", "341503104", "341503001")

BARE = """
select count(*), count(r.case_id)
from discovery_incoming s
join household_members m on m.id_number = s.id_number
left join recipients r on r.household_id = m.household_id and r.status = 'active'
"""


async def seed(pool: asyncpg.Pool, n: int) -> float:
    """N households over three townships, the first 90% active dibao recipients."""
    began = time.monotonic()
    recipients, third = n * 9 // 10, n // 3
    decided = beijing(2026, 6, 1, 10)
    for i, township in enumerate(TOWNSHIPS):
        first, last = 1 + i * third, n if i == 2 else (i + 1) * third
        with_help = max(0, min(last, recipients) - first + 1)
        if with_help:
            await seed_households(pool, first, with_help, township, recipients=True, decided=decided)
        if last - first + 1 > with_help:
            start = first + with_help
            await seed_households(pool, start, last - start + 1, township, recipients=False, decided=decided)
    async with pool.acquire() as conn:
        await conn.execute("vacuum analyze")
    return round(time.monotonic() - began, 1)


def _ms(xs: list[float]) -> dict:
    return {"p50_ms": round(statistics.median(xs) * 1000, 1), "min_ms": round(min(xs) * 1000, 1)}


async def matching(pool: asyncpg.Pool, n: int, runs: int) -> dict:
    seconds = await seed(pool, n)
    rows = signals(1, n, SignalKind.UNEMPLOYED, date(2026, 11, 20))
    on, policy = date(2026, 11, 24), DiscoveryPolicy()
    store, match, bare, counts = [], [], [], None
    for _ in range(runs):
        async with pool.acquire() as conn:
            tr = conn.transaction()
            await tr.start()
            t0 = time.monotonic()
            list_id = await discovery_repo.create_list(
                conn,
                bureau="medical",
                source="api",
                filename=None,
                by="bench",
                at=beijing(2026, 11, 24, 9),
                on=on,
                keep_until=on,
                signals=rows,
            )
            t1 = time.monotonic()
            await conn.fetchrow(BARE)  # warm both alike
            t2 = time.monotonic()
            joined = await conn.fetchrow(BARE)
            t3 = time.monotonic()
            result = await discovery_repo.match_list(conn, list_id, on, policy)
            t4 = time.monotonic()
            await tr.rollback()
        store.append(t1 - t0)
        bare.append(t3 - t2)
        match.append(t4 - t3)
        counts = {
            "received": result.received,
            "assisted": result.assisted,
            "tasked": result.tasked,
            "bare_matched": joined[0],
            "bare_recipients": joined[1],
        }
    out = {
        "signals": n,
        "households": n,
        "runs": runs,
        "seed_seconds": seconds,
        "store": _ms(store),
        "match": _ms(match),
        "bare": _ms(bare),
        "counts": counts,
    }
    out["ratio"] = round(out["match"]["p50_ms"] / out["bare"]["p50_ms"], 1)
    return out
