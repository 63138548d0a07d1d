"""District supervision: sampling draws and re-checks, corrections, ongoing reviews of recipients,
daily digests, monthly fund declarations (immutable once confirmed; corrections are new versions).

Create Date: 2026-11-29
"""

from alembic import op

revision = "0005"
down_revision = "0004"


def upgrade() -> None:
    op.execute(
        """
        create table sampling_draws (
            month       text primary key,            -- 'YYYY-MM' of the decisions drawn from
            seed        text not null,
            share       numeric not null,
            population  integer not null,
            drawn       jsonb not null,               -- [{case_id, township_code, reason}]
            drawn_at    timestamptz not null
        );

        create table rechecks (
            recheck_id    text primary key,
            workflow_id   text not null unique,
            month         text not null references sampling_draws(month),
            case_id       text not null references cases(case_id),
            township_code text not null references places(code),
            reason        text not null,
            status        text not null default 'open' check (status in ('open', 'upheld', 'irregular')),
            findings      text,
            home_visit    boolean,
            checked_by    text,
            checked_at    timestamptz,
            unique (month, case_id)
        );

        create table case_corrections (
            id          bigserial primary key,
            case_id     text not null references cases(case_id),
            recheck_id  text not null unique references rechecks(recheck_id),
            findings    text not null,
            status      text not null default 'open' check (status in ('open', 'done')),
            opened_at   timestamptz not null
        );

        create table ongoing_reviews (
            id            bigserial primary key,
            review_key    text not null unique,         -- '<case_id>-<cycle>'
            case_id       text not null references cases(case_id),
            due_on        date not null,
            outcome       text check (outcome in ('continue', 'adjust', 'stop')),
            old_amount_fen bigint,
            new_amount_fen bigint,
            reasons       text,
            findings      text,
            reviewed_by   text,
            reviewed_at   timestamptz
        );
        alter table recipients
            add column review_cadence_months integer,
            add column next_review_on date,
            add column stopped_at timestamptz,
            add column stop_reasons text;

        create table digests (
            id          bigserial primary key,
            digest_key  text not null unique,           -- '<date>-<place>'
            day         date not null,
            place_code  text not null references places(code),
            body        jsonb not null,
            created_at  timestamptz not null default now()
        );
        create index digests_place on digests (place_code, day desc);

        create table fund_declarations (
            month        text not null,
            version      integer not null,
            status       text not null default 'draft' check (status in ('draft', 'confirmed', 'superseded')),
            data         jsonb not null,
            totals       jsonb not null,
            created_by   text not null,
            created_at   timestamptz not null default now(),
            confirmed_by text,
            confirmed_at timestamptz,
            note         text,
            primary key (month, version)
        );

        -- A confirmed declaration is immutable: a correction is a new version.
        create function fund_declarations_immutable() returns trigger language plpgsql as $$
        begin
            if old.status = 'confirmed' and (new.data is distinct from old.data
                                             or new.totals is distinct from old.totals
                                             or new.status not in ('confirmed', 'superseded')) then
                raise exception 'fund declaration % v% is confirmed and cannot be changed', old.month, old.version;
            end if;
            return new;
        end $$;
        create trigger fund_declarations_immutable before update on fund_declarations
            for each row execute function fund_declarations_immutable();
        create rule fund_declarations_no_delete as on delete to fund_declarations
            where old.status <> 'draft' do instead nothing;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        drop rule fund_declarations_no_delete on fund_declarations;
        drop table fund_declarations;
        drop function fund_declarations_immutable;
        drop table digests, ongoing_reviews, case_corrections, rechecks, sampling_draws;
        alter table recipients drop column review_cadence_months, drop column next_review_on,
            drop column stopped_at, drop column stop_reasons;
        """
    )
