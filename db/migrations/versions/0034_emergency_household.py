"""Emergency aid per household (audit "money", finding 5): the ID numbers of the other household members an
event was registered with, in full like the applicant's (`emergencies.applicant_id_number`).

The one-open-event guard, its lock and the prior aid shown to the approver cover every person of the household:
the applicant of an event and its members (`db.emergency_repo.HOUSEHOLD_EVENTS`). Events registered before keep
no members (their start input alone names them); their applicant still counts.

Create Date: 2026-12-20
"""

from alembic import op

revision = "0034"
down_revision = "0033"


def upgrade() -> None:
    op.execute(
        """
        create table emergency_members (
            event_id   text not null references emergencies(event_id),
            id_number  text not null,
            primary key (event_id, id_number)
        );
        create index emergency_members_person on emergency_members (id_number);
        """
    )


def downgrade() -> None:
    op.execute("drop table emergency_members")
