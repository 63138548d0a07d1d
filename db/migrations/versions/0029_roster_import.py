"""Roster import (issue 18, point 1): the existing recipients taken in from the national 社会救助信息系统.

- `roster_imports`: one row per imported file, keyed by the SHA-256 of its bytes (a file imported again is
  recognised and changes nothing), with who imported it and how many households and members it added.
- `roster_households`: which case each imported household became, keyed by the applicant's ID number and the
  kind of assistance, so a household that comes again in another file is not imported twice.
- `roster_checks`: the error sheet of a dry run on the administrator's page, for that administrator to download
  (it holds the rows as they were, ID numbers included); kept a day.
- `roster_case_seq`: the numbers of imported cases (`IMP-0000001`).
- `recipients.last_review_on`: the last ongoing review (动态管理) the national system recorded, if any;
  `recipients.review_pending`: the next review is scheduled (`next_review_on`) but its ongoing-review workflow is
  not started yet; the district's morning starts those whose date comes near (db/recipients_repo.py).

Create Date: 2026-12-04
"""

from alembic import op

revision = "0029"
down_revision = "0028"


def upgrade() -> None:
    op.execute(
        """
        create table roster_imports (
            id           bigserial primary key,
            file_sha256  text not null unique,
            filename     text not null,
            imported_by  text not null,
            households   integer not null,
            members      integer not null,
            skipped      integer not null default 0,
            imported_at  timestamptz not null default now()
        );
        create table roster_households (
            applicant_id_number text not null,
            assistance_type     text not null,
            case_id             text not null unique references cases(case_id),
            import_id           bigint not null references roster_imports(id),
            primary key (applicant_id_number, assistance_type)
        );
        create table roster_checks (
            id          text primary key,
            created_by  text not null,
            filename    text not null,
            errors      integer not null,
            sheet       bytea not null,
            created_at  timestamptz not null default now()
        );
        create sequence roster_case_seq;
        alter table recipients
            add column last_review_on date,
            add column review_pending boolean not null default false;
        create index recipients_review_pending on recipients (next_review_on) where review_pending;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        drop index recipients_review_pending;
        alter table recipients drop column review_pending, drop column last_review_on;
        drop sequence roster_case_seq;
        drop table roster_checks, roster_households, roster_imports;
        """
    )
