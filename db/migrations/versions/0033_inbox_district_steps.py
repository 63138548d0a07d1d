"""The inbox knows every district step a case waits for (see `rules.progress`).

- `cases.district_visit_required`: the district must visit the household itself (a relatives match, a namesake
  warning, a declared relative, a complaint or an objection through 12349), not only after a relatives match;
- `cases.district_approval`: the township referred an approval to the district, whose officers now decide;
- `cases.barred_users` also holds the users an unsettled namesake warning names.

Existing rows are filled from their event logs.

Create Date: 2026-12-04
"""

from alembic import op

revision = "0033"
down_revision = "0032"


def upgrade() -> None:
    op.execute(
        """
        alter table cases add column district_visit_required boolean not null default false,
            add column district_approval boolean not null default false;
        update cases c set district_visit_required = true
        where c.relatives_match or exists (
            select from case_events e where e.case_id = c.case_id
              and (e.kind in ('complaint_filed', 'district_visit_required')
                   or (e.kind = 'objection' and e.payload->>'via' = '12349')));
        update cases c set district_approval = true
        where exists (select from case_events e where e.case_id = c.case_id and e.kind = 'referred_to_district');
        update cases c set barred_users = array(
            select distinct u from unnest(c.barred_users || array(
                select n->>'username'
                from case_events e cross join lateral jsonb_array_elements(e.payload->'namesakes') n
                where e.case_id = c.case_id and e.kind = 'relatives_namesake'
                  and not exists (
                      select from case_events d where d.case_id = c.case_id
                        and ((d.kind = 'namesake_dismissed' and d.payload->>'username' = n->>'username')
                             or (d.kind = 'relatives_matched' and d.payload->>'namesake' = n->>'username')))
            )) u order by u)
        where c.status = 'open'
          and exists (select from case_events e where e.case_id = c.case_id and e.kind = 'relatives_namesake');
        """
    )


def downgrade() -> None:
    op.execute("alter table cases drop column district_visit_required, drop column district_approval")
