"""Browser tests: the real web app served by uvicorn (tests/support/web_server.py) on the test's servers, and
Debian's Chromium driven by Playwright (the fixtures are in tests/ui/conftest.py). Screenshots go to
test-artifacts/."""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from playwright.async_api import Page

from db.users_repo import DEMO_PASSWORD
from infra.config import ROOT
from tests.support.clock import SkippingEnvironment

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
    """The web app as its own process, and the servers behind it."""

    url: str
    env: SkippingEnvironment
    pool: asyncpg.Pool
    db_url: str

    async def screenshot(self, page: Page, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        return path


async def log_in(page: Page, live: Live, username: str, password: str = DEMO_PASSWORD) -> None:
    await page.goto(live.url + "/login")
    await page.fill("input[name=username]", username)
    await page.fill("input[name=password]", password)
    await page.click("button[type=submit]")
    await page.wait_for_load_state("networkidle")


async def until_true(page: Page, expression: str, within: float = 15.0) -> None:
    """Wait until the JavaScript `expression` is true in the page, polling from the test: `wait_for_function`
    polls with an eval inside the page, which the page's CSP (no 'unsafe-eval') refuses."""
    deadline = time.monotonic() + within
    while not await page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"never true in the page: {expression}")
        await asyncio.sleep(0.1)
