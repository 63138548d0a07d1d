"""Temporal holds only ciphertext (issue 16, point 1): every payload is sealed with AES-256-GCM (infra/codec.py),
keys rotate, search attributes carry no personal data, and the Temporal Web UI's codec endpoint
(webapp/codec/api.py) opens a workflow's payloads only for staff of its jurisdiction.

The central test runs a real review case on the time-skipping server with the real worker, reads its history
through a client that has no codec, as Temporal's database, its backups and the Web UI without the codec
hold it, and finds neither the applicant's ID number, nor a name, nor an amount; then decodes the same payloads
through the web app's endpoint as the township's caseworker (200) and as another township's (403).
"""

from __future__ import annotations

import base64
import os
import uuid
from collections.abc import Iterator

import asyncpg
import httpx
import pytest
from google.protobuf.message import Message
from temporalio.api.common.v1 import Payload
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter

from infra.codec import (
    DEV_KEY,
    DEV_KEY_ID,
    KEY_ID,
    WORKFLOW_ID,
    EncryptionCodec,
    KeyRing,
    PayloadDecryptError,
    PayloadKeyError,
    is_encrypted,
    key_ring,
    parse_keys,
)
from infra.config import Settings
from infra.temporal import data_converter, dev_server_command
from schemas import search
from schemas.review import workflow_id_for
from tests.support.clients import SHIPO, insert_case, log_in
from tests.support.clock import SkippingEnvironment
from tests.support.codec import as_json, from_json, payload, sealed_for
from tests.support.factories import application
from tests.support.review import investigate, start

UI_ORIGIN = "http://localhost:8233"  # TEMPORAL_UI_URL's default (port 8233)


def _key(seed: str) -> bytes:
    return (seed * 32).encode()[:32]


def _setting(**keys: bytes) -> str:
    return ",".join(f"{k}:{base64.b64encode(v).decode()}" for k, v in keys.items())


# ---- the codec ---------------------------------------------------------------------------------------------


async def test_payloads_are_sealed_with_the_key_id_and_open_again() -> None:
    codec = EncryptionCodec(KeyRing.parse(_setting(k1=_key("a")))).with_context(_Context("review-A1"))
    [sealed] = await codec.encode([payload("王大山 341503196803020014")])
    assert sealed.metadata["encoding"] == b"binary/encrypted"
    assert sealed.metadata[KEY_ID] == b"k1" and sealed.metadata[WORKFLOW_ID] == b"review-A1"
    assert "王大山".encode() not in sealed.data and b"341503" not in sealed.data
    [opened] = await codec.decode([sealed])
    assert opened == payload("王大山 341503196803020014")
    # a nonce per payload: the same value never seals to the same bytes
    assert (await codec.encode([payload("x")]))[0].data != (await codec.encode([payload("x")]))[0].data


class _Context:
    def __init__(self, workflow_id: str) -> None:
        self.workflow_id = workflow_id


async def test_clear_payloads_of_recorded_histories_pass_through() -> None:
    codec = EncryptionCodec(KeyRing.development())
    assert await codec.decode([payload("明文")]) == [payload("明文")]


async def test_a_relabelled_or_altered_payload_does_not_decrypt() -> None:
    ring = KeyRing.parse(_setting(k1=_key("a")))
    sealed = ring.encrypt(payload("王大山"), "review-SHIPO")
    relabelled = Payload()
    relabelled.CopyFrom(sealed)
    relabelled.metadata[WORKFLOW_ID] = b"review-SHUNHE"  # to pass another township's jurisdiction check
    with pytest.raises(PayloadDecryptError):
        ring.decrypt(relabelled)
    altered = Payload()
    altered.CopyFrom(sealed)
    altered.data = sealed.data[:-1] + bytes([sealed.data[-1] ^ 1])
    with pytest.raises(PayloadDecryptError):
        ring.decrypt(altered)


def test_rotation_new_key_seals_old_keys_still_open() -> None:
    old = KeyRing.parse(_setting(k2025=_key("a")))
    sealed_then = old.encrypt(payload("旧"), "review-A1")
    rotated = KeyRing.parse(_setting(k2026=_key("b"), k2025=_key("a")))
    assert rotated.decrypt(sealed_then) == payload("旧")
    sealed_now = rotated.encrypt(payload("新"), "review-A1")
    assert sealed_now.metadata[KEY_ID] == b"k2026"
    with pytest.raises(PayloadKeyError, match="'k2026', which is not configured"):
        old.decrypt(sealed_now)
    dropped = KeyRing.parse(_setting(k2026=_key("b")))
    with pytest.raises(PayloadKeyError, match="keep old keys after a rotation"):
        dropped.decrypt(sealed_then)


@pytest.mark.parametrize(
    ("text", "error"),
    [
        ("", "no key given"),
        ("k1", "expected id:base64"),
        ("k 1:" + base64.b64encode(_key("a")).decode(), "expected id:base64"),
        ("k1:not base64!", "not base64"),
        ("k1:" + base64.b64encode(b"short").decode(), "has 5 bytes"),
        (_setting(k1=_key("a")) + "," + _setting(k1=_key("b")), "given twice"),
    ],
)
def test_bad_key_settings_are_refused(text: str, error: str) -> None:
    with pytest.raises(PayloadKeyError, match=error):
        parse_keys(text)


def test_development_uses_the_development_key_production_refuses_it() -> None:
    assert key_ring(Settings(payload_keys=None, env="")).keys == {DEV_KEY_ID: DEV_KEY}
    with pytest.raises(PayloadKeyError, match="JIUZHU_PAYLOAD_KEYS is required in production"):
        key_ring(Settings(payload_keys=None, env="production"))
    with pytest.raises(PayloadKeyError, match="JIUZHU_PAYLOAD_KEYS is required in production"):
        data_converter(Settings(payload_keys=None, env="production"))  # so no client, worker or web app starts
    with pytest.raises(PayloadKeyError, match="must not seal with the development key"):
        key_ring(Settings(payload_keys=_setting(dev=DEV_KEY), env="production"))
    # the development key may stay to open what was sealed with it, behind a key of production's own
    ring = key_ring(Settings(payload_keys=_setting(k1=_key("a"), dev=DEV_KEY), env="production"))
    assert ring.current == "k1"


def test_every_client_worker_and_replayer_gets_the_codec() -> None:
    converter = data_converter(Settings())
    assert isinstance(converter.payload_codec, EncryptionCodec)
    assert converter.payload_codec.keys.current == os.environ["JIUZHU_PAYLOAD_KEYS"].split(":")[0]


def test_the_dev_servers_web_ui_uses_the_codec_endpoint() -> None:
    command = dev_server_command(Settings(web_port=8123))
    assert command[command.index("--ui-codec-endpoint") + 1] == "http://localhost:8123/api/codec"


def test_search_attributes_carry_no_personal_data() -> None:
    """What the codec cannot encrypt: stage, type, township, deadline, overdue; never a name or a number."""
    assert {k.name for k in search.ALL} == {"CaseStage", "AssistanceType", "Township", "DeadlineDate", "Overdue"}


# ---- a real history, without the codec -------------------------------------------------------------------------


def all_payloads(message: Message) -> Iterator[Payload]:
    """Every Payload anywhere in a protobuf message (inputs, results, updates, markers, search attributes…)."""
    if isinstance(message, Payload):
        yield message
        return
    for field, value in message.ListFields():
        if field.message_type is None:
            continue
        if field.message_type.GetOptions().map_entry:
            values = list(value.values())
        elif field.is_repeated:
            values = list(value)
        else:
            values = [value]
        for v in values:
            if isinstance(v, Message):
                yield from all_payloads(v)


@pytest.mark.web(temporal="review_env")
async def test_temporal_holds_no_personal_data_and_the_codec_endpoint_opens_it_in_jurisdiction(
    review_env: SkippingEnvironment, pool: asyncpg.Pool, web: httpx.AsyncClient
) -> None:
    app = application(f"ENC{uuid.uuid4().hex[:8]}")
    applicant = app.household.members[0]
    h = await start(review_env, app=app)
    await investigate(h)  # the verified income, the visit, the interview, the hearing: up to the decision

    plain = await Client.connect(
        review_env.client.service_client.config.target_host,
        namespace=review_env.client.namespace,
        data_converter=pydantic_data_converter,  # no codec: what Temporal's database and backups hold
    )
    history = await plain.get_workflow_handle(h.id).fetch_history()
    raw = b"".join(e.SerializeToString() for e in history.events)
    payloads = [p for e in history.events for p in all_payloads(e)]
    sealed = [p for p in payloads if is_encrypted(p)]
    assert len(sealed) >= 10, "the start, every activity and every update: sealed"
    for secret in (applicant.id_number, applicant.name, "王家庄", "13805641234"):
        assert secret.encode() not in raw, f"{secret} in Temporal's history"
    for p in payloads:
        assert b"722.00" not in p.data and b"600.00" not in p.data, "an amount in clear"
    assert {p.metadata[KEY_ID] for p in sealed} == {b"test"}
    assert {p.metadata[WORKFLOW_ID] for p in sealed if WORKFLOW_ID in p.metadata} == {h.id.encode()}
    clear = [p for p in payloads if not is_encrypted(p)]  # search attributes, the SDK's own markers
    assert all(applicant.name.encode() not in p.data for p in clear)

    # the codec gives it all back
    opened = b"".join(p.data for p in await data_converter().payload_codec.decode(sealed))
    for secret in (applicant.id_number, applicant.name, "722.00", "600.00"):
        assert secret.encode() in opened, f"{secret} not in the decoded history"

    # … and so does the Web UI's codec endpoint, for the case's township, and only for it
    body = as_json(sealed)
    headers = {"X-Namespace": review_env.client.namespace, "Origin": UI_ORIGIN}
    r = await web.post("/api/codec/decode", json=body, headers=headers)
    assert r.status_code == 401 and r.json()["code"] == "unauthenticated"
    assert r.headers["access-control-allow-origin"] == UI_ORIGIN  # so the UI can tell
    assert (await log_in(web, "shunhe_jingban")).status_code == 303
    r = await web.post("/api/codec/decode", json=body, headers=headers)
    assert r.status_code == 403 and r.json()["code"] == "out_of_jurisdiction"
    assert applicant.id_number not in r.text
    web.cookies.clear()
    assert (await log_in(web, "shipo_jingban")).status_code == 303
    r = await web.post("/api/codec/decode", json=body, headers=headers)
    assert r.status_code == 200, r.text
    assert r.headers["access-control-allow-origin"] == UI_ORIGIN
    assert r.headers["access-control-allow-credentials"] == "true"
    decoded = from_json(r.json())
    assert len(decoded) == len(sealed) and not any(is_encrypted(p) for p in decoded)
    assert applicant.id_number.encode() in b"".join(p.data for p in decoded)


# ---- the codec endpoint ----------------------------------------------------------------------------------------


@pytest.fixture
async def shipo_case(pool: asyncpg.Pool) -> str:
    await insert_case(pool, "ENC-SHIPO-1", SHIPO)
    return workflow_id_for("ENC-SHIPO-1")


async def decode_as(web: httpx.AsyncClient, user: str | None, body: dict) -> httpx.Response:
    web.cookies.clear()
    if user:
        assert (await log_in(web, user)).status_code == 303
    return await web.post("/api/codec/decode", json=body, headers={"X-Namespace": "default"})


@pytest.mark.parametrize(
    ("user", "status", "code"),
    [
        (None, 401, "unauthenticated"),
        ("shipo_cun1", 403, "wrong_role"),  # a village cadre does not read case histories
        ("yiliao_bu", 403, "wrong_role"),
        ("admin", 403, "wrong_role"),
        ("shunhe_jingban", 403, "out_of_jurisdiction"),
        ("shunhe_shenpi", 403, "out_of_jurisdiction"),
        ("shipo_jingban", 200, None),
        ("shipo_shenpi", 200, None),
        ("qu_minzheng", 200, None),
        ("qu_jiandu", 200, None),
    ],
)
async def test_who_may_decode_a_townships_workflow(
    web: httpx.AsyncClient, pool: asyncpg.Pool, shipo_case: str, user: str | None, status: int, code: str | None
) -> None:
    r = await decode_as(web, user, sealed_for(shipo_case))
    assert r.status_code == status, r.text
    logged = await pool.fetch("select username, record from access_log where kind = 'workflow.decode'")
    if code:
        assert r.json()["code"] == code and "341503196803020014" not in r.text
        assert logged == []
    else:
        [opened] = from_json(r.json())
        assert opened == payload("王大山 341503196803020014")
        assert [tuple(row) for row in logged] == [(user, shipo_case)]  # a read of whole records is logged


async def test_staff_kept_away_from_a_case_may_not_decode_it(
    web: httpx.AsyncClient, pool: asyncpg.Pool, shipo_case: str
) -> None:
    """The relatives check keeps shipo_shenpi away (a declared near relative): the case page masks the IDs for
    them and the documents are refused, so the whole payloads are refused too; the case's other staff read them.
    Its household's ongoing review lies with the case and is refused the same way."""
    await pool.execute("update cases set barred_users = '{shipo_shenpi}' where case_id = 'ENC-SHIPO-1'")
    for workflow_id in (shipo_case, "ongoing-ENC-SHIPO-1"):
        r = await decode_as(web, "shipo_shenpi", sealed_for(workflow_id))
        assert (r.status_code, r.json()) == (
            403,
            {"code": "recused", "message": "您与申请人家庭存在近亲属关系，依规应当回避，不能查看该案的完整资料"},
        )
        assert (await decode_as(web, "shipo_jingban", sealed_for(workflow_id))).status_code == 200
    # one payload of the case among others refuses the whole call, and nothing is logged as read for them
    mixed = {"payloads": sealed_for(None)["payloads"] + sealed_for(shipo_case)["payloads"]}
    assert (await decode_as(web, "qu_minzheng", mixed)).status_code == 200
    await pool.execute("update cases set barred_users = '{qu_minzheng}' where case_id = 'ENC-SHIPO-1'")
    assert (await decode_as(web, "qu_minzheng", mixed)).json()["code"] == "recused"
    logged = await pool.fetch("select username from access_log where kind = 'workflow.decode' order by id")
    assert [r["username"] for r in logged] == ["shipo_jingban", "shipo_jingban", "qu_minzheng", "qu_minzheng"]


async def test_payloads_of_no_one_place_are_the_districts(web: httpx.AsyncClient, shipo_case: str) -> None:
    for workflow_id in (None, "daily-digest-2026-12-01", workflow_id_for("NOT-RECORDED")):
        r = await decode_as(web, "shipo_jingban", sealed_for(workflow_id))
        assert r.status_code == 403 and r.json()["code"] == "out_of_jurisdiction", workflow_id
        assert (await decode_as(web, "qu_jiandu", sealed_for(workflow_id))).status_code == 200
    # one payload of another place refuses the whole call
    mixed = {"payloads": sealed_for(shipo_case)["payloads"] + sealed_for(None)["payloads"]}
    assert (await decode_as(web, "shipo_jingban", mixed)).status_code == 403


async def test_a_relabelled_payload_is_refused_not_decoded(web: httpx.AsyncClient, shipo_case: str) -> None:
    """Another township's payload relabelled with this township's workflow passes the place check, not the seal."""
    body = sealed_for("review-SHUNHE-1")
    body["payloads"][0]["metadata"][WORKFLOW_ID] = base64.b64encode(shipo_case.encode()).decode()
    r = await decode_as(web, "shipo_jingban", body)
    assert r.status_code == 422 and r.json()["code"] == "undecodable"


async def test_encode_and_bad_requests(web: httpx.AsyncClient) -> None:
    assert (await web.post("/api/codec/encode", json=as_json([payload("x")]))).status_code == 401
    assert (await log_in(web, "qu_jiandu")).status_code == 303
    r = await web.post("/api/codec/encode", json=as_json([payload("王大山")]))
    assert r.status_code == 200
    [sealed] = from_json(r.json())
    assert is_encrypted(sealed) and "王大山".encode() not in sealed.data
    r = await web.post("/api/codec/decode", json=r.json())
    assert from_json(r.json()) == [payload("王大山")]
    r = await web.post("/api/codec/decode", content=b"{not json", headers={"content-type": "application/json"})
    assert r.status_code == 422 and r.json()["code"] == "invalid_payloads"
    r = await web.post("/api/codec/decode", json={"payloads": []}, headers={"X-Namespace": "elsewhere"})
    assert r.status_code == 404


async def test_cors_lets_in_the_web_ui_only(web: httpx.AsyncClient) -> None:
    preflight = {"Access-Control-Request-Method": "POST", "Access-Control-Request-Headers": "content-type,x-namespace"}
    r = await web.options("/api/codec/decode", headers={"Origin": UI_ORIGIN, **preflight})
    assert r.status_code == 204
    assert r.headers["access-control-allow-origin"] == UI_ORIGIN
    assert r.headers["access-control-allow-credentials"] == "true"
    assert "x-namespace" in r.headers["access-control-allow-headers"]
    r = await web.options("/api/codec/decode", headers={"Origin": "https://evil.example", **preflight})
    assert r.status_code == 403 and "access-control-allow-origin" not in r.headers
    r = await web.post("/api/codec/decode", json={"payloads": []}, headers={"Origin": "https://evil.example"})
    assert "access-control-allow-origin" not in r.headers
    # nothing else of the app answers cross-origin
    r = await web.options("/api/me", headers={"Origin": UI_ORIGIN, **preflight})
    assert "access-control-allow-origin" not in r.headers


def test_jiuzhu_payload_key_makes_a_key_the_setting_takes() -> None:
    from typer.testing import CliRunner

    from cli.main import app

    done = CliRunner().invoke(app, ["payload-key", "k2027"])
    assert done.exit_code == 0, done.output
    assert KeyRing.parse(done.stdout.strip()).current == "k2027"
    assert CliRunner().invoke(app, ["payload-key", "bad id"]).exit_code == 1
