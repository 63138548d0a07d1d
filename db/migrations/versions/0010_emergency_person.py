"""Emergency events keep the person's full ID number (like cases and front-door requests), so the one
household view finds every event of a person, not only those matching a name and a masked number.

Create Date: 2026-11-29
"""

from alembic import op

revision = "0010"
down_revision = "0009"


def upgrade() -> None:
    op.execute(
        """
        alter table emergencies add column applicant_id_number text;
        create index emergencies_person on emergencies (applicant_id_number);
        """
    )


def downgrade() -> None:
    op.execute("alter table emergencies drop column applicant_id_number")
