"""Documents in the case file PDF and through the page's upload form (no browser, no workflow)."""

from __future__ import annotations

import io

import httpx
from pypdf import PdfReader

from tests.support.clients import SHIPO_VILLAGE, app_client, csrf_token, insert_case, log_in, login
from tests.support.documents import ELF, file_document, malformed_pdf, pdf, photo_with_gps
from tests.support.i18n import msgids, repeated, templates, untranslated
from webapp.access_log import LABELS, Kind

MB = 1024 * 1024


def _images(page) -> int:
    resources = page.get("/Resources") or {}
    objects = resources.get("/XObject") or {}
    return sum(1 for o in objects.values() if o.get_object().get("/Subtype") == "/Image")


async def test_the_case_file_lists_every_document_embeds_images_and_appends_pdf_pages(
    web: httpx.AsyncClient, pool
) -> None:
    await insert_case(pool, "DOC-FILE", village=SHIPO_VILLAGE)
    photo = await file_document(pool, "DOC-FILE", SHIPO_VILLAGE, photo_with_gps(), doc_type="id_card")
    statement = await file_document(pool, "DOC-FILE", SHIPO_VILLAGE, pdf("INCOME-STATEMENT-2026"), doc_type="income")
    await log_in(web, "qu_jiandu")
    r = await web.get("/cases/DOC-FILE/casefile.pdf")
    assert r.status_code == 200
    assert r.headers["cache-control"] == "no-store"
    reader = PdfReader(io.BytesIO(r.content))
    texts = [p.extract_text() for p in reader.pages]
    whole = "".join(texts).replace("\n", "")  # table cells wrap
    assert "八、证明材料" in whole
    assert photo in whole and statement in whole
    assert "居民身份证" in whole and "收入证明" in whole
    assert "PDF，1 页，附于案卷之后（附件第 1 页起）" in whole
    assert sum(_images(p) for p in reader.pages) == 1  # the photo
    assert texts[-1].strip() == "INCOME-STATEMENT-2026"  # the statement's page, appended last


async def test_a_pdf_that_cannot_be_appended_prints_a_placeholder_page_in_the_case_file(
    web: httpx.AsyncClient, pool
) -> None:
    """One stored before the upload checked that it appends: the rest of the file prints, and its page says why."""
    await insert_case(pool, "DOC-BROKEN", village=SHIPO_VILLAGE)
    broken = await file_document(
        pool, "DOC-BROKEN", SHIPO_VILLAGE, malformed_pdf(b"/Pages 2 0 R/Outlines 5"), doc_type="hukou",
        unchecked_pdf=True,
    )  # fmt: skip
    statement = await file_document(pool, "DOC-BROKEN", SHIPO_VILLAGE, pdf("INCOME-STATEMENT-2026"), doc_type="income")
    await log_in(web, "qu_jiandu")
    r = await web.get("/cases/DOC-BROKEN/casefile.pdf")
    assert (r.status_code, r.headers["content-type"]) == (200, "application/pdf")
    texts = [p.extract_text().strip() for p in PdfReader(io.BytesIO(r.content)).pages]
    whole = "".join(texts).replace("\n", "")
    assert broken in whole and statement in whole
    assert texts[-2:] == [  # appended in the order filed
        f"材料 {broken} 无法附入案卷（文件已损坏），请在系统中单独查看。\n该材料第 1 页，共 1 页",
        "INCOME-STATEMENT-2026",
    ]


async def test_the_page_form_uploads_with_its_key_in_the_query_and_refuses_in_chinese(
    web: httpx.AsyncClient, pool
) -> None:
    await insert_case(pool, "DOC-FORM2", village=SHIPO_VILLAGE)
    await log_in(web, "shipo_jingban")
    page = await web.get("/cases/DOC-FORM2")
    token = csrf_token(page.text)
    action = page.text.split('class="doc-upload"')[1].split('action="')[1].split('"')[0]
    assert action.startswith("/documents/case/DOC-FORM2?idempotency_key=")
    r = await web.post(
        action.replace("&amp;", "&"),
        data={"csrftoken": token, "doc_type": "id_card"},
        files=[("files", ("证件.jpg", ELF, "image/jpeg"))],
    )
    assert r.status_code == 422
    assert "文件「证件.jpg」不是 JPEG、PNG 图片或 PDF 文件（按文件内容识别），未保存" in r.text
    assert await pool.fetchval("select count(*) from documents") == 0
    # without Temporal the checked file is not stored either: the workflow must record each upload
    r = await web.post(
        action.replace("&amp;", "&"),
        data={"csrftoken": token, "doc_type": "id_card"},
        files=[("files", ("证件.jpg", photo_with_gps(), "image/jpeg"))],
    )
    assert r.status_code == 503 and "工作流服务暂不可用" in r.text
    assert await pool.fetchval("select count(*) from document_blobs") == 0


def test_the_documents_panel_is_translated_and_its_catalogs_repeat_nothing() -> None:
    messages = msgids(templates("documents"))
    assert {"Documents and evidence", "Required materials still missing:", "Upload"} <= messages
    assert untranslated(messages, "zh_CN") == []
    assert untranslated([LABELS[Kind.DOCUMENT], LABELS[Kind.DOCUMENT_UPLOAD]], "en") == []
    assert repeated("zh_CN", "documents.po") == {}
    assert repeated("en", "documents-labels.po") == {}


async def test_the_supervisor_sees_the_documents_in_the_recheck(web: httpx.AsyncClient, pool) -> None:
    await insert_case(pool, "DOC-RC", village=SHIPO_VILLAGE)
    document_id = await file_document(pool, "DOC-RC", SHIPO_VILLAGE, photo_with_gps(), doc_type="income")
    await pool.execute(
        "insert into sampling_draws (month, seed, share, population, drawn, drawn_at) "
        "values ('2026-10', 'jiuzhu-sampling-2026-10', 0.05, 1, '[]'::jsonb, now())"
    )
    await pool.execute(
        "insert into rechecks (recheck_id, workflow_id, month, case_id, township_code, reason) "
        "values ('2026-10-DOC-RC', 'recheck-2026-10-DOC-RC', '2026-10', 'DOC-RC', '341503106', 'random')"
    )
    await log_in(web, "qu_jiandu")
    page = await web.get("/supervision/rechecks/2026-10-DOC-RC")
    assert page.status_code == 200
    assert f'<img src="/api/documents/{document_id}/thumbnail" alt="收入证明"' in page.text
    assert 'data-testid="document-upload"' not in page.text  # supervisors read
    thumbnail = await web.get(f"/api/documents/{document_id}/thumbnail")
    assert (thumbnail.status_code, thumbnail.headers["content-type"]) == (200, "image/jpeg")


async def test_only_the_upload_routes_take_bodies_past_the_general_limit(pool, monkeypatch) -> None:
    monkeypatch.setenv("JIUZHU_UPLOAD_MAX_BODY_BYTES", str(4 * MB))
    await insert_case(pool, "DOC-BODY", village=SHIPO_VILLAGE)
    padded = pdf() + b"%" + b"0" * (3 * MB)  # a valid PDF of 3 MB: over the general 1 MB, within the upload limit
    async with app_client(pool) as c:
        staff = await login(c, "shipo_jingban", session=False)
        upload = {"data": {"doc_type": "income"}, "headers": staff}
        r = await c.post(
            "/api/documents/case/DOC-BODY", files=[("files", ("a.pdf", padded, "application/pdf"))], **upload
        )
        assert (r.status_code, r.json()["code"]) == (503, "temporal_unavailable")  # read and checked, then no Temporal
        twice = [("files", ("a.pdf", padded, "application/pdf")), ("files", ("b.pdf", padded, "application/pdf"))]
        r = await c.post("/api/documents/case/DOC-BODY", files=twice, **upload)
        assert (r.status_code, r.json()) == (
            413,
            {"code": "body_too_large", "message": "提交的内容过大（不得超过 4 MB），请删减后重试"},
        )
        r = await c.post("/api/auth/login", content=padded, headers={"content-type": "application/json"})
        assert (r.status_code, r.json()["message"]) == (413, "提交的内容过大（不得超过 1 MB），请删减后重试")
    assert await pool.fetchval("select count(*) from document_blobs") == 0


async def test_the_case_file_of_a_recused_user_leaves_the_documents_out(web: httpx.AsyncClient, pool) -> None:
    """Staff barred from a case by the relatives check (近亲属回避) print its case file without its documents:
    scans show whole ID numbers, which the recused see masked. A colleague who is not recused gets them."""
    await insert_case(pool, "DOC-RECUSED", village=SHIPO_VILLAGE)
    photo = await file_document(pool, "DOC-RECUSED", SHIPO_VILLAGE, photo_with_gps(), doc_type="id_card")
    statement = await file_document(pool, "DOC-RECUSED", SHIPO_VILLAGE, pdf("INCOME-STATEMENT-2026"), doc_type="income")
    barred = {"barred": [{"username": "shipo_jingban", "full_name": "石婆店镇经办人 李娟", "reason": "近亲属备案"}]}
    await pool.execute(
        "insert into case_events (case_id, event_key, kind, payload, occurred_at) "
        "values ('DOC-RECUSED', '0002-relatives_matched', 'relatives_matched', $1::jsonb, now())",
        barred,
    )
    await pool.execute("update cases set barred_users = '{shipo_jingban}' where case_id = 'DOC-RECUSED'")  # as recorded

    def read(content: bytes) -> tuple[str, int, str]:
        reader = PdfReader(io.BytesIO(content))
        texts = [p.extract_text() for p in reader.pages]
        return "".join(texts).replace("\n", ""), sum(_images(p) for p in reader.pages), texts[-1].strip()

    await log_in(web, "shipo_shenpi")
    r = await web.get("/cases/DOC-RECUSED/casefile.pdf")
    assert (r.status_code, r.headers["content-type"]) == (200, "application/pdf")
    whole, images, last = read(r.content)
    assert "八、证明材料" in whole and photo in whole and statement in whole
    assert (images, last) == (1, "INCOME-STATEMENT-2026")  # the photo embedded, the statement's page appended

    await log_in(web, "shipo_jingban")
    r = await web.get("/cases/DOC-RECUSED/casefile.pdf")
    assert (r.status_code, r.headers["content-type"]) == (200, "application/pdf")
    whole, images, last = read(r.content)
    assert "回避人员：石婆店镇经办人 李娟（近亲属备案）" in whole  # the same case file, the recusal printed
    assert "八、证明材料" not in whole and photo not in whole and statement not in whole
    assert images == 0 and "INCOME-STATEMENT-2026" not in whole and last != "INCOME-STATEMENT-2026"
