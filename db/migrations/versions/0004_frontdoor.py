"""The 12349 front door: requests, referrals to partner bureaus, complaints, their event log, and the
webhook endpoints of bureaus that take referrals by API.

Create Date: 2026-11-29
"""

from alembic import op

revision = "0004"
down_revision = "0003"


def upgrade() -> None:
    op.execute(
        """
        create table frontdoor_requests (
            request_no    text primary key,
            workflow_id   text not null unique,
            kind          text not null check (kind in ('help', 'enquiry', 'complaint')),
            channel       text not null,
            name          text not null,
            id_number     text not null,
            id_masked     text not null,
            phone         text not null,
            township_code text not null references places(code),
            village_code  text references places(code),
            address       text not null default '',
            description   text not null,
            needs         text[] not null default '{}',
            status        text not null default 'received',
            answer_due    date,
            answer        text,
            received_by   text,
            created_at    timestamptz not null,
            closed_at     timestamptz,
            updated_at    timestamptz not null default now()
        );
        create index frontdoor_requests_person on frontdoor_requests (id_number);
        create index frontdoor_requests_open on frontdoor_requests (township_code, created_at) where status <> 'closed';

        create table referrals (
            referral_id   text primary key,
            workflow_id   text not null unique,
            request_no    text not null references frontdoor_requests(request_no),
            need          text not null,
            help_kind     text not null,
            bureau        text not null,
            township_code text not null references places(code),
            name          text not null,
            id_masked     text not null,
            status        text not null default 'delivered',
            adapter       text,
            accept_due    date,
            result_due    date,
            escalated     boolean not null default false,
            outcome       text,
            help_given    text,
            amount_fen    bigint,
            delivered_at  timestamptz not null,
            answered_at   timestamptz,
            updated_at    timestamptz not null default now()
        );
        create index referrals_bureau on referrals (bureau, status);

        create table complaints (
            complaint_no  text primary key,
            workflow_id   text not null unique,
            request_no    text references frontdoor_requests(request_no),
            complainant   text not null,
            phone         text not null,
            township_code text not null references places(code),
            about_case_id text,
            about_person  text,
            content       text not null,
            unit_code     text not null references places(code),
            status        text not null default 'registered',
            accept_due    date,
            conclude_due  date,
            escalated     boolean not null default false,
            finding       text,
            reply         text,
            created_at    timestamptz not null,
            concluded_at  timestamptz,
            updated_at    timestamptz not null default now()
        );
        create index complaints_unit on complaints (unit_code, status);

        create table frontdoor_log (
            id           bigserial primary key,
            subject_type text not null check (subject_type in ('request', 'referral', 'complaint')),
            subject_id   text not null,
            log_key      text not null,
            kind         text not null,
            actor        text,
            payload      jsonb not null default '{}',
            occurred_at  timestamptz not null,
            unique (subject_type, subject_id, log_key)
        );

        create table bureau_endpoints (
            bureau     text primary key,
            url        text not null,
            secret     text not null,
            active     boolean not null default true,
            updated_at timestamptz not null default now()
        );
        """
    )


def downgrade() -> None:
    op.execute("drop table bureau_endpoints, frontdoor_log, complaints, referrals, frontdoor_requests")
