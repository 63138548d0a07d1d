"""Least privilege and an access log (issue 16, point 9).

- `users.must_change_password`, `users.password_expires_at`: an administrator's reset (or a new account)
  stores a one-time code in place of the password, valid until `password_expires_at` (24 hours); a log-in with
  it consumes it and the user must choose a password at once.
- `access_log`: append-only record of reads of case files (case pages, the case API, PDFs, household look-ups,
  exports, emergency events, front-door requests) and of log-ins and user changes. A household look-up stores
  a keyed hash of the ID number, never the number. A trigger raises on UPDATE, DELETE and TRUNCATE, so the
  application role cannot rewrite the record.

Create Date: 2026-12-15
"""

from alembic import op

revision = "0024"
down_revision = "0022"


def upgrade() -> None:
    op.execute(
        """
        alter table users add column must_change_password boolean not null default false,
                          add column password_expires_at timestamptz;

        create table access_log (
            id         bigserial primary key,
            at         timestamptz not null default now(),
            username   text,
            role       text,
            kind       text not null,
            record     text,
            detail     text,
            client_ip  text
        );
        create index access_log_at on access_log (at desc);
        create index access_log_username on access_log (username, at desc);
        create index access_log_record on access_log (record, at desc);

        create function access_log_append_only() returns trigger language plpgsql as $$
        begin
            raise exception 'access_log is append-only (% refused)', tg_op using errcode = 'insufficient_privilege';
        end $$;
        create trigger access_log_no_update before update or delete on access_log
            for each row execute function access_log_append_only();
        create trigger access_log_no_truncate before truncate on access_log
            for each statement execute function access_log_append_only();
        """
    )


def downgrade() -> None:
    op.execute(
        """
        drop table access_log;
        drop function access_log_append_only();
        alter table users drop column must_change_password, drop column password_expires_at;
        """
    )
