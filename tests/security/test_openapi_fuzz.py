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
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis.errors import Unsatisfiable
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup

from db import demo_users_repo, users_repo
from tests.security.conftest import SECRET, WEBHOOK_SECRET, add_extra_users, seed
from tests.support.clock import SkippingEnvironment
from tests.support.web_server import serving_web

EXAMPLES = int(os.environ.get("JIUZHU_FUZZ_EXAMPLES", "8"))  # per operation, mode and user
USERS = ("qu_minzheng", "shipo_jingban")
PASSWORD = "fuzz-tests-password-0123456789"  # production refuses to start while anyone has the demo password


@pytest.fixture
async def served(review_env: SkippingEnvironment, pool: asyncpg.Pool, db_url: str, tmp_path: Path) -> AsyncIterator:
    await add_extra_users(pool)
    await seed(pool)
    async with pool.acquire() as conn:
        for name in await demo_users_repo.demo_password_users(conn):
            await users_repo.set_password(conn, name, PASSWORD)
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
            r = await http.post("/api/auth/login", json={"username": user, "password": PASSWORD})
            assert r.status_code == 200, r.text
            tokens[user] = r.json()["token"]
        yield url, tokens, log_path


class ServerErrorAnswered(AssertionError):
    """A 5xx, as an ordinary failure: schemathesis raises a `BaseExceptionGroup`, which hypothesis lets through
    at once, without shrinking; this it shrinks to the smallest input that still gets a 5xx."""


class NoAnswer(BaseException):
    """The server never answered (connection error, timeout): stops the operation's run at once, unshrunk, since
    every retry would wait as long again."""


MAX_NO_ANSWER = 3  # the server is gone: stop there rather than wait out a timeout per operation


def leaves(exc: BaseException) -> list[BaseException]:
    """The single failures in what hypothesis raised (a group when it found several distinct ones)."""
    if isinstance(exc, BaseExceptionGroup):
        return [leaf for inner in exc.exceptions for leaf in leaves(inner)]
    return [exc]


def describe(exc: BaseException) -> str:
    """The failure with hypothesis's notes (the falsifying example, schemathesis's curl to reproduce it)."""
    notes = "\n".join(getattr(exc, "__notes__", []))
    return f"{type(exc).__name__}: {str(exc)[:600]}\n{notes[:600]}".strip()


@dataclass
class Findings:
    calls: int = 0
    server_errors: list[str] = field(default_factory=list)  # 5xx, each with its smallest example
    transport: list[str] = field(default_factory=list)  # connection errors and timeouts: no answer at all
    errors: list[str] = field(default_factory=list)  # anything else that stopped an operation's run
    leaks: set[str] = field(default_factory=set)


def fuzz(url: str, tokens: dict[str, str]) -> Findings:
    """Every operation, both generation modes, both users; every failure of any kind is recorded."""
    schema = schemathesis.openapi.from_url(f"{url}/openapi.json")
    found = Findings()

    def runner(operation, mode: GenerationMode, user: str, headers: dict[str, str]):
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            derandomize=True,
            phases=[Phase.explicit, Phase.generate, Phase.shrink],
            suppress_health_check=list(HealthCheck),
        )
        @given(case=operation.as_strategy(generation_mode=mode))
        def run(case) -> None:
            found.calls += 1
            try:
                response = case.call(base_url=url, headers=headers, timeout=60)
            except requests.RequestException as exc:
                raise NoAnswer(describe(exc)) from exc
            if WEBHOOK_SECRET in response.text:
                found.leaks.add(f"{operation.label} as {user}")
            try:
                case.validate_response(response, checks=[not_a_server_error], headers=headers)
            except FailureGroup as group:
                raise ServerErrorAnswered(str(group)) from None

        return run

    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/api/auth/logout":
            continue  # it ends the session whose token every other operation is sent with (tests/test_sessions.py)
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):
            for user, token in tokens.items():
                where = f"{operation.label} as {user} ({mode.value})"
                if len(found.transport) >= MAX_NO_ANSWER:
                    return found
                try:
                    runner(operation, mode, user, {"Authorization": f"Bearer {token}"})()
                except NoAnswer as exc:
                    found.transport.append(f"{where}: {exc}")
                except Unsatisfiable as exc:
                    if mode is not GenerationMode.NEGATIVE:  # only "nothing invalid to send" (no input) is fine
                        found.errors.append(f"{where}: {describe(exc)}")
                except Exception as exc:
                    for leaf in leaves(exc):
                        if isinstance(leaf, ServerErrorAnswered):
                            found.server_errors.append(f"{where}: {describe(leaf)}")
                        else:
                            found.errors.append(f"{where}: {describe(leaf)}")
    return found


async def test_a_huge_page_number_is_refused_not_a_server_error(served) -> None:
    """`(page - 1) * page_size` past PostgreSQL's bigint once failed the query (500); a page that far is refused."""
    url, tokens, _ = served
    async with httpx.AsyncClient(base_url=url, headers={"Authorization": f"Bearer {tokens['qu_minzheng']}"}) as http:
        for path in ("/api/cases", "/api/emergencies", "/api/frontdoor/requests"):
            r = await http.get(path, params={"page": 10**18, "page_size": 50})
            assert (r.status_code, r.json()["code"]) == (422, "invalid"), (path, r.text)


@pytest.mark.timeout(900)
async def test_no_operation_answers_with_a_server_error(served) -> None:
    url, tokens, log_path = served
    found = await asyncio.to_thread(fuzz, url, tokens)
    assert found.calls > 200
    assert not found.server_errors, f"{len(found.server_errors)} operations answered 5xx:\n" + "\n\n".join(
        found.server_errors
    )
    assert not found.transport, f"{len(found.transport)} operations got no answer (connection error, timeout):\n" + (
        "\n\n".join(found.transport)
    )
    assert not found.errors, f"{len(found.errors)} operations could not be run:\n" + "\n\n".join(found.errors)
    assert not found.leaks, sorted(found.leaks)
    log = log_path.read_text()
    assert "Traceback" not in log and "Exception in ASGI application" not in log, log[-4000:]
