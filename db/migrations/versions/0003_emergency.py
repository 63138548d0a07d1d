"""Emergency aid: events, the funds of village societies / township / district with their ledgers,
payments (unique idempotency keys) and the disbursement outbox the finance office pays from.

Create Date: 2026-11-29
"""

from alembic import op

revision = "0003"
down_revision = "0002"


def upgrade() -> None:
    op.execute(
        """
        create table aid_funds (
            id         bigserial primary key,
            place_code text not null unique references places(code),
            level      text not null check (level in ('village', 'township', 'district')),
            name       text not null,
            created_at timestamptz not null default now()
        );
        insert into aid_funds (place_code, level, name)
        select code, level,
               case level when 'village' then name || '救急难互助社'
                          when 'township' then name || '临时救助资金'
                          else name || '区级临时救助资金' end
        from places;

        create table emergencies (
            event_id            text primary key,
            workflow_id         text not null unique,
            kind                text not null,
            description         text not null,
            applicant_name      text not null,
            applicant_id_masked text not null,
            township_code       text not null references places(code),
            village_code        text not null references places(code),
            channel             text not null,
            registered_by       text not null,
            registered_at       timestamptz not null,
            policy_version      integer not null references policy_versions(version),
            tier                text not null default 'village',
            status              text not null default 'open' check (status in ('open', 'closed')),
            village_fen         bigint not null default 0,
            township_fen        bigint not null default 0,
            district_fen        bigint not null default 0,
            documentation_due   date,
            documents_done      boolean not null default false,
            closed_at           timestamptz,
            updated_at          timestamptz not null default now()
        );
        create index emergencies_open on emergencies (township_code, tier) where status = 'open';

        create table aid_payments (
            id           bigserial primary key,
            payment_key  text not null unique,
            event_id     text not null references emergencies(event_id),
            tier         text not null,
            fund_id      bigint not null references aid_funds(id),
            amount_fen   bigint not null check (amount_fen > 0),
            approved_by  text not null,
            approved_at  timestamptz not null,
            note         text,
            transfer_ref text,
            paid_at      timestamptz
        );
        create index aid_payments_event on aid_payments (event_id);

        create table fund_entries (
            id          bigserial primary key,
            fund_id     bigint not null references aid_funds(id),
            kind        text not null check (kind in ('income', 'payment')),
            amount_fen  bigint not null check (amount_fen > 0),
            source      text check (source in ('government', 'collective', 'donation')),
            donor       text,
            note        text,
            payment_key text unique references aid_payments(payment_key),
            recorded_by text not null,
            recorded_at timestamptz not null default now(),
            check ((kind = 'income') = (source is not null)),
            check ((kind = 'payment') = (payment_key is not null))
        );
        create index fund_entries_fund on fund_entries (fund_id, recorded_at);

        create table disbursements (
            transfer_key    text primary key,
            amount_fen      bigint not null check (amount_fen > 0),
            payee_name      text not null,
            payee_id_masked text not null,
            created_at      timestamptz not null default now()
        );

        create table emergency_log (
            id          bigserial primary key,
            event_id    text not null references emergencies(event_id),
            log_key     text not null,
            kind        text not null,
            actor       text,
            payload     jsonb not null default '{}',
            occurred_at timestamptz not null,
            unique (event_id, log_key)
        );
        """
    )


def downgrade() -> None:
    op.execute("drop table emergency_log, disbursements, fund_entries, aid_payments, emergencies, aid_funds")
