"""Idempotent staff actions (issue 15): each state-changing request sent with an `Idempotency-Key` (a header for
the API, a hidden field of every form) is done once per user, route and key; a repeat gets the first answer.

A row is inserted before the work starts (`in_progress`), under the primary key, so a concurrent duplicate
finds it and waits for the answer instead of doing the work again; the answer (status, the headers that matter,
body) is kept with it. Rows are kept at least 24 hours (`db/idempotency_repo.py` purges those older than 48).

Create Date: 2026-12-13
"""

from alembic import op

revision = "0017"
down_revision = "0016"


def upgrade() -> None:
    op.execute(
        """
        create table idempotency_keys (
            username        text not null,
            route           text not null,
            key             text not null,
            fingerprint     text not null,
            state           text not null default 'in_progress' check (state in ('in_progress', 'done')),
            response_status integer,
            response_headers jsonb,
            response_body   bytea,
            created_at      timestamptz not null default clock_timestamp(),
            claimed_at      timestamptz not null default clock_timestamp(),
            done_at         timestamptz,
            primary key (username, route, key),
            check ((state = 'done') = (response_status is not null))
        );
        create index idempotency_keys_created on idempotency_keys (created_at);
        """
    )


def downgrade() -> None:
    op.execute("drop table idempotency_keys")
