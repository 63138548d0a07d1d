"""Confidential complaints and signed callbacks bound to their time (issue 16, points 2 and 4).

- `frontdoor_requests.about_person`, `about_case_id`: a 12349 complaint's request says whom and which case it is
  about, as its complaint row does, so the lists can leave it out for those people before the complaint is
  filed (filled for the complaints already filed).
- `webhook_nonces`: the nonces of the bureaus' signed callbacks, one row per bureau and nonce; a nonce seen
  again is a replay. Rows are kept at least 15 minutes (the signature is valid 5 minutes either side of now).

Create Date: 2026-12-14
"""

from alembic import op

revision = "0022"
down_revision = "0021"


def upgrade() -> None:
    op.execute(
        """
        alter table frontdoor_requests add column about_person text, add column about_case_id text;
        update frontdoor_requests r set about_person = c.about_person, about_case_id = c.about_case_id
          from complaints c where c.request_no = r.request_no;
        create index complaints_about_case on complaints (about_case_id) where about_case_id is not null;

        create table webhook_nonces (
            bureau  text not null,
            nonce   text not null,
            seen_at timestamptz not null,
            primary key (bureau, nonce)
        );
        create index webhook_nonces_seen on webhook_nonces (seen_at);
        """
    )


def downgrade() -> None:
    op.execute(
        """
        drop table webhook_nonces;
        drop index complaints_about_case;
        alter table frontdoor_requests drop column about_person, drop column about_case_id;
        """
    )
