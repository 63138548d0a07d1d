"""Staff users: hashing, roles tied to the level of their jurisdiction, the demo set."""

from __future__ import annotations

import asyncio
from datetime import date
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cli import users_cmd
from db import demo_users_repo, users_repo
from db.pool import connect
from schemas.staff import Bureau, Role
from tests.support.factories import resident_id


async def test_demo_users_log_in_and_wrong_password_fails(db_url: str) -> None:
    conn = await connect(db_url)
    try:
        actor = await users_repo.authenticate(conn, "shipo_jingban", users_repo.DEMO_PASSWORD)
        assert (actor.username, actor.role, actor.place_code) == (
            "shipo_jingban",
            Role.TOWNSHIP_CASEWORKER,
            "341503106",
        )
        assert await users_repo.authenticate(conn, "shipo_jingban", "wrong-password") is None
        assert await users_repo.authenticate(conn, "nobody", "whatever1") is None
        stored = await conn.fetchval("select password_hash from users where username='admin'")
        assert stored.startswith("$argon2") and users_repo.DEMO_PASSWORD not in stored
        assert await demo_users_repo.ensure_demo_users(conn) == []  # only on an empty table
    finally:
        await conn.close()


@pytest.mark.parametrize(
    "role, place, bureau, message",
    [
        (Role.TOWNSHIP_CASEWORKER, "341503", None, "township"),
        (Role.VILLAGE_CADRE, "341503106", None, "village"),
        (Role.DISTRICT_SUPERVISOR, "999999", None, "区划代码不存在"),
        (Role.BUREAU_STAFF, "341503", None, "必须指定部门"),
        (Role.TOWNSHIP_APPROVER, "341503104", Bureau.POLICE, "不得指定部门"),
    ],
)
async def test_role_and_jurisdiction_must_match(db_url: str, role, place, bureau, message) -> None:
    conn = await connect(db_url)
    try:
        with pytest.raises(users_repo.UserError, match=message):
            await users_repo.add_user(
                conn,
                username="x",
                full_name="某人",
                role=role,
                place_code=place,
                password="long-enough-1",
                bureau=bureau,
            )
    finally:
        await conn.close()


async def test_duplicate_username_and_short_password(db_url: str) -> None:
    conn = await connect(db_url)
    try:
        kw = dict(full_name="某人", role=Role.TOWNSHIP_CASEWORKER, place_code="341503104")
        with pytest.raises(users_repo.UserError, match="已存在"):
            await users_repo.add_user(conn, username="admin", password="long-enough-1", **kw)
        with pytest.raises(users_repo.UserError, match="12 位"):
            await users_repo.add_user(conn, username="new", password="short", **kw)
        await users_repo.add_user(conn, username="new", password="long-enough-1", **kw)
        await users_repo.set_password(conn, "new", "another-pass")
        assert (await users_repo.authenticate(conn, "new", "another-pass")).username == "new"
        assert await users_repo.authenticate(conn, "new", "long-enough-1") is None  # the old password no longer works
    finally:
        await conn.close()


async def test_own_id_number_is_valid_unique_and_masked_in_the_cli(
    db_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    own = resident_id(date(1979, 4, 5), seq=131)
    conn = await connect(db_url)
    try:
        with pytest.raises(users_repo.UserError, match="身份证号码校验位错误"):
            await users_repo.set_id_number(conn, "shipo_diaocha", own[:17] + ("0" if own[17] != "0" else "1"))
        await users_repo.set_id_number(conn, "shipo_diaocha", own.lower())
        assert await conn.fetchval("select id_number from users where username = 'shipo_diaocha'") == own
        kw = dict(full_name="某人", role=Role.TOWNSHIP_CASEWORKER, place_code="341503104", password="long-enough-1")
        with pytest.raises(users_repo.UserError, match=r"^该身份证号码已登记在另一用户名下$"):
            await users_repo.add_user(conn, username="new", id_number=own, **kw)
        await users_repo.add_user(conn, username="new", id_number="", **kw)  # optional
        assert await conn.fetchval("select id_number from users where username = 'new'") is None
    finally:
        await conn.close()

    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("JIUZHU_VAR", str(tmp_path / "var"))
    runner = CliRunner()
    listed = await asyncio.to_thread(runner.invoke, users_cmd.app, ["list"])
    assert listed.exit_code == 0, listed.output
    [line] = [line for line in listed.stdout.splitlines() if line.startswith("shipo_diaocha ")]
    assert line.endswith(f"{own[:6]}********{own[-4:]}") and own not in listed.stdout
    cleared = await asyncio.to_thread(runner.invoke, users_cmd.app, ["id-number", "shipo_diaocha"])
    assert (cleared.exit_code, cleared.stdout.strip()) == (0, "已清除 shipo_diaocha 的身份证号码")
    refused = await asyncio.to_thread(runner.invoke, users_cmd.app, ["id-number", "nobody", own])
    # the last line: another test's background thread may have logged into the captured stderr before it
    assert (refused.exit_code, refused.stderr.strip().splitlines()[-1]) == (2, "错误：用户不存在：nobody")
