"""Review workflow: who handles a case, the decision's amount, escalations, verification requests.

Create Date: 2026-11-29
"""

from alembic import op

revision = "0002"
down_revision = "0001"


def upgrade() -> None:
    op.execute(
        """
        alter table cases
            add column handled_by text not null default 'township' check (handled_by in ('township', 'district')),
            add column category text,
            add column monthly_amount_fen bigint;

        create table escalations (
            id            bigserial primary key,
            case_id       text not null references cases(case_id),
            escalation_key text not null unique,
            kind          text not null,
            deadline      date not null,
            level         text not null default 'district',
            created_at    timestamptz not null,
            taken_over_by text,
            taken_over_at timestamptz
        );
        create index escalations_open on escalations (created_at) where taken_over_by is null;

        create table verification_requests (
            id            bigserial primary key,
            case_id       text not null unique references cases(case_id),
            township_code text not null,
            requested_at  timestamptz not null,
            adapter       text not null,
            status        text not null default 'requested' check (status in ('requested', 'answered')),
            result        jsonb,
            answered_by   text,
            answered_at   timestamptz
        );
        create index verification_requests_open on verification_requests (requested_at) where status = 'requested';
        """
    )


def downgrade() -> None:
    op.execute(
        """
        drop table verification_requests, escalations;
        alter table cases drop column handled_by, drop column category, drop column monthly_amount_fen;
        """
    )
