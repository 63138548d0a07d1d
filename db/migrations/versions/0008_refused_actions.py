"""Refused attempts to act on a case by a related person (recusal), kept for the district's
conflict-of-interest supervision: the workflow refuses them, so they leave no trace in its history.

Create Date: 2026-12-06
"""

from alembic import op

revision = "0008"
down_revision = "0007"


def upgrade() -> None:
    op.execute(
        """
        create table refused_actions (
            id       bigserial primary key,
            case_id  text not null references cases(case_id),
            username text not null,
            action   text not null,
            code     text not null,
            message  text not null,
            at       timestamptz not null default now()
        );
        create index refused_actions_case on refused_actions (case_id, at);
        """
    )


def downgrade() -> None:
    op.execute("drop table refused_actions")
