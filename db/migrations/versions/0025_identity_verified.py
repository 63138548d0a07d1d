"""A submission in someone else's name is unverified until staff confirm it (issue 16, point 8).

Anyone can file on the public portal under any ID number. `frontdoor_requests.identity_verified` says whether
the person named has been confirmed as the one asking: a portal request is stored false, and the household
view does not list it as the person's until a member of staff who may handle it confirms (`identity_verified_by`,
`identity_verified_at`, `identity_note`: how, e.g. a call back to the person). A request staff take down at the
hotline or a window is verified at entry by them. Existing rows: true (the default).

Create Date: 2026-12-20
"""

from alembic import op

revision = "0025"
down_revision = "0024"


def upgrade() -> None:
    op.execute(
        """
        alter table frontdoor_requests add column identity_verified boolean not null default true,
                                       add column identity_verified_by text,
                                       add column identity_verified_at timestamptz,
                                       add column identity_note text;
        create index frontdoor_requests_unverified on frontdoor_requests (township_code)
            where not identity_verified;
        """
    )


def downgrade() -> None:
    op.execute(
        """
        drop index frontdoor_requests_unverified;
        alter table frontdoor_requests drop column identity_verified, drop column identity_verified_by,
                                       drop column identity_verified_at, drop column identity_note;
        """
    )
