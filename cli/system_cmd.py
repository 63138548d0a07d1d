"""`jiuzhu up|status|migrate|worker`: run the whole system on one machine, or against given servers."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
import uuid
from datetime import timedelta
from pathlib import Path

import structlog
import typer

from db import cases_repo, demo_users_repo, ops_repo, policy_repo, users_repo
from db.migrate import upgrade
from db.pool import connect as db_connect
from infra.config import TASK_QUEUE, Settings
from infra.logging import setup_logging
from infra.servers import database_url, port_open, start_temporal_dev_server

log = structlog.get_logger("jiuzhu")
STATE_FILE = "state.json"


def _bootstrap(url: str, *, demo_users: bool) -> list[tuple[str, str, str]]:
    """Migrate, install the default policy on an empty database and, for a local system, demo users."""
    upgrade(url)

    async def go():
        conn = await db_connect(url)
        try:
            if await policy_repo.ensure_default(conn):
                log.info("installed default policy", version=1)
            return await demo_users_repo.ensure_demo_users(conn) if demo_users else []
        finally:
            await conn.close()

    return asyncio.run(go())


async def _payroll_day(url: str | None) -> int | None:
    """The payroll day of the policy in force today (None without a database to ask)."""
    if not url:
        return None
    from infra.clock import today

    conn = await db_connect(url)
    try:
        return (await policy_repo.in_force(conn, today())).payroll.payroll_day
    finally:
        await conn.close()


async def _ensure_schedules(settings: Settings, url: str | None = None) -> None:
    from infra.schedules import ensure_schedules
    from infra.temporal import connect

    day = await _payroll_day(url or settings.database_url)
    await ensure_schedules(await connect(settings), payroll_day=day)


def _spawn(name: str, args: list[str], env: dict[str, str], log_dir: Path) -> subprocess.Popen:
    out = open(log_dir / f"{name}.log", "ab")
    proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    log.info("started", process=name, pid=proc.pid, log=str(log_dir / f"{name}.log"))
    return proc


def up(
    json_logs: bool = typer.Option(False, "--json", help="JSON 日志（生产环境）"),
    web: bool = typer.Option(True, help="同时启动 Web 应用"),
    demo: bool = typer.Option(False, "--demo", help="在空数据库上创建演示用户（公开的演示密码；仅限本机演示）"),
) -> None:
    """Start PostgreSQL, Temporal, migrations, worker and web app; Ctrl-C stops them all. Demo users (with the
    published demo password) only with `--demo`, never in production."""
    setup_logging(json_logs)
    settings = Settings()
    if demo and settings.production:
        typer.echo("生产环境（JIUZHU_ENV=production）不能创建演示用户：去掉 --demo", err=True)
        raise typer.Exit(2)
    log_dir = settings.var_dir / "log"
    for d in (settings.var_dir, settings.run_dir, log_dir):
        d.mkdir(parents=True, exist_ok=True)

    url = database_url(settings)
    assert url is not None
    log.info(
        "database ready", embedded=settings.embedded_db, pgdata=str(settings.pg_dir) if settings.embedded_db else None
    )
    created = _bootstrap(url, demo_users=demo)
    log.info("database migrated")

    children: dict[str, subprocess.Popen] = {}
    if settings.embedded_temporal:
        children["temporal"] = start_temporal_dev_server(settings, log_dir / "temporal.log")
        log.info(
            "temporal dev server ready",
            address=settings.temporal_target,
            web_ui=f"http://localhost:{settings.temporal_ui_port}",
        )

    asyncio.run(_ensure_schedules(settings, url))
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "TEMPORAL_ADDRESS": settings.temporal_target,
        "JIUZHU_LOG_JSON": "1" if json_logs else "0",
    }
    commands = {"worker": [sys.executable, "-m", "workers.main"]}
    if web:
        commands["web"] = [
            sys.executable,
            "-m",
            "uvicorn",
            "webapp.app:app",
            "--host",
            "0.0.0.0",
            "--port",
            str(settings.web_port),
            "--no-access-log",
            "--no-proxy-headers",  # X-Forwarded-For only from JIUZHU_TRUSTED_PROXIES, in the app (webapp/app.py)
        ]
    for name, args in commands.items():
        children[name] = _spawn(name, args, env, log_dir)

    state = {
        "pid": os.getpid(),
        "database_url": url,
        "temporal": settings.temporal_target,
        "web_port": settings.web_port if web else None,
        "children": {n: p.pid for n, p in children.items()},
    }
    (settings.run_dir / STATE_FILE).write_text(json.dumps(state))

    if created:
        typer.echo(f"\n已创建演示用户 / demo users created (password: {users_repo.DEMO_PASSWORD}):")
        for username, role, place in created:
            typer.echo(f"  {username:<16} {role}  {place}")
    typer.echo(
        f"\nJiuzhu 已启动: web http://localhost:{settings.web_port}  "
        f"Temporal UI http://localhost:{settings.temporal_ui_port}  (Ctrl-C 停止)\n"
    )

    stopping = False

    def _stop(*_):
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, _stop)
    signal.signal(signal.SIGTERM, _stop)
    try:
        while not stopping:
            for name, proc in list(children.items()):
                if proc.poll() is not None and name in commands:
                    log.warning("process exited; restarting", process=name, code=proc.returncode)
                    time.sleep(1)
                    children[name] = _spawn(name, commands[name], env, log_dir)
                elif proc.poll() is not None:
                    log.error("process exited", process=name, code=proc.returncode)
                    stopping = True
            time.sleep(0.5)
    finally:
        for name in ("web", "worker", "temporal"):
            proc = children.get(name)
            if proc and proc.poll() is None:
                proc.send_signal(signal.SIGINT if name == "temporal" else signal.SIGTERM)
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    proc.kill()
                log.info("stopped", process=name)
        (settings.run_dir / STATE_FILE).unlink(missing_ok=True)
        log.info("jiuzhu stopped; database stops with this process")


def status() -> None:
    """Say what is up: database, Temporal, worker (end-to-end check), web app, Web UI."""
    settings = Settings()
    state_path = settings.run_dir / STATE_FILE
    state = json.loads(state_path.read_text()) if state_path.exists() else {}
    url = settings.database_url or state.get("database_url")
    results: list[tuple[str, bool, str]] = []

    async def check_db() -> tuple[bool, str]:
        if not url:
            return False, "未运行 (no DATABASE_URL and jiuzhu up not running)"
        try:
            conn = await db_connect(url)
            try:
                rev = await ops_repo.migration(conn)
                cases = await cases_repo.count(conn)
                return True, f"migration {rev}, {cases} cases"
            finally:
                await conn.close()
        except Exception as e:
            return False, str(e)

    async def check_temporal() -> list[tuple[str, bool, str]]:
        from infra.temporal import connect
        from workflows.system_check import SystemCheckWorkflow

        try:
            client = await connect(settings)
        except Exception as e:
            return [("temporal", False, str(e)), ("worker", False, "Temporal 不可用")]
        out = [("temporal", True, settings.temporal_target)]
        try:
            check = await client.execute_workflow(
                SystemCheckWorkflow.run,
                "jiuzhu status",
                id=f"system-check-{uuid.uuid4()}",
                task_queue=TASK_QUEUE,
                execution_timeout=timedelta(seconds=10),
            )
            out.append(
                (
                    "worker",
                    True,
                    f"{check.worker}: {check.places} places, {check.users} users, policy v{check.policy_version}",
                )
            )
        except Exception as e:
            out.append(("worker", False, f"系统检查工作流未完成: {e}"))
        return out

    async def go():
        results.append(("database", *(await check_db())))
        results.extend(await check_temporal())

    asyncio.run(go())
    web_port = state.get("web_port") or settings.web_port
    results.append(("web", port_open("127.0.0.1", web_port), f"http://localhost:{web_port}"))
    if settings.embedded_temporal:
        ui = settings.temporal_ui_port
        results.append(("temporal-ui", port_open("127.0.0.1", ui), f"http://localhost:{ui}"))
    for name, ok, detail in results:
        typer.echo(f"{'UP  ' if ok else 'DOWN'}  {name:<12} {detail}")
    if not all(ok for _, ok, _ in results):
        raise typer.Exit(1)


def migrate() -> None:
    """Apply database migrations (and default policy) to the configured or embedded database."""
    setup_logging()
    url = database_url(Settings())
    assert url is not None
    _bootstrap(url, demo_users=False)
    typer.echo("数据库已迁移到最新版本")


def schedules() -> None:
    """Create or update the Temporal Schedules (daily digest, monthly sampling, fund declaration and payroll, on
    the payroll day of the policy in force when DATABASE_URL is set; `jiuzhu up` always reads it)."""
    setup_logging()
    asyncio.run(_ensure_schedules(Settings()))
    typer.echo("定时任务已就绪")


def worker() -> None:
    """Run a worker in the foreground (production: one per container, scaled horizontally)."""
    from workers.main import main

    main()
