"""Browser tests: the real web app (uvicorn) on a real worker, Temporal's time-skipping server and
embedded PostgreSQL, driven by Playwright in Debian's Chromium (tests/support/browser.py). The pages
tested without a browser take the `web` fixture of tests/conftest.py."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest
from playwright.async_api import Browser, Page, async_playwright

from tests.support.browser import CHROMIUM, CHROMIUM_ARGS, Live
from tests.support.clock import SkippingEnvironment
from tests.support.web_server import serving_web


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
