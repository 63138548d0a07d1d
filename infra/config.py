"""Where things live and which servers to use, from the environment.

`DATABASE_URL` / `TEMPORAL_ADDRESS` select external servers (production); when unset,
`jiuzhu up` starts embedded ones with their data under `var/`.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TASK_QUEUE = "jiuzhu-main"
TIMEZONE = "Asia/Shanghai"


def _bin(name: str) -> str:
    """A console script installed beside this interpreter (the venv's bin/)."""
    return str(Path(sys.executable).parent / name)


@dataclass(frozen=True)
class Settings:
    var_dir: Path = field(default_factory=lambda: Path(os.environ.get("JIUZHU_VAR", ROOT / "var")))
    database_url: str | None = field(default_factory=lambda: os.environ.get("DATABASE_URL"))
    temporal_address: str | None = field(default_factory=lambda: os.environ.get("TEMPORAL_ADDRESS"))
    temporal_namespace: str = field(default_factory=lambda: os.environ.get("TEMPORAL_NAMESPACE", "default"))
    temporal_port: int = field(default_factory=lambda: int(os.environ.get("JIUZHU_TEMPORAL_PORT", "7233")))
    temporal_ui_port: int = field(default_factory=lambda: int(os.environ.get("JIUZHU_TEMPORAL_UI_PORT", "8233")))
    web_port: int = field(default_factory=lambda: int(os.environ.get("JIUZHU_WEB_PORT", "8000")))
    temporal_ui_url: str = field(
        default_factory=lambda: os.environ.get(
            "TEMPORAL_UI_URL", f"http://localhost:{os.environ.get('JIUZHU_TEMPORAL_UI_PORT', '8233')}"
        )
    )

    @property
    def pg_dir(self) -> Path:
        return self.var_dir / "pg"

    @property
    def temporal_db(self) -> Path:
        return self.var_dir / "temporal.db"

    @property
    def run_dir(self) -> Path:
        return self.var_dir / "run"

    @property
    def embedded_db(self) -> bool:
        return self.database_url is None

    @property
    def embedded_temporal(self) -> bool:
        return self.temporal_address is None

    @property
    def temporal_target(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"


def temporal_cli() -> str:
    return _bin("temporal")


def temporal_test_server() -> str:
    return _bin("temporal-test-server")
