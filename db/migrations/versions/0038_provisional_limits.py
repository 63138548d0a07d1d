"""Provisional (暂定) limits on the front door's and the discovery tasks' rows, as cases have `deadline_provisional`:
a 12349 request's answer date, a referral's limits to accept and to answer, a complaint's limits to accept and to
conclude, a discovery task's visit. A limit running through a year whose holiday notice is not in the calendar yet
is counted with the statutory holidays alone and may move when the notice is imported; the lists show 暂定 beside
it. Their workflows write the flags with the dates (db.frontdoor_repo.write_log, db.discovery_tasks_repo.open_task).

The open rows written before are filled from the calendar as it is now: a limit is provisional when a year it runs
through (from the day it was counted from; a complaint's, in calendar days, its last day's) has no notice, neither
built in (`rules.calendar.BUILTIN_YEARS`) nor imported (`calendar_years`), as `rules.calendar.WorkCalendar` says.

Create Date: 2026-12-21
"""

import sqlalchemy as sa
from alembic import op

from rules.calendar import BUILTIN_YEARS

revision = "0038"
down_revision = "0037"


def _unknown_year(first: str, last: str) -> str:
    """SQL: a year from `first`'s to `last`'s (dates) has no holiday notice."""
    return (
        f"exists (select from generate_series(extract(year from {first})::int, extract(year from {last})::int) y "
        "where y not in (select unnest(cast(:builtin as integer[])) union select year from calendar_years))"
    )


def _day(at: str) -> str:
    return f"({at} at time zone 'Asia/Shanghai')::date"


BACKFILL = [
    f"update frontdoor_requests set answer_provisional = {_unknown_year(_day('created_at'), 'answer_due')} "
    "where status <> 'closed' and answer_due is not null",
    f"update referrals set accept_provisional = {_unknown_year(_day('delivered_at'), 'accept_due')}, "
    f"result_provisional = {_unknown_year(_day('delivered_at'), 'result_due')} "
    "where status <> 'answered' and accept_due is not null and result_due is not null",
    f"update complaints set accept_provisional = {_unknown_year('accept_due', 'accept_due')}, "
    f"conclude_provisional = {_unknown_year('conclude_due', 'conclude_due')} "
    "where status <> 'concluded' and accept_due is not null and conclude_due is not null",
    f"update discovery_tasks set visit_provisional = {_unknown_year('created_on', 'visit_due')} "
    "where status in ('open', 'escalated') and visit_due is not null",
]


def upgrade() -> None:
    op.execute(
        """
        alter table frontdoor_requests add column answer_provisional boolean not null default false;
        alter table referrals add column accept_provisional boolean not null default false,
            add column result_provisional boolean not null default false;
        alter table complaints add column accept_provisional boolean not null default false,
            add column conclude_provisional boolean not null default false;
        alter table discovery_tasks add column visit_provisional boolean not null default false;
        """
    )
    builtin = sorted(BUILTIN_YEARS)
    for sql in BACKFILL:
        op.get_bind().execute(sa.text(sql), {"builtin": builtin})


def downgrade() -> None:
    op.execute(
        """
        alter table discovery_tasks drop column visit_provisional;
        alter table complaints drop column accept_provisional, drop column conclude_provisional;
        alter table referrals drop column accept_provisional, drop column result_provisional;
        alter table frontdoor_requests drop column answer_provisional;
        """
    )
