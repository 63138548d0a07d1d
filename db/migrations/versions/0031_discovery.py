"""Discovery (主动发现, issue 19 points 2-4): the partner bureaus' lists of people with a signal, the discovery
tasks of the townships and the review prompts for recipients.

- `discovery_lists`: one upload (page or signed API), kept until `keep_until` (policy `discovery.retention_days`);
  the purge deletes its `discovery_signals` (ID numbers, names) and sets `purged_at`.
- `discovery_signals`: the list's rows, each classified once by the matching (`outcome`).
- `discovery_coverage`: what the matching counted, per list, township and kind (kept after the purge).
- `discovery_tasks`: a visit owed by the township; at most one per person and kind within `dedup_days`
  (policy, default 90): the exclusion constraint on (ID number, kind, [created_on, quiet_until)).
- `discovery_prompts`: a recipient's signal, a prompt to consider an ongoing review; one per case and kind
  within the same window.

Create Date: 2026-12-04
"""

from alembic import op

revision = "0031"
down_revision = "0030"


def upgrade() -> None:
    op.execute(
        """
        create extension if not exists btree_gist;

        create index recipients_household_active on recipients (household_id) where status = 'active';

        create table discovery_lists (
            id          bigserial primary key,
            bureau      text not null,
            source      text not null check (source in ('upload', 'api')),
            filename    text,
            received_by text not null,
            received_at timestamptz not null,
            received_on date not null,
            keep_until  date not null,
            purged_at   timestamptz
        );
        create index discovery_lists_keep on discovery_lists (keep_until) where purged_at is null;

        create table discovery_signals (
            id               bigserial primary key,
            list_id          bigint not null references discovery_lists(id) on delete cascade,
            id_number        text not null,
            name             text not null,
            kind             text not null,
            signal_on        date not null,
            given_township   text,
            township_code    text,
            household_id     bigint,
            recipient_case   text,
            outcome          text check (outcome in ('assisted', 'prompted', 'tasked', 'duplicate', 'unplaced'))
        );
        create index discovery_signals_list on discovery_signals (list_id);

        create table discovery_coverage (
            list_id       bigint not null references discovery_lists(id),
            township_code text not null,
            kind          text not null,
            received      integer not null,
            assisted      integer not null,
            prompted      integer not null,
            tasked        integer not null,
            duplicates    integer not null,
            primary key (list_id, township_code, kind)
        );

        create table discovery_tasks (
            task_id       text primary key,
            list_id       bigint references discovery_lists(id),
            signal_id     bigint,
            id_number     text not null,
            name          text not null,
            kind          text not null,
            signal_on     date not null,
            township_code text not null references places(code),
            household_id  bigint references households(id),
            created_on    date not null,
            quiet_until   date not null check (quiet_until > created_on),
            status        text not null default 'new'
                          check (status in ('new', 'open', 'escalated', 'applied', 'not_eligible', 'declined',
                                            'not_found')),
            visit_due     date,
            escalated_at  timestamptz,
            visited_on    date,
            on_time       boolean,
            outcome_by    text,
            outcome_at    timestamptz,
            note          text,
            case_id       text,
            created_at    timestamptz not null default now(),
            constraint discovery_tasks_one_per_window
                exclude using gist (id_number with =, kind with =, daterange(created_on, quiet_until) with &&)
        );
        create index discovery_tasks_township on discovery_tasks (township_code, status);

        create table discovery_prompts (
            id            bigserial primary key,
            list_id       bigint references discovery_lists(id),
            case_id       text not null references cases(case_id),
            township_code text not null,
            kind          text not null,
            signal_on     date not null,
            created_on    date not null,
            quiet_until   date not null check (quiet_until > created_on),
            constraint discovery_prompts_one_per_window
                exclude using gist (case_id with =, kind with =, daterange(created_on, quiet_until) with &&)
        );
        """
    )


def downgrade() -> None:
    op.execute("drop index recipients_household_active")
    op.execute("drop table discovery_prompts, discovery_tasks, discovery_coverage, discovery_signals, discovery_lists")
