"""Rate-limit counters in PostgreSQL, so every web replica counts the same log-in attempts and portal
look-ups per address (before, each process counted on its own: N replicas gave an address N times the
attempts). A moving window, as the in-process limiter had: one row per hit, counted over the last
window's length.

Create Date: 2026-11-29
"""

from alembic import op

revision = "0013"
down_revision = "0012"


def upgrade() -> None:
    op.execute(
        """
        create table rate_limit_hits (
            scope text not null,
            key   text not null,
            at    timestamptz not null default clock_timestamp()
        );
        create index rate_limit_hits_key on rate_limit_hits (scope, key, at);
        create index rate_limit_hits_at on rate_limit_hits (at);
        """
    )


def downgrade() -> None:
    op.execute("drop table rate_limit_hits")
