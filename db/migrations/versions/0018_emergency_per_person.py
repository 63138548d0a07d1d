"""Emergency aid per person (issue 15): an event's path (急难型 `urgent`, or 支出型 `expense` with the household's
declared expense and income), and an index on the open events of a person, which registration looks up (a
person has at most one open event; the registration activity takes a per-person lock before it inserts).

Create Date: 2026-12-15
"""

from alembic import op

revision = "0018"
down_revision = "0017"


def upgrade() -> None:
    op.execute(
        """
        alter table emergencies
            add column path text not null default 'urgent' check (path in ('urgent', 'expense')),
            add column expense jsonb;
        create index emergencies_open_person on emergencies (applicant_id_number) where status = 'open';
        """
    )


def downgrade() -> None:
    op.execute(
        """
        drop index emergencies_open_person;
        alter table emergencies drop column expense, drop column path;
        """
    )
