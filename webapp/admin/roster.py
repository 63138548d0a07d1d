"""Importing the roster of existing recipients (issue 18, point 1) from the administrator's page: choose the file,
try it (试导入: every row checked, nothing written, the faulty rows listed in Chinese and kept as an error sheet to
download), then import it (all or nothing; the same file again changes nothing). The page and
`jiuzhu roster import` run the same `infra.roster_import.run`.

The page reads the chosen file in the browser and posts it base64-encoded in the form (a multipart upload would
not get past the CSRF middleware, webapp/admin/calendar.py), so the file must fit the request body limit
(`JIUZHU_MAX_BODY_BYTES`, 1 MB by default: about 3,000 households in .xlsx); larger rosters go through the
command. Every check, import and error-sheet download is in the access log (the file holds personal data).
"""

from __future__ import annotations

import base64
import binascii
import secrets
from pathlib import PurePath
from typing import Annotated, Any
from urllib.parse import quote

import structlog
from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import Response

from db import roster_repo
from infra import clock
from infra.roster_file import RosterFileError, kind_of, write_rows
from infra.roster_import import Outcome, RosterHeaderError, cut_over_month, run
from infra.roster_sample import sample
from schemas.roster import COLUMNS
from schemas.staff import Actor
from webapp import access_log
from webapp.access_log import Kind
from webapp.admin.common import AdminActor, done, render_admin
from webapp.deps import Db
from webapp.errors import not_found
from webapp.render import form_model

log = structlog.get_logger("webapp")
router = APIRouter(include_in_schema=False)

SHOWN = 50  # errors listed on the page; the sheet has them all
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
TEMPLATE_HOUSEHOLDS = 6


async def _page(request: Request, actor: Actor, db: Db, *, status: int = 200, **context: Any) -> Response:
    base = {
        "section": "roster",
        "columns": COLUMNS,
        "imports": await roster_repo.recent_imports(db),
        "shown": SHOWN,
        "outcome": None,
        "problem": None,
        "check_id": None,
        "beijing": clock.BEIJING,
    }
    return render_admin(request, "admin/roster.html", base | context, actor, status=status)


@router.get("/admin/roster")
async def roster_page(request: Request, *, actor: AdminActor, db: Db) -> Response:
    return await _page(request, actor, db)


def _file(content: str, filename: str) -> tuple[bytes, str]:
    name = PurePath(filename.strip()).name
    if not content.strip() or not name:
        raise RosterFileError("请选择名册文件（.xlsx 或 .csv）")
    kind_of(name)
    try:
        return base64.b64decode(content, validate=True), name
    except (binascii.Error, ValueError):
        raise RosterFileError("文件内容无法读取，请重新选择文件") from None


RosterForm = form_model("RosterForm", "content filename paid_from", mode="dry_run")


@router.post("/admin/roster")
async def check_or_import(
    request: Request, fields: Annotated[RosterForm, Form()], *, actor: AdminActor, db: Db
) -> Response:
    """`mode` dry_run: check and list the errors; import: check and, if nothing is wrong, import. `paid_from`: the
    cut-over month ('YYYY-MM'), if the administrator gives one."""
    dry_run = fields.mode != "import"
    try:
        data, name = _file(fields.content, fields.filename)
        cut_over = cut_over_month(fields.paid_from)
        async with db.acquire() as conn:
            today = clock.today()
            out = await run(conn, data, name, by=actor.username, today=today, dry_run=dry_run, cut_over=cut_over)
    except (RosterFileError, RosterHeaderError) as e:
        return await _page(request, actor, db, problem=str(e), status=422)
    c = out.checked
    sha = c.file_sha256 if c is not None else out.result.log.file_sha256 if out.result else ""
    detail = f"{name}: 此前已导入" if c is None else f"{name}: {len(c.households)} 户，{len(c.errors)} 行有错误"
    kind = Kind.ROSTER_CHECK if out.result is None else Kind.ROSTER_IMPORT
    await access_log.record(request, actor, kind, f"roster:{sha[:16]}", detail=detail)
    log.info("roster checked", by=actor.username, dry_run=dry_run, already=c is None)
    if out.result is not None:
        r = out.result
        return done(
            request,
            "/admin/roster",
            "roster_imported",
            already=r.already,
            households=r.log.households,
            members=r.log.members,
            skipped=r.log.skipped,
        )
    assert c is not None
    check_id = None
    if c.errors:
        check_id = secrets.token_urlsafe(16)
        await roster_repo.keep_error_sheet(db, check_id, actor.username, name, len(c.errors), c.error_sheet())
    context = _result(out, name)
    return await _page(request, actor, db, outcome=context, check_id=check_id, status=422 if c.errors else 200)


def _result(out: Outcome, name: str) -> dict[str, Any]:
    c = out.checked
    assert c is not None
    return {
        "filename": name,
        "households": len(c.households),
        "members": c.members,
        "skipped": c.skipped,
        "errors": [{"row": e.row, "message": e.message} for e in c.errors[:SHOWN]],
        "paid_from": f"{c.paid_from:%Y年%m月}" if c.paid_from else "",
        "error_count": len(c.errors),
        "dry_run": out.result is None and not c.errors,
    }


@router.get("/admin/roster/errors/{check_id}.xlsx")
async def error_sheet(
    request: Request,
    check_id: Annotated[str, Path(pattern=r"^[A-Za-z0-9_-]{16,64}$")],
    *,
    actor: AdminActor,
    db: Db,
) -> Response:
    found = await roster_repo.error_sheet(db, check_id, actor.username)
    if found is None:
        raise not_found("错误清单不存在或已过期，请重新试导入")
    name, sheet = found
    await access_log.record(request, actor, Kind.ROSTER_ERRORS, f"roster-check:{check_id[:8]}", detail=name)
    download = f"{PurePath(name).stem}-错误清单.xlsx"
    return Response(
        sheet,
        media_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{quote(download)}"},
    )


@router.get("/admin/roster/template.xlsx")
async def template(actor: AdminActor) -> Response:
    """The template: the columns as the national system exports them, with a few generated households."""
    headers, rows, _ = sample(TEMPLATE_HOUSEHOLDS)
    name = quote("救助对象花名册模板.xlsx")
    return Response(
        write_rows(headers, rows, "xlsx"),
        media_type=XLSX,
        headers={"Content-Disposition": f"attachment; filename*=UTF-8''{name}"},
    )
