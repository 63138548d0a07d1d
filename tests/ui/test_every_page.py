"""Every page of every role in Chromium (issue 17, point 9): the page list is the app's own GET routes of its
page routers (`webapp.app.PAGES`), not a list kept here; each role's demo user, and an anonymous visitor,
opens every one of them. Any console error, uncaught script error or 404/5xx answer (the page or anything it
loads) fails the test. A page a role may not open answers 403 (or sends to the log-in page): that is the
page's answer, not an error of it.

Path parameters are filled from rows this test creates (a case, an emergency event, 12349 requests with a
referral and a complaint, a re-check, a fund declaration) or the demo data; a route whose parameter has no
value here fails the test, so a new route cannot be skipped."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import date
from typing import Any

import asyncpg
import pytest
from playwright.async_api import Browser, Page

from db.declarations_repo import save_declaration
from db.roster_repo import keep_error_sheet
from db.users_repo import DEMO_USERS
from rules.frontdoor_actions import RequestAction
from schemas.frontdoor import IntakeNames, IntakeState, RequestKind, Triage
from schemas.staff import Role
from tests.support.actions import update_of
from tests.support.browser import Live, log_in
from tests.support.clock import beijing
from tests.support.emergency import start_emergency
from tests.support.factories import actor, resident_id
from tests.support.frontdoor import submit
from tests.support.payroll import seed_recipient
from tests.support.review import start
from tests.support.workflows import query_until
from webapp.app import PAGES

# One user of each role (the first of the demo users), and the anonymous visitor.
USERS = {role: next(u for u, _, r, _, _ in DEMO_USERS if r is role) for role in Role}
FILES = re.compile(r"\.(pdf|csv|xlsx|json|\{suffix\}|\{fmt\})$")  # downloads, fetched rather than opened
ROUTES_WITHOUT_DATA: set[str] = set()  # a route left out here would need a reason
RECIPIENT = "CRAWL-RECIPIENT-1"
# Deliberate refusals the browser logs as a failed load: 403 (not yours), 409 (not now: e.g. the public notice
# of a case that is not in its notice period)
REFUSED = (403, 409)


def page_routes() -> list[str]:
    return sorted({r.path for router in PAGES for r in router.routes if "GET" in getattr(r, "methods", ())})


async def _values(pool: asyncpg.Pool) -> dict[str, Callable[[str], list[str]]]:
    one = pool.fetchval
    fixed: dict[str, list[str]] = {
        "case_id": [await one("select case_id from cases order by accepted_at limit 1")],
        "event_id": [await one("select event_id from emergencies limit 1")],
        "request_no": [await one("select request_no from frontdoor_requests order by request_no limit 1")],
        "referral_id": [await one("select referral_id from referrals limit 1")],
        "complaint_no": [await one("select complaint_no from complaints limit 1")],
        "recheck_id": ["2026-10-S-1"],
        "month": ["2026-10"],
        "place_code": ["341503106201"],
        "username": ["shipo_diaocha"],
        "code": ["341503104"],
        "version": ["1"],
        "suffix": ["csv", "xlsx"],
        "fmt": ["csv", "json"],
        "payroll_id": [str(await one("select id from payrolls limit 1"))],
        "task_id": ["FX-CRAWL1"],
        "check_id": ["crawl-check-1"],
    }
    missing = [name for name, v in fixed.items() if None in v]
    assert not missing, f"no rows for {missing}: the seeding failed"
    values = {name: (lambda _path, v=v: v) for name, v in fixed.items()}
    # a payment account is a recipient's: that page is opened on an enrolled case
    values["case_id"] = lambda path, v=fixed["case_id"]: [RECIPIENT] if path.endswith("/payment-account") else v
    return values


def expand(path: str, values: dict[str, Callable[[str], list[str]]]) -> list[str]:
    names = re.findall(r"\{(\w+)\}", path)
    urls = [path]
    for name in names:
        if name not in values:
            raise AssertionError(f"{path}: no value for {{{name}}}; give one in tests/ui/test_every_page.py")
        urls = [u.replace("{" + name + "}", v) for u in urls for v in values[name](path)]
    return urls


class Problems:
    """What went wrong on the page being visited: console errors, script errors, 404/5xx answers."""

    def __init__(self, page: Page) -> None:
        self.found: list[str] = []
        self.current = ""
        self.status = 0
        self.visited = 0
        page.on("console", self._console)
        page.on("pageerror", lambda exc: self.found.append(f"{self.current}: script error {exc}"))
        page.on("response", self._response)

    def _console(self, msg: Any) -> None:
        # The browser logs a refused page (403) as a failed load: that is the answer asked for.
        if msg.type == "error" and not (self.status in REFUSED and f"status of {self.status}" in msg.text):
            self.found.append(f"{self.current}: console error {msg.text}")

    def _response(self, response: Any) -> None:
        if response.request.is_navigation_request():
            self.status = response.status  # before the console reports the page's own status
        if response.status == 404 or response.status >= 500:
            self.found.append(f"{self.current}: {response.status} {response.url}")


async def visit_all(page: Page, live: Live, who: str, urls: list[str]) -> list[str]:
    problems = Problems(page)
    for url in urls:
        problems.current = f"{who} {url}"
        if FILES.search(url.split("?")[0]):
            r = await page.request.get(live.url + url, max_redirects=0)
            if r.status == 404 or r.status >= 500:
                problems.found.append(f"{who} {url}: {r.status}")
            continue
        response = await page.goto(live.url + url, wait_until="load")
        problems.visited += 1
        if response and response.status not in (200, *REFUSED, 422):
            problems.found.append(f"{who} {url}: answered {response.status}")
    assert problems.visited >= 50, f"{who}: only {problems.visited} pages opened"
    return problems.found


async def _rows(pool: asyncpg.Pool, table: str) -> None:
    for _ in range(300):
        if await pool.fetchval(f"select count(*) from {table}"):
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"no row in {table}")


async def seed(live: Live) -> None:
    """A review case, an emergency event, a request triaged into a referral, a complaint, a re-check of the
    case and a fund declaration: a row behind every page that shows one."""
    await start(live.env)
    await start_emergency(live.env)
    request = await submit(live.env, "12349-20261124-CRAWL1", RequestKind.HELP, ["jobless"])
    await query_until(request, IntakeNames.STATE, IntakeState, lambda s: s.answer_due is not None)
    await request.execute_update(update_of(RequestAction.TRIAGE), Triage(actor=actor("qu_minzheng"), needs=["jobless"]))
    await submit(live.env, "12349-20261124-CRAWL2", RequestKind.COMPLAINT, [])
    for table in ("cases", "emergencies", "referrals", "complaints"):
        await _rows(live.pool, table)
    case_id = await live.pool.fetchval("select case_id from cases limit 1")
    await live.pool.execute(
        "insert into sampling_draws (month, seed, share, population, drawn, drawn_at) "
        "values ('2026-10', 'jiuzhu-sampling-2026-10', 0.05, 1, '[]', '2026-11-01 10:00+08')"
    )
    await live.pool.execute(
        "insert into rechecks (recheck_id, workflow_id, month, case_id, township_code, reason) "
        "values ('2026-10-S-1', 'recheck-2026-10-crawl', '2026-10', $1, '341503106', 'random')",
        case_id,
    )
    async with live.pool.acquire() as conn:
        await save_declaration(conn, "2026-10", [], {"households": 0, "people": 0, "amount_fen": 0}, "qu_minzheng")
    # a draft payroll, a discovery task and a dry run's error sheet (the administrator's)
    await live.pool.execute(
        "insert into payrolls (township_code, month, workflow_id, lines, amount_fen) "
        "values ('341503106', '2026-10-01', 'payroll-crawl', 1, 65000)"
    )
    await live.pool.execute(
        "insert into discovery_tasks (task_id, id_number, name, kind, signal_on, township_code, created_on, "
        "quiet_until, status) values ('FX-CRAWL1', $1, '发现甲', 'large_medical', '2026-11-20', '341503106', "
        "'2026-11-20', '2027-02-18', 'open')",
        resident_id(date(1960, 3, 3), seq=41),
    )
    await keep_error_sheet(live.pool, "crawl-check-1", "admin", "名册.xlsx", 1, b"PK")
    at = beijing(2026, 9, 1, 10, 0)
    await seed_recipient(live.pool, RECIPIENT, name="发放甲", accepted=at, decided=at, first_month=date(2026, 10, 1))


def test_the_page_list_comes_from_the_routes() -> None:
    routes = page_routes()
    assert "/admin/policy/{version}" in routes and "/funds/{place_code}" in routes and "/portal/ask" in routes
    assert ROUTES_WITHOUT_DATA <= set(routes)  # the exceptions are routes that exist


@pytest.mark.timeout(900)  # about 60 pages for each of 8 visitors
async def test_every_page_of_every_role_loads_without_errors(live: Live, browser: Browser) -> None:
    """One server for all roles (each in its own browser context): the servers' start-up is most of the time."""
    await seed(live)
    values = await _values(live.pool)
    urls = [u for p in page_routes() if p not in ROUTES_WITHOUT_DATA for u in expand(p, values)]
    urls = [u + ("?township_code=341503106" if u == "/portal/villages" else "") for u in urls]
    found: list[str] = []
    for role in [None, *Role]:
        context = await browser.new_context(viewport={"width": 1366, "height": 768}, locale="zh-CN")
        page = await context.new_page()
        page.set_default_timeout(15_000)
        if role is not None:
            await log_in(page, live, USERS[role])
            assert "/login" not in page.url, f"{USERS[role]} could not log in"
        found += await visit_all(page, live, USERS[role] if role else "anonymous", urls)
        await context.close()
    assert found == [], "\n".join(found)
