"""Server-side sessions (issue 16, point 5): one row per log-in, behind both the browser's session cookie and
the bearer token the API log-in hands out, so that log-out, a password change, a deactivation and the
administrator's "end all sessions" revoke it at once (the row is deleted).

Only a SHA-256 digest of the session's secret is kept: a copy of the table (a backup) opens no session. A
session ends when it has been idle longer than the idle timeout or is older than the absolute limit
(`Settings.session_idle_minutes`, `session_max_hours`), measured by the database's clock.

Create Date: 2026-12-14
"""

from alembic import op

revision = "0021"
down_revision = "0020"


def upgrade() -> None:
    op.execute(
        """
        create table sessions (
            id           bigserial primary key,
            token_hash   bytea not null unique check (length(token_hash) = 32),
            user_id      bigint not null references users(id) on delete cascade,
            kind         text not null check (kind in ('page', 'api')),
            created_at   timestamptz not null default now(),
            last_seen_at timestamptz not null default now(),
            client_ip    text,
            user_agent   text
        );
        create index sessions_user on sessions (user_id);
        create index sessions_last_seen on sessions (last_seen_at);
        """
    )


def downgrade() -> None:
    op.execute("drop table sessions")
