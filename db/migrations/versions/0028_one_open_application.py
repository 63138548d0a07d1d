"""One open application per person and assistance type; the public notice's period on the case row (issue 17,
points 3 and 5).

`open_applications` holds, for every open review case, each household member's ID number under the case's
assistance type; the partial unique index lets only one open case hold a person and type, so two intakes at
once cannot both start a case (`db.applications_repo.claim`). A case that closes (enrolled, refused,
withdrawn, terminated) releases its rows. Open cases are backfilled (the oldest case keeps a person where
duplicates already exist).

`cases.notice_started_at` / `notice_ends_at`: the current public notice (the event `notice_started` sets them,
an objection leaves the stage), for the portal's public list and the printable notice. Backfilled from the
event log for cases in public notice.

Create Date: 2026-12-04
"""

from alembic import op

revision = "0028"
down_revision = "0027"


def upgrade() -> None:
    op.execute(
        """
        create table open_applications (
            case_id          text not null,  -- claimed before the workflow writes the case row
            id_number        text not null,
            assistance_type  text not null,
            claimed_at       timestamptz not null default now(),
            released_at      timestamptz,
            primary key (case_id, id_number)
        );
        create unique index open_applications_one_open on open_applications (id_number, assistance_type)
            where released_at is null;
        insert into open_applications (case_id, id_number, assistance_type, claimed_at)
        select c.case_id, m.id_number, c.assistance_type, c.accepted_at
        from cases c join household_members m on m.household_id = c.household_id
        where c.status = 'open'
        order by c.accepted_at, c.case_id
        on conflict do nothing;

        alter table cases add column notice_started_at timestamptz, add column notice_ends_at timestamptz;
        update cases c set notice_started_at = e.occurred_at, notice_ends_at = (e.payload->>'ends_at')::timestamptz
        from (select distinct on (case_id) case_id, occurred_at, payload from case_events
              where kind = 'notice_started' order by case_id, id desc) e
        where e.case_id = c.case_id and c.stage = 'public_notice';
        create index cases_in_notice on cases (township_code, notice_ends_at) where stage = 'public_notice';
        """
    )


def downgrade() -> None:
    op.execute(
        """
        drop index cases_in_notice;
        alter table cases drop column notice_started_at, drop column notice_ends_at;
        drop table open_applications;
        """
    )
