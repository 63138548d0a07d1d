"""Browser tests: the real web app (uvicorn) on a real worker, Temporal's time-skipping server and
embedded PostgreSQL, driven by Playwright in Debian's Chromium. Screenshots go to test-artifacts/."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import asyncpg
import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright

from infra.config import ROOT
from tests.clock import SkippingEnvironment
from tests.web_server import serving_web

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = ROOT / "test-artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-quic",
    "--no-first-run",
    "--disable-component-update",
    "--disable-sync",
]


@dataclass
class Live:
    url: str
    env: SkippingEnvironment
    pool: asyncpg.Pool
    db_url: str

    async def screenshot(self, page: Page, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
async def live(review_env: SkippingEnvironment, pool: asyncpg.Pool, db_url: str, tmp_path: Path) -> AsyncIterator[Live]:
    environ = (
        os.environ
        | review_env.process_env()
        | {  # the web process's clock follows the test's
            "DATABASE_URL": db_url,
            "TEMPORAL_ADDRESS": review_env.client.service_client.config.target_host,
            "JIUZHU_SECRET_KEY": "browser-test-secret-" + "x" * 24,
            "JIUZHU_VAR": str(tmp_path / "var"),
        }
    )
    async with serving_web(environ, tmp_path / "web.log", "--no-access-log") as url:
        yield Live(url=url, env=review_env, pool=pool, db_url=db_url)


@pytest.fixture
async def web(pool: asyncpg.Pool, beijing_clock: datetime) -> AsyncIterator[httpx.AsyncClient]:
    """The app in-process (no Temporal) for page tests that need no workflow, its clock at the test's
    `start_at` (DEFAULT_START unless the test states one): no page depends on the day the suite runs."""
    from webapp.app import create_app

    app = create_app(pool=pool, client=None, secret_key="test-secret-" + "x" * 32)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://jiuzhu.test") as c:
        yield c


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not os.path.exists(CHROMIUM):  # noqa: ASYNC240 - a single stat before the browser starts
        pytest.fail(f"{CHROMIUM} is missing: run scripts/system-deps.sh (make test does)")
    async with async_playwright() as p:
        b = await p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        await b.close()


@pytest.fixture
async def page(browser: Browser) -> AsyncIterator[Page]:
    context = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
    p = await context.new_page()
    p.set_default_timeout(15_000)
    yield p
    await context.close()


async def log_in(page: Page, live: Live, username: str, password: str = "jiuzhu2026") -> None:
    await page.goto(live.url + "/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")
    await page.wait_for_load_state("networkidle")
