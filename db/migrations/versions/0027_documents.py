"""Documents on cases, emergency events and front-door requests (issue 19, point 1).

`document_blobs` holds each distinct content once, by the SHA-256 of what is kept (an image as re-encoded,
without its metadata), sealed with AES-256-GCM under the payload key ring's document keys (`key_id`, the hash
bound in as associated data); `thumbnail` is the sealed preview of an image. `store` says where the sealed
bytes are: in `sealed`/`thumbnail` (postgres), or in the S3-compatible object store (s3, the columns empty).
`documents` files a blob on an owner (a case, an emergency event, a front-door request) as one material type of
the policy, with who uploaded it and when; rows are never deleted: a newer document of the same type may
supersede one (`superseded_by`, `superseded_at`), and both stay. A trigger refuses DELETE and TRUNCATE, and
any UPDATE but superseding.

Create Date: 2026-12-04
"""

from alembic import op

revision = "0027"
down_revision = "0026"


def upgrade() -> None:
    op.execute(
        """
        create table document_blobs (
            sha256      text primary key check (sha256 ~ '^[0-9a-f]{64}$'),
            mime        text not null check (mime in ('image/jpeg', 'image/png', 'application/pdf')),
            size_bytes  integer not null check (size_bytes > 0),
            key_id      text not null,
            store       text not null default 'postgres' check (store in ('postgres', 's3')),
            sealed      bytea check ((store = 'postgres') = (sealed is not null)),
            thumbnail   bytea,
            has_thumbnail boolean not null default false,
            pages       integer,
            created_at  timestamptz not null default now()
        );
        create table documents (
            document_id   text primary key,
            seq           bigint generated always as identity,  -- the order of upload
            owner_kind    text not null check (owner_kind in ('case', 'emergency', 'request')),
            owner_id      text not null,
            place_code    text not null,
            doc_type      text not null,
            sha256        text not null references document_blobs(sha256),
            uploaded_by   text not null,
            uploader_role text not null,
            uploaded_at   timestamptz not null default now(),
            superseded_by text references documents(document_id),
            superseded_at timestamptz
        );
        create index documents_owner on documents (owner_kind, owner_id, seq);
        create unique index documents_one_current_copy on documents (owner_kind, owner_id, doc_type, sha256)
            where superseded_by is null;

        create function documents_never_deleted() returns trigger language plpgsql as $$
        begin
            raise exception 'documents are never deleted or changed, only superseded (% refused)', tg_op
                using errcode = 'insufficient_privilege';
        end $$;
        create function documents_only_superseded() returns trigger language plpgsql as $$
        begin
            if old.superseded_by is null and new.superseded_by is not null
               and (new.document_id, new.owner_kind, new.owner_id, new.place_code, new.doc_type, new.sha256,
                    new.uploaded_by, new.uploader_role, new.uploaded_at)
                   is not distinct from
                   (old.document_id, old.owner_kind, old.owner_id, old.place_code, old.doc_type, old.sha256,
                    old.uploaded_by, old.uploader_role, old.uploaded_at) then
                return new;
            end if;
            raise exception 'documents are never changed, only superseded' using errcode = 'insufficient_privilege';
        end $$;
        create trigger documents_only_superseded before update on documents
            for each row execute function documents_only_superseded();
        create trigger documents_no_delete before delete on documents
            for each row execute function documents_never_deleted();
        create trigger documents_no_truncate before truncate on documents
            for each statement execute function documents_never_deleted();
        create trigger document_blobs_kept before update or delete on document_blobs
            for each row execute function documents_never_deleted();
        create trigger document_blobs_no_truncate before truncate on document_blobs
            for each statement execute function documents_never_deleted();
        """
    )


def downgrade() -> None:
    op.execute(
        """
        drop table documents;
        drop table document_blobs;
        drop function documents_only_superseded();
        drop function documents_never_deleted();
        """
    )
