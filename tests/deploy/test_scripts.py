"""The scripts deploy/ ships, run or parsed: search-attribute registration, shell syntax, backup and
restore on a real PostgreSQL, the replay of recorded histories; and the Dockerfile."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import tomllib
import urllib.parse
import uuid
from pathlib import Path

import yaml

from tests.deploy.support import (
    DEPLOY,
    HELM_VALUES,
    ROOT,
    check_jiuzhu_command,
    check_shell,
    compose_script,
    config_script,
    dockerfile,
    expected_search_attributes,
    find,
    image_uid,
    registered_attributes,
    render,
    services,
)


def test_one_script_registers_exactly_the_search_attributes_of_the_code() -> None:
    script = (DEPLOY / "temporal" / "setup.sh").read_text()
    assert registered_attributes(script) == expected_search_attributes()
    # compose and Kubernetes both run that file
    (registrar,) = [s for s in services().values() if "admin-tools" in s["image"] and "setup.sh" in str(s)]
    assert compose_script(registrar) == script
    objects = render()
    assert config_script(objects, find(objects, "Job", "temporal-search-attributes")) == script
    notes = HELM_VALUES.read_text()
    readme = (DEPLOY / "README.md").read_text()
    for name, type_ in expected_search_attributes().items():
        assert f"{name}={type_}" in notes and f"--name {name} --type {type_}" in notes, f"{name} missing from the notes"
        assert f"`{name}`" in readme


def test_the_scripts_are_valid_shell() -> None:
    scripts = [s for s in map(compose_script, services().values()) if s]
    assert len(scripts) >= 3
    for script in scripts:
        check_shell(script, "bash")
    for path in [DEPLOY / "temporal" / "setup.sh", *(DEPLOY / "postgres").glob("[br]*.sh")]:
        check_shell(path.read_text())
    check_shell((DEPLOY / "postgres" / "init-databases.sh").read_text(), "bash")


def _throwaway_gpg_key() -> tuple[str, Path]:
    """A GNUPGHOME with a fresh key pair (no passphrase) and the file of its public key: the operator's
    offline restore key and what the backup job is given."""
    home = Path(tempfile.mkdtemp(prefix="gpg", dir="/tmp"))  # short: gpg-agent's socket path is limited
    home.chmod(0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}
    uid = "Jiuzhu backup test <backup@jiuzhu.invalid>"
    gpg = ["gpg", "--batch", "--quiet"]
    subprocess.run(
        [*gpg, "--passphrase", "", "--quick-gen-key", uid, "default", "default", "never"], env=env, check=True
    )
    public = home / "backup-public.asc"
    public.write_bytes(
        subprocess.run([*gpg, "--armor", "--export", uid], env=env, capture_output=True, check=True).stdout
    )
    return str(home), public


def test_backup_and_restore_round_trip(pg_server: str, tmp_path: Path) -> None:
    from cli.ops_cmd import _pg_bin

    query = urllib.parse.parse_qs(urllib.parse.urlparse(pg_server).query)
    tag = uuid.uuid4().hex[:8]
    dbs = [f"bk{tag}_temporal", f"bk{tag}_temporal_visibility", f"bk{tag}_jiuzhu"]
    owner = f"bk{tag}_owner"
    backups = tmp_path / "backups"
    gnupg_home, public_key = _throwaway_gpg_key()
    base = {k: v for k, v in os.environ.items() if not k.startswith(("BACKUP_", "GNUPGHOME"))}
    env = {
        **base,
        "PATH": f"{Path(_pg_bin('pg_dump')).parent}:{os.environ['PATH']}",
        "PGHOST": query["host"][0],
        "PGPORT": query.get("port", ["5432"])[0],
        "PGUSER": "postgres",
        "BACKUP_DIR": str(backups),
        "BACKUP_DATABASES": " ".join(dbs),
    }
    # the backup job has the public key only; the restore has the private key in its GNUPGHOME
    backup_env = {**env, "BACKUP_GPG_RECIPIENT": "backup@jiuzhu.invalid", "BACKUP_GPG_PUBLIC_KEY_FILE": str(public_key)}
    restore_env = {**env, "GNUPGHOME": gnupg_home}

    def sql(db: str, statement: str) -> str:
        done = subprocess.run(
            ["psql", "-X", "-q", "-A", "-t", "-v", "ON_ERROR_STOP=1", "-d", db, "-c", statement],
            env=env,
            capture_output=True,
            text=True,
            check=True,
        )
        return done.stdout.strip()

    def run(script: str, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess:
        return subprocess.run(["sh", str(DEPLOY / "postgres" / script), *args], env=env, capture_output=True, text=True)

    sql("postgres", f"create role {owner}")
    try:
        for db in dbs:
            sql("postgres", f"create database {db} owner {owner}")
        sql(dbs[1], "create extension btree_gin")
        sql(dbs[2], "create table cases_secret (id int primary key, name text)")
        sql(dbs[2], "insert into cases_secret select g, '案' || g || '-Zhang San' from generate_series(1, 500) g")
        (backups / "20000101T000000Z").mkdir(parents=True)  # a set past the retention
        os.utime(backups / "20000101T000000Z", (0, 0))

        # no recipient, no explicit plaintext: refused, nothing written
        done = run("backup.sh", env=env)
        assert done.returncode == 2 and "BACKUP_GPG_RECIPIENT" in done.stderr, done.stderr
        assert [p.name for p in backups.iterdir()] == ["20000101T000000Z"]

        done = run("backup.sh", env=backup_env)
        assert done.returncode == 0, done.stderr
        (backup_set,) = [p for p in backups.iterdir()]  # the old set pruned, no partial left
        assert re.fullmatch(r"\d{8}T\d{6}Z", backup_set.name)
        assert sorted(p.name for p in backup_set.iterdir()) == sorted(
            ["SHA256SUMS", "globals.sql.gpg", *(f"{db}.dump.gpg" for db in dbs)]
        )
        assert oct(backup_set.stat().st_mode & 0o777) == "0o700", "backups hold personal data"
        for file in backup_set.glob("*.gpg"):  # ciphertext: no dump header, no names, no values
            data = file.read_bytes()
            assert not data.startswith(b"PGDMP"), file.name
            for plain in (
                b"PGDMP",
                b"cases_secret",
                b"Zhang San",
                "案1".encode(),
                owner.encode(),
                b"btree_gin",
            ):
                assert plain not in data, f"{plain!r} readable in {file.name}"
        listed = subprocess.run(
            ["gpg", "--batch", "--list-packets", str(backup_set / f"{dbs[2]}.dump.gpg")],
            env=restore_env,
            capture_output=True,
            text=True,
        )
        assert ":pubkey enc packet:" in listed.stdout, listed.stdout + listed.stderr

        # without the private key nothing is restored and no database is touched
        sql(dbs[2], "delete from cases_secret where id > 10")
        done = run("restore.sh", str(backup_set), env={**env, "GNUPGHOME": str(tmp_path / "empty-gnupg")})
        assert done.returncode != 0 and "decrypt" in done.stderr, done.stderr
        assert sql(dbs[2], "select count(*) from cases_secret") == "10"

        sql(dbs[2], "create table added_after (x int)")
        done = run("restore.sh", str(backup_set), env=restore_env)
        assert done.returncode == 0, done.stderr
        assert sql(dbs[2], "select count(*) from cases_secret") == "500"
        assert sql(dbs[2], "select name from cases_secret where id = 7") == "案7-Zhang San"
        assert sql(dbs[2], "select count(*) from pg_tables where tablename = 'added_after'") == "0"
        assert sql(dbs[1], "select count(*) from pg_extension where extname = 'btree_gin'") == "1"
        owners = "select distinct pg_get_userbyid(datdba) from pg_database where datname like $$bk{}%$$"
        assert sql("postgres", owners.format(tag)) == owner

        (backup_set / f"{dbs[2]}.dump.gpg").write_bytes(b"tampered")
        done = run("restore.sh", str(backup_set), env=restore_env)
        assert done.returncode != 0, "a damaged set must not be restored"
        assert sql(dbs[2], "select count(*) from cases_secret") == "500"

        # development only: an explicit opt-out writes plain dumps, which restore.sh still reads
        plain = tmp_path / "plain"
        done = run("backup.sh", env={**env, "BACKUP_ALLOW_PLAINTEXT": "1", "BACKUP_DIR": str(plain)})
        assert done.returncode == 0 and "WARNING" in done.stderr, done.stderr
        (plain_set,) = plain.iterdir()
        assert (plain_set / f"{dbs[2]}.dump").read_bytes().startswith(b"PGDMP")
        sql(dbs[2], "delete from cases_secret")
        done = run("restore.sh", str(plain_set), env=env)
        assert done.returncode == 0, done.stderr
        assert sql(dbs[2], "select count(*) from cases_secret") == "500"
    finally:
        for db in dbs:
            sql("postgres", f"drop database if exists {db} with (force)")
        sql("postgres", f"drop role if exists {owner}")
        subprocess.run(["gpgconf", "--kill", "all"], env={**os.environ, "GNUPGHOME": gnupg_home}, check=False)
        shutil.rmtree(gnupg_home, ignore_errors=True)


def test_the_replay_script_passes_recorded_histories_and_fails_a_changed_one(tmp_path: Path) -> None:
    script = DEPLOY / "replay_histories.py"
    good = subprocess.run(
        [sys.executable, str(script), str(ROOT / "tests" / "histories")], capture_output=True, text=True, timeout=300
    )
    assert good.returncode == 0, good.stdout + good.stderr
    assert re.search(r"^\d+ replayed, 0 failed$", good.stdout, re.M)
    history = json.loads((ROOT / "tests" / "histories" / "review-v2-enrolled.json").read_text())
    scheduled = next(e for e in history["events"] if "activityTaskScheduledEventAttributes" in e)
    scheduled["activityTaskScheduledEventAttributes"]["activityType"]["name"] = "not_what_the_code_does"
    (tmp_path / "review-changed.json").write_text(json.dumps(history))
    bad = subprocess.run([sys.executable, str(script), str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert bad.returncode == 1 and "FAILED  review-changed.json" in bad.stdout, bad.stdout + bad.stderr


def test_dockerfile_installs_the_project_as_non_root() -> None:
    instructions = dockerfile()
    args = dict(a.split("=", 1) for i, a in instructions if i == "ARG" and "=" in a)
    bases = [a.split()[0] for i, a in instructions if i == "FROM"]
    resolved = [re.sub(r"\$\{(\w+)\}", lambda m: args[m.group(1)], b) for b in bases]
    requires = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    minor = re.search(r">=\s*(3\.\d+)", requires).group(1)
    assert resolved and all(base == f"python:{minor}-slim" for base in resolved), resolved
    runs = [a for i, a in instructions if i == "RUN"]
    assert any(re.search(r"\bpip install\b[^&;|]*\s\.(\s|$)", run) for run in runs), "pip install . is missing"
    assert ("COPY", ". .") in instructions
    assert image_uid() not in {"root", "0"}
    cmd = [a for i, a in instructions if i == "CMD"][-1]
    assert yaml.safe_load(cmd) == ["jiuzhu", "worker"]
    assert check_jiuzhu_command(yaml.safe_load(cmd)) == "worker"
    ignored = (DEPLOY / "Dockerfile.dockerignore").read_text().split()
    assert {".git", ".venv", "var"} <= set(ignored)
