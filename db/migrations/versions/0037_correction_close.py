"""Corrections a re-check opens can be closed (audit "ongoing", finding M5): the written outcome, who closed it and
when. A closed correction (`done`) always carries all three.

Create Date: 2026-12-21
"""

from alembic import op

revision = "0037"
down_revision = "0035"


def upgrade() -> None:
    op.execute(
        """
        alter table case_corrections
            add column outcome text,
            add column closed_by text,
            add column closed_at timestamptz,
            add constraint case_corrections_closed_with_outcome
                check (status = 'open' or (outcome is not null and closed_by is not null and closed_at is not null));
        create index case_corrections_open on case_corrections (case_id) where status = 'open';
        """
    )


def downgrade() -> None:
    op.execute(
        """
        drop index case_corrections_open;
        alter table case_corrections drop constraint case_corrections_closed_with_outcome,
            drop column outcome, drop column closed_by, drop column closed_at;
        """
    )
