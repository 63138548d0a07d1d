"""Temporal client and the embedded dev server, shared by the worker, the web app and the CLI; and the one
data converter every client, worker, replayer and test environment uses (`data_converter`)."""

from __future__ import annotations

import dataclasses

from temporalio.client import Client
from temporalio.common import SearchAttributeIndexedValueType
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter

from infra.codec import EncryptionCodec, key_ring
from infra.config import Settings, temporal_cli
from schemas import search

# Where the web app answers the Temporal Web UI's codec calls (`<endpoint>/decode`, `/encode`).
CODEC_PATH = "/api/codec"

_TYPE_NAMES = {
    SearchAttributeIndexedValueType.KEYWORD: "Keyword",
    SearchAttributeIndexedValueType.DATETIME: "Datetime",
    SearchAttributeIndexedValueType.BOOL: "Bool",
    SearchAttributeIndexedValueType.INT: "Int",
    SearchAttributeIndexedValueType.TEXT: "Text",
}


def search_attribute_args() -> list[str]:
    """`--search-attribute Name=Type` for every custom attribute, for `temporal server start-dev`."""
    args: list[str] = []
    for key in search.ALL:
        args += ["--search-attribute", f"{key.name}={_TYPE_NAMES[key.indexed_value_type]}"]
    return args


def data_converter(settings: Settings | None = None) -> DataConverter:
    """Pydantic models as JSON, every payload then sealed with the configured keys (infra/codec.py). Clients,
    workers, the Replayer and the test environments must all use this one, or they cannot read each other."""
    return dataclasses.replace(pydantic_data_converter, payload_codec=EncryptionCodec(key_ring(settings or Settings())))


def codec_endpoint(settings: Settings) -> str:
    """The codec endpoint the embedded Web UI calls: the web app `jiuzhu up` starts beside it."""
    return f"http://localhost:{settings.web_port}{CODEC_PATH}"


def dev_server_command(settings: Settings) -> list[str]:
    return [
        temporal_cli(),
        "server",
        "start-dev",
        "--db-filename",
        str(settings.temporal_db),
        "--port",
        str(settings.temporal_port),
        "--ui-port",
        str(settings.temporal_ui_port),
        "--ip",
        "127.0.0.1",
        "--log-level",
        "warn",
        "--ui-codec-endpoint",
        codec_endpoint(settings),
        *search_attribute_args(),
    ]


async def connect(settings: Settings | None = None) -> Client:
    settings = settings or Settings()
    return await Client.connect(
        settings.temporal_target,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
    )
