"""Staff recused from an emergency event (its relatives check: the register of near relatives, the declared ones)
see none of its documents: not their contents, not the list, not the panel of its page. Its barred staff are its
workflow's state, so when the workflow cannot be asked (gone past retention, no worker) the documents are refused
to everyone (503 `recusal_unknown`) rather than served to someone who may be barred (fail closed)."""

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

pytestmark = pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))  # a Tuesday

PERSON = resident_id(date(1980, 2, 2), seq=713)
RECUSED = {"code": "recused", "message": "您与申请人家庭存在近亲属关系，依规应当回避，不能查看其材料"}
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


@pytest.mark.web(temporal="ts_env")
async def test_when_the_event_workflow_cannot_be_asked_its_documents_are_refused(
    web: httpx.AsyncClient, pool: asyncpg.Pool
) -> None:
    """The event's row is there, its workflow is not (past retention): who is barred cannot be known."""
    await pool.execute(
        "insert into emergencies (event_id, workflow_id, kind, description, applicant_name, applicant_id_masked, "
        "township_code, village_code, channel, registered_by, registered_at, policy_version) values ('DOCREC-2', "
        "'emergency-DOCREC-2', 'fire', '房屋失火', '孙七', '3415**********0012', $1, $2, 'village', 'seed', now(), 1)",
        SHIPO,
        SHIPO_VILLAGE,
    )
    document_id = await file_document(
        pool, "DOCREC-2", SHIPO_VILLAGE, png(), owner_kind="emergency", doc_type="incident"
    )
    caseworker = await login(web, "shipo_jingban", session=False)
    for what in ("content", "thumbnail"):
        r = await web.get(f"/api/documents/{document_id}/{what}", headers=caseworker)
        assert r.status_code == 503 and r.json() == UNKNOWN, r.status_code
    r = await web.get("/api/documents/emergency/DOCREC-2", headers=caseworker)
    assert (r.status_code, r.json()) == (503, UNKNOWN)
    assert await pool.fetchval("select count(*) from access_log where kind = 'document.view'") == 0
