"""Ongoing review with separation of duties and re-checks assigned away from the people involved (issue 15,
point 8): an ongoing review records who decided the caseworker's proposal, at which level (township or
district) and with what opinion; a re-check records the district officer it is assigned to.

Create Date: 2026-12-14
"""

from alembic import op

revision = "0020"
down_revision = "0019"


def upgrade() -> None:
    op.execute(
        """
        alter table ongoing_reviews
            add column decided_by text,
            add column decided_level text check (decided_level in ('township', 'district')),
            add column decision_opinion text;
        alter table rechecks add column assigned_to text;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        alter table rechecks drop column assigned_to;
        alter table ongoing_reviews drop column decided_by, drop column decided_level, drop column decision_opinion;
        """
    )
