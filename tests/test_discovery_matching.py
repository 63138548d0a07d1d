"""Discovery lists matched against households and recipients in the database (issue 19, points 2-4): exact
counts of a 10,000-row list, one task per person and kind within 90 days, and the purge of expired lists."""

from __future__ import annotations

from datetime import date, timedelta

import asyncpg

from db import discovery_repo, discovery_tasks_repo
from schemas.discovery import ListResult, SignalIn, SignalKind
from tests.support.clock import beijing
from tests.support.discovery import person, seed_households, signals
from tests.support.discovery import receive as received

SHIPO, SHUNHE = "341503106", "341503104"
DECIDED = beijing(2026, 6, 1, 10)
DAY = date(2026, 11, 24)
AT = beijing(2026, 11, 24, 9, 30)


async def receive(pool: asyncpg.Pool, rows: list[SignalIn], on: date = DAY) -> ListResult:
    return await received(pool, rows, on, AT)


async def population(pool: asyncpg.Pool) -> None:
    """9,000 recipients (4,000 in Shipo, 5,000 in Shunhe) and 500 households of Shipo receiving nothing."""
    await seed_households(pool, 1, 4000, SHIPO, recipients=True, decided=DECIDED)
    await seed_households(pool, 4001, 5000, SHUNHE, recipients=True, decided=DECIDED)
    await seed_households(pool, 9001, 500, SHIPO, recipients=False, decided=DECIDED)


def ten_thousand() -> list[SignalIn]:
    """9,000 recipients (1,000 of them with a large medical bill), 500 non-recipient households, 500 persons
    Jiuzhu does not know, whose township the bureau gives (Shunhe)."""
    return (
        signals(1, 8000, SignalKind.UNEMPLOYED, date(2026, 11, 1))
        + signals(8001, 1000, SignalKind.LARGE_MEDICAL, date(2026, 11, 2))
        + signals(9001, 500, SignalKind.UNEMPLOYED, date(2026, 11, 3))
        + signals(9501, 500, SignalKind.UNEMPLOYED, date(2026, 11, 4), township=SHUNHE)
    )


async def test_ten_thousand_signals_nine_thousand_recipients_make_exactly_one_thousand_tasks(
    pool: asyncpg.Pool,
) -> None:
    await population(pool)
    result = await receive(pool, ten_thousand())
    assert (result.received, result.assisted, result.prompted, result.tasked) == (10000, 9000, 1000, 1000)
    assert (result.duplicates, result.unplaced) == (0, 0)
    assert len(result.task_ids) == 1000
    assert await pool.fetchval("select count(*) from discovery_tasks") == 1000
    by_township = dict(await pool.fetch("select township_code, count(*) from discovery_tasks group by 1"))
    assert by_township == {SHIPO: 500, SHUNHE: 500}
    # the recipients' large medical bills: one review prompt each, and a notice to the township's caseworkers
    assert await pool.fetchval("select count(*) from discovery_prompts") == 1000
    notice = await pool.fetchrow(
        "select audience, body from notifications where kind = 'discovery-review-prompt' limit 1"
    )
    assert notice["audience"] == f"role:township_caseworker@{SHUNHE}"
    assert person(8001) not in notice["body"]
    task = await discovery_tasks_repo.task(pool, result.task_ids[0])
    assert task is not None and (task.status, task.created_on) == ("new", DAY)
    cover = {c.township_code: c for c in await discovery_tasks_repo.coverage(pool, "341503")}
    assert (cover[SHIPO].received, cover[SHIPO].assisted, cover[SHIPO].tasked) == (4500, 4000, 500)
    assert (cover[SHUNHE].received, cover[SHUNHE].assisted, cover[SHUNHE].prompted, cover[SHUNHE].tasked) == (
        5500,
        5000,
        1000,
        500,
    )


async def test_one_task_per_person_and_kind_within_ninety_days(pool: asyncpg.Pool) -> None:
    await seed_households(pool, 1, 3, SHIPO, recipients=False, decided=DECIDED)
    first = await receive(pool, signals(1, 3, SignalKind.UNEMPLOYED, DAY))
    assert (first.tasked, first.duplicates) == (3, 0)
    # the same people, the same kind: 89 days later no new task; another kind: a task
    again = signals(1, 3, SignalKind.UNEMPLOYED, DAY) + signals(1, 1, SignalKind.DISASTER, DAY)
    later = await receive(pool, again, DAY + timedelta(days=89))
    assert (later.tasked, later.duplicates) == (1, 3)
    # twice in one list: one task
    twice = await receive(pool, signals(2, 1, SignalKind.POOR_STUDENT, DAY) * 2, DAY + timedelta(days=89))
    assert (twice.tasked, twice.duplicates) == (1, 1)
    # 90 days after the first: the window has passed
    after = await receive(pool, signals(1, 3, SignalKind.UNEMPLOYED, DAY), DAY + timedelta(days=90))
    assert (after.tasked, after.duplicates) == (3, 0)
    # the database itself refuses a second task in the window, whoever inserts it
    try:
        await pool.execute(
            "insert into discovery_tasks (task_id, id_number, name, kind, signal_on, township_code, created_on, "
            "quiet_until) values ('FX-X', $1, 'x', 'unemployed', $2, $3, $2, $2::date + 90)",
            person(1),
            DAY + timedelta(days=100),
            SHIPO,
        )
        raise AssertionError("a second task within 90 days was stored")
    except asyncpg.ExclusionViolationError:
        pass


async def test_lists_are_purged_when_their_retention_runs_out(pool: asyncpg.Pool) -> None:
    await seed_households(pool, 1, 2, SHIPO, recipients=False, decided=DECIDED)
    result = await receive(pool, signals(1, 2, SignalKind.UNEMPLOYED, DAY))
    keep_until = DAY + timedelta(days=180)
    assert await discovery_repo.purge(pool, keep_until) == 0
    assert await discovery_repo.signals_left(pool, result.list_id) == 2
    assert await discovery_repo.purge(pool, keep_until + timedelta(days=1)) == 1
    assert await discovery_repo.signals_left(pool, result.list_id) == 0
    # the counts stay, and the tasks (the township's work) too
    cover = {c.township_code: c for c in await discovery_tasks_repo.coverage(pool, SHIPO)}
    assert (cover[SHIPO].received, cover[SHIPO].tasked) == (2, 2)
    assert await pool.fetchval("select count(*) from discovery_tasks") == 2
