"""Staff recused from an emergency event (its relatives check: the register of near relatives, the declared ones)
see none of its documents: not their contents, not the list, not the panel of its page. Its barred staff are its
workflow's state while it is open, so when the workflow cannot be asked (no worker, a timeout) the documents are
refused to everyone (503 `recusal_unknown`) rather than served to someone who may be barred (fail closed); a closed
event's log names them all, and no workflow is asked."""

from __future__ import annotations

from datetime import date

import asyncpg
import httpx
import pytest

from db import relatives_repo
from tests.support.clients import SHIPO, SHIPO_VILLAGE, login
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.documents import file_document, png
from tests.support.factories import resident_id
from webapp.documents.content import clean

pytestmark = pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))  # a Tuesday

PERSON = resident_id(date(1980, 2, 2), seq=713)
RECUSED = {"code": "recused", "message": "您与申请人家庭存在近亲属关系，依规应当回避，不能查看其材料"}
MB = 1024 * 1024
UNKNOWN = {"code": "recusal_unknown", "message": "暂时无法核实回避关系，请稍后再试"}


def registration(event_id: str) -> dict:
    household = {
        "name": "孙七",
        "id_number": PERSON,
        "township_code": SHIPO,
        "village_code": SHIPO_VILLAGE,
        "address": "示范村一 孙家岗 7 号",
        "members": 3,
    }
    return {"event_id": event_id, "kind": "fire", "description": "房屋失火", "household": household}


@pytest.mark.web(temporal="review_env")
async def test_staff_recused_from_an_event_see_neither_its_documents_nor_their_list(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    async with pool.acquire() as conn:
        cadre_id = await conn.fetchval("select id from users where username = 'shipo_cun1'")
        await relatives_repo.add_relative(conn, cadre_id, name="孙七", id_number=PERSON, relation="兄弟姐妹")
    caseworker = await login(web, "shipo_jingban", session=False)
    r = await web.post("/api/emergencies", json=registration("DOCREC-1"), headers=caseworker)
    assert r.status_code == 201, r.text
    r = await web.post(
        "/api/documents/emergency/DOCREC-1",
        headers=caseworker | {"Idempotency-Key": "docrec-1"},
        data={"doc_type": "incident"},
        files=[("files", ("现场.png", png(), "image/png"))],
    )
    assert r.status_code == 201, r.text
    (document_id,) = r.json()["uploaded"]

    cadre = await login(web, "shipo_cun1", session=False)
    r = await web.get("/api/documents/emergency/DOCREC-1", headers=cadre)
    assert (r.status_code, r.json()) == (403, RECUSED)
    for what in ("content", "thumbnail"):
        r = await web.get(f"/api/documents/{document_id}/{what}", headers=cadre)
        assert r.status_code == 403 and r.json() == RECUSED, r.status_code
    page = await web.get("/emergencies/DOCREC-1", headers=cadre)
    assert page.status_code == 200
    panel = page.text.split('data-testid="documents"')[1].split("</section>")[0]
    assert document_id not in panel
    assert '<p class="muted" data-testid="documents-withheld">' + RECUSED["message"] + "</p>" in panel

    # the caseworker, not barred, sees them
    r = await web.get("/api/documents/emergency/DOCREC-1", headers=caseworker)
    assert r.status_code == 200 and [d["document_id"] for d in r.json()["documents"]] == [document_id]
    r = await web.get(f"/api/documents/{document_id}/content", headers=caseworker)
    assert (r.status_code, r.headers["content-type"]) == (200, "image/png")
    page = await web.get("/emergencies/DOCREC-1", headers=caseworker)
    assert f'src="/api/documents/{document_id}/thumbnail"' in page.text


async def event_without_workflow(pool: asyncpg.Pool, event_id: str, status: str) -> str:
    """An event's row, as its workflow left it, and a PNG document on it (its id); no workflow runs."""
    await pool.execute(
        "insert into emergencies (event_id, workflow_id, kind, description, applicant_name, applicant_id_masked, "
        "township_code, village_code, channel, registered_by, registered_at, policy_version, status) values ($1, "
        "'emergency-' || $1, 'fire', '房屋失火', '孙七', '3415**********0012', $2, $3, 'village', 'seed', now(), 1, "
        "$4)",
        event_id,
        SHIPO,
        SHIPO_VILLAGE,
        status,
    )
    return await file_document(pool, event_id, SHIPO_VILLAGE, png(), owner_kind="emergency", doc_type="incident")


@pytest.mark.web(temporal="ts_env")
async def test_a_closed_event_past_retention_keeps_its_recusal_in_its_log(
    web: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    """Its workflow is gone: the barred staff are those its log's `relatives_matched` entries name (the register's
    match at registration, a namesake confirmed later), and everyone else reads its documents."""
    document_id = await event_without_workflow(pool, "DOCREC-3", "closed")
    cadre = {"username": "shipo_cun1", "full_name": "刘芳", "reason": "近亲属备案"}
    namesake = {"username": "shipo_diaocha", "full_name": "王强", "reason": "申请人申报的近亲属（子女），经核实为本人"}
    matched = [("0001-relatives_matched", {"barred": [cadre]}), ("0004-relatives_matched", {"barred": [namesake]})]
    for key, payload in matched:
        await pool.execute(
            "insert into emergency_log (event_id, log_key, kind, payload, occurred_at) "
            "values ('DOCREC-3', $1, 'relatives_matched', $2, now())",
            key,
            payload,
        )
    for user in ("shipo_cun1", "shipo_diaocha"):
        barred = await login(web, user, session=False)
        r = await web.get(f"/api/documents/{document_id}/content", headers=barred)
        assert r.status_code == 403 and r.json() == RECUSED, (user, r.status_code)
        r = await web.get("/api/documents/emergency/DOCREC-3", headers=barred)
        assert r.status_code == 403 and r.json() == RECUSED, (user, r.status_code)
    caseworker = await login(web, "shipo_jingban", session=False)
    r = await web.get(f"/api/documents/{document_id}/content", headers=caseworker)
    assert (r.status_code, r.content) == (200, clean("现场.png", png(), MB).content)  # as stored: re-encoded
    r = await web.get("/api/documents/emergency/DOCREC-3", headers=caseworker)
    assert r.status_code == 200 and [d["document_id"] for d in r.json()["documents"]] == [document_id]


@pytest.mark.web(temporal="ts_env")
async def test_when_an_open_event_workflow_cannot_be_asked_its_documents_are_refused(
    web: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    """The event is open, its workflow does not answer: whom it bars beyond its log cannot be known."""
    document_id = await event_without_workflow(pool, "DOCREC-2", "open")
    caseworker = await login(web, "shipo_jingban", session=False)
    for what in ("content", "thumbnail"):
        r = await web.get(f"/api/documents/{document_id}/{what}", headers=caseworker)
        assert r.status_code == 503 and r.json() == UNKNOWN, r.status_code
    r = await web.get("/api/documents/emergency/DOCREC-2", headers=caseworker)
    assert (r.status_code, r.json()) == (503, UNKNOWN)
    assert await pool.fetchval("select count(*) from access_log where kind = 'document.view'") == 0
