"""TLS to the Temporal frontend (issue 16, point 10): the TLSConfig built from the settings, the production
refusal of a plaintext frontend across the network, and the development default (no TLS)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from infra.config import Settings, temporal_cli
from infra.temporal import TemporalTLSError, connect, tls_config

TLS_VARS = (
    "TEMPORAL_TLS",
    "TEMPORAL_TLS_SERVER_CA_CERT_PATH",
    "TEMPORAL_TLS_CLIENT_CERT_PATH",
    "TEMPORAL_TLS_CLIENT_KEY_PATH",
    "TEMPORAL_TLS_SERVER_NAME",
)
REMOTE = "temporal-frontend.temporal.svc.cluster.local:7233"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in (*TLS_VARS, "JIUZHU_TEMPORAL_PLAINTEXT_PRIVATE_NETWORK", "JIUZHU_ENV", "TEMPORAL_ADDRESS"):
        monkeypatch.delenv(var, raising=False)


@pytest.fixture
def files(tmp_path: Path) -> dict[str, Path]:
    made = {}
    for name in ("ca.crt", "tls.crt", "tls.key"):
        made[name] = tmp_path / name
        made[name].write_bytes(f"-----BEGIN {name}-----\n".encode())
    return made


def test_the_settings_use_the_temporal_cli_names() -> None:
    """One set of variables serves Jiuzhu and the `temporal` CLI (deploy/temporal/setup.sh, operators)."""
    options = subprocess.run([temporal_cli(), "options"], capture_output=True, text=True, check=True).stdout
    for var in TLS_VARS:
        assert var in options, var


def test_development_connects_without_tls() -> None:
    assert tls_config(Settings()) is None
    assert tls_config(Settings(temporal_address=REMOTE)) is None


def test_tls_config_reads_the_files_and_the_server_name(monkeypatch: pytest.MonkeyPatch, files) -> None:
    monkeypatch.setenv("JIUZHU_ENV", "production")
    monkeypatch.setenv("TEMPORAL_ADDRESS", REMOTE)
    monkeypatch.setenv("TEMPORAL_TLS", "1")
    monkeypatch.setenv("TEMPORAL_TLS_SERVER_CA_CERT_PATH", str(files["ca.crt"]))
    monkeypatch.setenv("TEMPORAL_TLS_CLIENT_CERT_PATH", str(files["tls.crt"]))
    monkeypatch.setenv("TEMPORAL_TLS_CLIENT_KEY_PATH", str(files["tls.key"]))
    monkeypatch.setenv("TEMPORAL_TLS_SERVER_NAME", "temporal-frontend")
    tls = tls_config(Settings())
    assert tls is not None
    assert tls.server_root_ca_cert == b"-----BEGIN ca.crt-----\n"
    assert tls.client_cert == b"-----BEGIN tls.crt-----\n"
    assert tls.client_private_key == b"-----BEGIN tls.key-----\n"
    assert tls.domain == "temporal-frontend"


def test_tls_alone_trusts_the_system_cas_and_any_file_turns_it_on(files) -> None:
    tls = tls_config(Settings(temporal_address=REMOTE, temporal_tls_setting=True))
    assert tls is not None and tls.server_root_ca_cert is None and tls.client_cert is None and tls.domain is None
    tls = tls_config(Settings(temporal_address=REMOTE, temporal_tls_ca_file=files["ca.crt"]))  # as the CLI does
    assert tls is not None and tls.server_root_ca_cert == files["ca.crt"].read_bytes()


def test_wrong_tls_files_are_refused(files, tmp_path: Path) -> None:
    with pytest.raises(TemporalTLSError, match="go together"):
        tls_config(Settings(temporal_address=REMOTE, temporal_tls_cert_file=files["tls.crt"]))
    with pytest.raises(TemporalTLSError, match="TEMPORAL_TLS_SERVER_CA_CERT_PATH: cannot read"):
        tls_config(Settings(temporal_address=REMOTE, temporal_tls_ca_file=tmp_path / "missing.crt"))


async def test_production_refuses_a_plaintext_frontend_across_the_network() -> None:
    settings = Settings(env="production", temporal_address=REMOTE)
    with pytest.raises(TemporalTLSError, match="JIUZHU_TEMPORAL_PLAINTEXT_PRIVATE_NETWORK"):
        tls_config(settings)
    with pytest.raises(TemporalTLSError):  # before any connection attempt; not an OSError, so never retried
        await connect(settings)
    assert not issubclass(TemporalTLSError, (OSError, RuntimeError))


def test_production_plaintext_only_by_explicit_private_network_or_on_this_machine(monkeypatch) -> None:
    monkeypatch.setenv("JIUZHU_TEMPORAL_PLAINTEXT_PRIVATE_NETWORK", "1")
    assert tls_config(Settings(env="production", temporal_address="temporal:7233")) is None
    monkeypatch.delenv("JIUZHU_TEMPORAL_PLAINTEXT_PRIVATE_NETWORK")
    for local in ("127.0.0.1:7233", "localhost:7233", "[::1]:7233", None):  # None: the embedded dev server
        assert tls_config(Settings(env="production", temporal_address=local)) is None
    with pytest.raises(TemporalTLSError):
        tls_config(Settings(env="production", temporal_address="10.0.0.8:7233"))
