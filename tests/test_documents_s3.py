"""Documents kept in an S3-compatible object store (`JIUZHU_DOCUMENT_STORE=s3`): moto's S3 server, installed from
the project's test dependencies and started here, holds the sealed bytes; the database keeps the rest."""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Iterator

import asyncpg
import boto3
import pytest
from moto.server import ThreadedMotoServer

from tests.support.clients import app_client, login
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.documents import gps_of, pdf, photo_with_gps
from tests.support.ports import free_port
from tests.support.review import start_with_row

BUCKET = "jiuzhu-documents-test"


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[object]:
    """An S3 server on this machine with an empty bucket, and the settings that point the app at it."""
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    endpoint = f"http://127.0.0.1:{port}"
    settings = {
        "JIUZHU_DOCUMENT_STORE": "s3",
        "JIUZHU_S3_ENDPOINT": endpoint,
        "JIUZHU_S3_BUCKET": BUCKET,
        "JIUZHU_S3_ACCESS_KEY_ID": "test-key",
        "JIUZHU_S3_SECRET_ACCESS_KEY": "test-secret",
    }
    for name, value in settings.items():
        monkeypatch.setenv(name, value)
    client = boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="test-key",
        aws_secret_access_key="test-secret",
    )
    client.create_bucket(Bucket=BUCKET)
    yield client
    server.stop()


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
async def test_documents_go_to_the_object_store_sealed_and_come_back(
    s3, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await start_with_row(review_env, pool, "DOCS3A")
    statement_pdf = pdf()
    async with app_client(pool, review_env.client) as web:
        staff = await login(web, "shipo_jingban", session=False)
        r = await web.post(
            "/api/documents/case/DOCS3A",
            headers=staff | {"Idempotency-Key": "s3-1"},
            data={"doc_type": "id_card"},
            files=[
                ("files", ("id.jpg", photo_with_gps(), "image/jpeg")),
                ("files", ("id.pdf", statement_pdf, "application/pdf")),
            ],
        )
        assert r.status_code == 201, r.text
        photo, statement = r.json()["uploaded"]
        rows = await pool.fetch("select sha256, store, sealed, thumbnail, mime from document_blobs order by mime")
        assert [(x["store"], x["sealed"], x["thumbnail"]) for x in rows] == [("s3", None, None)] * 2
        keys = sorted(o["Key"] for o in s3.list_objects_v2(Bucket=BUCKET)["Contents"])
        by_mime = {x["mime"]: x["sha256"] for x in rows}
        assert keys == sorted(
            [
                f"documents/{by_mime['application/pdf']}",
                f"documents/{by_mime['image/jpeg']}",
                f"documents/{by_mime['image/jpeg']}.thumbnail",
            ]
        )
        stored = s3.get_object(Bucket=BUCKET, Key=f"documents/{by_mime['application/pdf']}")["Body"].read()
        assert b"%PDF" not in stored  # sealed before it leaves the app
        r = await web.get(f"/api/documents/{photo}/content", headers=staff)
        assert r.status_code == 200 and r.content[:3] == b"\xff\xd8\xff" and gps_of(r.content) == {}
        r = await web.get(f"/api/documents/{statement}/content", headers=staff)
        assert (r.status_code, r.content) == (200, statement_pdf)
        r = await web.get(f"/api/documents/{photo}/thumbnail", headers=staff)
        assert (r.status_code, r.headers["content-type"]) == (200, "image/jpeg")


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
async def test_the_same_file_uploaded_after_a_key_rotation_leaves_the_earlier_documents_readable(
    s3, review_env: SkippingEnvironment, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The stored object is sealed with the key its row names; a second upload of the same content, sealed with
    the new key, must not overwrite it."""
    await start_with_row(review_env, pool, "DOCS3R1")
    await start_with_row(review_env, pool, "DOCS3R2")
    statement_pdf = pdf("rotation")
    upload = {"data": {"doc_type": "income"}, "files": [("files", ("收入.pdf", statement_pdf, "application/pdf"))]}
    async with app_client(pool, review_env.client) as web:
        staff = await login(web, "shipo_jingban", session=False)
        r = await web.post("/api/documents/case/DOCS3R1", headers=staff | {"Idempotency-Key": "rot-1"}, **upload)
        assert r.status_code == 201, r.text
        (first,) = r.json()["uploaded"]
    before = await pool.fetchrow("select sha256, key_id from document_blobs")
    stored = s3.get_object(Bucket=BUCKET, Key=f"documents/{before['sha256']}")["Body"].read()

    # a new current key; the old ones still open what they sealed
    old_keys = os.environ["JIUZHU_PAYLOAD_KEYS"]
    new_key = base64.b64encode(hashlib.sha256(b"jiuzhu rotated test key").digest()).decode()
    monkeypatch.setenv("JIUZHU_PAYLOAD_KEYS", f"rotated:{new_key},{old_keys}")
    async with app_client(pool, review_env.client) as web:
        staff = await login(web, "shipo_jingban", session=False)
        r = await web.post("/api/documents/case/DOCS3R2", headers=staff | {"Idempotency-Key": "rot-2"}, **upload)
        assert r.status_code == 201, r.text
        (second,) = r.json()["uploaded"]
        assert second != first
        for document_id in (first, second):
            r = await web.get(f"/api/documents/{document_id}/content", headers=staff)
            assert (r.status_code, r.content) == (200, statement_pdf), document_id
        assert [tuple(x) for x in await pool.fetch("select sha256, key_id from document_blobs")] == [tuple(before)]
        assert s3.get_object(Bucket=BUCKET, Key=f"documents/{before['sha256']}")["Body"].read() == stored
