"""The roster import's audit (H1, H3): the first month Jiuzhu pays an imported household, and one person on the
register once per kind of assistance.

`recipients.paid_from`: for a household imported from the national system's roster, the first month Jiuzhu pays
(`rules.payroll.imported_paid_from`: the import month while its payroll day has not passed, else the next month;
or the cut-over month the administrator gave). The payroll and the fund declaration (`db.payroll_due_repo.due`)
never count a month before it: the national system paid those. Empty for households enrolled by a review (paid
from their first payment month). Households imported before are filled in by the same rule, from their import's
time and the payroll day of the policy then in force.

`recipient_people`: each member of an active recipient household under its kind of assistance, kept by triggers on
`recipients` (an insert of an active row adds its household's members; a row that stops, or changes its kind,
follows), whoever writes the register (a review's enrolment, the roster import, a test). Its partial unique index
lets one person be active once per kind: a second enrolment cannot slip through a race (the enrolment takes it
as a refusal to pay twice, `db.recipients_repo.enrol`). Filled from the active register: where a person is active
twice already, the earlier decision keeps them, and the later household (still paid as before) is escalated to the
district (an `escalations` row of kind `duplicate_recipient`, on the case page, and a notice) to settle.

Create Date: 2026-12-05
"""

from alembic import op

revision = "0035"
down_revision = "0034"


def upgrade() -> None:
    op.execute(
        """
        alter table recipients add column paid_from date;
        update recipients r set paid_from = date_trunc('month', d.on_day)::date
            + case when extract(day from d.on_day) > d.payroll_day then interval '1 month' else interval '0' end
        from (
            select h.case_id, (i.imported_at at time zone 'Asia/Shanghai')::date as on_day,
                   coalesce((select (p.body->'payroll'->>'payroll_day')::int from policy_versions p
                             where p.effective_from <= (i.imported_at at time zone 'Asia/Shanghai')::date
                             order by p.effective_from desc limit 1), 10) as payroll_day
            from roster_households h join roster_imports i on i.id = h.import_id
        ) d
        where d.case_id = r.case_id;

        create table recipient_people (
            case_id          text not null references recipients(case_id),
            id_number        text not null,
            assistance_type  text not null,
            enrolled_at      timestamptz not null default now(),
            stopped_at       timestamptz,
            primary key (case_id, id_number)
        );
        create unique index recipient_people_one_active
            on recipient_people (id_number, assistance_type) where stopped_at is null;
        insert into recipient_people (case_id, id_number, assistance_type, enrolled_at)
        select r.case_id, m.id_number, r.assistance_type, r.created_at
        from recipients r join household_members m on m.household_id = r.household_id
        where r.status = 'active'
        order by r.decided_at, r.case_id
        on conflict do nothing;
        create temp table twice on commit drop as
        select distinct r.case_id, r.township_code
        from recipients r join household_members m on m.household_id = r.household_id
        where r.status = 'active'
          and not exists (select from recipient_people p where p.case_id = r.case_id and p.id_number = m.id_number);
        insert into escalations (case_id, escalation_key, kind, deadline, created_at)
        select case_id, 'duplicate-recipient-' || case_id, 'duplicate_recipient', current_date, now() from twice
        on conflict (escalation_key) do nothing;
        insert into notifications (idempotency_key, case_id, audience, kind, subject, body)
        select 'duplicate-recipient-' || case_id, case_id, 'role:district_officer@' || left(township_code, 6),
               'duplicate-recipient', '重复在册',
               '案件 ' || case_id
               || '：家庭成员同时是另一户的在册救助对象（同一人重复享受同类救助），请区民政局核实处理'
        from twice
        on conflict (idempotency_key) do nothing;

        create function recipient_people_enrolled() returns trigger language plpgsql as $$
        begin
            insert into recipient_people (case_id, id_number, assistance_type)
            select n.case_id, m.id_number, n.assistance_type
            from new_rows n join household_members m on m.household_id = n.household_id
            where n.status = 'active'
            order by m.id_number;
            return null;
        end $$;
        create trigger recipients_people_enrolled after insert on recipients
            referencing new table as new_rows for each statement execute function recipient_people_enrolled();

        create function recipient_people_changed() returns trigger language plpgsql as $$
        begin
            if new.status <> 'active' then
                update recipient_people set stopped_at = coalesce(new.stopped_at, now())
                where case_id = new.case_id and stopped_at is null;
            elsif old.status <> 'active' then
                insert into recipient_people (case_id, id_number, assistance_type)
                select new.case_id, m.id_number, new.assistance_type
                from household_members m where m.household_id = new.household_id
                order by m.id_number
                on conflict (case_id, id_number) do update set stopped_at = null, enrolled_at = now();
            end if;
            if new.assistance_type <> old.assistance_type then
                update recipient_people set assistance_type = new.assistance_type where case_id = new.case_id;
            end if;
            return null;
        end $$;
        create trigger recipients_people_changed after update of status, assistance_type on recipients
            for each row when (old.status is distinct from new.status
                               or old.assistance_type is distinct from new.assistance_type)
            execute function recipient_people_changed();
        """
    )


def downgrade() -> None:
    op.execute(
        """
        drop trigger recipients_people_changed on recipients;
        drop trigger recipients_people_enrolled on recipients;
        drop function recipient_people_changed();
        drop function recipient_people_enrolled();
        drop table recipient_people;
        alter table recipients drop column paid_from;
        """
    )
