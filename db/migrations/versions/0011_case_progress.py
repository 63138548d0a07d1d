"""Each case row carries what its event log says is done (paused, visits, interviews, who is barred), kept
by a trigger on `case_events`, so the task inbox reads only `cases`.

Before this the inbox aggregated every open case's event log per request: a district officer (every open
case of the district) waited 73 ms at p95 with 2,500 open cases (bench/RESULTS.md). A trigger, not the
activity that records events, keeps the columns, so every writer of the log (the review workflow's
activity, a re-check, a restore, a benchmark's seed) keeps them right. It fires only for rows actually
inserted, so a replayed activity (`on conflict do nothing`) changes nothing, and only for the kinds it
reads (its WHEN clause), so the other events of a case cost no function call.

- `paused`: the latest of materials_missing / materials_supplied (by occurred_at) is materials_missing;
- `home_visit_at`, `neighbour_at`: the latest home visit and neighbour interview; `reinvestigate_at`: the
  latest objection that sent the case back to investigation (a visit counts only if later than that);
- `district_visit_done`: a home visit by the district (after a relatives match);
- `barred_users`: staff the relatives check keeps away from the case.

Create Date: 2026-11-29
"""

from alembic import op

revision = "0011"
down_revision = "0010"

# The trigger's function and definition, kept apart so that migration 0014, which drops them, can put them
# back on its downgrade.
TRIGGER = """
    create function case_progress() returns trigger language plpgsql as $$
    begin
        if new.kind in ('materials_missing', 'materials_supplied') then
            update cases set paused = (new.kind = 'materials_missing'), paused_changed_at = new.occurred_at
             where case_id = new.case_id
               and (paused_changed_at is null or paused_changed_at <= new.occurred_at);
        elsif new.kind = 'home_visit' then
            update cases set home_visit_at = greatest(home_visit_at, new.occurred_at),
                   district_visit_done = district_visit_done
                                         or coalesce((new.payload->>'by_district')::boolean, false)
             where case_id = new.case_id;
        elsif new.kind = 'neighbour_interview' then
            update cases set neighbour_at = greatest(neighbour_at, new.occurred_at) where case_id = new.case_id;
        elsif new.kind = 'objection' and new.payload->>'route' = 'reinvestigate' then
            update cases set reinvestigate_at = greatest(reinvestigate_at, new.occurred_at)
             where case_id = new.case_id;
        elsif new.kind = 'relatives_matched' then
            update cases set barred_users = array(
                    select unnest(barred_users)
                    union
                    select b->>'username' from jsonb_array_elements(coalesce(new.payload->'barred', '[]')) b
                    order by 1)
             where case_id = new.case_id;
        end if;
        return null;
    end
    $$;

    create trigger case_events_progress after insert on case_events
        for each row when (new.kind in ('materials_missing', 'materials_supplied', 'home_visit',
                                        'neighbour_interview', 'objection', 'relatives_matched'))
        execute function case_progress();
"""


def upgrade() -> None:
    op.execute(
        """
        alter table cases
            add column paused boolean not null default false,
            add column paused_changed_at timestamptz,
            add column home_visit_at timestamptz,
            add column neighbour_at timestamptz,
            add column reinvestigate_at timestamptz,
            add column district_visit_done boolean not null default false,
            add column barred_users text[] not null default '{}';
        """
    )
    op.execute(TRIGGER)
    op.execute(
        """
        update cases c set
            paused = coalesce(e.paused, false),
            paused_changed_at = e.paused_changed_at,
            home_visit_at = e.home_visit_at,
            neighbour_at = e.neighbour_at,
            reinvestigate_at = e.reinvestigate_at,
            district_visit_done = e.district_visit_done,
            barred_users = e.barred_users
        from (
            select case_id,
                   (array_agg(kind order by occurred_at desc, id desc)
                        filter (where kind in ('materials_missing', 'materials_supplied')))[1] = 'materials_missing'
                       as paused,
                   max(occurred_at) filter (where kind in ('materials_missing', 'materials_supplied'))
                       as paused_changed_at,
                   max(occurred_at) filter (where kind = 'home_visit') as home_visit_at,
                   max(occurred_at) filter (where kind = 'neighbour_interview') as neighbour_at,
                   max(occurred_at) filter (where kind = 'objection' and payload->>'route' = 'reinvestigate')
                       as reinvestigate_at,
                   coalesce(bool_or(kind = 'home_visit' and (payload->>'by_district')::boolean), false)
                       as district_visit_done,
                   array(select distinct b->>'username'
                           from case_events m, jsonb_array_elements(coalesce(m.payload->'barred', '[]')) b
                          where m.case_id = ev.case_id and m.kind = 'relatives_matched' order by 1) as barred_users
              from case_events ev
             group by case_id
        ) e
        where e.case_id = c.case_id;

        create index cases_open_place on cases ((coalesce(village_code, township_code)) collate "C")
            where status = 'open';
        analyze cases;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        drop index if exists cases_open_place;
        drop trigger if exists case_events_progress on case_events;
        drop function if exists case_progress();
        alter table cases
            drop column paused, drop column paused_changed_at, drop column home_visit_at,
            drop column neighbour_at, drop column reinvestigate_at, drop column district_visit_done,
            drop column barred_users;
        """
    )
