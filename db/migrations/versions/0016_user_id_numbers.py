"""Staff users may carry their own resident ID number, so that a close relative an applicant declares with an
ID number is matched to the one user it belongs to (the review's relatives check), not to every namesake.

Optional (accounts created before have none); stored normalised (upper-case X) like the near-relatives
register, and unique among the users that have one.

Create Date: 2026-12-12
"""

from alembic import op

revision = "0016"
down_revision = "0015"


def upgrade() -> None:
    op.execute(
        """
        alter table users add column id_number text;
        create unique index users_id_number on users (id_number) where id_number is not null;
        """
    )


def downgrade() -> None:
    op.execute("drop index users_id_number; alter table users drop column id_number;")
