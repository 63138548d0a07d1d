"""Secrets come from the environment or a file, never from a default, in production mode
(`JIUZHU_ENV=production`); and the webhook secrets of the bureaus never leave the database.

(That no response of any route in any role carries a webhook secret, the signing key or a password
hash is checked at the end of the authorisation matrix, which records every response it gets.)
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from pathlib import Path

import asyncpg
import pytest

from infra.config import ROOT
from tests.security.conftest import WEBHOOK_SECRET, World
from webapp.app import create_app
from webapp.sessions import SecretKeyMissing

STRONG = "p" * 48


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    for name in ("JIUZHU_SECRET_KEY", "JIUZHU_SECRET_KEY_FILE", "JIUZHU_ENV"):
        monkeypatch.delenv(name, raising=False)
    var = tmp_path / "var"
    monkeypatch.setenv("JIUZHU_VAR", str(var))
    return var


def test_production_refuses_to_start_without_a_secret(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIUZHU_ENV", "production")
    with pytest.raises(SecretKeyMissing, match="JIUZHU_SECRET_KEY or JIUZHU_SECRET_KEY_FILE"):
        create_app()
    assert not clean_env.exists(), "production must not fall back to a generated key file"


def test_the_web_app_process_does_not_start(clean_env: Path) -> None:
    """What uvicorn does first: import `webapp.app:app`. It fails with the reason on stderr."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("JIUZHU_SECRET")} | {
        "JIUZHU_ENV": "production",
        "JIUZHU_VAR": str(clean_env),
    }
    done = subprocess.run(
        [sys.executable, "-c", "import webapp.app"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode != 0
    assert "SecretKeyMissing" in done.stderr and "JIUZHU_ENV=production" in done.stderr
    env["JIUZHU_SECRET_KEY"] = STRONG
    done = subprocess.run(
        [sys.executable, "-c", "import webapp.app"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr


def test_production_takes_the_key_from_the_environment(clean_env: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("JIUZHU_ENV", "production")
    monkeypatch.setenv("JIUZHU_SECRET_KEY", STRONG)
    assert create_app().state.keys.secret == STRONG
    assert not clean_env.exists()


def test_production_takes_the_key_from_a_file(clean_env: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    key_file = tmp_path / "secret_key"
    key_file.write_text(STRONG + "\n")
    monkeypatch.setenv("JIUZHU_ENV", "production")
    monkeypatch.setenv("JIUZHU_SECRET_KEY_FILE", str(key_file))
    assert create_app().state.keys.secret == STRONG


@pytest.mark.parametrize(
    "setting, message",
    [
        ({"JIUZHU_SECRET_KEY": "short"}, "at least 32 characters"),
        ({"JIUZHU_SECRET_KEY_FILE": "/nonexistent/secret"}, "cannot be read"),
    ],
)
def test_production_refuses_weak_or_missing_keys(
    clean_env: Path, monkeypatch: pytest.MonkeyPatch, setting: dict[str, str], message: str
) -> None:
    monkeypatch.setenv("JIUZHU_ENV", "production")
    for name, value in setting.items():
        monkeypatch.setenv(name, value)
    with pytest.raises(SecretKeyMissing, match=message):
        create_app()


def test_development_keeps_a_random_key_in_a_private_file(clean_env: Path) -> None:
    first = create_app().state.keys.secret
    path = clean_env / "secret_key"
    assert len(first) >= 48 and path.read_text() == first
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert create_app().state.keys.secret == first  # sessions survive a restart


def test_no_default_secret_anywhere_in_the_code() -> None:
    """No literal fallback key: the only sources are the environment, a file, or a random key in development."""
    for path in (ROOT / "webapp").rglob("*.py"):
        text = path.read_text()
        assert 'secret_key="' not in text.replace(" ", ""), path
        assert 'signing_secret="' not in text.replace(" ", ""), path


async def test_webhook_secrets_stay_in_the_database(world: World, pool: asyncpg.Pool) -> None:
    """The secret signs what is sent to the bureau and checks its callbacks; no read shows it, in any role. Each
    read gets the answer its role is due (200 for those who may read, so the secret's absence means something;
    403 for the others)."""
    seeds = world.seeds
    users = ("admin", "qu_minzheng", "qu_jiandu", "yiliao_bu", "shipo_jingban")
    district = {"qu_minzheng", "qu_jiandu"}
    refused = (403, "wrong_role")
    reads: dict[str, dict[str, tuple[int, str | None]]] = {
        # the administrator reads no case file (issue 16, point 9): refused like any other role without the right
        "/api/referrals": {u: refused if u == "admin" else (200, seeds.referral) for u in users},
        f"/api/referrals/{seeds.referral}": {
            u: refused if u == "admin" else (200, '"adapter":"webhook"') for u in users
        },
        f"/api/frontdoor/requests/{seeds.request_no}": {
            u: refused if u in ("yiliao_bu", "admin") else (200, seeds.referral) for u in users
        },
        "/api/frontdoor/overview": {u: (200, None) if u in district else refused for u in users},
        "/openapi.json": {u: (200, "/api/referrals/{referral_id}/callback") for u in users},
        "/bureau": {u: (403, None) if u == "admin" else (200, seeds.referral) for u in users},
        f"/bureau/referrals/{seeds.referral}": {
            u: (403, None) if u == "admin" else (200, seeds.referral) for u in users
        },
        "/frontdoor/district": {u: (200, None) if u in district else (403, None) for u in users},
        "/admin": {u: (200, None) if u == "admin" else (403, None) for u in users},
    }
    lookup = {u: refused if u in ("admin", "yiliao_bu") else (200, "石婆店求助人") for u in users}
    person = {"id_number": seeds.person_id}
    wrong = []
    for user in users:
        calls = [(url, "GET", None, want[user]) for url, want in reads.items()]
        calls.append(("/api/households/lookup", "POST", person, lookup[user]))
        for url, method, body, (status, detail) in calls:
            r = await world.http.request(method, url, json=body, headers=world.headers[user])
            world.http.cookies.clear()
            if status >= 400 and url.startswith("/api/"):  # an API refusal: its status and code
                got = (r.status_code, r.json().get("code") if r.status_code >= 400 else r.text[:120])
            else:  # a read: its status, and what it shows (the row it is about)
                got = (r.status_code, detail if detail is None or detail in r.text else r.text[:120])
            if got != (status, detail):
                wrong.append(f"{user} {method} {url}: want {(status, detail)}, got {got}")
    assert not wrong, "\n".join(wrong)
    assert await pool.fetchval("select count(*) from bureau_endpoints where secret = $1", WEBHOOK_SECRET) == 2
    assert world.recorder.containing(WEBHOOK_SECRET) == []
