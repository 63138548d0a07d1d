"""A withdrawn entry of the near-relatives register is kept, marked with who withdrew it and when, so a
supervisor can still see that a staff member had declared a relative and then took the entry back (the
conflict-of-interest audit). Before this, withdrawing deleted the row.

Only entries not withdrawn count: the review's relatives check, the register pages and the counts read
`removed_at is null`. The same person may be declared again after a withdrawal, so the uniqueness of
(user, ID number) holds among the current entries only (a partial unique index instead of the constraint).

The downgrade deletes the withdrawn entries (the old schema cannot hold them) to restore the constraint.

Create Date: 2026-11-29
"""

from alembic import op

revision = "0012"
down_revision = "0011"


def upgrade() -> None:
    op.execute(
        """
        alter table staff_relatives
            add column removed_at timestamptz,
            add column removed_by text,
            add constraint staff_relatives_removal check ((removed_at is null) = (removed_by is null)),
            drop constraint staff_relatives_user_id_relative_id_number_key;
        create unique index staff_relatives_current on staff_relatives (user_id, relative_id_number)
            where removed_at is null;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        delete from staff_relatives where removed_at is not null;
        drop index staff_relatives_current;
        alter table staff_relatives
            add constraint staff_relatives_user_id_relative_id_number_key unique (user_id, relative_id_number),
            drop constraint staff_relatives_removal,
            drop column removed_at,
            drop column removed_by;
        """
    )
