"""Temporal client and the embedded dev server, shared by the worker, the web app and the CLI; and the one
data converter every client, worker, replayer and test environment uses (`data_converter`)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

from temporalio.client import Client
from temporalio.common import SearchAttributeIndexedValueType
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.converter import DataConverter
from temporalio.service import TLSConfig

from infra.codec import EncryptionCodec, key_ring
from infra.config import Settings, temporal_cli
from schemas import search
from schemas.network import is_loopback_host

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


class TemporalTLSError(ValueError):
    """The TLS settings of the Temporal connection are wrong or missing: a configuration error, not retried."""


def _read(setting: str, path: Path | None) -> bytes | None:
    if path is None:
        return None
    try:
        return path.read_bytes()
    except OSError as e:
        raise TemporalTLSError(f"{setting}: cannot read {path}: {e.strerror}") from None


def _loopback(target: str) -> bool:
    return is_loopback_host(target.rsplit(":", 1)[0])


def tls_config(settings: Settings) -> TLSConfig | None:
    """TLS to the frontend as configured (TEMPORAL_TLS*), or None for plaintext. Production refuses a frontend
    across the network in plaintext, unless JIUZHU_TEMPORAL_PLAINTEXT_PRIVATE_NETWORK says it is on a private
    network only; one on this machine (the embedded dev server, 127.0.0.1) needs none."""
    if not settings.temporal_tls:
        exempt = _loopback(settings.temporal_target) or settings.temporal_plaintext_private_network
        if settings.production and not exempt:
            raise TemporalTLSError(
                "production connects to Temporal with TLS: set TEMPORAL_TLS=1 (and TEMPORAL_TLS_SERVER_CA_CERT_PATH, "
                "TEMPORAL_TLS_CLIENT_CERT_PATH, TEMPORAL_TLS_CLIENT_KEY_PATH), or, if the frontend is reachable on a "
                "private network only, JIUZHU_TEMPORAL_PLAINTEXT_PRIVATE_NETWORK=1 (deploy/README.md)"
            )
        return None
    if (settings.temporal_tls_cert_file is None) != (settings.temporal_tls_key_file is None):
        raise TemporalTLSError("TEMPORAL_TLS_CLIENT_CERT_PATH and TEMPORAL_TLS_CLIENT_KEY_PATH go together")
    return TLSConfig(
        server_root_ca_cert=_read("TEMPORAL_TLS_SERVER_CA_CERT_PATH", settings.temporal_tls_ca_file),
        client_cert=_read("TEMPORAL_TLS_CLIENT_CERT_PATH", settings.temporal_tls_cert_file),
        client_private_key=_read("TEMPORAL_TLS_CLIENT_KEY_PATH", settings.temporal_tls_key_file),
        domain=settings.temporal_tls_server_name,
    )


async def connect(settings: Settings | None = None) -> Client:
    settings = settings or Settings()
    tls = tls_config(settings)
    return await Client.connect(
        settings.temporal_target,
        namespace=settings.temporal_namespace,
        data_converter=data_converter(settings),
        tls=tls if tls is not None else False,
    )
