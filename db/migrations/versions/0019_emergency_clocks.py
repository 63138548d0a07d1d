"""Emergency aid's clocks after registration (issue 15, points 4 and 5): the 24-hour promise from registration to
the first payment, and a documentation deadline for every payment, supplied or waived by a district officer's
written decision. The workflow keeps both and writes them with every log entry; the district's overdue list
reads the two flags.

Create Date: 2026-12-14
"""

from alembic import op

revision = "0019"
down_revision = "0018"


def upgrade() -> None:
    op.execute(
        """
        alter table emergencies
            add column payment_due           timestamptz,
            add column first_paid_at         timestamptz,
            add column payment_overdue       boolean not null default false,
            add column payment_escalated_to  text check (payment_escalated_to in ('township', 'district')),
            add column documentation_overdue boolean not null default false;
        create index emergencies_overdue on emergencies (township_code)
            where status = 'open' and (payment_overdue or documentation_overdue);

        alter table aid_payments
            add column documentation_due      date,
            add column documentation_overdue  boolean not null default false,
            add column documented_at          timestamptz,
            add column documented_by          text,
            add column exempted_at            timestamptz,
            add column exempted_by            text,
            add column exemption_no           text;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        drop index emergencies_overdue;
        alter table emergencies drop column payment_due, drop column first_paid_at, drop column payment_overdue,
            drop column payment_escalated_to, drop column documentation_overdue;
        alter table aid_payments drop column documentation_due, drop column documentation_overdue,
            drop column documented_at, drop column documented_by, drop column exempted_at, drop column exempted_by,
            drop column exemption_no;
        """
    )
