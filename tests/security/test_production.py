"""Production by default (issue 16, point 7): the image and every deployment run with `JIUZHU_ENV=production`;
demo users exist only after an explicit `jiuzhu up --demo` (never in production); and a production web app or
worker refuses to start while any active user still has the published demo password."""

from __future__ import annotations

import re
from pathlib import Path

import asyncpg
import pytest
from typer.testing import CliRunner

from cli.main import app as cli
from db import demo_users_repo, users_repo
from db.demo_users_repo import DemoPasswordInProduction
from infra.config import ROOT, Settings
from webapp.app import create_app
from workers.main import run_worker

KEY = "production-tests-" + "k" * 40


@pytest.fixture
def production(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("JIUZHU_ENV", "production")
    monkeypatch.setenv("JIUZHU_SECRET_KEY", KEY)
    monkeypatch.setenv("JIUZHU_VAR", str(tmp_path / "var"))


def test_the_image_runs_in_production_and_make_run_asks_for_demo_users() -> None:
    dockerfile = (ROOT / "deploy" / "Dockerfile").read_text()
    runtime = dockerfile.rsplit("\nFROM ", 1)[1]  # the last stage is the image that runs
    assert re.search(r"^\s+JIUZHU_ENV=production\b", runtime, re.M), "the image is production by default"
    assert "$(VENV)/bin/jiuzhu up --demo" in (ROOT / "Makefile").read_text()
    assert "jiuzhu up --demo" in (ROOT / "README.md").read_text()


def test_jiuzhu_up_refuses_demo_users_in_production(production: None) -> None:
    done = CliRunner().invoke(cli, ["up", "--demo"])
    assert done.exit_code == 2
    assert "不能创建演示用户" in done.output


async def test_the_web_app_refuses_to_start_while_a_user_has_the_demo_password(
    production: None, pool: asyncpg.Pool
) -> None:
    app = create_app(pool, client=object())  # type: ignore[arg-type]
    with pytest.raises(DemoPasswordInProduction, match="演示密码") as refused:
        async with app.router.lifespan_context(app):
            pass
    assert "admin" in str(refused.value) and "shipo_jingban" in str(refused.value)

    for name in await demo_users_repo.demo_password_users(pool):  # every demo user changes their password...
        async with pool.acquire() as conn:
            await users_repo.set_password(conn, name, "a-new-and-long-password-" + name)
    assert await demo_users_repo.demo_password_users(pool) == []
    async with app.router.lifespan_context(app):  # ...and production starts
        pass


async def test_deactivated_demo_users_do_not_stop_production(pool: asyncpg.Pool) -> None:
    await pool.execute("update users set active = false where username <> 'admin'")
    assert await demo_users_repo.demo_password_users(pool) == ["admin"]
    await pool.execute("update users set active = false")
    await demo_users_repo.refuse_demo_passwords(pool)


async def test_the_worker_refuses_to_start_while_a_user_has_the_demo_password(
    production: None, pool: asyncpg.Pool, db_url: str
) -> None:
    settings = Settings(database_url=db_url, temporal_address="127.0.0.1:1")
    with pytest.raises(DemoPasswordInProduction, match="演示密码"):
        await run_worker(settings)
