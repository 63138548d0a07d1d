"""Indexes for the case list at county scale (bench/RESULTS.md: 100,000 cases).

- the jurisdiction test `starts_with(coalesce(village_code, township_code), $1)` as an index (C collation,
  so a prefix is a range whatever the database's collation); it also gives the planner statistics
  for that expression, without which it guessed 0.5% of the rows for a whole district;
- the list's order (deadline, accepted_at, case_id), so a page is read in order instead of sorting
  every row of the jurisdiction;
- the acceptance day in Beijing time (the list's date range filter) and the applicant's name (the
  name prefix filter), for their counts.

Create Date: 2026-12-07
"""

from alembic import op

revision = "0009"
down_revision = "0008"


def upgrade() -> None:
    op.execute(
        """
        create index cases_place on cases ((coalesce(village_code, township_code)) collate "C");
        create index cases_list_order on cases (deadline, accepted_at, case_id);
        create index cases_accepted_day on cases (((accepted_at at time zone 'Asia/Shanghai')::date));
        create index cases_name on cases (applicant_name collate "C");
        analyze cases;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        drop index if exists cases_name;
        drop index if exists cases_accepted_day;
        drop index if exists cases_list_order;
        drop index if exists cases_place;
        """
    )
