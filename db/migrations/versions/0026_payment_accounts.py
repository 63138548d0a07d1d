"""Payment accounts of recipients (issue 18, point 2): one row per account a recipient has had; the current
one has `superseded_at` null (at most one per case). A change inserts a new row and supersedes the old one,
with who and why, so the history of a recipient's accounts is the table itself.

`account_number` is the full number (the payroll's bank file needs it); pages, lists and logs show
`account_masked` only.

Create Date: 2026-12-04
"""

from alembic import op

revision = "0026"
down_revision = "0025"


def upgrade() -> None:
    op.execute(
        """
        create table payment_accounts (
            id              bigserial primary key,
            case_id         text not null references cases(case_id),
            kind            text not null
                            check (kind in ('social_security_card', 'bank_card', 'yikatong_passbook')),
            bank_name       text not null,
            account_number  text not null,
            account_masked  text not null,
            holder_name     text not null,
            holder_relation text not null check (holder_relation in ('self', 'guardian')),
            changed_by      text not null,
            reason          text not null,
            created_at      timestamptz not null default now(),
            superseded_at   timestamptz
        );
        create unique index payment_accounts_current on payment_accounts (case_id) where superseded_at is null;
        create index payment_accounts_case on payment_accounts (case_id, created_at);
        """
    )


def downgrade() -> None:
    op.execute("drop table payment_accounts")
