"""An S3-compatible object store for uploaded documents (`JIUZHU_DOCUMENT_STORE=s3`): the sealed contents go to a
bucket under `documents/<sha256>` (and `documents/<sha256>.thumbnail`), already encrypted by the web app; the
database keeps the rest (webapp/documents, db/documents_repo.py). Content-addressed, but sealed with the key its
row names: an object is written once, never again over a stored content (after a key rotation the new bytes would
not open with the row's key). boto3 is synchronous: the calls run on a thread."""

from __future__ import annotations

import asyncio
from functools import cached_property
from typing import Any

from infra.config import Settings

PREFIX = "documents/"


class ObjectStoreError(RuntimeError):
    """The store is not configured or did not answer."""


def object_key(sha256: str, *, thumbnail: bool = False) -> str:
    return f"{PREFIX}{sha256}{'.thumbnail' if thumbnail else ''}"


class ObjectStore:
    def __init__(self, settings: Settings) -> None:
        if not settings.s3_endpoint:
            raise ObjectStoreError("JIUZHU_DOCUMENT_STORE=s3 needs JIUZHU_S3_ENDPOINT (and the bucket's credentials)")
        self.settings = settings
        self.bucket = settings.s3_bucket

    @cached_property
    def client(self) -> Any:
        import boto3  # only where the store is used
        from botocore.config import Config

        s = self.settings
        return boto3.client(
            "s3",
            endpoint_url=s.s3_endpoint,
            region_name=s.s3_region,
            aws_access_key_id=s.s3_access_key_id.get_secret_value() if s.s3_access_key_id else None,
            aws_secret_access_key=s.s3_secret_access_key.get_secret_value() if s.s3_secret_access_key else None,
            config=Config(signature_version="s3v4", retries={"max_attempts": 3, "mode": "standard"}),
        )

    async def put(self, key: str, data: bytes) -> None:
        await asyncio.to_thread(
            self.client.put_object, Bucket=self.bucket, Key=key, Body=data, ContentType="application/octet-stream"
        )

    async def get(self, key: str) -> bytes:
        def read() -> bytes:
            return self.client.get_object(Bucket=self.bucket, Key=key)["Body"].read()

        return await asyncio.to_thread(read)


_stores: dict[tuple, ObjectStore] = {}


def object_store(settings: Settings) -> ObjectStore:
    """One store (and one boto3 client, which is thread-safe) per configuration, for the process."""
    secret = settings.s3_secret_access_key.get_secret_value() if settings.s3_secret_access_key else None
    access = settings.s3_access_key_id.get_secret_value() if settings.s3_access_key_id else None
    config = (settings.s3_endpoint, settings.s3_bucket, settings.s3_region, access, secret)
    if config not in _stores:
        _stores[config] = ObjectStore(settings)
    return _stores[config]
