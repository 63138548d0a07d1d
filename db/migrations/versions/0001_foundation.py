"""Foundation: places, staff and their relatives, households, cases, event log, recipients,
notifications outbox, calendar overrides, policy versions.

Create Date: 2026-11-29
"""

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None

SCHEMA = """
create table places (
    code        text primary key,
    name        text not null,
    level       text not null check (level in ('district', 'township', 'village')),
    kind        text not null,            -- 区 / 街道 / 镇 / 乡 / 管委 / 村 / 社区
    parent_code text references places(code),
    is_pilot    boolean not null default false,
    source      text not null default 'seed',  -- 'seed' rows may be edited by an administrator
    note        text,
    check ((level = 'district') = (parent_code is null))
);

create table users (
    id            bigserial primary key,
    username      text not null unique,
    full_name     text not null,
    role          text not null check (role in ('village_cadre', 'township_caseworker',
                    'township_approver', 'district_officer', 'district_supervisor',
                    'bureau_staff', 'admin')),
    place_code    text not null references places(code),
    bureau        text,
    password_hash text not null,
    active        boolean not null default true,
    created_at    timestamptz not null default now(),
    check ((role = 'bureau_staff') = (bureau is not null))
);

create table staff_relatives (
    id                 bigserial primary key,
    user_id            bigint not null references users(id) on delete cascade,
    relative_name      text not null,
    relative_id_number text not null,
    relation           text not null,
    created_at         timestamptz not null default now(),
    unique (user_id, relative_id_number)
);
create index staff_relatives_id_number on staff_relatives (relative_id_number);

create table households (
    id            bigserial primary key,
    township_code text not null references places(code),
    village_code  text references places(code),
    address       text not null,
    hukou_type    text not null check (hukou_type in ('urban', 'rural')),
    phone         text,
    created_at    timestamptz not null default now()
);

create table household_members (
    id           bigserial primary key,
    household_id bigint not null references households(id) on delete cascade,
    name         text not null,
    id_number    text not null,
    relation     text not null,
    is_applicant boolean not null default false,
    unique (household_id, id_number)
);
create index household_members_id_number on household_members (id_number);

create table policy_versions (
    version        integer primary key,
    effective_from date not null unique,
    body           jsonb not null,
    note           text,
    created_by     text,
    created_at     timestamptz not null default now()
);

create table cases (
    case_id          text primary key,
    workflow_id      text not null unique,
    assistance_type  text not null,
    household_id     bigint references households(id),
    township_code    text not null references places(code),
    village_code     text references places(code),
    applicant_name   text not null,
    applicant_id_masked text not null,
    channel          text not null,
    policy_version   integer not null references policy_versions(version),
    stage            text not null,
    status           text not null default 'open',
    accepted_at      timestamptz not null,
    deadline         date,
    deadline_provisional boolean not null default false,
    paused_days      integer not null default 0,
    overdue          boolean not null default false,
    relatives_match  boolean not null default false,
    decided_at       timestamptz,
    closed_at        timestamptz,
    updated_at       timestamptz not null default now()
);
create index cases_township_stage on cases (township_code, stage);
create index cases_deadline on cases (deadline) where status = 'open';

create table case_events (
    id          bigserial primary key,
    case_id     text not null references cases(case_id),
    event_key   text not null,      -- idempotency key chosen by the workflow
    kind        text not null,
    stage       text,
    actor       text,
    actor_role  text,
    payload     jsonb not null default '{}',
    occurred_at timestamptz not null, -- workflow time
    recorded_at timestamptz not null default now(),
    unique (case_id, event_key)
);
create index case_events_case on case_events (case_id, occurred_at, id);

create table recipients (
    id                  bigserial primary key,
    case_id             text not null unique references cases(case_id),
    household_id        bigint references households(id),
    assistance_type     text not null,
    township_code       text not null references places(code),
    category            text,
    monthly_amount_fen  bigint not null check (monthly_amount_fen >= 0),
    people              integer not null,
    first_payment_month date not null,
    status              text not null default 'active',
    decided_at          timestamptz not null,
    created_at          timestamptz not null default now()
);

create table notifications (
    id              bigserial primary key,
    idempotency_key text not null unique,
    case_id         text references cases(case_id),
    audience        text not null,  -- 'applicant', 'user:<name>', 'role:<role>@<place>'
    kind            text not null,
    subject         text not null,
    body            text not null,
    deliver_by      date,
    status          text not null default 'pending' check (status in ('pending', 'sent', 'failed')),
    created_at      timestamptz not null default now(),
    sent_at         timestamptz
);
create index notifications_pending on notifications (created_at) where status = 'pending';

create table calendar_days (
    day         date primary key,
    kind        text not null check (kind in ('holiday', 'workday')),
    name        text,
    source      text not null,
    imported_at timestamptz not null default now()
);

create table calendar_years (
    year        integer primary key,
    source      text not null,
    imported_at timestamptz not null default now()
);
"""

PLACES = [
    # (code, name, level, kind, parent, pilot)
    ("341503", "裕安区", "district", "区", None, False),
    ("341503001", "鼓楼街道", "township", "街道", "341503", True),
    ("341503002", "西市街道", "township", "街道", "341503", False),
    ("341503003", "小华山街道", "township", "街道", "341503", False),
    ("341503101", "苏埠镇", "township", "镇", "341503", False),
    ("341503102", "韩摆渡镇", "township", "镇", "341503", False),
    ("341503103", "新安镇", "township", "镇", "341503", False),
    ("341503104", "顺河镇", "township", "镇", "341503", True),
    ("341503105", "独山镇", "township", "镇", "341503", False),
    ("341503106", "石婆店镇", "township", "镇", "341503", True),
    ("341503107", "城南镇", "township", "镇", "341503", False),
    ("341503108", "丁集镇", "township", "镇", "341503", False),
    ("341503109", "固镇镇", "township", "镇", "341503", False),
    ("341503110", "徐集镇", "township", "镇", "341503", False),
    ("341503111", "分路口镇", "township", "镇", "341503", False),
    ("341503112", "江家店镇", "township", "镇", "341503", False),
    ("341503200", "单王乡", "township", "乡", "341503", False),
    ("341503201", "青山乡", "township", "乡", "341503", False),
    ("341503202", "石板冲乡", "township", "乡", "341503", False),
    ("341503203", "西河口乡", "township", "乡", "341503", False),
    ("341503204", "平桥乡", "township", "乡", "341503", False),
    ("341503205", "罗集乡", "township", "乡", "341503", False),
    ("341503206", "狮子岗乡", "township", "乡", "341503", False),
    ("341503400", "六安高新技术产业开发区管委", "township", "管委", "341503", False),
    # Demo villages/communities under the pilot units; names are placeholders to be replaced.
    ("341503001001", "鼓楼街道第一社区", "village", "社区", "341503001", True),
    ("341503001002", "鼓楼街道第二社区", "village", "社区", "341503001", True),
    ("341503104201", "顺河镇示范村一", "village", "村", "341503104", True),
    ("341503104202", "顺河镇示范村二", "village", "村", "341503104", True),
    ("341503106201", "石婆店镇示范村一", "village", "村", "341503106", True),
    ("341503106202", "石婆店镇示范村二", "village", "村", "341503106", True),
]

NOTE = (
    "种子数据：乡镇名称依据公开资料整理，区划代码第二段按《县以下行政区划代码编制规则》编排，"
    "须与统计用区划代码核对；村/社区为示例，请管理员按实际修改。"
)


def upgrade() -> None:
    op.execute(SCHEMA)
    places = sa.table(
        "places",
        *(sa.column(c) for c in ("code", "name", "level", "kind", "parent_code", "is_pilot", "source", "note")),
    )
    op.bulk_insert(
        places,
        [
            dict(code=c, name=n, level=lv, kind=k, parent_code=p, is_pilot=pilot, source="seed", note=NOTE)
            for c, n, lv, k, p, pilot in PLACES
        ],
    )


def downgrade() -> None:
    op.execute(
        "drop table calendar_years, calendar_days, notifications, recipients, case_events, cases, "
        "policy_versions, household_members, households, staff_relatives, users, places cascade"
    )
