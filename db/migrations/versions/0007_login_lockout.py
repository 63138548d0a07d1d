"""Log-in lock-out: failed attempts counted per user name, in the database so that every web replica
sees the same count and a restart does not unlock anyone.

Rows are keyed by the user name as typed, whether or not such a user exists: an unknown name is
locked exactly like a real one, so the lock-out does not tell which names exist.

Create Date: 2026-12-06
"""

from alembic import op

revision = "0007"
down_revision = "0005"


def upgrade() -> None:
    op.execute(
        """
        create table login_failures (
            username        text primary key check (length(username) between 1 and 64),
            failures        integer not null check (failures >= 1),
            first_failed_at timestamptz not null,
            last_failed_at  timestamptz not null,
            locked_until    timestamptz
        );
        create index login_failures_last on login_failures (last_failed_at);
        """
    )


def downgrade() -> None:
    op.execute("drop table login_failures")
