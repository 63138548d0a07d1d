"""Documents on cases and emergency events (issue 19, point 1): what is refused (by content, by size) with nothing
stored, images without their location, one copy of the same file, another township's document refused, the
required materials still missing, supersession, and the workflow event each upload leaves."""

from __future__ import annotations

from datetime import date

import asyncpg
import httpx
import pytest

from rules.documents import missing
from rules.stages import Action
from schemas.documents import DOCUMENT_RECORDED, RECORD_DOCUMENT, DocumentAck, DocumentRecorded
from schemas.policy import DocumentPolicy
from schemas.review import Decision, RefusalDelivered
from tests.support.clients import SHIPO, SHIPO_VILLAGE, SHUNHE, insert_case, login
from tests.support.clock import SkippingEnvironment, beijing
from tests.support.documents import ELF, file_document, gps_of, malformed_pdf, pdf, photo_with_gps, png
from tests.support.emergency import start_emergency
from tests.support.factories import actor
from tests.support.frontdoor import apply_online
from tests.support.review import act, investigate, start, start_with_row
from tests.support.workflows import eventually

MB = 1024 * 1024
UPLOAD = "/api/documents/case/{}"


def files(*items: tuple[str, bytes, str]) -> list[tuple[str, tuple[str, bytes, str]]]:
    return [("files", item) for item in items]


async def stored(pool: asyncpg.Pool) -> tuple[int, int]:
    return (
        await pool.fetchval("select count(*) from documents"),
        await pool.fetchval("select count(*) from document_blobs"),
    )


# ---- refused, nothing stored ------------------------------------------------------------------------


async def upload_one(web: httpx.AsyncClient, pool, case_id: str, doc_type: str, item: tuple) -> httpx.Response:
    """One file uploaded by the caseworker to a new case of 石婆店镇示范村一."""
    await insert_case(pool, case_id, village=SHIPO_VILLAGE)
    staff = await login(web, "shipo_jingban", session=False)
    headers = staff | {"Idempotency-Key": f"{case_id}-1"}
    return await web.post(UPLOAD.format(case_id), headers=headers, data={"doc_type": doc_type}, files=files(item))


async def test_a_renamed_executable_is_refused_and_nothing_is_stored(web: httpx.AsyncClient, pool) -> None:
    r = await upload_one(web, pool, "DOC-EXE", "id_card", ("x.jpg", ELF, "image/jpeg"))
    assert r.status_code == 422
    assert r.json() == {
        "code": "unsupported_type",
        "message": "文件「x.jpg」不是 JPEG、PNG 图片或 PDF 文件（按文件内容识别），未保存",
    }
    assert await stored(pool) == (0, 0)


async def test_one_bad_file_refuses_the_whole_upload(web: httpx.AsyncClient, pool) -> None:
    await insert_case(pool, "DOC-MIX", village=SHIPO_VILLAGE)
    staff = await login(web, "shipo_jingban", session=False)
    r = await web.post(
        UPLOAD.format("DOC-MIX"),
        headers=staff | {"Idempotency-Key": "mix-1"},
        data={"doc_type": "id_card"},
        files=files(("front.jpg", photo_with_gps(), "image/jpeg"), ("setup.pdf", ELF, "application/pdf")),
    )
    assert (r.status_code, r.json()["code"]) == (422, "unsupported_type")
    assert r.json()["message"] == "文件「setup.pdf」不是 JPEG、PNG 图片或 PDF 文件（按文件内容识别），未保存"
    assert await stored(pool) == (0, 0)


@pytest.mark.parametrize(
    "catalog",
    [b"", b"/Pages 2 0 R/Outlines 5"],
    ids=["catalog_without_pages", "malformed_outlines"],
)
async def test_a_malformed_pdf_is_refused_as_damaged(web: httpx.AsyncClient, pool, catalog: bytes) -> None:
    """Whatever pypdf raises reading it, or appending it as the case file will (webapp/documents/pdf.py)."""
    r = await upload_one(web, pool, "DOC-BADPDF", "income", ("收入证明.pdf", malformed_pdf(catalog), "application/pdf"))
    assert (r.status_code, r.json()) == (
        422,
        {"code": "damaged_file", "message": "文件「收入证明.pdf」已损坏或无法读取，未保存"},
    )
    assert await stored(pool) == (0, 0)


async def test_an_eleven_megabyte_file_is_refused_in_chinese_and_nothing_is_stored(
    web: httpx.AsyncClient, pool
) -> None:
    await insert_case(pool, "DOC-BIG", village=SHIPO_VILLAGE)
    staff = await login(web, "shipo_jingban", session=False)
    big = pdf() + b"%" + b"0" * (11 * MB)  # a real PDF, padded past the limit
    r = await web.post(
        UPLOAD.format("DOC-BIG"),
        headers=staff | {"Idempotency-Key": "big-1"},
        data={"doc_type": "income"},
        files=files(("收入证明.pdf", big, "application/pdf")),
    )
    assert r.status_code == 422
    assert r.json() == {
        "code": "file_too_large",
        "message": "文件「收入证明.pdf」超过 10 MB，未保存；请压缩或分页扫描后重新上传",
    }
    assert await stored(pool) == (0, 0)


async def test_uploads_are_refused_to_roles_that_do_not_act_and_outside_the_jurisdiction(
    web: httpx.AsyncClient, pool
) -> None:
    await insert_case(pool, "DOC-ROLE", village=SHIPO_VILLAGE)
    body = {"data": {"doc_type": "id_card"}, "files": files(("a.jpg", photo_with_gps(), "image/jpeg"))}
    supervisor = await login(web, "qu_jiandu", session=False)
    r = await web.post(UPLOAD.format("DOC-ROLE"), headers=supervisor | {"Idempotency-Key": "role-1"}, **body)
    assert (r.status_code, r.json()) == (403, {"code": "wrong_role", "message": "监督员只能查看材料，不能上传"})
    other = await login(web, "shunhe_jingban", session=False)
    r = await web.post(UPLOAD.format("DOC-ROLE"), headers=other | {"Idempotency-Key": "role-2"}, **body)
    assert (r.status_code, r.json()["code"]) == (403, "out_of_jurisdiction")
    assert await stored(pool) == (0, 0)


# ---- reading: jurisdiction, access log, headers ----------------------------------------------------


async def test_a_document_of_another_township_is_403_and_every_read_is_logged(web: httpx.AsyncClient, pool) -> None:
    await insert_case(pool, "DOC-READ", village=SHIPO_VILLAGE)
    document_id = await file_document(pool, "DOC-READ", SHIPO_VILLAGE, photo_with_gps())
    other = await login(web, "shunhe_jingban", session=False)
    for what in ("content", "thumbnail"):
        r = await web.get(f"/api/documents/{document_id}/{what}", headers=other)
        assert (r.status_code, r.json()) == (403, {"code": "out_of_jurisdiction", "message": "该案件不在您的辖区内"})
    r = await web.get("/api/documents/case/DOC-READ", headers=other)
    assert (r.status_code, r.json()["code"]) == (403, "out_of_jurisdiction")
    bureau = await login(web, "yiliao_bu", session=False)
    r = await web.get(f"/api/documents/{document_id}/content", headers=bureau)
    assert (r.status_code, r.json()["code"]) == (403, "wrong_role")

    own = await login(web, "shipo_shenpi", session=False)
    r = await web.get(f"/api/documents/{document_id}/content", headers=own)
    assert r.status_code == 200
    assert r.headers["content-type"] == "image/jpeg"
    assert r.headers["cache-control"] == "no-store"
    assert r.headers["content-disposition"] == f'inline; filename="{document_id}.jpg"'
    assert gps_of(r.content) == {}
    r = await web.get(f"/api/documents/{document_id}/thumbnail", headers=own)
    assert (r.status_code, r.headers["content-type"], r.headers["cache-control"]) == (200, "image/jpeg", "no-store")
    rows = await pool.fetch(
        "select username, kind, record, detail from access_log where kind like 'document.%' order by id"
    )
    assert [tuple(x) for x in rows] == [
        ("shipo_shenpi", "document.view", document_id, "case:DOC-READ"),
        ("shipo_shenpi", "document.view", document_id, "case:DOC-READ 缩略图"),
    ]


async def test_the_stored_content_is_sealed(pool) -> None:
    await insert_case(pool, "DOC-SEAL", village=SHIPO_VILLAGE)
    data = png()
    await file_document(pool, "DOC-SEAL", SHIPO_VILLAGE, data)
    sealed = await pool.fetchval("select sealed from document_blobs")
    assert b"PNG" not in sealed[:64] and b"IHDR" not in sealed
    with pytest.raises(asyncpg.exceptions.InsufficientPrivilegeError):
        await pool.execute("delete from documents")


# ---- the required materials -------------------------------------------------------------------------


def test_missing_materials_follow_the_policy() -> None:
    policy = DocumentPolicy()
    names = ["居民身份证", "户口簿", "家庭经济状况核对授权书", "收入证明"]
    assert [t.name for t in missing(policy.types, policy.required, "dibao", [])] == names
    assert [t.code for t in missing(policy.types, policy.required, "dibao", ["hukou", "other", "id_card"])] == [
        "authorization",
        "income",
    ]
    assert [t.code for t in missing(policy.types, policy.required, "tekun", ["hukou"])] == ["id_card", "authorization"]
    assert [t.code for t in missing(policy.types, policy.required, "emergency", ["id_card"])] == ["incident", "receipt"]
    assert missing(policy.types, policy.required, None, []) == []


async def test_the_list_says_what_is_missing(web: httpx.AsyncClient, pool) -> None:
    await insert_case(pool, "DOC-LIST", village=SHIPO_VILLAGE)
    await file_document(pool, "DOC-LIST", SHIPO_VILLAGE, photo_with_gps(), doc_type="id_card")
    await file_document(pool, "DOC-LIST", SHIPO_VILLAGE, png(), doc_type="hukou")
    staff = await login(web, "shipo_jingban", session=False)
    r = await web.get("/api/documents/case/DOC-LIST", headers=staff)
    assert r.status_code == 200
    body = r.json()
    assert body["missing"] == [
        {"code": "authorization", "name": "家庭经济状况核对授权书"},
        {"code": "income", "name": "收入证明"},
    ]
    assert [(d["doc_type"], d["type_name"], d["mime"], d["superseded_by"]) for d in body["documents"]] == [
        ("id_card", "居民身份证", "image/jpeg", None),
        ("hukou", "户口簿", "image/png", None),
    ]


# ---- uploads through a running workflow -------------------------------------------------------------


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
@pytest.mark.web(temporal="review_env")
async def test_a_refused_case_takes_documents_until_its_notices_delivery_is_recorded(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    """The refused case's workflow waits for the notice's delivery and takes documents meanwhile (the signed
    delivery receipt, 送达回证, is filed with the case); once delivery is recorded the case is closed to them."""
    h = await start_with_row(review_env, pool, "DOCREF1")
    await investigate(h)
    refusal = Decision(actor=actor("shipo_shenpi"), approve=False, reasons="家庭人均收入高于当地低保标准")
    await act(h, Action.DECISION, refusal)
    await eventually(
        lambda: pool.fetchval("select 1 from cases where case_id = 'DOCREF1' and status = 'refused'"), "refused"
    )
    staff = await login(web, "shipo_jingban", session=False)

    async def receipt(key: str, colour: tuple) -> httpx.Response:
        item = ("送达回证.jpg", photo_with_gps(colour), "image/jpeg")
        headers = staff | {"Idempotency-Key": key}
        return await web.post(UPLOAD.format("DOCREF1"), headers=headers, data={"doc_type": "other"}, files=files(item))

    r = await receipt("ref-1", (200, 10, 10))
    assert r.status_code == 201, r.text
    [doc] = r.json()["uploaded"]
    assert await pool.fetchval("select doc_type from documents where document_id = $1", doc) == "other"
    delivered = RefusalDelivered(
        actor=actor("shipo_jingban"), method="in_person", delivered_on=date(2026, 11, 24), recipient="申请人本人"
    )
    await act(h, Action.REFUSAL_DELIVERED, delivered)
    await h.result()
    await eventually(
        lambda: pool.fetchval("select 1 from case_events where case_id = 'DOCREF1' and kind = 'refusal_delivered'"),
        "the delivery recorded",
    )
    r = await receipt("ref-2", (10, 200, 10))
    assert (r.status_code, r.json()["code"], r.json()["message"]) == (409, "closed", "已办结，不能再上传材料")


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
@pytest.mark.web(temporal="review_env")
async def test_an_upload_is_stored_once_without_its_location_and_recorded_by_the_workflow(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    h = await start_with_row(review_env, pool, "DOCFLOW1")
    staff = await login(web, "shipo_jingban", session=False)
    photo = photo_with_gps()
    assert gps_of(photo) != {}
    r = await web.post(
        UPLOAD.format("DOCFLOW1"),
        headers=staff | {"Idempotency-Key": "up-1"},
        data={"doc_type": "id_card"},
        files=files(("身份证正面.jpg", photo, "image/jpeg")),
    )
    assert r.status_code == 201, r.text
    first = r.json()["uploaded"]
    assert len(first) == 1
    assert [t["code"] for t in r.json()["missing"]] == ["hukou", "authorization", "income"]
    r = await web.get(f"/api/documents/{first[0]}/content", headers=staff)
    assert r.status_code == 200 and gps_of(r.content) == {}

    # the same file again (another key): the same document, one copy, no second event
    r = await web.post(
        UPLOAD.format("DOCFLOW1"),
        headers=staff | {"Idempotency-Key": "up-2"},
        data={"doc_type": "id_card"},
        files=files(("IMG_0001.jpg", photo, "image/jpeg")),
    )
    assert (r.status_code, r.json()["uploaded"]) == (201, first)
    assert await stored(pool) == (1, 1)

    # a new photo of the same type that replaces it: both kept, the first marked superseded
    r = await web.post(
        UPLOAD.format("DOCFLOW1"),
        headers=staff | {"Idempotency-Key": "up-3"},
        data={"doc_type": "id_card", "supersede": "true"},
        files=files(("new.jpg", photo_with_gps((10, 200, 10)), "image/jpeg")),
    )
    assert r.status_code == 201, r.text
    second = r.json()["uploaded"]
    docs = {d["document_id"]: d for d in r.json()["documents"]}
    assert docs[first[0]]["superseded_by"] == second[0] and docs[second[0]]["superseded_by"] is None
    assert await stored(pool) == (2, 2)

    rows = await pool.fetch(
        "select kind, actor, payload from case_events where case_id = 'DOCFLOW1' and kind = 'document_recorded' "
        "order by occurred_at, id"
    )
    assert [(x["kind"], x["actor"]) for x in rows] == [("document_recorded", "shipo_jingban")] * 2
    assert [{k: x["payload"][k] for k in ("document_id", "doc_type", "supersedes", "summary")} for x in rows] == [
        {
            "document_id": first[0],
            "doc_type": "id_card",
            "supersedes": [],
            "summary": f"上传材料：居民身份证（编号 {first[0]}）",
        },
        {
            "document_id": second[0],
            "doc_type": "id_card",
            "supersedes": first,
            "summary": f"上传材料：居民身份证（编号 {second[0]}）（替换此前的同类材料 1 份）",
        },
    ]
    history = await h.fetch_history()
    updates = [
        e.workflow_execution_update_accepted_event_attributes.accepted_request.input.name
        for e in history.events
        if e.HasField("workflow_execution_update_accepted_event_attributes")
    ]
    assert updates == ["record_document", "record_document"]


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
@pytest.mark.web(temporal="review_env")
async def test_an_emergency_event_takes_documents_and_its_log_shows_them(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    h = await start_emergency(review_env, "EDOC1")
    cadre = await login(web, "shipo_cun1", session=False)
    r = await web.post(
        "/api/documents/emergency/EDOC1",
        headers=cadre | {"Idempotency-Key": "e-1"},
        data={"doc_type": "incident"},
        files=files(("火灾证明.pdf", pdf("fire"), "application/pdf"), ("现场.png", png(), "image/png")),
    )
    assert r.status_code == 201, r.text
    ids = r.json()["uploaded"]
    assert len(ids) == 2
    assert [t["code"] for t in r.json()["missing"]] == ["id_card", "receipt"]
    assert [(d["mime"], d["pages"], d["thumbnail"]) for d in r.json()["documents"]] == [
        ("application/pdf", 1, False),
        ("image/png", None, True),
    ]
    state = await h.query("state")
    logged = [e for e in state["log"] if e["kind"] == "document_recorded"]
    assert [e["payload"]["document_id"] for e in logged] == ids
    assert [e["summary"] for e in logged] == [f"上传材料：急难情况证明（编号 {i}）" for i in ids]
    page = await web.get("/emergencies/EDOC1", headers=cadre)
    assert page.status_code == 200
    assert f'src="/api/documents/{ids[1]}/thumbnail"' in page.text
    assert 'capture="environment"' in page.text  # the village cadre's phone opens the camera


async def test_case_page_shows_thumbnails_and_the_missing_materials(web: httpx.AsyncClient, pool) -> None:
    await insert_case(pool, "DOC-PAGE", village=SHIPO_VILLAGE)
    document_id = await file_document(pool, "DOC-PAGE", SHIPO_VILLAGE, photo_with_gps(), doc_type="income")
    await login(web, "shipo_jingban")
    page = await web.get("/cases/DOC-PAGE")
    assert page.status_code == 200
    assert f'<img src="/api/documents/{document_id}/thumbnail" alt="收入证明"' in page.text
    missing = page.text.split('data-testid="missing-materials"')[1].split("</p>")[0]
    assert [c for c in ("id_card", "hukou", "authorization", "income") if f'data-code="{c}"' in missing] == [
        "id_card",
        "hukou",
        "authorization",
    ]
    assert 'capture="environment"' not in page.text  # a caseworker's picker may take files as well as photos


@pytest.mark.parametrize("place", [SHIPO, SHUNHE])
async def test_the_upload_form_is_offered_in_the_jurisdiction_only(web: httpx.AsyncClient, pool, place: str) -> None:
    await insert_case(pool, "DOC-FORM", place, village=SHIPO_VILLAGE if place == SHIPO else None)
    await login(web, "shipo_jingban")
    page = await web.get("/cases/DOC-FORM")
    if place == SHIPO:
        assert page.status_code == 200 and 'data-testid="document-upload"' in page.text
    else:
        assert page.status_code == 403 and "document-upload" not in page.text


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
@pytest.mark.web(temporal="review_env")
async def test_a_front_door_request_takes_documents_and_its_log_shows_them(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    number, _ = await apply_online(web, ["medical_costs"])
    desk = await login(web, "shipo_jingban", session=False)
    r = await web.post(
        f"/api/documents/request/{number}",
        headers=desk | {"Idempotency-Key": "req-1"},
        data={"doc_type": "medical"},
        files=files(("诊断证明.pdf", pdf("diagnosis"), "application/pdf")),
    )
    assert r.status_code == 201, r.text
    (document_id,) = r.json()["uploaded"]
    assert r.json()["missing"] == []  # a request requires nothing
    rows = await pool.fetch(
        "select kind, actor, payload from frontdoor_log where subject_id = $1 and kind = 'document_recorded'", number
    )
    assert [(x["actor"], x["payload"]["document_id"], x["payload"]["summary"]) for x in rows] == [
        ("shipo_jingban", document_id, f"上传材料：疾病诊断证明（编号 {document_id}）")
    ]
    other = await login(web, "shunhe_jingban", session=False)
    r = await web.get(f"/api/documents/{document_id}/content", headers=other)
    assert (r.status_code, r.json()["code"]) == (403, "out_of_jurisdiction")
    page = await web.get(f"/frontdoor/requests/{number}", headers=desk)
    assert page.status_code == 200 and f'data-document="{document_id}"' in page.text


async def test_the_workflow_records_each_document_once(review_env: SkippingEnvironment, pool: asyncpg.Pool) -> None:
    h = await start(review_env, "DOCONCE1")
    recorded = DocumentRecorded(
        document_id="D" + "a" * 20, doc_type="income", type_name="收入证明", uploader=actor("shipo_cun1")
    )
    first = await h.execute_update(RECORD_DOCUMENT, recorded, result_type=DocumentAck)
    again = await h.execute_update(RECORD_DOCUMENT, recorded, result_type=DocumentAck)
    assert first == again
    assert first.log_key.endswith("-document_recorded")
    rows = await pool.fetch(
        "select actor, payload from case_events where case_id = 'DOCONCE1' and kind = $1", DOCUMENT_RECORDED
    )
    assert [(x["actor"], x["payload"]["summary"]) for x in rows] == [
        ("shipo_cun1", f"上传材料：收入证明（编号 {'D' + 'a' * 20}）")
    ]


@pytest.mark.parametrize(
    "status, barred, user, want",
    [
        ("enrolled", [], "shipo_jingban", (409, "closed", "已办结，不能再上传材料")),
        (
            "open",
            [{"username": "shipo_cun1", "full_name": "刘芳", "reason": "近亲属备案：子女"}],
            "shipo_cun1",
            (403, "recused", "您与申请人家庭存在近亲属关系，依规应当回避，不能为其上传材料"),
        ),
    ],
)
async def test_a_closed_case_and_recused_staff_take_no_documents(
    web: httpx.AsyncClient, pool, status: str, barred: list, user: str, want: tuple
) -> None:
    await insert_case(pool, "DOC-NO", village=SHIPO_VILLAGE, status=status)
    await pool.execute(
        "insert into case_events (case_id, event_key, kind, payload, occurred_at) "
        "values ('DOC-NO', '0002-relatives_matched', 'relatives_matched', $1, now())",
        {"barred": barred},
    )
    # as the activity that records the event keeps it (rules.progress)
    await pool.execute("update cases set barred_users = $1 where case_id = 'DOC-NO'", [b["username"] for b in barred])
    headers = await login(web, user, session=False)
    r = await web.post(
        UPLOAD.format("DOC-NO"),
        headers=headers | {"Idempotency-Key": "no-1"},
        data={"doc_type": "id_card"},
        files=files(("a.jpg", photo_with_gps(), "image/jpeg")),
    )
    assert (r.status_code, r.json()["code"], r.json()["message"]) == want
    assert await stored(pool) == (0, 0)


async def test_staff_recused_from_a_case_do_not_read_its_documents(web: httpx.AsyncClient, pool) -> None:
    """Its scans (ID cards, household registers) show whole ID numbers, which recused staff see masked elsewhere."""
    await insert_case(pool, "DOC-RECUSED", village=SHIPO_VILLAGE, status="open")
    await pool.execute(
        "insert into document_blobs (sha256, mime, size_bytes, key_id, sealed) values ($1, 'image/jpeg', 3, 'k', 'x')",
        "0" * 64,
    )
    await pool.execute(
        "insert into documents (document_id, owner_kind, owner_id, place_code, doc_type, sha256, uploaded_by, "
        "uploader_role) values ('D0123456789abcdef0123', 'case', 'DOC-RECUSED', $1, 'id_card', $2, 'shipo_cun1', "
        "'village_cadre')",
        SHIPO_VILLAGE,
        "0" * 64,
    )
    await pool.execute(
        "insert into case_events (case_id, event_key, kind, payload, occurred_at) "
        "values ('DOC-RECUSED', '0002-relatives_matched', 'relatives_matched', $1, now())",
        {"barred": [{"username": "shipo_jingban", "full_name": "石婆店镇经办人 李娟", "reason": "近亲属备案：子女"}]},
    )
    await pool.execute("update cases set barred_users = '{shipo_jingban}' where case_id = 'DOC-RECUSED'")
    recused = await login(web, "shipo_jingban", session=False)
    for what in ("content", "thumbnail"):
        r = await web.get(f"/api/documents/D0123456789abcdef0123/{what}", headers=recused)
        assert (r.status_code, r.json()) == (
            403,
            {"code": "recused", "message": "您与申请人家庭存在近亲属关系，依规应当回避，不能查看其材料"},
        )
    assert await pool.fetchval("select count(*) from access_log where kind = 'document.view'") == 0
    # another caseworker of the township gets past the check (the stand-in blob has no thumbnail)
    other = await login(web, "shipo_diaocha", session=False)
    r = await web.get("/api/documents/D0123456789abcdef0123/thumbnail", headers=other)
    assert (r.status_code, r.json()) == (404, {"code": "not_found", "message": "该材料没有缩略图"})


@pytest.mark.start_at(beijing(2026, 11, 24, 9, 30))
@pytest.mark.web(temporal="review_env")
async def test_a_batch_that_replaces_supersedes_the_earlier_documents_not_its_own(
    web: httpx.AsyncClient, review_env: SkippingEnvironment, pool: asyncpg.Pool
) -> None:
    await start_with_row(review_env, pool, "DOCBATCH")
    staff = await login(web, "shipo_jingban", session=False)
    r = await web.post(
        UPLOAD.format("DOCBATCH"),
        headers=staff | {"Idempotency-Key": "batch-1"},
        data={"doc_type": "id_card"},
        files=files(("旧.jpg", photo_with_gps((90, 90, 90)), "image/jpeg")),
    )
    assert r.status_code == 201, r.text
    (earlier,) = r.json()["uploaded"]

    # front and back of the new card at once, replacing the earlier one
    r = await web.post(
        UPLOAD.format("DOCBATCH"),
        headers=staff | {"Idempotency-Key": "batch-2"},
        data={"doc_type": "id_card", "supersede": "true"},
        files=files(
            ("正面.jpg", photo_with_gps((10, 200, 10)), "image/jpeg"),
            ("反面.jpg", photo_with_gps((10, 10, 200)), "image/jpeg"),
        ),
    )
    assert r.status_code == 201, r.text
    front, back = r.json()["uploaded"]
    assert [(d["document_id"], d["superseded_by"]) for d in r.json()["documents"]] == [
        (earlier, front),
        (front, None),
        (back, None),
    ]
    rows = await pool.fetch(
        "select payload from case_events where case_id = 'DOCBATCH' and kind = 'document_recorded' "
        "order by occurred_at, id"
    )
    assert [(x["payload"]["document_id"], x["payload"]["supersedes"]) for x in rows] == [
        (earlier, []),
        (front, [earlier]),
        (back, []),
    ]
