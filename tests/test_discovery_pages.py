"""The discovery pages (主动发现): the bureau's upload form (the file posted as base64 by the page's script), the
township's task list (ID numbers masked) and task page (whole, in the access log), the district's coverage."""

from __future__ import annotations

import base64

import httpx
import pytest

from schemas.identity import mask_id
from tests.support.clients import csrf_token, log_in
from tests.support.clock import DEFAULT_START
from tests.support.discovery import person, seed_households

SHIPO = "341503106"


@pytest.mark.web(user="yiliao_bu")
async def test_bureau_uploads_township_sees_district_counts(web: httpx.AsyncClient, pool) -> None:
    await seed_households(pool, 1, 1, SHIPO, recipients=True, decided=DEFAULT_START)
    await seed_households(pool, 2, 2, SHIPO, recipients=False, decided=DEFAULT_START)
    page = await web.get("/bureau/discovery")
    assert page.status_code == 200 and "/static/js/discovery.js" in page.text
    rows = ["身份证号,姓名,信号类别,信号日期"] + [f"{person(i)},测试{i},失业,2026-11-20" for i in (1, 2, 3)]
    form = {
        "csrftoken": csrf_token(page.text),
        "idempotency_key": "page-upload-1",
        "filename": "名单.csv",
        "content_base64": base64.b64encode("\n".join(rows).encode()).decode(),
    }
    r = await web.post("/bureau/discovery", data=form)
    assert r.status_code == 200
    assert "名单 1：收到 3 人，已在保障 1 人，生成发现任务 2 个，90 天内重复 0 人。" in r.text
    empty = await web.post("/bureau/discovery", data={"csrftoken": csrf_token(r.text), "idempotency_key": "e-1"})
    assert empty.status_code == 422 and "名单文件：请选择 .csv 或 .xlsx 文件" in empty.text

    web.cookies.clear()
    assert (await log_in(web, "shipo_jingban")).status_code == 303
    listing = await web.get("/discovery")
    assert listing.status_code == 200
    assert mask_id(person(2)) in listing.text and person(2) not in listing.text
    task = await web.get("/discovery/FX-2")
    assert task.status_code == 200 and person(2) in task.text
    assert await pool.fetchval("select count(*) from access_log where kind = 'discovery.view'") == 1

    web.cookies.clear()
    assert (await log_in(web, "qu_jiandu")).status_code == 303
    coverage = await web.get("/dashboard/discovery")
    assert coverage.status_code == 200
    shipo_row = coverage.text.split(f'data-township="{SHIPO}"')[1].split("</tr>")[0]
    assert "<td>石婆店镇</td><td>3</td><td>1</td><td>0</td><td>2</td><td>0</td>" in shipo_row
