"""The monthly payroll (issue 18, points 3 and 4): a payroll per township, month and sequence (0 the regular
run, 1.. supplementary runs), its lines (who is paid, how much, into which account: a snapshot taken when it
is drafted), the bank's answers, and the township's tasks for the lines that did not reach the recipient.

Immutability is the database's: once a payroll is no longer a draft its lines cannot change, and once it is
confirmed the payroll row cannot either (triggers); the bank's results are append-only. The township's check
and the district's confirmation are by two different people (a check constraint). `recipients.arrears_months`
is the number of months of arrears paid with the first month (rules/payroll.py, computed at enrolment under
the case's policy version).

Create Date: 2026-12-04
"""

from alembic import op

revision = "0030"
down_revision = "0029"


def upgrade() -> None:
    op.execute(
        """
        alter table recipients add column arrears_months integer not null default 0 check (arrears_months >= 0);
        -- the amount in force in a month looks for the first adjustment decided in it or later, per recipient
        create index ongoing_reviews_adjusted on ongoing_reviews (case_id, reviewed_at) where outcome = 'adjust';
        create index recipients_township on recipients (township_code);

        create table payrolls (
            id             bigserial primary key,
            township_code  text not null references places(code),
            month          date not null check (extract(day from month) = 1),
            seq            integer not null default 0 check (seq >= 0),
            workflow_id    text not null unique,
            status         text not null default 'draft' check (status in ('draft', 'checked', 'confirmed')),
            lines          integer not null default 0,
            amount_fen     bigint not null default 0,
            held_lines     integer not null default 0,
            held_fen       bigint not null default 0,
            drafted_at     timestamptz not null default now(),
            checked_by     text,
            checked_at     timestamptz,
            check_note     text,
            confirmed_by   text,
            confirmed_at   timestamptz,
            confirm_note   text,
            unique (township_code, month, seq),
            constraint payroll_two_people check (confirmed_by is null or confirmed_by <> checked_by)
        );

        create table payroll_lines (
            id             bigserial primary key,
            payroll_id     bigint not null references payrolls(id),
            case_id        text not null references cases(case_id),
            assistance_type text not null,
            people         integer not null,
            for_month      date not null,
            holder_name    text not null,
            id_number      text not null,
            bank_name      text,
            account_number text,
            account_masked text,
            amount_fen     bigint not null check (amount_fen > 0),
            arrears_months integer not null default 0,
            note           text not null default '',
            retry_of       bigint unique references payroll_lines(id),
            unique (payroll_id, case_id, for_month)
        );
        create index payroll_lines_case on payroll_lines (case_id, for_month);

        create table payroll_returns (
            id            bigserial primary key,
            payroll_id    bigint not null references payrolls(id),
            file_name     text not null,
            rows          jsonb not null,
            uploaded_by   text not null,
            uploaded_at   timestamptz not null default now(),
            summary       jsonb
        );

        create table payroll_results (
            line_id     bigint primary key references payroll_lines(id),
            result      text not null check (result in ('paid', 'failed')),
            reason      text,
            return_id   bigint references payroll_returns(id),
            recorded_at timestamptz not null default now()
        );

        create table payroll_tasks (
            id            bigserial primary key,
            township_code text not null references places(code),
            case_id       text not null references cases(case_id),
            line_id       bigint not null unique references payroll_lines(id),
            kind          text not null check (kind in ('failed', 'no_account')),
            reason        text not null,
            created_at    timestamptz not null default now(),
            resolved_at   timestamptz,
            resolved_by   text
        );
        create index payroll_tasks_open on payroll_tasks (township_code) where resolved_at is null;

        create function payroll_frozen() returns trigger language plpgsql as $$
        begin
            if tg_op = 'DELETE' then
                raise exception 'payroll % is confirmed and cannot change', old.id;
            end if;
            if old.status = 'confirmed' then
                raise exception 'payroll % is confirmed and cannot change', old.id;
            end if;
            return new;
        end $$;
        create trigger payrolls_frozen before update or delete on payrolls
            for each row execute function payroll_frozen();

        create function payroll_lines_frozen() returns trigger language plpgsql as $$
        declare
            pid bigint := case when tg_op = 'DELETE' then old.payroll_id else new.payroll_id end;
        begin
            if (select status from payrolls where id = pid) <> 'draft'
               or (tg_op = 'UPDATE' and old.payroll_id <> new.payroll_id) then
                raise exception 'lines of payroll % are confirmed or checked and cannot change', pid;
            end if;
            return case when tg_op = 'DELETE' then old else new end;
        end $$;
        create trigger payroll_lines_frozen before insert or update or delete on payroll_lines
            for each row execute function payroll_lines_frozen();

        create function payroll_results_append_only() returns trigger language plpgsql as $$
        begin
            raise exception 'payroll results are append-only';
        end $$;
        create trigger payroll_results_append_only before update or delete on payroll_results
            for each row execute function payroll_results_append_only();
        """
    )


def downgrade() -> None:
    op.execute(
        """
        drop table payroll_tasks, payroll_results, payroll_returns, payroll_lines, payrolls;
        drop function payroll_frozen, payroll_lines_frozen, payroll_results_append_only;
        drop index ongoing_reviews_adjusted, recipients_township;
        alter table recipients drop column arrears_months;
        """
    )
