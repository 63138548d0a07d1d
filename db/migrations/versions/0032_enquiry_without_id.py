"""A policy question (政策咨询) needs no ID number (issue 17, point 8).

`frontdoor_requests.id_number` (and its mask) may be empty for an enquiry; an application for help and a
complaint still name the person. The resident finds such an enquiry on the status page by its number and
phone alone.

Create Date: 2026-12-04
"""

from alembic import op

revision = "0032"
down_revision = "0031"


def upgrade() -> None:
    op.execute(
        """
        alter table frontdoor_requests alter column id_number drop not null,
            add constraint frontdoor_requests_id_unless_enquiry check (id_number is not null or kind = 'enquiry');
        """
    )


def downgrade() -> None:
    op.execute(
        """
        delete from frontdoor_requests where id_number is null;
        alter table frontdoor_requests drop constraint frontdoor_requests_id_unless_enquiry,
            alter column id_number set not null;
        """
    )
