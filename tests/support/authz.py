"""The places × roles matrix of the authorisation tests (tests/security/test_authz_matrix_*.py): who calls, from
where, and what each caller must get, exactly.

A row lives in 石婆店镇示范村一 (the village `V1` of the township `T1` of the district `D1`, 裕安区). The callers are
every role of that village, of a second village of the same township (`V2`), of that township, of another
township (顺河镇), of the district, of a second district (金安区, added to the places by the test: the seed has one
district) and the partner bureaus. Each route states the callers that succeed (`ok`, in the order they call: an
action may change what the next one finds), the roles that pass its role check (`roles`: every other role gets
403 `wrong_role`), those to whom the row must stay invisible (`hidden`: 404) and exact answers that differ
(`answers`, e.g. the workflow's own 403 `wrong_role` for a role the web app lets through to it); every other
caller with one of `roles` gets 403 `out_of_jurisdiction`. Pages answer 403 (or 404) with a page, without a code.

Refusals are called first and must leave the row as it was; then each allowed call must succeed (exact status)
and have its effect (`effect`, which reads it back).
"""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import asyncpg
import httpx

from db import demo_users_repo
from db.users_repo import DEMO_PASSWORD
from schemas.staff import Role

VC, CW, AP = Role.VILLAGE_CADRE, Role.TOWNSHIP_CASEWORKER, Role.TOWNSHIP_APPROVER
OFF, SUP, BU, A = Role.DISTRICT_OFFICER, Role.DISTRICT_SUPERVISOR, Role.BUREAU_STAFF, Role.ADMIN

D1, T1, V1, V2 = "341503", "341503106", "341503106201", "341503106202"
T2, T2_VILLAGE = "341503104", "341503104201"
# The second district: not in the seed (one district per deployment); the test adds it.
D2, D2_TOWN, D2_VILLAGE = "341502", "341502100", "341502100201"
SECOND_DISTRICT = [
    (D2, "金安区", "district", "区", None),
    (D2_TOWN, "金安区示范镇", "township", "镇", D2),
    (D2_VILLAGE, "金安区示范镇示范村", "village", "村", D2_TOWN),
]
# (username, full name, role, place, bureau): the callers the demo users and tests/security/conftest.py lack.
MATRIX_USERS = [
    ("shipo_cun2", "石婆店镇示范村二 村干部 韩梅", VC, V2, None),
    ("jinan_minzheng", "金安区民政局 许诺", OFF, D2, None),
    ("jinan_jiandu", "金安区监督员 黄敏", SUP, D2, None),
    ("jinan_jingban", "金安区示范镇经办人 罗平", CW, D2_TOWN, None),
    ("jinan_cun1", "金安区示范村 村干部 邓辉", VC, D2_VILLAGE, None),
]


@dataclass(frozen=True)
class Caller:
    user: str
    role: Role
    where: str


CALLERS = [
    Caller("shipo_cun1", VC, "the row's village"),
    Caller("shipo_cun2", VC, "a second village of the row's township"),
    Caller("shipo_jingban", CW, "the row's township"),
    Caller("shipo_shenpi", AP, "the row's township"),
    Caller("shunhe_cun1", VC, "a village of another township"),
    Caller("shunhe_jingban", CW, "another township"),
    Caller("shunhe_shenpi", AP, "another township"),
    Caller("qu_minzheng", OFF, "the row's district"),
    Caller("qu_jiandu", SUP, "the row's district"),
    Caller("jinan_minzheng", OFF, "a second district"),
    Caller("jinan_jiandu", SUP, "a second district"),
    Caller("jinan_jingban", CW, "a township of a second district"),
    Caller("jinan_cun1", VC, "a village of a second district"),
    Caller("admin", A, "the administrator"),
    Caller("yiliao_bu", BU, "the medical bureau"),
    Caller("jiaoyu_bu", BU, "the education bureau"),
]
BY_USER = {c.user: c for c in CALLERS}
# Those of each place class, as the routes name them.
VILLAGE = ("shipo_cun1",)
TOWNSHIP = ("shipo_jingban", "shipo_shenpi")
DISTRICT = ("qu_minzheng", "qu_jiandu")
FOREIGN = (
    "shipo_cun2",
    "shunhe_cun1",
    "shunhe_jingban",
    "shunhe_shenpi",
    "jinan_minzheng",
    "jinan_jiandu",
    "jinan_jingban",
    "jinan_cun1",
)


async def add_second_district(pool: asyncpg.Pool) -> None:
    """金安区 with a township and a village, and the matrix's users there and in 石婆店镇示范村二."""
    async with pool.acquire() as conn:
        await conn.executemany(
            "insert into places (code, name, level, kind, parent_code, is_pilot, source) "
            "values ($1, $2, $3, $4, $5, true, 'seed')",
            SECOND_DISTRICT,
        )
        await demo_users_repo.add_demo_users(conn, MATRIX_USERS)


# A status and the API error's code (None: a success, or a page), or its whole JSON body where the words matter.
Want = tuple[int, str | dict[str, Any] | None]
Body = dict[str, Any] | Callable[[str], dict[str, Any]] | None
Effect = Callable[[str, httpx.Response], Awaitable[None]]


@dataclass
class Route:
    method: str
    url: str | Callable[[str], str]  # or each caller's own: an allowed action on a row of its own
    roles: Iterable[Role]
    ok: Iterable[str] = ()
    status: int = 200  # what `ok` callers get
    json: Body = None
    form: Body = None
    hidden: Iterable[str] = ()
    answers: dict[str, Want] = field(default_factory=dict)
    skip: Iterable[str] = ()  # callers not tried here (the route's note says why)
    effect: Effect | None = None  # checked after each allowed call, with its caller and answer
    unchanged: Callable[[], Awaitable[None]] | None = None  # checked after the refusals

    @property
    def page(self) -> bool:
        return not self.url_for("admin").startswith("/api/")

    def url_for(self, user: str) -> str:
        return self.url(user) if callable(self.url) else self.url

    def want(self, caller: Caller) -> Want:
        if caller.user in self.ok:
            return (self.status, None)
        if caller.user in self.answers:
            return self.answers[caller.user]
        if caller.user in self.hidden:
            return (404, None if self.page else "not_found")
        if caller.role not in set(self.roles):
            return (403, None if self.page else "wrong_role")
        return (403, None if self.page else "out_of_jurisdiction")


@dataclass
class Matrix:
    http: httpx.AsyncClient
    headers: dict[str, dict[str, str]]
    tried: int = 0  # calls made and checked against a stated answer

    async def call(self, user: str, route: Route) -> httpx.Response:
        kw: dict[str, Any] = {}
        headers = dict(self.headers[user])
        if route.method == "POST":
            headers["Idempotency-Key"] = uuid.uuid4().hex
        body = route.json if route.json is not None else route.form
        if callable(body):
            body = body(user)
        if route.json is not None:
            kw["json"] = body
        elif route.method == "POST":
            kw["data"] = body or {}
        r = await self.http.request(route.method, route.url_for(user), headers=headers, **kw)
        self.http.cookies.clear()
        return r

    async def check(self, route: Route) -> list[str]:
        """Every caller against `route`: the refusals first (the row unchanged after them), then the allowed
        calls in their order, each with its effect. The mismatches, as text."""
        problems: list[str] = []
        name = f"{route.method} {route.url_for('admin')}"
        ok = list(route.ok)
        refused = [c for c in CALLERS if c.user not in ok and c.user not in route.skip]
        for caller in refused:
            r = await self.call(caller.user, route)
            self.tried += 1
            want = route.want(caller)
            if not _answers(r, want):
                problems.append(f"{name} as {caller.user} ({caller.where}): want {want}, got {_verdict(r)}")
            elif route.effect is not None and want[0] < 300:
                problems += await _effect(route, caller.user, r, name)
        if route.unchanged is not None:
            try:
                await route.unchanged()
            except AssertionError as e:
                problems.append(f"{name}: a refused call changed the row: {e}")
        for user in ok:
            r = await self.call(user, route)
            self.tried += 1
            want = route.want(BY_USER[user])
            if not _answers(r, want):
                problems.append(f"{name} as {user} ({BY_USER[user].where}, allowed): want {want}, got {_verdict(r)}")
                continue
            if route.effect is not None:
                problems += await _effect(route, user, r, name)
        return problems


async def _effect(route: Route, user: str, r: httpx.Response, name: str) -> list[str]:
    assert route.effect is not None
    try:
        await route.effect(user, r)
    except AssertionError as e:
        return [f"{name} as {user}: {e}"]
    return []


def _answers(r: httpx.Response, want: Want) -> bool:
    status, code = want
    if r.status_code != status:
        return False
    if r.headers.get("content-type", "").startswith("application/json") and status >= 400:
        return r.json() == code if isinstance(code, dict) else r.json().get("code") == code
    return code is None


def _verdict(r: httpx.Response) -> str:
    if r.headers.get("content-type", "").startswith("application/json"):
        return f"{r.status_code} {r.text[:200]}"
    return f"{r.status_code} {r.headers.get('content-type', '')} {r.headers.get('location', '')}".strip()


async def bearer_headers(http: httpx.AsyncClient, users: Iterable[str]) -> dict[str, dict[str, str]]:
    """Each user logged in once through the API, all at once (Argon2 runs on its own threads): bearer headers."""

    async def log_in(user: str) -> tuple[str, dict[str, str]]:
        r = await http.post("/api/auth/login", json={"username": user, "password": DEMO_PASSWORD})
        assert r.status_code == 200, (user, r.text)
        return user, {"Authorization": f"Bearer {r.json()['token']}"}

    found = dict(await asyncio.gather(*(log_in(u) for u in users)))
    http.cookies.clear()
    return found


def holders(roles: Iterable[Role]) -> tuple[str, ...]:
    """Every caller of these roles, wherever they are: who may open a list (it shows each only their rows)."""
    wanted = set(roles)
    return tuple(c.user for c in CALLERS if c.role in wanted)


def shown_to(sees: Iterable[str], marker: str) -> Effect:
    """An effect: the answer shows `marker` (a row's number) to `sees` and to nobody else."""
    seeing = set(sees)

    async def effect(user: str, r: httpx.Response) -> None:
        assert (marker in r.text) == (user in seeing), f"{marker} shown: {marker in r.text}"

    return effect


def not_shown_to(users: Iterable[str], marker: str) -> Effect:
    """An effect: the answer never shows `marker` to these callers (what others are shown is the route's own)."""
    blind = set(users)

    async def effect(user: str, r: httpx.Response) -> None:
        assert not (user in blind and marker in r.text), f"{marker} shown"

    return effect
