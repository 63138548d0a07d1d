"""schemathesis against `/openapi.json` of the real web app (uvicorn, its own process) on a real worker,
Temporal's time-skipping server and PostgreSQL: every operation, valid and invalid input, as a district
officer and as a township caseworker. No answer may be a 5xx, and the web app may log no unhandled error.

schemathesis drives `requests` synchronously, so it runs in a thread while the worker (in this process's
event loop) keeps answering the workflows the calls start.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import httpx
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error

from db.users_repo import DEMO_PASSWORD
from tests.clock import SkippingEnvironment
from tests.security.conftest import SECRET, WEBHOOK_SECRET, add_extra_users, seed
from tests.web_server import serving_web

EXAMPLES = int(os.environ.get("JIUZHU_FUZZ_EXAMPLES", "8"))  # per operation, mode and user
USERS = ("qu_minzheng", "shipo_jingban")


@pytest.fixture
async def served(review_env: SkippingEnvironment, pool: asyncpg.Pool, db_url: str, tmp_path: Path) -> AsyncIterator:
    await add_extra_users(pool)
    await seed(pool)
    environ = (
        {k: v for k, v in os.environ.items() if not k.startswith("JIUZHU_SECRET")}
        | review_env.process_env()
        | {
            "DATABASE_URL": db_url,
            "TEMPORAL_ADDRESS": review_env.client.service_client.config.target_host,
            "JIUZHU_SECRET_KEY": SECRET,
            "JIUZHU_VAR": str(tmp_path / "var"),
            "JIUZHU_ENV": "production",
            "JIUZHU_LOG_JSON": "1",
        }
    )
    log_path = tmp_path / "web.log"
    async with serving_web(environ, log_path) as url, httpx.AsyncClient(base_url=url) as http:
        tokens = {}
        for user in USERS:
            r = await http.post("/api/auth/login", json={"username": user, "password": DEMO_PASSWORD})
            assert r.status_code == 200, r.text
            tokens[user] = r.json()["token"]
        yield url, tokens, log_path


PAGED = {"GET /api/cases", "GET /api/emergencies", "GET /api/frontdoor/requests"}
BIGINT = 2**63 - 1


def known_issue(label: str, case) -> bool:
    """Reported, not yet fixed: `page` has no upper bound, and `(page - 1) * page_size` past PostgreSQL's bigint
    fails the query (500). test_a_huge_page_number_is_refused_not_a_server_error says when it is fixed."""
    query = case.query or {}
    try:
        offset = (int(query.get("page", 1)) - 1) * int(query.get("page_size", 50))
    except (TypeError, ValueError):
        return False
    return label in PAGED and offset > BIGINT


def fuzz(url: str, tokens: dict[str, str]) -> tuple[int, list[str], list[str]]:
    """Every operation, both generation modes, both users; returns (calls, 5xx failures, secrets seen)."""
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    calls = 0
    failures: list[str] = []
    leaks: list[str] = []

    def runner(operation, mode: GenerationMode, user: str, headers: dict[str, str]):
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case) -> None:
            nonlocal calls
            calls += 1
            response = case.call(base_url=url, headers=headers, timeout=60)
            if WEBHOOK_SECRET in response.text:
                leaks.append(f"{operation.label} as {user}")
            if response.status_code >= 500 and known_issue(operation.label, case):
                return
            try:
                case.validate_response(response, checks=[not_a_server_error], headers=headers)
            except Exception as exc:
                failures.append(f"{operation.label} as {user} ({mode.value}): {str(exc)[:600]}")
                raise

        return run

    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for user, token in tokens.items():
                try:
                    runner(operation, mode, user, {"Authorization": f"Bearer {token}"})()
                except Unsatisfiable:
                    assert mode is GenerationMode.NEGATIVE, operation.label  # nothing invalid to send (no input)
                except Exception:
                    pass  # recorded above, with the smallest example hypothesis found
    return calls, failures, leaks


async def test_a_huge_page_number_is_refused_not_a_server_error(served) -> None:
    url, tokens, _ = served
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {tokens['qu_minzheng']}"}) as http:
        for path in ("/api/cases", "/api/emergencies", "/api/frontdoor/requests"):
            r = await http.get(path, params={"page": 10**18, "page_size": 50})
            assert r.status_code == 422, (path, r.status_code)


@pytest.mark.timeout(900)
async def test_no_operation_answers_with_a_server_error(served) -> None:
    url, tokens, log_path = served
    calls, failures, leaks = await asyncio.to_thread(fuzz, url, tokens)
    assert calls > 200
    assert not failures, f"{len(failures)} operations answered 5xx:\n" + "\n\n".join(failures)
    assert not leaks, leaks
    log = log_path.read_text()
    assert "Traceback" not in log and "Exception in ASGI application" not in log, log[-4000:]
