"""Log-in throttling (webapp/ratelimit.py): 5 failures lock a user name for 15 minutes, through the form
and the JSON API alike; one address is limited in failed attempts; a success or a new password resets."""

from __future__ import annotations

import asyncio
import re
import threading
from collections import Counter
from collections.abc import AsyncIterator

import asyncpg
import httpx
import pytest

from db import passwords, throttle_repo, users_repo
from db.users_repo import DEMO_PASSWORD
from tests.security.conftest import SECRET, asgi_client
from webapp import ratelimit
from webapp.app import create_app

LOCKED = "账户已临时锁定，请 15 分钟后再试"


@pytest.fixture
def app(pool: asyncpg.Pool):
    return create_app(pool, None, secret_key=SECRET)


@pytest.fixture
async def http(app) -> AsyncIterator[httpx.AsyncClient]:
    async with asgi_client(app, "198.51.100.7") as c:
        yield c


async def api_login(http: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await http.post("/api/auth/login", json={"username": username, "password": password})


def answer(r: httpx.Response) -> tuple[int, str]:
    """The status and JSON code of a refusal."""
    return r.status_code, r.json()["code"]


async def form_login(http: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    page = await http.get("/login")
    token = re.search(r'name="csrftoken" value="([^"]+)"', page.text).group(1)
    return await http.post("/login", data={"username": username, "password": password, "csrftoken": token})


async def test_five_failures_lock_the_api_log_in_for_15_minutes(http: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    for _ in range(ratelimit.MAX_FAILURES - 1):
        r = await api_login(http, "shipo_jingban", "wrong-password")
        assert r.status_code == 401 and r.json()["code"] == "bad_credentials"
    r = await api_login(http, "shipo_jingban", "wrong-password")
    assert r.status_code == 429
    assert r.json() == {"code": "account_locked", "message": LOCKED}
    # Locked: even the right password is refused, and no session is started.
    r = await api_login(http, "shipo_jingban", DEMO_PASSWORD)
    assert (r.status_code, r.json()) == (429, {"code": "account_locked", "message": LOCKED})
    assert "jiuzhu_session" not in r.headers.get("set-cookie", "")
    assert answer(await http.get("/api/me")) == (401, "unauthenticated")
    # Other users are not affected.
    assert (await api_login(http, "shipo_shenpi", DEMO_PASSWORD)).status_code == 200

    # Fifteen minutes later (the lock's end moved into the past) the right password works and resets the count.
    await pool.execute("update login_failures set locked_until = now() - interval '1 second'")
    r = await api_login(http, "shipo_jingban", DEMO_PASSWORD)
    assert r.status_code == 200, r.text
    assert await pool.fetchval("select count(*) from login_failures where username = 'shipo_jingban'") == 0


async def test_the_form_locks_too_and_shares_the_count_with_the_api(http: httpx.AsyncClient) -> None:
    for _ in range(3):
        r = await form_login(http, "shunhe_jingban", "wrong-password")
        assert r.status_code == 401 and "用户名或密码错误" in r.text
    assert answer(await api_login(http, "shunhe_jingban", "wrong-password")) == (401, "bad_credentials")
    r = await form_login(http, "shunhe_jingban", "wrong-password")
    assert r.status_code == 429 and LOCKED in r.text
    r = await form_login(http, "shunhe_jingban", DEMO_PASSWORD)
    assert r.status_code == 429 and LOCKED in r.text and 'value="shunhe_jingban"' in r.text
    assert answer(await api_login(http, "shunhe_jingban", DEMO_PASSWORD)) == (429, "account_locked")
    r = await http.get("/account")  # still not logged in
    assert (r.status_code, r.headers["location"]) == (303, "/login?next=/account")


async def test_the_form_says_how_long_in_english_too(http: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    await pool.execute(
        "insert into login_failures values ('gulou_jingban', 5, now(), now(), now() + interval '150 seconds')"
    )
    http.cookies.set("jiuzhu_lang", "en")
    r = await form_login(http, "gulou_jingban", DEMO_PASSWORD)
    assert r.status_code == 429 and "Account temporarily locked, try again in 3 minutes." in r.text


async def test_a_success_resets_the_count(http: httpx.AsyncClient) -> None:
    for _ in range(ratelimit.MAX_FAILURES - 1):
        assert answer(await api_login(http, "gulou_shenpi", "wrong-password")) == (401, "bad_credentials")
    r = await form_login(http, "gulou_shenpi", DEMO_PASSWORD)
    assert (r.status_code, r.headers["location"]) == (303, "/inbox")
    for _ in range(ratelimit.MAX_FAILURES - 1):
        assert answer(await api_login(http, "gulou_shenpi", "wrong-password")) == (401, "bad_credentials")
    assert (await api_login(http, "gulou_shenpi", DEMO_PASSWORD)).status_code == 200


async def test_old_failures_do_not_count(http: httpx.AsyncClient, pool: asyncpg.Pool) -> None:
    for _ in range(ratelimit.MAX_FAILURES - 1):
        assert answer(await api_login(http, "gulou_diaocha", "wrong-password")) == (401, "bad_credentials")
    await pool.execute("update login_failures set first_failed_at = now() - interval '16 minutes'")
    r = await api_login(http, "gulou_diaocha", "wrong-password")
    assert answer(r) == (401, "bad_credentials")  # a fresh count of one, not the fifth failure
    assert await pool.fetchval("select failures from login_failures where username = 'gulou_diaocha'") == 1


async def test_unknown_names_lock_like_real_ones(http: httpx.AsyncClient) -> None:
    """Otherwise the lock-out would tell which user names exist."""
    answers = [(await api_login(http, "no_such_user", "x")).json()["code"] for _ in range(ratelimit.MAX_FAILURES)]
    assert answers == ["bad_credentials"] * (ratelimit.MAX_FAILURES - 1) + ["account_locked"]


async def test_a_new_password_from_the_administrator_lifts_the_lock(
    http: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    for _ in range(ratelimit.MAX_FAILURES):
        await api_login(http, "shunhe_shenpi", "wrong-password")
    assert answer(await api_login(http, "shunhe_shenpi", DEMO_PASSWORD)) == (429, "account_locked")
    async with pool.acquire() as conn:
        await users_repo.set_password(conn, "shunhe_shenpi", "a-brand-new-password")
    assert (await api_login(http, "shunhe_shenpi", "a-brand-new-password")).status_code == 200


async def test_one_address_is_limited_across_user_names(app, pool: asyncpg.Pool) -> None:
    """Credential stuffing: many names from one address. After IP_FAILURES failures the address is refused
    (even with a right password), while other addresses are not."""
    limit = ratelimit.IP_FAILURES.amount
    async with asgi_client(app, "203.0.113.9") as attacker, asgi_client(app, "203.0.113.10") as office:
        for i in range(limit):
            r = await api_login(attacker, f"guess{i:02d}", "123456")
            assert answer(r) == (401, "bad_credentials"), (i, r.text)
        r = await api_login(attacker, "shipo_jingban", DEMO_PASSWORD)
        assert r.status_code == 429 and r.json()["code"] == "too_many_attempts"
        assert r.json()["message"] == "登录尝试过于频繁，请 15 分钟后再试"
        r = await form_login(attacker, "shipo_jingban", DEMO_PASSWORD)
        assert r.status_code == 429 and "登录尝试过于频繁" in r.text
        assert (await api_login(office, "shipo_jingban", DEMO_PASSWORD)).status_code == 200
    # Each name was tried once: none of them is locked.
    assert await pool.fetchval("select count(*) from login_failures where locked_until is not null") == 0


async def test_attempts_of_any_outcome_are_limited_per_address(app, pool: asyncpg.Pool) -> None:
    """Each attempt costs an Argon2 hash: one address cannot make more than IP_ATTEMPTS a minute."""
    for _ in range(ratelimit.IP_ATTEMPTS.amount):
        assert await throttle_repo.hit(pool, ratelimit.IP_ATTEMPTS, "login-any", "203.0.113.20")
    assert not await throttle_repo.hit(pool, ratelimit.IP_ATTEMPTS, "login-any", "203.0.113.20")
    async with asgi_client(app, "203.0.113.20") as busy:
        r = await api_login(busy, "shipo_jingban", DEMO_PASSWORD)
    assert r.status_code == 429 and r.json()["code"] == "too_many_attempts"


async def test_replicas_share_the_address_limit(pool: asyncpg.Pool) -> None:
    """Two web replicas on one database: failures spread over both count together, so a second replica
    gives an attacker no extra attempts."""
    limit = ratelimit.IP_FAILURES.amount
    one, two = create_app(pool, None, secret_key=SECRET), create_app(pool, None, secret_key=SECRET)
    async with asgi_client(one, "203.0.113.30") as a, asgi_client(two, "203.0.113.30") as b:
        for i in range(limit):
            r = await api_login(a if i % 2 else b, f"spread{i:02d}", "123456")
            assert answer(r) == (401, "bad_credentials"), (i, r.text)
        for replica in (a, b):
            r = await api_login(replica, "shipo_jingban", DEMO_PASSWORD)
            assert r.status_code == 429 and r.json()["code"] == "too_many_attempts"
    assert await pool.fetchval("select count(*) from rate_limit_hits where key = '203.0.113.30'") > limit


# ---- a burst of parallel attempts, Argon2 off the event loop (issue 16, point 6) --------------------------------


async def test_20_parallel_wrong_passwords_are_counted_5_times_then_locked(
    app, pool: asyncpg.Pool, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Each attempt is counted before its password is checked, in one statement: of 20 wrong passwords sent at
    once exactly 5 are checked and counted, the fifth locks, the other 15 are refused without a check."""
    checked: list[str] = []
    real = passwords._verify
    monkeypatch.setattr(
        passwords, "_verify", lambda stored, password: checked.append(password) or real(stored, password)
    )
    async with asgi_client(app, "198.51.100.40") as c:
        burst = await asyncio.gather(*(api_login(c, "shipo_cun1", f"wrong-password-{i}") for i in range(20)))
    answers = Counter(answer(r) for r in burst)
    assert answers == {(401, "bad_credentials"): 4, (429, "account_locked"): 16}
    assert {r.json()["message"] for r in burst if r.status_code == 429} == {LOCKED}
    assert await pool.fetchval("select failures from login_failures where username = 'shipo_cun1'") == 5
    assert len(checked) == 5
    # Locked: the right password is refused, without being checked.
    async with asgi_client(app, "198.51.100.41") as c:
        r = await api_login(c, "shipo_cun1", DEMO_PASSWORD)
        assert (r.status_code, r.json()) == (429, {"code": "account_locked", "message": LOCKED})
        r = await form_login(c, "shipo_cun1", DEMO_PASSWORD)
        assert r.status_code == 429 and LOCKED in r.text
    assert len(checked) == 5
    assert await pool.fetchval("select failures from login_failures where username = 'shipo_cun1'") == 5


async def test_a_right_password_in_a_burst_of_wrong_ones_logs_in_and_clears_the_count(app, pool: asyncpg.Pool) -> None:
    async with asgi_client(app, "198.51.100.42") as c:
        burst = await asyncio.gather(
            *(api_login(c, "qu_jiandu", "wrong-password") for _ in range(3)), api_login(c, "qu_jiandu", DEMO_PASSWORD)
        )
    assert burst[-1].status_code == 200
    assert all(answer(r) == (401, "bad_credentials") for r in burst[:-1])
    assert (
        await pool.fetchval("select coalesce(max(failures), 0) from login_failures where username = 'qu_jiandu'")
    ) < 4


async def test_argon2_runs_off_the_event_loop(monkeypatch: pytest.MonkeyPatch) -> None:
    """Hashes run on their own threads (db/passwords.py): while eight of them run, the event loop keeps serving."""
    threads: list[str] = []
    real = passwords._verify
    monkeypatch.setattr(
        passwords, "_verify", lambda s, p: threads.append(threading.current_thread().name) or real(s, p)
    )
    stored = await passwords.hash_password("correct-horse-battery")
    ticks = 0

    async def tick() -> None:
        nonlocal ticks
        while True:
            await asyncio.sleep(0.005)
            ticks += 1

    ticker = asyncio.create_task(tick())
    results = await asyncio.gather(*(passwords.verify_password(stored, f"wrong-{i}") for i in range(8)))
    ticker.cancel()
    assert results == [False] * 8
    assert len(threads) == 8 and all(name.startswith("argon2") for name in threads), threads
    assert threading.current_thread().name not in threads
    assert ticks >= 5  # a hash on the loop would have blocked it for ~120 ms each: no tick in between
    assert await passwords.verify_password(stored, "correct-horse-battery")


# ---- the password policy (new passwords and changes) ------------------------------------------------------------


@pytest.mark.parametrize(
    "password, message",
    [
        ("short-pass1", "密码至少 12 位"),  # 11 characters
        ("Shipo_Jingban", "密码不能与用户名相同"),
        (DEMO_PASSWORD, "不能使用演示密码"),
    ],
)
def test_the_password_policy(password: str, message: str) -> None:
    with pytest.raises(users_repo.WeakPassword, match=f"^{message}$"):
        users_repo.check_new_password("shipo_jingban", password)
    users_repo.check_new_password("shipo_jingban", "twelve-chars")


async def test_the_account_page_and_the_administrator_refuse_weak_passwords(app, pool: asyncpg.Pool) -> None:
    async with asgi_client(app, "198.51.100.43") as c:
        assert (await form_login(c, "shunhe_diaocha", DEMO_PASSWORD)).status_code == 303
        for new, shown in [
            ("short-pass1", "新密码至少 12 位。"),
            ("shunhe_diaocha", "新密码不能与用户名相同。"),
            (DEMO_PASSWORD, "新密码不能使用演示密码。"),
        ]:
            page = await c.get("/account")
            token = re.search(r'name="csrftoken" value="([^"]+)"', page.text).group(1)
            form = {"current": DEMO_PASSWORD, "new": new, "confirm": new, "csrftoken": token}
            r = await c.post("/account/password", data=form)
            assert r.status_code == 422 and shown in r.text, new
    async with pool.acquire() as conn:
        with pytest.raises(users_repo.WeakPassword, match=r"^密码至少 12 位$"):
            await users_repo.set_password(conn, "shunhe_diaocha", "eleven-char")
    async with asgi_client(app, "198.51.100.44") as c:
        assert (await api_login(c, "shunhe_diaocha", DEMO_PASSWORD)).status_code == 200  # nothing changed


async def _change_password(c: httpx.AsyncClient, current: str, new: str = "a-new-password-2026") -> httpx.Response:
    page = await c.get("/account")
    token = re.search(r'name="csrftoken" value="([^"]+)"', page.text).group(1)
    form = {"current": current, "new": new, "confirm": new, "csrftoken": token}
    return await c.post("/account/password", data=form)


async def test_a_wrong_current_password_on_the_account_page_counts_as_a_failed_log_in(app, pool: asyncpg.Pool) -> None:
    """Issue 16, point 6: a stolen session may not guess the password on the account page unhindered; the account
    page's current password and the log-in share one counter per user name."""
    async with asgi_client(app, "198.51.100.45") as c:
        assert (await form_login(c, "gulou_jingban", DEMO_PASSWORD)).status_code == 303
        for _ in range(2):
            assert answer(await api_login(c, "gulou_jingban", "wrong-password")) == (401, "bad_credentials")
        for failures in (3, 4):
            r = await _change_password(c, "wrong-password")
            assert (r.status_code, "当前密码不正确。" in r.text) == (422, True)
            count = await pool.fetchval("select failures from login_failures where username = 'gulou_jingban'")
            assert count == failures
        r = await _change_password(c, "wrong-password")  # the fifth failure locks the name
        assert r.status_code == 429 and LOCKED in r.text
        # Locked: the right current password changes nothing, and the log-in is refused too.
        r = await _change_password(c, DEMO_PASSWORD)
        assert r.status_code == 429 and LOCKED in r.text
    async with asgi_client(app, "198.51.100.46") as c:
        r = await api_login(c, "gulou_jingban", DEMO_PASSWORD)
        assert (r.status_code, r.json()) == (429, {"code": "account_locked", "message": LOCKED})
    await pool.execute("update login_failures set locked_until = now() - interval '1 second'")
    async with asgi_client(app, "198.51.100.47") as c:
        assert (await api_login(c, "gulou_jingban", DEMO_PASSWORD)).status_code == 200  # the password is unchanged


async def test_a_right_current_password_clears_the_count(app, pool: asyncpg.Pool) -> None:
    async with asgi_client(app, "198.51.100.48") as c:
        assert (await form_login(c, "gulou_shenpi", DEMO_PASSWORD)).status_code == 303
        for _ in range(ratelimit.MAX_FAILURES - 1):
            assert (await _change_password(c, "wrong-password")).status_code == 422
        assert (await _change_password(c, DEMO_PASSWORD)).status_code == 200
        assert await pool.fetchval("select count(*) from login_failures where username = 'gulou_shenpi'") == 0
